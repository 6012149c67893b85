"""Calibration of predicted probabilities: how well they match how often
they are right, and their temperature."""

import numpy as np

__all__ = ["expected_calibration_error", "face_temperatures", "tempered"]


def face_temperatures(confidence, temperature):
    """The temperature of each face.

    ``temperature`` is one number for every face, or a curve ``(a, b, d)``:
    a face whose top probability at temperature 1 is ``c`` gets
    ``T = exp(a + b * c + d * c**2)``. Either way every face's ``T`` is
    positive, so dividing its logits by it keeps their order (the predicted
    class). ``confidence`` is an array of ``c`` (numpy, or torch in the ONNX
    graphs); a curve gives an array of its shape, a number comes back as it is.
    """
    if not isinstance(temperature, tuple):
        return temperature
    a, b, d = temperature
    power = a + confidence * (b + d * confidence)
    return power.exp() if hasattr(power, "exp") else np.exp(power)  # torch or numpy


def tempered(proba, temperature):
    """Probabilities ``softmax(logits)`` as ``softmax(logits / T)``, with
    ``T`` from :func:`face_temperatures` (float64). ``temperature`` is a
    number, or a curve ``(a, b, d)`` read at each row's top probability."""
    from scipy.special import softmax

    proba = np.asarray(proba, dtype=np.float64)
    logits = np.log(np.maximum(proba, np.finfo(np.float32).tiny))
    T = face_temperatures(proba.max(axis=1, keepdims=True), temperature)
    return softmax(logits / T, axis=1)


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
