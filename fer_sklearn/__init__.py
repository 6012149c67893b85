"""fer_sklearn: FER2013 facial-expression recognition as scikit-learn estimators."""

from ._classifiers import FERCNNClassifier, FERRNNClassifier
from ._label_merger import LabelMerger
from ._onnx import export_onnx
from ._pretrained import load_pretrained, pretrained_info
from .datasets import get_data_home, load_fer2013, load_fer2013_sample

__version__ = "0.1.0"

__all__ = [
    "FERCNNClassifier",
    "FERRNNClassifier",
    "LabelMerger",
    "export_onnx",
    "get_data_home",
    "load_fer2013",
    "load_fer2013_sample",
    "load_pretrained",
    "pretrained_info",
    "__version__",
]
