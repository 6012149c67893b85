"""The image-folder copy of FER2013 (``train/<emotion>/*.jpg``)."""

import re
from pathlib import Path

import numpy as np

from ._common import EMOTIONS, IMAGE_SIZE, IMAGE_SUFFIXES, N_PIXELS, USAGES, FERArrays

__all__ = ["find_image_files", "read_image_folder"]

# Folder names of the image-folder copy, mapped to a usage when the file
# names carry no ``Training_``/``PublicTest_``/``PrivateTest_`` prefix.
_SPLIT_FOLDERS = {
    "train": "Training",
    "training": "Training",
    "val": "PublicTest",
    "valid": "PublicTest",
    "validation": "PublicTest",
    "publictest": "PublicTest",
    "test": "PrivateTest",
    "privatetest": "PrivateTest",
}
_PREFIX = re.compile(r"^(Training|PublicTest|PrivateTest)_", re.IGNORECASE)


def find_image_files(root):
    """The image files of an image-folder copy: ``<split>/<emotion>/*.jpg``."""
    root = Path(root)
    files = []
    for split_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        if split_dir.name.lower() not in _SPLIT_FOLDERS:
            continue
        for emotion_dir in sorted(p for p in split_dir.iterdir() if p.is_dir()):
            files += sorted(
                p
                for p in emotion_dir.iterdir()
                if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
            )
    return files


def read_image_folder(root):
    """Read the image-folder copy: ``train/<emotion>/*.jpg``, ``test/<emotion>/*.png``.

    The usage comes from the ``Training_``/``PublicTest_``/``PrivateTest_``
    prefix of the file name where present, else from the split folder
    (``train`` is Training, ``val`` PublicTest, ``test`` PrivateTest).
    Images must already be 48x48; they are converted to greyscale
    (16-bit and other modes scaled to 0..255: see ``_images``).
    """
    from ._images import read_grey

    root = Path(root)
    files = find_image_files(root)
    if not files:
        raise ValueError(
            f"{root}: expected an image-folder copy of FER2013 "
            f"(train/<emotion>/*.jpg, test/<emotion>/*.jpg); found no images."
        )
    pixels = np.empty((len(files), N_PIXELS), dtype=np.uint8)
    target = np.empty(len(files), dtype=np.int64)
    usage = np.empty(len(files), dtype="<U11")
    for i, file in enumerate(files):
        emotion = file.parent.name.lower()
        if emotion not in EMOTIONS:
            raise ValueError(
                f"{file}: the folder name {file.parent.name!r} is not an emotion; "
                f"expected one of {list(EMOTIONS)}."
            )
        grey = read_grey(file)
        if grey.shape != (IMAGE_SIZE, IMAGE_SIZE):
            raise ValueError(
                f"{file}: expected a 48x48 image; got {grey.shape[1]}x{grey.shape[0]}."
            )
        pixels[i] = grey.reshape(-1)
        target[i] = EMOTIONS.index(emotion)
        prefix = _PREFIX.match(file.name)
        if prefix:
            usage[i] = next(u for u in USAGES if u.lower() == prefix.group(1).lower())
        else:
            usage[i] = _SPLIT_FOLDERS[file.parent.parent.name.lower()]
    return FERArrays(pixels, target, usage)
