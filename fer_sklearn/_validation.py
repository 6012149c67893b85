"""Input checks shared by the estimators, the plots and the command line."""

import numbers
import warnings

import numpy as np

from .datasets._common import IMAGE_SIZE, N_PIXELS

# scikit-learn is imported where it is used: the ONNX Runtime engine checks
# its input here without it
ACCEPTED_SHAPES = "(n_samples, 2304), (n_samples, 48, 48) or (n_samples, 1, 48, 48)"

#: The engines a shipped model runs on, the default for prediction first
#: (``analyze``, ``live``, the command line); ``load_pretrained`` gives the
#: torch model unless told otherwise, the one that also trains.
ENGINES = ("onnx", "torch")


def check_engine(engine):
    """``engine`` as one of :data:`ENGINES` (any case); else a ValueError."""
    if not isinstance(engine, str) or engine.lower() not in ENGINES:
        raise ValueError(f"engine must be one of {list(ENGINES)}; got {engine!r}.")
    return engine.lower()


def check_whole_number(value, name, low=1):
    """``value`` as an int if it is a whole number of at least ``low``
    (not a bool); else a ValueError naming ``name``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) \
            or value < low:
        raise ValueError(f"{name} must be a whole number of at least {low}; got {value!r}.")
    return int(value)


def check_positive_number(value, name):
    """``value`` as a float if it is a finite number > 0 (not a bool); else a
    ValueError naming ``name``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)) \
            or not (np.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number > 0; got {value!r}.")
    return float(value)


def check_temperature(value, name="temperature"):
    """A probability temperature: a finite number > 0 (returned as a float),
    or a temperature curve ``(a, b, d)`` of three finite numbers (returned
    as a tuple of floats; see :func:`fer_sklearn._metrics.face_temperatures`).
    Anything else is a ValueError naming ``name``."""
    if isinstance(value, (list, tuple, np.ndarray)):
        items = list(value.ravel()) if isinstance(value, np.ndarray) else list(value)
        if len(items) == 3 and all(
                isinstance(v, (int, float, np.number)) and not isinstance(v, (bool, np.bool_))
                and np.isfinite(v) for v in items):
            return tuple(float(v) for v in items)
        raise ValueError(
            f"{name} must be a finite number > 0, or a curve (a, b, d) of three finite "
            f"numbers (T = exp(a + b*c + d*c**2) at top probability c); got {value!r}.")
    return check_positive_number(value, name)


def check_tta(tta):
    """``tta`` as a bool if it is True or False (numpy's too); else a
    ValueError."""
    if not isinstance(tta, (bool, np.bool_)):
        raise ValueError(f"tta must be True, False or None; got {tta!r}.")
    return bool(tta)


def check_images(X, *, name="X"):
    """Validate face images and return them as float32 ``(n, 1, 48, 48)``.

    Accepts array-likes (numpy arrays, lists, DataFrames, torch tensors) of
    shape ``(n, 2304)``, ``(n, 48, 48)`` or ``(n, 1, 48, 48)``, integer or
    float. Pixel values are not rescaled here.

    Raises
    ------
    TypeError
        If ``X`` is not numeric (strings, objects, sparse matrices).
    ValueError
        If its shape is not one of the above, it is empty, or it holds NaN
        or infinity.
    """
    if hasattr(X, "toarray") or type(X).__module__.startswith("scipy.sparse"):
        raise TypeError(
            f"{name} must be a dense array of images; got a sparse matrix "
            f"({type(X).__name__}). Convert it with .toarray()."
        )
    if hasattr(X, "detach"):  # a torch tensor
        X = X.detach().cpu().numpy()
    try:
        array = np.asarray(X)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{name} must be an array of shape {ACCEPTED_SHAPES}; could not "
            f"convert {type(X).__name__} to an array ({exc})."
        ) from exc
    if array.dtype.kind == "c":
        raise ValueError("Complex data not supported: X must hold real pixel values.")
    if array.dtype.kind not in "biuf":
        raise TypeError(
            f"{name} must hold numeric pixel values (uint8 0..255 or floats); "
            f"got dtype {array.dtype}."
        )
    shape = array.shape
    if array.ndim == 2 and shape[1] == 0:
        raise ValueError(
            f"Found array with 0 feature(s) (shape={shape}) while a minimum of "
            f"{N_PIXELS} is required: {name} must have shape {ACCEPTED_SHAPES}."
        )
    if array.ndim >= 1 and shape[0] == 0:
        raise ValueError(
            f"Found array with 0 sample(s) (shape={shape}) while a minimum of 1 "
            "is required."
        )
    if array.dtype.kind == "f":
        finite = np.isfinite(array).reshape(len(array), -1).all(axis=1)
        if not finite.all():
            bad = np.flatnonzero(~finite)
            raise ValueError(
                f"{name} contains NaN or infinity in {bad.size} image(s), first "
                f"at index {bad[0]}; pixel values must be finite."
            )
    if array.ndim == 2 and shape[1] == N_PIXELS:
        array = array.reshape(-1, 1, IMAGE_SIZE, IMAGE_SIZE)
    elif array.ndim == 3 and shape[1:] == (IMAGE_SIZE, IMAGE_SIZE):
        array = array[:, None]
    elif array.ndim == 4 and shape[1:] == (1, IMAGE_SIZE, IMAGE_SIZE):
        pass
    else:
        raise ValueError(
            f"{name} must have shape {ACCEPTED_SHAPES} (48x48 greyscale "
            f"faces); got shape {shape}."
        )
    array = array.astype(np.float32, copy=False)
    return np.ascontiguousarray(array)


def trained_scale(pixel_mean, pixel_std):
    """The pixel scale a model was trained on, from its learned
    normalisation: 255 for grey levels (FER2013 faces have a mean near 130
    and a deviation near 65 on 0..255; ``rescale=1/255`` stores mean 0 and
    deviation 255), 1 for faces scaled to 0..1 (mean in 0..1, deviation
    under 0.6), None for anything else (no check)."""
    mean, std = float(pixel_mean), float(pixel_std)
    if max(abs(mean), std) > 1.5:
        return 255
    if 0 <= mean <= 1 and std < 0.6:
        return 1
    return None


def check_pixel_scale(images, pixel_mean, pixel_std, *, name="X"):
    """``images`` (float32, as :func:`check_images` returns them) if their
    scale fits a model trained with this normalisation; else a ValueError.

    A model trained on grey levels 0..255 given floats in 0..1 (or the
    reverse) predicts nearly one class for every face, silently.
    """
    top = float(images.max()) if images.size else 0.0
    scale = trained_scale(pixel_mean, pixel_std)
    if scale == 255 and 0 < top <= 1.0:
        raise ValueError(
            f"{name} holds pixel values in 0..{top:g}, but this model was trained on "
            "grey levels 0..255: pass the faces as 0..255 (e.g. X * 255)."
        )
    if scale == 1 and top > 1.5:
        raise ValueError(
            f"{name} holds pixel values up to {top:g}, but this model was trained on "
            "pixels scaled to 0..1: pass X / 255."
        )
    return images


def check_labels(y, n_samples=None, *, name="y"):
    """Validate 1-d labels: ints, strings, floats without NaN; one per sample."""
    if y is None:
        raise ValueError(
            "This classifier requires y to be passed, but the target y is None: "
            "give one label per image."
        )
    if hasattr(y, "detach"):
        y = y.detach().cpu().numpy()
    labels = np.asarray(y)
    if labels.ndim == 2 and labels.shape[1] == 1:
        from sklearn.exceptions import DataConversionWarning

        warnings.warn(
            f"A column-vector {name} was passed when a 1d array was expected: "
            "it is used as its ravel(), shape (n_samples,).",
            DataConversionWarning, stacklevel=3,
        )
        labels = labels.ravel()
    if labels.ndim != 1:
        raise ValueError(
            f"{name} must be 1-d, one label per image; got shape {labels.shape}."
        )
    if n_samples is not None and len(labels) != n_samples:
        raise ValueError(
            f"Found input variables with inconsistent numbers of samples: "
            f"X has {n_samples} images, {name} has {len(labels)} labels."
        )
    if labels.dtype.kind == "f" and not np.isfinite(labels).all():
        raise ValueError(f"{name} contains NaN or infinity; labels must be finite.")
    if labels.dtype.kind == "O":
        kinds = {type(v) for v in labels}
        if not (all(issubclass(k, str) for k in kinds)
                or all(issubclass(k, numbers.Integral) for k in kinds)):
            raise TypeError(
                f"{name} must hold labels of one kind (all ints or all strings); "
                f"got {sorted(k.__name__ for k in kinds)}."
            )
    return labels


def check_writable_file(path, what):
    """A ValueError unless ``path`` can be written as a file: not a folder,
    in an existing folder this process may write to."""
    import os
    from pathlib import Path

    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{what} {path}: is a folder; expected a file name.")
    folder = path.parent
    if not folder.is_dir():
        raise ValueError(f"{what} {path}: the folder {folder} does not exist.")
    if not os.access(folder, os.W_OK | os.X_OK) or (path.exists()
                                                   and not os.access(path, os.W_OK)):
        raise ValueError(f"{what} {path}: cannot be written (permission denied).")
