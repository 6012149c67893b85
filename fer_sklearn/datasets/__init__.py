"""Loaders for FER2013 and the bundled sample.

The names are imported on first use, so that reading an image file
(``datasets._images``) does not load scikit-learn.
"""

import importlib

#: public name -> the module that defines it
_LAZY = {
    "EMOTIONS": "._fer2013",
    "USAGES": "._fer2013",
    "get_data_home": "._fer2013",
    "load_fer2013": "._fer2013",
    "load_fer2013_sample": "._sample",
}

__all__ = ["load_fer2013", "load_fer2013_sample", "get_data_home", "EMOTIONS", "USAGES"]


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
