"""fer_sklearn: FER2013 facial-expression recognition as scikit-learn estimators."""

from .datasets import get_data_home, load_fer2013, load_fer2013_sample

__version__ = "0.1.0"

__all__ = ["load_fer2013", "load_fer2013_sample", "get_data_home", "__version__"]
