"""Face detection in photos, with OpenCV's bundled Haar cascade (optional)."""

import numpy as np

__all__ = ["detect_faces", "crop_faces"]

_CASCADE = "haarcascade_frontalface_default.xml"


def _cascade():
    try:
        import cv2
    except ImportError as exc:
        raise ImportError(
            "face detection needs OpenCV 4.x: pip install \"opencv-python-headless<5\" "
            "(or the extra: pip install \"fer_sklearn[faces]\")."
        ) from exc
    if not hasattr(cv2, "CascadeClassifier") or not hasattr(cv2, "data"):
        raise ImportError(
            f"OpenCV {cv2.__version__} has no CascadeClassifier or bundled cascade "
            "files (the 5.x wheels dropped them): pip install \"opencv-python-headless<5\"."
        )
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + _CASCADE)
    if cascade.empty():
        raise OSError(f"OpenCV could not load its bundled {_CASCADE}.")
    return cascade


def detect_faces(grey, *, min_size=24):
    """Boxes ``(x, y, width, height)`` of the frontal faces in a greyscale image.

    Parameters
    ----------
    grey : ndarray of shape (height, width), uint8
    min_size : int, default=24
        Smallest face side, in pixels.

    Returns
    -------
    list of tuple of int
        Sorted left to right, then top to bottom.
    """
    boxes = _cascade().detectMultiScale(
        np.ascontiguousarray(grey, dtype=np.uint8),
        scaleFactor=1.1, minNeighbors=5, minSize=(min_size, min_size),
    )
    return sorted((int(x), int(y), int(w), int(h)) for x, y, w, h in np.reshape(boxes, (-1, 4)))


def crop_faces(grey, boxes):
    """Each box of ``grey`` resized to 48x48, as an ``(n, 48, 48)`` uint8 array."""
    from PIL import Image

    crops = [
        np.asarray(Image.fromarray(grey[y : y + h, x : x + w]).resize(
            (48, 48), Image.Resampling.BILINEAR), dtype=np.uint8)
        for x, y, w, h in boxes
    ]
    return np.stack(crops) if crops else np.empty((0, 48, 48), np.uint8)
