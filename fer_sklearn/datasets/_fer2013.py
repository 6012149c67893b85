"""``load_fer2013``: find, read, validate and cache FER2013."""

import hashlib
import os
import tarfile
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

from ._archives import read_archive, read_train_test
from ._common import EMOTIONS, IMAGE_SIZE, N_PIXELS, USAGES, FERArrays
from ._csv import read_csv
from ._folders import find_image_files, read_image_folder

__all__ = ["load_fer2013", "get_data_home", "EMOTIONS", "USAGES"]

KAGGLE_COMPETITION = (
    "challenges-in-representation-learning-facial-expression-recognition-challenge"
)
#: Bumped whenever parsing changes, so that old caches are never served.
_CACHE_VERSION = 3
# File names searched for, in this order, in a directory.
_KNOWN_FILES = (
    "fer2013.csv",
    "fer2013.csv.gz",
    "fer2013.tar.gz",
    "icml_face_data.csv",
    "train.csv",
    f"{KAGGLE_COMPETITION}.zip",
)
_HOW_TO_GET = (
    "Get FER2013 from Kaggle (https://www.kaggle.com/c/{0}/data), e.g. with "
    "'kaggle competitions download -c {0}' (a .zip, read as it is), then pass "
    "its path, set $FER2013_PATH, or put it in the data home."
).format(KAGGLE_COMPETITION)

DESCR = """\
FER2013 facial expressions
--------------------------

48x48 greyscale faces, each labelled with one of seven emotions:
0 angry, 1 disgust, 2 fear, 3 happy, 4 sad, 5 surprise, 6 neutral.
Splits (``usage``): Training (28,709 faces), PublicTest (3,589; the usual
validation set) and PrivateTest (3,589; the usual test set).

Rows of Kaggle's ``test.csv`` carry no label: their ``target`` is -1.

Goodfellow et al., "Challenges in Representation Learning: A report on three
machine learning contests", ICONIP 2013. https://arxiv.org/abs/1307.0414
"""


def get_data_home(data_home=None):
    """Return the folder where FER2013 and its parse cache are looked for.

    Parameters
    ----------
    data_home : str or path-like, default=None
        The folder. ``None`` means ``$FER_SKLEARN_DATA`` if set, else
        ``~/fer_sklearn_data``. The folder is not created here.

    Returns
    -------
    data_home : pathlib.Path
    """
    if data_home is None:
        data_home = os.environ.get("FER_SKLEARN_DATA", "~/fer_sklearn_data")
    return Path(data_home).expanduser()


def _validate_usage(usage):
    if usage is None:
        return None
    requested = [usage] if isinstance(usage, str) else usage
    try:
        requested = list(requested)
    except TypeError:
        requested = [requested]
    invalid = [u for u in requested if u not in USAGES]
    if invalid or not requested:
        raise ValueError(
            "The 'usage' parameter of load_fer2013 must be one of "
            f"{list(USAGES)}, a list of them, or None. Got {usage!r} instead."
        )
    return requested


def _find_in_directory(directory):
    """The FER2013 source inside ``directory``, or None."""
    for candidate in (directory, directory / "fer2013"):
        if not candidate.is_dir():
            continue
        for name in _KNOWN_FILES:
            if (candidate / name).is_file():
                return candidate / name
        if (candidate / "test.csv").is_file():
            return candidate / "test.csv"
        if find_image_files(candidate):
            return candidate
    return None


def _resolve_path(path, data_home):
    """Turn the user's ``path`` into an existing file or image folder."""
    looked = []
    if path is None:
        env = os.environ.get("FER2013_PATH")
        if env:
            candidates = [("$FER2013_PATH", Path(env).expanduser())]
        else:
            looked.append("$FER2013_PATH (not set)")
            candidates = []
        candidates.append(("the data home", get_data_home(data_home)))
    else:
        candidates = [("path", Path(path).expanduser())]

    for origin, candidate in candidates:
        if candidate.is_file():
            return candidate
        if candidate.is_dir():
            found = _find_in_directory(candidate)
            if found is not None:
                return found
            looked.append(
                f"{origin} {candidate} (a folder without "
                f"{', '.join(_KNOWN_FILES)}, test.csv or train/<emotion>/ images)"
            )
        else:
            looked.append(f"{origin} {candidate} (does not exist)")
    raise OSError(f"FER2013 not found. Looked in: {'; '.join(looked)}. {_HOW_TO_GET}")


def _read_any(source):
    """Dispatch on the layout of ``source`` (a file or an image folder)."""
    if source.is_dir():
        return read_image_folder(source)
    name = source.name.lower()
    if name == "test.csv" or (
        name == "train.csv" and (source.parent / "test.csv").is_file()
    ):
        train = source.parent / "train.csv"
        test = source.parent / "test.csv"
        return read_train_test(
            train if train.is_file() else None, test if test.is_file() else None
        )
    if _is_archive(source):
        return read_archive(source)
    return read_csv(source)


def _is_archive(source):
    """Whether ``source`` is a tar or zip archive; a damaged gzip file is not
    (the CSV reader then says what is wrong with it)."""
    try:
        return zipfile.is_zipfile(source) or tarfile.is_tarfile(source)
    except (EOFError, tarfile.TarError, zlib.error, OSError):
        return False


def _source_files(source):
    """Files whose content defines ``source``'s data, for the cache key."""
    if source.is_dir():
        return find_image_files(source)
    name = source.name.lower()
    if name in ("train.csv", "test.csv"):
        return [p for p in (source.parent / "train.csv", source.parent / "test.csv")
                if p.is_file()]
    return [source]


def _cache_key(source):
    """A key that changes whenever a source file changes.

    Path, size and modification time of every file, and a hash of all of
    its bytes (BLAKE2b, about 1 GB/s): a file rewritten in place, even at
    the same size with its old timestamp restored, gets a new key.
    """
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"v{_CACHE_VERSION}".encode())
    for file in _source_files(source):
        stat = file.stat()
        digest.update(f"{file.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode())
        with open(file, "rb") as handle:
            digest.update(hashlib.file_digest(handle, "blake2b").digest())
    return digest.hexdigest()


def _save_cache(cache_file, arrays):
    """Write the arrays through a temporary file of this process's own
    (created exclusively, with a random name: never a file or a link that
    is already there), then rename it over ``cache_file``: concurrent loads
    each write whole files, and a reader sees an old file or a new one."""
    import tempfile

    # uncompressed: writing and reading cost little next to the parse
    handle, temporary = tempfile.mkstemp(prefix=cache_file.stem + ".", suffix=".partial.npz",
                                         dir=cache_file.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            np.savez(stream, pixels=arrays.pixels, target=arrays.target, usage=arrays.usage)
        os.replace(temporary, cache_file)
    except BaseException:
        os.unlink(temporary)
        raise


def _read_cache(cache_file):
    with np.load(cache_file, allow_pickle=False) as stored:
        return FERArrays(stored["pixels"], stored["target"], stored["usage"])


def _load_arrays(source, data_home, cache):
    if not cache:
        return _read_any(source)
    cache_file = get_data_home(data_home) / "cache" / f"fer2013-{_cache_key(source)}.npz"
    if cache_file.is_file():
        try:
            return _read_cache(cache_file)
        except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile) as exc:
            warnings.warn(f"Ignoring the unreadable cache {cache_file}: {exc}")
    arrays = _read_any(source)
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        _save_cache(cache_file, arrays)
    except OSError as exc:
        warnings.warn(f"Could not write the parse cache {cache_file}: {exc}")
    return arrays


def load_fer2013(
    path=None,
    *,
    usage=None,
    return_X_y=False,
    as_frame=False,
    data_home=None,
    cache=True,
):
    """Load the FER2013 facial-expression dataset from a local file.

    =================   =========================================
    Classes             7 (0 angry ... 6 neutral)
    Samples total       35,887 in the full Kaggle release
    Dimensionality      2304 (48x48 greyscale)
    Features            integers, 0-255
    =================   =========================================

    Reads every layout people have: Kaggle's ``fer2013.csv``
    (``emotion,pixels,Usage``), the same gzipped, Kaggle's
    ``fer2013.tar.gz`` and the competition's ``.zip`` (read without
    unpacking; members chosen by their content), ``icml_face_data.csv``,
    the ``train.csv``/``test.csv`` pair and the image-folder copy
    (``train/<emotion>/*.jpg``). Every row is validated; a compressed file
    or archive member may inflate to at most 1 GB (FER2013 is about 300
    MB). Nothing is ever downloaded.

    Parameters
    ----------
    path : str or path-like, default=None
        A file in one of the layouts above, or a folder holding one. ``None``
        looks at ``$FER2013_PATH``, then the data home.
    usage : {"Training", "PublicTest", "PrivateTest"} or list of them, default=None
        Keep only these splits. ``None`` keeps every row.
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.
    as_frame : bool, default=False
        If True, the Bunch also holds ``frame``, a DataFrame with one column
        per pixel plus ``emotion`` and ``usage``; with ``return_X_y``, the
        pair is a DataFrame of pixels and a Series ``emotion``, as
        scikit-learn's loaders return.
    data_home : str or path-like, default=None
        Folder for the parse cache (and where data is looked for when
        ``path`` is None). See :func:`get_data_home`.
    cache : bool, default=True
        Keep the parsed arrays in ``<data_home>/cache`` as an uncompressed
        ``.npz``, keyed by the file's path, size, time and a hash of all its
        bytes, so that a changed file is re-read.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``data`` (n, 2304) uint8; ``images`` (n, 48, 48) uint8, a view of
        ``data``; ``target`` (n,) int64 codes 0..6 (-1 for the unlabelled
        rows of Kaggle's ``test.csv``); ``usage`` (n,) str; ``target_names``;
        ``filename``; ``DESCR``; ``frame`` if ``as_frame``.
    (data, target) : tuple if ``return_X_y`` is True

    Raises
    ------
    OSError
        If no FER2013 file is found; the message says where it looked.
    ValueError
        If a row is malformed (the message names the file and ``line N``) or
        ``usage`` is invalid or absent from the file.

    See Also
    --------
    load_fer2013_sample : 900 PublicTest faces that ship with the package.
    LabelMerger : Disgust merged into Angry (6 classes).

    Examples
    --------
    >>> from fer_sklearn import load_fer2013
    >>> faces = load_fer2013("fer2013.csv", usage="Training")  # doctest: +SKIP
    >>> faces.images.shape  # doctest: +SKIP
    (28709, 48, 48)
    """
    requested = _validate_usage(usage)
    source = _resolve_path(path, data_home)
    arrays = _load_arrays(source, data_home, cache)

    pixels, target, usages = arrays.pixels, arrays.target, arrays.usage
    if requested is not None:
        present = [u for u in USAGES if u in set(usages.tolist())]
        missing = [u for u in requested if u not in present]
        if missing:
            raise ValueError(
                f"{source} holds no {missing} rows; it holds {present}. "
                "Choose usage among those."
            )
        keep = np.isin(usages, requested)
        pixels, target, usages = pixels[keep], target[keep], usages[keep]

    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    if return_X_y and as_frame:
        # as scikit-learn's loaders: a DataFrame of features and a Series
        frame = pd.DataFrame(pixels, columns=[f"pixel_{i}" for i in range(N_PIXELS)])
        return frame, pd.Series(target, name="emotion")
    if return_X_y:
        return pixels, target
    bunch = Bunch(
        data=pixels,
        images=pixels.reshape(-1, IMAGE_SIZE, IMAGE_SIZE),
        target=target,
        usage=usages,
        target_names=np.array(EMOTIONS),
        filename=str(source),
        DESCR=DESCR,
    )
    if as_frame:
        frame = pd.DataFrame(pixels, columns=[f"pixel_{i}" for i in range(N_PIXELS)])
        frame["emotion"] = target
        frame["usage"] = usages
        bunch.frame = frame
    return bunch
