"""Faces in photos: found with a RetinaFace network, cropped as FER2013 frames them.

The detector knows nothing of emotions and the classifiers nothing of
photos: :func:`detect_faces` returns boxes, :func:`crop_faces` turns each box
into a 48x48 greyscale face framed the way FER2013's faces are framed.

Detection: RetinaFace (Deng et al., 2020) with a MobileNet-0.25 backbone
(423,264 parameters), shipped in the package as an ONNX graph
(``pretrained/face_detector.onnx``, 1.7 MB, checked against its sha256
before use; source and license in ``pretrained/face_detector.LICENSE.txt``)
and run with ONNX Runtime on as many threads as PyTorch uses (threads that
sleep between runs instead of spinning). Its anchors are 16 to 512 pixels
wide, so an image whose long side exceeds ``work_size`` (1280) is searched
in a copy of that size, a smaller one as it is, and faces whose box would
be over 480 pixels long there are searched in a second copy of 640 pixels.
Boxes scoring under ``threshold`` (0.6) are dropped; of boxes overlapping
by more than ``overlap`` (intersection over union 0.4) only the best is
kept, and a box lying mostly inside a larger one is dropped. Each box left
is checked by searching again in a copy of its surroundings in which the
face is about 150 pixels wide, and dropped unless a face is found there too
(``verify``: the boxes on patterns such as fabrics and wallpaper, and on
printed text, go).
``benchmarks/bench_faces.py`` measures it against dlib's HOG detector, the
default before.

Framing: FER2013's faces fill their 48x48 frame from the forehead to the
chin. Measured on the bundled sample (``scripts/calibrate_crop.py``: the
detector run on the 900 sample faces enlarged 4x; one box on 871), a
FER2013 frame is about as large as the long side of the detector's box
(median 1.00, quartiles 0.90 and 1.08), centred 0.015 long sides above
the box's centre. :func:`crop_faces` cuts a square of ``margin`` (1.0) long
sides centred ``upward_shift`` (0.02) long sides above the box's centre,
repeats the border where the square leaves the image, and resizes it to
48x48. :func:`align_crop`, which ``analyze`` uses, cuts the same square
turned so that the eyes are level: on the sample's faces turned by up to
25 degrees the shipped CNN is 2.2 points more accurate on it, and as
accurate on upright ones (``scripts/compare_crops.py``).
"""

import functools
import hashlib
from importlib import resources

import numpy as np

__all__ = ["detect_faces", "crop_faces", "align_crop", "eye_axes", "MARGIN", "UPWARD_SHIFT"]

#: the side of a crop, in the box's long sides (see the module docstring)
MARGIN = 1.0
#: how far above the box's centre a crop is centred, in the box's long sides
UPWARD_SHIFT = 0.02

#: the detector's graph and its sha256
MODEL_FILE = "face_detector.onnx"
MODEL_SHA256 = "b7a7acab55e104dce6f32cdfff929bd83946da5cd869b9e2e9bdffafd1b7e4a5"

# RetinaFace's anchors: per feature stride, the anchors' sides in pixels;
# box offsets are scaled by these variances
_STRIDES = (8, 16, 32)
_ANCHOR_SIDES = ((16, 32), (64, 128), (256, 512))
_CENTRE_VARIANCE, _SIZE_VARIANCE = 0.1, 0.2
# the network's input is BGR minus these means (a grey image repeats its levels)
_BGR_MEAN = np.array([104.0, 117.0, 123.0], dtype=np.float32).reshape(3, 1, 1)

_SESSIONS = {}


def _session():
    """An ONNX Runtime session of the shipped detector, one per thread count
    (as many threads as torch would use; see ``_runtime.cpu_threads``)."""
    from ._runtime import cpu_threads, make_session

    threads = cpu_threads()
    if threads not in _SESSIONS:
        graph = resources.files("fer_sklearn.pretrained").joinpath(MODEL_FILE).read_bytes()
        digest = hashlib.sha256(graph).hexdigest()
        if digest != MODEL_SHA256:
            raise ValueError(
                f"the face detector's file fer_sklearn/pretrained/{MODEL_FILE} is corrupted "
                f"or was changed: expected sha256 {MODEL_SHA256}, found {digest}. "
                "Reinstall fer_sklearn.")
        _SESSIONS[threads] = make_session(graph, threads)
    return _SESSIONS[threads]


@functools.lru_cache(maxsize=8)
def _anchors(height, width):
    """Every anchor's (centre x, centre y, side) in pixels, in the network's
    output order: stride, then row, column, side. Cached per size (a video's
    frames share one) and read-only."""
    rows = []
    for stride, sides in zip(_STRIDES, _ANCHOR_SIDES):
        ys, xs = np.meshgrid(np.arange(-(-height // stride)), np.arange(-(-width // stride)),
                             indexing="ij")
        centres = (np.stack([xs.ravel(), ys.ravel()], axis=1) + 0.5) * stride
        for_each = np.repeat(centres, len(sides), axis=0)
        rows.append(np.column_stack([for_each, np.tile(sides, len(centres))]))
    anchors = np.concatenate(rows).astype(np.float32)
    anchors.setflags(write=False)
    return anchors


#: the long side of the second, coarse copy that large faces are found in
COARSE_SIZE = 640
#: boxes longer than this (pixels of the fine copy) are taken from the coarse one
LARGE_FACE = 480
#: a box with at least this share of its area inside a larger box is dropped
CONTAINED = 0.6
#: the check of each box (``verify``): the detector is run again on a copy
#: of the box's surroundings (a square of VERIFY_SPAN long sides, centred on
#: the box, its eyes level, else as it lies and turned by quarter turns,
#: padded with the network's mean grey where it leaves the image)
#: VERIFY_SIZE pixels wide, and the box is kept where a
#: face of at least VERIFY_SCORE is found there, centred within VERIFY_SHIFT
#: half-sides of the box's centre (``benchmarks/bench_faces.py``: no face of
#: its rows is lost, the boxes on patterns go)
VERIFY_SIZE, VERIFY_SPAN, VERIFY_SCORE, VERIFY_SHIFT = 192, 1.3, 0.5, 0.6
#: the grey level the network's input is centred on (its padding's level)
_MEAN_GREY = 117
#: the image's axes turned by 0, 1, 2 and 3 quarter turns (2x2 matrices)
_QUARTER_TURNS = tuple(np.linalg.matrix_power(np.array([[0.0, 1.0], [-1.0, 0.0]]), k)
                       for k in range(4))


def check_detector_params(work_size=1280, threshold=0.6, overlap=0.4, verify=True):
    """The detector's settings, checked: a ValueError naming the one out of
    its range."""
    if not isinstance(verify, (bool, np.bool_)):
        raise ValueError(f"verify must be True or False; got {verify!r}.")
    if isinstance(work_size, bool) or not isinstance(work_size, (int, np.integer)) \
            or not 64 <= work_size <= 8192:
        raise ValueError(f"work_size must be a whole number of pixels in 64..8192; "
                         f"got {work_size!r}.")
    for name, value in (("threshold", threshold), ("overlap", overlap)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) \
                or not 0 < float(value) <= 1:
            raise ValueError(f"{name} must be a number in (0, 1]; got {value!r}.")
    return dict(work_size=int(work_size), threshold=float(threshold), overlap=float(overlap),
                verify=bool(verify))


def find_faces(grey, *, work_size=1280, threshold=0.6, overlap=0.4, verify=True):
    """The faces in a greyscale image: boxes, scores and five landmarks.

    See :func:`detect_faces` for the search and the parameters.

    Returns
    -------
    boxes : ndarray of shape (n, 4), int
        ``(x, y, width, height)`` in the image's pixels, sorted left to
        right, then top to bottom.
    scores : ndarray of shape (n,), float32
        The detector's face probability of each box.
    landmarks : ndarray of shape (n, 5, 2), float32
        ``(x, y)`` of the right eye, left eye, nose tip, right and left
        mouth corners (the person's right: the left of the image).
    """
    check_detector_params(work_size, threshold, overlap, verify)
    grey = np.ascontiguousarray(grey, dtype=np.uint8)
    if grey.ndim != 2:
        raise ValueError(f"expected a greyscale image of shape (height, width); got {grey.shape}.")
    if min(grey.shape) < 1:
        raise ValueError(f"expected an image of at least 1x1 pixels; got shape {grey.shape}.")
    long_side = max(grey.shape)
    fine = min(1.0, work_size / long_side)
    if fine * long_side > 1.5 * COARSE_SIZE:
        limit = LARGE_FACE / fine  # in the image's pixels
        found = [_search(grey, fine, threshold, longest=limit),
                 _search(grey, COARSE_SIZE / long_side, threshold, shortest=limit)]
    else:
        found = [_search(grey, fine, threshold)]
    corners = np.concatenate([f[0] for f in found])
    scores = np.concatenate([f[1] for f in found])
    points = np.concatenate([f[2] for f in found])
    kept = _merge(corners, scores, threshold, overlap)
    if verify:
        kept = [index for index in kept if _confirmed(grey, corners[index], points[index])]
    boxes, kept_scores, kept_points = [], [], []
    for index in kept:
        left, top, right, bottom = np.rint(corners[index])
        if right > left and bottom > top:
            boxes.append((int(left), int(top), int(right - left), int(bottom - top)))
            kept_scores.append(scores[index])
            kept_points.append(points[index])
    order = sorted(range(len(boxes)), key=boxes.__getitem__)
    return (np.array([boxes[i] for i in order], dtype=int).reshape(-1, 4),
            np.array([kept_scores[i] for i in order], dtype=np.float32),
            np.array([kept_points[i] for i in order], dtype=np.float32).reshape(-1, 5, 2))


def detect_faces(grey, *, work_size=1280, threshold=0.6, overlap=0.4, verify=True):
    """Boxes ``(x, y, width, height)`` of the faces in a greyscale image.

    An image over 960 pixels is searched twice: in a copy whose long side
    is at most ``work_size``, for boxes up to 480 pixels long there, and in
    one of 640 pixels for larger faces (boxes over 480 pixels from the first
    copy are unreliable: the network's largest anchors are 512 pixels, and
    larger faces come out in pieces). :func:`find_faces` also gives each
    box's score and landmarks.

    Parameters
    ----------
    grey : ndarray of shape (height, width), uint8
    work_size : int in 64..8192, default=1280
        An image whose long side exceeds this is searched in a copy scaled
        down to it. In that copy, faces 30 pixels wide were all found,
        faces of 19 pixels about half (synthetic group photos).
        Larger finds smaller faces in large photos, but also boxes on no
        face (measured in ``benchmarks/bench_faces.py``).
    threshold : float in (0, 1], default=0.6
        Smallest face probability kept; lower finds more small, turned or
        hidden faces, and sooner or later boxes on no face, which ``verify``
        mostly drops (``benchmarks/bench_faces.py``: 0.3 found 16 of 21
        faces 60 pixels wide in 4032-pixel group photos where 0.6 found
        10, but also, checked, a box on the background of one of 19
        enlarged portraits).
    overlap : float in (0, 1], default=0.4
        Of boxes overlapping by more than this (intersection over union),
        only the most probable is kept; and a box lying mostly (60% of its
        area) inside a larger one is dropped.
    verify : bool, default=True
        Check each box by searching again in a copy of its surroundings,
        192 pixels wide (the face then about 150 pixels) and turned so
        that its eyes are level (failing that, as it lies and by quarter
        turns), and drop it unless a face is found there too: removes the
        boxes on patterns (fabrics, wallpaper) and printed text, and no
        face of ``benchmarks/bench_faces.py``'s rows. About 5 ms a box.

    Returns
    -------
    list of tuple of int
        In the image's own pixels, sorted left to right, then top to bottom.

    Raises
    ------
    ValueError
        For a setting out of its range, or an image that is not 2-d.
    """
    boxes, _, _ = find_faces(grey, work_size=work_size, threshold=threshold,
                             overlap=overlap, verify=verify)
    return [tuple(int(v) for v in box) for box in boxes]


def _search(grey, scale, threshold, shortest=0, longest=np.inf):
    """Corners (left, top, right, bottom; in the image's pixels), face
    probabilities and landmarks ((5, 2) each) of the boxes found in a copy
    of ``grey`` scaled by ``scale`` whose long side lies between
    ``shortest`` and ``longest``."""
    import cv2

    height, width = grey.shape
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    # a smaller copy (scale <= 1) by the mean of the pixels each covers
    work = grey if size == (width, height) else cv2.resize(grey, size,
                                                           interpolation=cv2.INTER_AREA)
    network_input = (work.astype(np.float32)[None] - _BGR_MEAN)[None]
    offsets, probabilities, landmark_offsets = _session().run(None, {"input": network_input})
    keep = probabilities[0, :, 1] >= threshold
    anchors, offsets = _anchors(size[1], size[0])[keep], offsets[0, keep]
    centres = anchors[:, :2] + offsets[:, :2] * _CENTRE_VARIANCE * anchors[:, 2:]
    sides = anchors[:, 2:] * np.exp(offsets[:, 2:] * _SIZE_VARIANCE)
    corners = np.concatenate([centres - sides / 2, centres + sides / 2], axis=1)
    back = np.array([size[0] / width, size[1] / height], dtype=np.float32)
    corners = corners / np.tile(back, 2)
    points = (anchors[:, None, :2] + landmark_offsets[0, keep].reshape(-1, 5, 2)
              * _CENTRE_VARIANCE * anchors[:, None, 2:]) / back
    long_sides = np.max(corners[:, 2:] - corners[:, :2], axis=1)
    sized = (long_sides > shortest) & (long_sides <= longest)
    corners = np.clip(corners[sized], 0, [width, height, width, height])
    return corners, probabilities[0, keep, 1][sized], points[sized]


def _confirmed(grey, corners, landmarks):
    """Whether the detector finds the face of the box ``corners`` (left,
    top, right, bottom) again in a copy of its surroundings (see
    :data:`VERIFY_SIZE`): turned so that the box's eye ``landmarks`` are
    level (a face lying on its side is searched upright), or, failing that,
    as it lies in the image (a face far from upright can have its landmarks
    wrong)."""
    left, top, right, bottom = (float(v) for v in corners)
    zoom = VERIFY_SIZE / (VERIFY_SPAN * max(right - left, bottom - top, 1.0))
    box_centre = np.array([(left + right) / 2, (top + bottom) / 2])
    _, along, down, _ = eye_axes(landmarks)
    # the copy's x axis along the eyes, its y axis down the face; then the
    # image's own axes, as they are and turned by quarter turns
    tries = [np.stack([along, down]), *_QUARTER_TURNS]
    return any(_found_again(grey, zoom * axes, box_centre) for axes in tries)


def _found_again(grey, turn, box_centre):
    """Whether a face is found in the copy of ``grey`` that the 2x2 matrix
    ``turn`` maps ``box_centre`` to the middle of (see :data:`VERIFY_SIZE`)."""
    import cv2

    centre = VERIFY_SIZE / 2
    shift = centre - turn @ box_centre
    copy = cv2.warpAffine(grey, np.column_stack([turn, shift]).astype(np.float32),
                          (VERIFY_SIZE, VERIFY_SIZE), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=_MEAN_GREY)
    found, scores, _ = _search(copy, 1.0, VERIFY_SCORE)
    reach = VERIFY_SHIFT * centre / VERIFY_SPAN  # in the copy's pixels
    middles = (found[:, :2] + found[:, 2:]) / 2
    return bool(np.any(np.all(np.abs(middles - centre) <= reach, axis=1)))


def _merge(corners, scores, threshold, overlap):
    """The indices of the boxes kept: OpenCV's non-maximum suppression,
    then, largest first, every box lying mostly inside a larger one kept is
    dropped."""
    import cv2

    if not len(scores):
        return np.empty(0, dtype=int)
    kept = np.asarray(cv2.dnn.NMSBoxes(
        np.column_stack([corners[:, :2], corners[:, 2:] - corners[:, :2]]).tolist(),
        scores.tolist(), threshold, overlap), dtype=int).reshape(-1)
    areas = np.prod(corners[kept, 2:] - corners[kept, :2], axis=1)
    chosen = []
    for index in kept[np.argsort(-areas, kind="stable")]:
        if chosen:
            inner = np.prod(np.clip(
                np.minimum(corners[index, 2:], corners[chosen, 2:])
                - np.maximum(corners[index, :2], corners[chosen, :2]), 0, None), axis=1)
            if inner.max() >= CONTAINED * np.prod(corners[index, 2:] - corners[index, :2]):
                continue
        chosen.append(index)
    return np.asarray(chosen, dtype=int)


def crop_faces(grey, boxes, *, margin=MARGIN, upward_shift=UPWARD_SHIFT):
    """Each box's face framed as in FER2013, as an ``(n, 48, 48)`` uint8 array.

    A square of ``margin`` times the box's long side, centred
    ``upward_shift`` long sides above the box's centre, resized to 48x48
    (bilinear); where it leaves the image the border pixels are repeated.
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


def eye_axes(landmarks):
    """The face's frame from its eyes (the first two of :func:`find_faces`'
    landmarks): the eye distance, the unit vectors along the eyes and down
    the face, and the eyes' midpoint."""
    points = np.asarray(landmarks, dtype=np.float64)
    along = points[1] - points[0]
    distance = float(np.hypot(*along))
    # eyes in one point (never seen): no direction to level, keep it upright
    along = along / distance if distance > 0 else np.array([1.0, 0.0])
    return distance, along, np.array([-along[1], along[0]]), (points[0] + points[1]) / 2


def align_crop(grey, box, landmarks, *, scale="box", eye_side=None, eye_drop=None,
               margin=MARGIN, upward_shift=UPWARD_SHIFT):
    """A face cropped square with its eyes level, as a 48x48 uint8 array.

    The square is turned so that the line through the eyes (the first two of
    :func:`find_faces`' landmarks) is horizontal. ``scale="box"`` keeps
    :func:`crop_faces`' square (``margin`` long sides of ``box``, centred
    ``upward_shift`` of them above its centre, "above" along the face);
    ``scale="eyes"`` sets it from the eyes instead: a side of ``eye_side``
    eye distances, centred ``eye_drop`` eye distances below their midpoint.
    The border is repeated where the square leaves the image.
    """
    import cv2
    from PIL import Image

    grey = np.ascontiguousarray(grey, dtype=np.uint8)
    distance, along, down, middle = eye_axes(landmarks)
    x, y, w, h = box
    if scale == "box":
        side = margin * max(w, h)
        centre = np.array([x + w / 2, y + h / 2]) - upward_shift * max(w, h) * down
    elif scale == "eyes":
        side = eye_side * distance
        centre = middle + eye_drop * distance * down
    else:
        raise ValueError(f"scale must be 'box' or 'eyes'; got {scale!r}.")
    pixels = max(1, round(side))
    step = side / pixels
    # output pixel (column, row) -> image point: the square's corner plus
    # steps along the eyes and down the face, to the centres of the steps;
    # OpenCV puts pixel i's centre at i, the detector's coordinates at i + 0.5
    corner = centre - side / 2 * (along + down) + step / 2 * (along + down) - 0.5
    matrix = np.column_stack([step * along, step * down, corner])
    square = cv2.warpAffine(grey, matrix.astype(np.float64), (pixels, pixels),
                            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                            borderMode=cv2.BORDER_REPLICATE)
    return np.asarray(Image.fromarray(square).resize((48, 48), Image.Resampling.BILINEAR),
                      dtype=np.uint8)
