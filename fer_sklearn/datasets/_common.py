"""What every FER2013 reader shares: the image size, the emotion and usage
names, the arrays a reader returns (:class:`FERArrays`) and the form of a
row's error. Nothing in ``datasets`` imports torch."""

from dataclasses import dataclass

import numpy as np

__all__ = ["EMOTIONS", "FERArrays", "IMAGE_SIZE", "N_PIXELS", "USAGES"]

IMAGE_SIZE = 48
N_PIXELS = IMAGE_SIZE * IMAGE_SIZE
EMOTIONS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
USAGES = ("Training", "PublicTest", "PrivateTest")
#: Rows of Kaggle's test.csv that are PublicTest; the rest are PrivateTest.
KAGGLE_PUBLIC_TEST_ROWS = 3589
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
UNLABELLED = -1


@dataclass
class FERArrays:
    """What a reader found: pixels, int targets and usages, row-aligned."""

    pixels: np.ndarray
    target: np.ndarray
    usage: np.ndarray


def _row_error(source, line, message):
    return ValueError(f"{source}, line {line}: {message}")


def concatenate(parts):
    return FERArrays(
        np.concatenate([p.pixels for p in parts]),
        np.concatenate([p.target for p in parts]),
        np.concatenate([p.usage for p in parts]),
    )
