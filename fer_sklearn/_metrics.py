"""Calibration of predicted probabilities: how well they match how often
they are right, and their temperature."""

import numpy as np

__all__ = ["expected_calibration_error", "tempered"]


def tempered(proba, temperature):
    """Probabilities ``softmax(logits)`` as ``softmax(logits / temperature)``:
    ``proba ** (1 / temperature)``, rescaled to sum to 1 (float64)."""
    from scipy.special import softmax

    logits = np.log(np.maximum(np.asarray(proba, dtype=np.float64), np.finfo(np.float32).tiny))
    return softmax(logits / temperature, axis=1)


def expected_calibration_error(y_true, proba, classes, n_bins=15):
    """Expected calibration error of the top label, equal-width bins.

    The faces are binned by their highest probability (``n_bins`` bins of
    equal width on [0, 1]); the error is the mean, weighted by the bins'
    sizes, of ``|accuracy - mean top probability|`` in each bin.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels, of the kind ``classes`` holds.
    proba : array-like of shape (n_samples, n_classes)
        Probabilities, columns in the order of ``classes``.
    classes : array-like of shape (n_classes,)
    n_bins : int, default=15

    Returns
    -------
    float
    """
    proba = np.asarray(proba, dtype=np.float64)
    classes = np.asarray(classes)
    y_true = np.asarray(y_true)
    if proba.ndim != 2 or proba.shape != (len(y_true), len(classes)):
        raise ValueError(
            f"proba must have shape (n_samples, n_classes) = ({len(y_true)}, "
            f"{len(classes)}); got {proba.shape}."
        )
    confidence = proba.max(axis=1)
    correct = classes[proba.argmax(axis=1)] == y_true
    # bin k holds confidences in (k / n_bins, (k + 1) / n_bins]
    bins = np.clip(np.ceil(confidence * n_bins).astype(int) - 1, 0, n_bins - 1)
    error = 0.0
    for k in np.unique(bins):
        inside = bins == k
        error += inside.sum() * abs(correct[inside].mean() - confidence[inside].mean())
    return float(error / len(y_true))
