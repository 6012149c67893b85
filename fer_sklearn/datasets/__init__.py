"""Loaders for FER2013 and the bundled sample."""

from ._fer2013 import EMOTIONS, USAGES, get_data_home, load_fer2013
from ._sample import load_fer2013_sample

__all__ = ["load_fer2013", "load_fer2013_sample", "get_data_home", "EMOTIONS", "USAGES"]
