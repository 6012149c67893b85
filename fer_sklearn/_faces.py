"""Faces in photos: found with dlib's HOG detector, cropped as FER2013 frames them.

The detector knows nothing of emotions and the classifiers nothing of
photos: :func:`detect_faces` returns boxes, :func:`crop_faces` turns each box
into a 48x48 greyscale face framed the way FER2013's faces are framed.

Detection: dlib's frontal-face detector (HOG features and a linear SVM,
built into dlib: no model file), run on a copy of the image whose long side
is ``work_size`` pixels (800: small faces are enlarged, large photos need not
be searched at full resolution), with one upsampling step, so faces down to
about 40 pixels of that copy are found; two steps (20 pixels) for images
over 2000 pixels, whose faces shrink most in that copy. Boxes scoring below ``threshold``
are dropped (0: dlib's own decision threshold).

Framing: FER2013's faces fill their 48x48 frame from the forehead to the
chin. Measured on the bundled sample (``scripts/calibrate_crop.py``: the
detector run on 900 FER2013 faces enlarged 4x), a FER2013 frame is about
1.06 to 1.28 times the side of dlib's box (median 1.06, upper quartile
1.28), centred 0.07 box sides above the box's centre. :func:`crop_faces` cuts
a square of ``margin`` (1.15) times the box side around that point, repeats
the border where the square leaves the image, and resizes it to 48x48.
"""

import numpy as np

__all__ = ["detect_faces", "crop_faces", "MARGIN", "UPWARD_SHIFT"]

#: the side of a crop, in box sides (see the module docstring)
MARGIN = 1.15
#: how far above the box's centre a crop is centred, in box sides
UPWARD_SHIFT = 0.07

_DETECTOR = None


def _detector():
    global _DETECTOR
    if _DETECTOR is None:
        try:
            import dlib
        except ImportError as exc:  # dlib-bin is a dependency: a broken install
            raise ImportError(
                "face detection needs dlib (installed with fer_sklearn as the "
                "'dlib-bin' wheel): pip install dlib-bin."
            ) from exc
        _DETECTOR = dlib.get_frontal_face_detector()
    return _DETECTOR


#: images whose long side exceeds this are searched with two upsampling steps
LARGE_IMAGE = 2000


def detect_faces(grey, *, work_size=800, upsample=None, threshold=0.0):
    """Boxes ``(x, y, width, height)`` of the faces in a greyscale image.

    Parameters
    ----------
    grey : ndarray of shape (height, width), uint8
    work_size : int, default=800
        The image is searched at this long side (scaled up or down).
    upsample : int or None, default=None
        dlib's upsampling steps: each finds faces half as large, at four
        times the cost. None: 1, or 2 for images whose long side exceeds
        2000 pixels (phone photos, where a group's faces are small: on
        4032-pixel synthetic group photos, faces 90 pixels wide were found
        with 2 steps and missed with 1; ``benchmarks/bench_faces.py``).
    threshold : float, default=0.0
        Smallest detection score kept; higher drops doubtful boxes.

    Returns
    -------
    list of tuple of int
        In the image's own pixels, sorted left to right, then top to bottom.
    """
    from PIL import Image

    grey = np.ascontiguousarray(grey, dtype=np.uint8)
    if grey.ndim != 2:
        raise ValueError(f"expected a greyscale image of shape (height, width); got {grey.shape}.")
    height, width = grey.shape
    if upsample is None:
        upsample = 2 if max(height, width) > LARGE_IMAGE else 1
    scale = work_size / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    work = grey if size == (width, height) else np.asarray(
        Image.fromarray(grey).resize(size, Image.Resampling.BILINEAR))
    rectangles, scores, _ = _detector().run(work, upsample, threshold)
    boxes = []
    for rectangle in rectangles:
        left, top = max(rectangle.left(), 0), max(rectangle.top(), 0)
        right = min(rectangle.right() + 1, size[0])
        bottom = min(rectangle.bottom() + 1, size[1])
        x, y = round(left / scale), round(top / scale)
        w, h = round((right - left) / scale), round((bottom - top) / scale)
        if w > 0 and h > 0:
            boxes.append((x, y, w, h))
    return sorted(boxes)


def crop_faces(grey, boxes, *, margin=MARGIN, upward_shift=UPWARD_SHIFT):
    """Each box's face framed as in FER2013, as an ``(n, 48, 48)`` uint8 array.

    A square of ``margin`` box sides, centred ``upward_shift`` box sides
    above the box's centre, resized to 48x48 (bilinear); where it leaves the
    image the border pixels are repeated.
    """
    from PIL import Image

    grey = np.asarray(grey, dtype=np.uint8)
    crops = []
    for x, y, w, h in boxes:
        side = max(1, round(margin * max(w, h)))
        centre_x = x + w / 2
        centre_y = y + h / 2 - upward_shift * max(w, h)
        left, top = round(centre_x - side / 2), round(centre_y - side / 2)
        rows = np.clip(np.arange(top, top + side), 0, grey.shape[0] - 1)
        columns = np.clip(np.arange(left, left + side), 0, grey.shape[1] - 1)
        square = grey[np.ix_(rows, columns)]
        crops.append(np.asarray(Image.fromarray(square).resize(
            (48, 48), Image.Resampling.BILINEAR), dtype=np.uint8))
    return np.stack(crops) if crops else np.empty((0, 48, 48), np.uint8)
