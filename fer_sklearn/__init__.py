"""fer_sklearn: FER2013 facial-expression recognition as scikit-learn estimators.

Load FER2013 in any of its layouts (:func:`load_fer2013`), merge rare labels
(:class:`LabelMerger`), train or load a CNN or an RNN wrapped by skorch
(:class:`FERCNNClassifier`, :class:`FERRNNClassifier`,
:func:`load_pretrained`), predict fast with ONNX Runtime
(:class:`ONNXClassifier`), and use them with scikit-learn's ``Pipeline``,
``GridSearchCV`` and metrics. :mod:`fer_sklearn.plotting` draws the course
study's figures; ``fer-sklearn`` is the command line.

The names below are imported on first use, so that ``import fer_sklearn``
(and ``fer-sklearn --help``) does not load torch.
"""

import importlib

__version__ = "0.1.0"

#: public name -> the module that defines it
_LAZY = {
    "FERCNNClassifier": "._classifiers",
    "FERRNNClassifier": "._classifiers",
    "LabelMerger": "._label_merger",
    "NesterovSGD": "._classifiers",
    "UnreadableFileWarning": "._sources",
    "ONNXClassifier": "._engine",
    "analyze": "._analyze",
    "export_onnx": "._onnx",
    "get_data_home": ".datasets",
    "load_fer2013": ".datasets",
    "load_fer2013_sample": ".datasets",
    "live": "._live",
    "LiveStream": "._live",
    "load_pretrained": "._pretrained",
    "pretrained_info": "._shipped",
    "summarize": "._live",
}

__all__ = sorted(_LAZY) + ["__version__"]


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
