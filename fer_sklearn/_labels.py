"""Names shown for labels, and the columns of ``analyze``'s table, shared by
``analyze``, the plots and the command line (no scikit-learn, no torch)."""

import numpy as np

from .datasets._common import EMOTIONS

__all__ = ["label_names", "TABLE_COLUMNS", "LANDMARKS", "LANDMARK_COLUMNS"]

#: the five landmarks of a detected face, as seen in the image (the eye on
#: the image's left is the person's right eye)
LANDMARKS = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")
LANDMARK_COLUMNS = [f"{point}_{axis}" for point in LANDMARKS for axis in "xy"]
#: ``analyze``'s columns before the probabilities (one per class)
TABLE_COLUMNS = (["source", "frame", "time", "face", "x", "y", "width", "height", "score"]
                 + LANDMARK_COLUMNS + ["label"])


def label_names(labels, target_names=None):
    """Display names of ``labels``: emotion names for FER2013 int codes."""
    labels = np.asarray(labels)
    if target_names is not None:
        names = np.asarray(target_names)
        return names[labels.astype(int)] if labels.dtype.kind in "iu" else labels.astype(str)
    if labels.dtype.kind in "iu" and labels.size and labels.min() >= 0 and labels.max() < 7:
        return np.asarray(EMOTIONS)[labels]
    return labels.astype(str)
