"""``analyze``: photos, arrays, videos and folders -> one DataFrame row per face.

The pipeline: read each image (or each chosen video frame) as grey levels
-> find the faces (:func:`fer_sklearn._faces.detect_faces`) -> crop each as
FER2013 frames faces -> one classifier for all crops, in batches -> a row
per face. Faces in a video are tracked from frame to frame by the overlap
of their boxes, so one person keeps one ``face`` id.
"""

import math
from pathlib import Path

import numpy as np

__all__ = ["analyze", "IMAGE_SUFFIXES", "VIDEO_SUFFIXES"]

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v")

_COLUMNS = ["source", "frame", "time", "face", "x", "y", "width", "height", "label"]


def _grey(array, where):
    """An image array (grey, or colour with the channels last) as grey uint8."""
    array = np.asarray(array)
    if array.dtype.kind not in "uif":
        raise TypeError(f"{where}: expected an array of numbers; got dtype {array.dtype}.")
    if array.ndim == 3 and array.shape[2] in (3, 4):
        array = array[..., :3].astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    if array.ndim != 2:
        raise ValueError(
            f"{where}: expected an image of shape (height, width) or (height, width, 3|4); "
            f"got shape {array.shape}."
        )
    if array.dtype.kind == "f":
        if not np.isfinite(array).all():
            raise ValueError(f"{where}: the image holds NaN or infinite values.")
        if array.size and array.min() >= 0 and array.max() <= 1:
            array = array * 255
    if array.size and (array.min() < 0 or array.max() > 255):
        raise ValueError(f"{where}: pixel values must be in 0..255 (or 0..1 floats); got "
                         f"{array.min()}..{array.max()}.")
    return np.rint(array).astype(np.uint8)


class _Tracker:
    """Face ids across the frames of one video, by box overlap (IoU).

    Each box of a frame takes the id of the track whose last box it overlaps
    most (at least ``min_iou``), greedily by overlap; a box that matches no
    track starts a new id; a track unseen for more than ``max_gap``
    analysed frames ends.
    """

    def __init__(self, min_iou=0.3, max_gap=10):
        self.min_iou = min_iou
        self.max_gap = max_gap
        self.tracks = {}  # id -> (box, last frame number)
        self.next_id = 0
        self.frames = 0

    @staticmethod
    def _iou(a, b):
        ax, ay, aw, ah = a
        bx, by, bw, bh = b
        width = max(0, min(ax + aw, bx + bw) - max(ax, bx))
        height = max(0, min(ay + ah, by + bh) - max(ay, by))
        overlap = width * height
        return overlap / (aw * ah + bw * bh - overlap) if overlap else 0.0

    def assign(self, boxes):
        self.frames += 1
        self.tracks = {i: t for i, t in self.tracks.items()
                       if self.frames - t[1] <= self.max_gap + 1}
        pairs = sorted(((self._iou(box, track[0]), b, i)
                        for b, box in enumerate(boxes) for i, track in self.tracks.items()),
                       reverse=True)
        ids, taken = [None] * len(boxes), set()
        for iou, b, i in pairs:
            if iou < self.min_iou:
                break
            if ids[b] is None and i not in taken:
                ids[b] = i
                taken.add(i)
        for b, box in enumerate(boxes):
            if ids[b] is None:
                ids[b], self.next_id = self.next_id, self.next_id + 1
            self.tracks[ids[b]] = (box, self.frames)
        return ids


def _faces_of(grey, detect, detector_params):
    """(boxes, 48x48 crops) of one image."""
    from ._faces import crop_faces, detect_faces

    height, width = grey.shape
    if detect is None:
        detect = (height, width) != (48, 48)  # a 48x48 image is a face crop
    if not detect:
        from PIL import Image

        face = grey if (height, width) == (48, 48) else np.asarray(
            Image.fromarray(grey).resize((48, 48), Image.Resampling.BILINEAR))
        return [(0, 0, width, height)], face[None]
    boxes = detect_faces(grey, **detector_params)
    return boxes, crop_faces(grey, boxes)


def _open_video(path):
    """An opened ``cv2.VideoCapture``, its frame rate and its frame count."""
    try:
        import cv2
    except ImportError as exc:
        raise ImportError("videos are read with OpenCV: pip install opencv-python-headless") from exc
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise ValueError(f"{path}: not a readable video (OpenCV could not open it).")
    return capture, capture.get(cv2.CAP_PROP_FPS) or 0.0, int(capture.get(cv2.CAP_PROP_FRAME_COUNT))


def _video_frames(path, capture, rate, every, fps):
    """(frame number, time in seconds, grey frame) of the frames to analyse."""
    import cv2

    if fps is not None and rate <= 0:
        raise ValueError(f"{path}: the video records no frame rate; use every= instead of fps=.")
    try:
        number, last_slot = 0, -1
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            time = number / rate if rate > 0 else float("nan")
            if fps is not None:
                slot = math.floor(time * fps + 1e-9)
                keep, last_slot = slot != last_slot, slot
            else:
                keep = number % every == 0
            if keep:
                yield number, time, cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
            number += 1
        if number == 0:
            raise ValueError(f"{path}: not a readable video (no frame could be decoded).")
    finally:
        capture.release()


def _expand(source):
    """The (name, kind, item) of every image, video or array in ``source``."""
    if isinstance(source, (str, Path)):
        path = Path(source)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*")
                           if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES + VIDEO_SUFFIXES)
            if not files:
                raise ValueError(f"{path}: no image or video files in this folder "
                                 f"({', '.join(IMAGE_SUFFIXES + VIDEO_SUFFIXES)}).")
            for file in files:
                yield from _expand(file)
            return
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such file or folder.")
        kind = "video" if path.suffix.lower() in VIDEO_SUFFIXES else "image"
        yield str(path), kind, path
        return
    if isinstance(source, np.ndarray):
        yield "array", "array", source
        return
    if isinstance(source, (list, tuple)):
        for index, item in enumerate(source):
            for name, kind, value in _expand(item):
                yield (f"array[{index}]" if kind == "array" else name), kind, value
        return
    raise TypeError(f"source must be a path, an image array or a list of them; got "
                    f"{type(source).__name__}.")


def analyze(source, model="cnn", *, detect=None, every=1, fps=None, batch_size=256,
            progress=False, client=None, **detector_params):
    """Find the faces in photos, arrays or videos and classify each one.

    Parameters
    ----------
    source : path, ndarray or list of them
        An image file, a video file (``.mp4``, ``.avi``, ``.mov`` ...), a
        folder (its images and videos, sorted, subfolders included), an
        image array (``(height, width)`` grey or ``(height, width, 3)``
        RGB, 0..255 or 0..1 floats), or a list of any of these.
    model : str or fitted classifier, default="cnn"
        A shipped model's name (:func:`load_pretrained`) or a fitted
        :class:`FERCNNClassifier` / :class:`FERRNNClassifier`.
    detect : bool or None, default=None
        None finds faces in every image except 48x48 ones, which are taken
        as face crops (as in FER2013); True always searches; False takes
        each whole image as one face, resized to 48x48.
    every : int, default=1
        Analyse every ``every``-th frame of a video.
    fps : float, optional
        Analyse this many frames per second of video instead.
    batch_size : int, default=256
        Faces per ``predict_proba`` call.
    progress : bool, default=False
        Progress bars (on stderr) over the files and over each video's frames.
    client : distributed.Client, optional
        Run on a Dask cluster: one task per image or video (a folder of
        thousands of photos, or many videos), each worker loading the model
        once. The table is the same as the serial run's, row for row.
    **detector_params
        ``work_size``, ``threshold``, ``overlap`` of the face detector
        (``fer_sklearn._faces.detect_faces``; see the user guide).

    Returns
    -------
    pandas.DataFrame
        One row per face: ``source``, ``frame`` (0 for images), ``time``
        (seconds into a video; NaN for images), ``face`` (an id, the same
        for one person across the frames of a video; numbered within each
        image), ``x``, ``y``, ``width``, ``height`` (the detector's box, in
        the image's pixels; the whole image without detection), ``label``
        and one probability column per class (emotion names for FER2013
        codes). An image or video without faces gives no row.

    Examples
    --------
    >>> import numpy as np
    >>> from fer_sklearn import analyze, load_fer2013_sample
    >>> faces = load_fer2013_sample().images[:2]
    >>> table = analyze(list(faces))  # 48x48 arrays: taken as face crops
    >>> table[["source", "face", "label"]].shape
    (2, 3)
    """
    if int(every) < 1:
        raise ValueError(f"every must be a whole number of at least 1; got {every!r}.")
    if fps is not None and not float(fps) > 0:
        raise ValueError(f"fps must be > 0; got {fps!r}.")
    items = list(_expand(source))
    options = dict(detect=detect, every=int(every), fps=fps, batch_size=batch_size,
                   detector_params=detector_params)
    if client is None:
        classifier = _classifier(model)
        bar = _progress(len(items), progress, "files")
        tables = []
        for item in items:
            tables.append(_analyze_item(item, classifier, progress=progress, **options))
            bar.update(1)
        bar.close()
    else:
        tables = _analyze_on_dask(client, items, model, options, progress)
    # every item's table has the probability columns, even without faces
    names = _names(None, tables) if tables else _names(_classifier(model), [])
    return _table(tables, names)


def _classifier(model, _loaded={}):
    """A fitted classifier: ``model`` itself, or the shipped model of that
    name (loaded once per process: a Dask worker loads it once)."""
    if not isinstance(model, str):
        return model
    if model not in _loaded:
        from ._pretrained import load_pretrained

        _loaded[model] = load_pretrained(model)
    return _loaded[model]


def _names(classifier, tables):
    """The probability columns: the tables' own, or the classifier's class names."""
    if tables:
        return [column for column in tables[0].columns if column not in _COLUMNS]
    from .plotting import label_names

    return [str(name).lower() for name in label_names(classifier.classes_)]


def _analyze_item(item, classifier, *, detect, every, fps, batch_size, detector_params,
                  progress=False):
    """The rows of one image, array or video, as a DataFrame (the work of one
    Dask task; ``analyze`` runs the same function for each item)."""
    import pandas as pd

    name, kind, value = item
    classifier = _classifier(classifier)  # a shipped model's name, on a worker
    names = _names(classifier, [])
    rows, crops, tables = [], [], []

    def flush():
        if crops:
            proba = classifier.predict_proba(np.concatenate(crops))
            frame = pd.DataFrame(rows, columns=_COLUMNS[:-1])
            frame["label"] = np.asarray(names)[proba.argmax(axis=1)]
            frame[names] = proba
            tables.append(frame)
            rows.clear(), crops.clear()

    def add(number, time, boxes, faces, ids):
        if not len(boxes):
            return
        for box, face_id in zip(boxes, ids):
            rows.append((name, number, time, face_id, *box))
        crops.append(faces)
        if sum(len(c) for c in crops) >= batch_size:
            flush()

    if kind == "video":
        capture, rate, count = _open_video(value)
        tracker, frames = _Tracker(), _progress(count, progress, "frames")
        for number, time, grey in _video_frames(value, capture, rate, every, fps):
            boxes, faces = _faces_of(grey, detect, detector_params)
            add(number, time, boxes, faces, tracker.assign(boxes))
            frames.update(number + 1 - frames.n)
        frames.close()
    else:
        if kind == "image":
            from .datasets._images import read_grey

            grey = read_grey(value)
        else:
            grey = _grey(value, name)
        boxes, faces = _faces_of(grey, detect, detector_params)
        add(0, float("nan"), boxes, faces, range(len(boxes)))
    flush()
    return _table(tables, names)


def _analyze_on_dask(client, items, model, options, progress):
    """One task per image or video on a Dask cluster; the tables in order."""
    from distributed import as_completed

    # a shipped model's name travels as text and each worker loads it once;
    # a fitted classifier is sent to every worker once
    shipped = model if isinstance(model, str) else client.scatter(model, broadcast=True)
    futures = [client.submit(_analyze_item, item, shipped, pure=False, **options)
               for item in items]
    bar = _progress(len(futures), progress, "files")
    for _ in as_completed(futures):
        bar.update(1)
    bar.close()
    return client.gather(futures)


def _table(tables, names):
    import pandas as pd

    tables = [table for table in tables if len(table)]
    if not tables:
        empty = pd.DataFrame(columns=_COLUMNS + names)
        return empty.astype({"frame": int, "face": int, "time": float, **{n: float for n in names}})
    table = pd.concat(tables, ignore_index=True)
    return table.astype({"frame": int, "face": int, "x": int, "y": int, "width": int,
                         "height": int, "time": float})


def _progress(total, enabled, unit):
    from tqdm.auto import tqdm

    return tqdm(total=total, unit=unit, disable=not enabled, leave=False)
