"""The work of ``analyze`` on one photo, array or video: its faces found,
cropped and classified, a row per face.

Each image (or each chosen video frame) is read as grey levels
(``_sources``) -> its faces found (:func:`fer_sklearn._faces.find_faces`)
-> each cropped as FER2013 frames faces -> one classifier for all crops, in
batches (:class:`_Batch`) -> a row per face. Faces in a video are tracked
from frame to frame by the overlap of their boxes (``_tracking``), so one
person keeps one ``face`` id. ``_analyze`` runs this over every item here,
``_dask`` over a cluster; ``_live`` uses the same crops and batches.
"""

import numpy as np

from ._labels import LANDMARK_COLUMNS, TABLE_COLUMNS
from ._parallel import in_order, search_pool
from ._sources import VideoBrokeOff, _grey, _open_video, _video_frames, _warn_unreadable
from ._tracking import _Tracker

__all__ = []

_COLUMNS = TABLE_COLUMNS


def _detects(detect, shape):
    """Whether an image of ``shape`` is searched for faces: ``detect``, or
    where it is None, unless the image is 48x48 (a face crop)."""
    return detect if detect is not None else tuple(shape[:2]) != (48, 48)


def _faces_of(grey, detect, detector_params, scale=1.0):
    """(rows of box, score and landmarks; 48x48 crops) of one image.
    ``scale`` maps ``grey``'s pixels to the reported ones (a JPEG decoded
    at a reduced size)."""
    from ._faces import align_crop, find_faces

    height, width = grey.shape
    if not _detects(detect, grey.shape):
        from PIL import Image

        face = grey if (height, width) == (48, 48) else np.asarray(
            Image.fromarray(grey).resize((48, 48), Image.Resampling.BILINEAR))
        whole = (0, 0, round(width * scale), round(height * scale))
        return [whole + (np.nan,) + (np.nan,) * len(LANDMARK_COLUMNS)], face[None]
    boxes, scores, landmarks = find_faces(grey, **detector_params)
    # each crop turned so that the eyes are level: 2.2 points more accurate
    # than the upright box crop on faces turned by up to 25 degrees, the same
    # on upright ones (scripts/compare_crops.py)
    crops = np.stack([align_crop(grey, tuple(box), points)
                      for box, points in zip(boxes, landmarks)]) if len(boxes) \
        else np.empty((0, 48, 48), np.uint8)
    rows = []
    for box, score, points in zip(boxes, scores, landmarks):
        box = tuple(int(round(v * scale)) for v in box)
        rows.append(box + (float(score),) + tuple(float(v) * scale for v in points.ravel()))
    return rows, crops


def _analyze_serial(items, classifier, batch_size, progress, options):
    """The tables of every item in this process, the faces of consecutive
    photos classified together in batches of ``batch_size``. Photos (where
    there are two or more to search) and the frames of each video are read
    and searched side by side (``_parallel``)."""
    import fer_sklearn._parallel as parallel

    bar = _progress(len(items), progress, "files")
    batch = _Batch(classifier, batch_size)
    failed = {}
    detect, detector_params = options["detect"], options["detector_params"]
    with search_pool() as pool:
        # one photo is searched here, on every thread, as fast and without
        # a second detector session
        photos = pool if sum(_searched(item, detect) for item in items) >= 2 else None
        jobs = ((item, _still_faces if _searched(item, detect) else None, item, detect,
                 detector_params) for item in items)
        for item, found in in_order(jobs, photos, parallel.PHOTOS_AHEAD):
            _item_faces(item, batch, failed, progress=progress, found=found, pool=pool,
                        **options)
            bar.update(1)
    bar.close()
    return batch.tables(), failed


def _searched(item, detect):
    """Whether ``item`` is a photo file, or an array the detector searches."""
    name, kind, value = item
    return kind == "image" or (kind == "array" and bool(_detects(detect, np.shape(value))))


def _still_faces(item, detect, detector_params):
    """(rows, crops) of one photo file or image array; a ValueError for a
    file that cannot be read."""
    name, kind, value = item
    if kind == "image":
        from .datasets._images import read_photo

        # a large JPEG decoded no larger than the detector needs
        side = detector_params.get("work_size", 1280)
        grey, scale = read_photo(value, draft_side=side if detect is not False else 48)
    else:
        grey, scale = _grey(value, name), 1.0
    return _faces_of(grey, detect, detector_params, scale)


def _classifier(model, engine="onnx", _loaded={}):
    """A fitted classifier: ``model`` itself, or the shipped model of that
    name on ``engine`` (loaded once per process: a Dask worker loads it
    once)."""
    if isinstance(model, str):
        key = (model.lower(), engine)
        if key not in _loaded:
            if engine == "onnx":
                from ._runtime import shipped_graph

                _loaded[key] = shipped_graph(model)
            else:
                from ._pretrained import load_pretrained

                _loaded[key] = load_pretrained(model)
        return _loaded[key]
    if not (hasattr(model, "predict_proba") and hasattr(model, "classes_")):
        fitted = "an unfitted " if hasattr(model, "predict_proba") else ""
        raise TypeError(
            f"model must be a shipped model's name ('cnn', 'cnn-ensemble', 'rnn', "
            f"'study') or a fitted classifier with predict_proba and classes_; got "
            f"{fitted}{type(model).__name__ if model is not None else 'None'}."
        )
    return model


def _names(classifier):
    """The probability columns: the classifier's class names."""
    from ._labels import label_names

    return [str(name).lower() for name in label_names(classifier.classes_)]


class _Batch:
    """Faces waiting for the classifier, with their rows; classified
    ``batch_size`` at a time, whichever images or frames they came from."""

    def __init__(self, classifier, batch_size):
        self.classifier, self.batch_size = classifier, batch_size
        self.names = _names(classifier)
        self.rows, self.crops, self.done = [], [], []
        self.waiting = 0  # faces in self.crops

    def add(self, name, number, time, rows, crops, ids):
        if not len(rows):
            return
        for row, face_id in zip(rows, ids):
            self.rows.append((name, number, time, face_id, *row))
        self.crops.append(crops)
        self.waiting += len(crops)
        if self.waiting >= self.batch_size:
            self.flush()

    def flush(self):
        import pandas as pd

        if self.crops:
            proba = self.classifier.predict_proba(np.concatenate(self.crops))
            frame = pd.DataFrame(self.rows, columns=_COLUMNS[:-1])
            frame["label"] = np.asarray(self.names)[proba.argmax(axis=1)]
            frame[self.names] = proba
            self.done.append(frame)
            self.rows, self.crops, self.waiting = [], [], 0

    def tables(self):
        self.flush()
        return self.done


def _item_faces(item, batch, failed, *, detect, every, fps, detector_params, errors,
                progress=False, found=None, pool=None, frames=(0, None)):
    """Find the faces of one image, array or video and hand them to
    ``batch``; a file that cannot be read (or a video that breaks off: its
    frames before stay in ``batch``) goes into ``failed``, and is raised or
    warned about as ``errors`` says. ``found``: the future of a photo's or
    array's faces, searched ahead (:func:`_parallel.in_order`); ``pool``:
    where a video's frames are searched, :data:`FRAMES_AHEAD` a thread;
    ``frames``: (start, stop) of the frames of a video read, tracked from
    ``start`` on (stop None: to the end)."""
    import fer_sklearn._parallel as parallel

    name, kind, value = item
    try:
        if kind == "video":
            capture, rate, count = _open_video(value)
            start, stop = frames
            tracker = _Tracker()
            bar = _progress((stop or count) - start, progress, "frames")
            try:
                jobs = (((number, time), _faces_of, grey, detect, detector_params)
                        for number, time, grey in _video_frames(value, capture, rate, every,
                                                                fps, count, start, stop))
                for (number, time), future in in_order(jobs, pool, parallel.FRAMES_AHEAD):
                    rows, crops = future.result()
                    batch.add(name, number, time, rows, crops,
                              tracker.assign([row[:4] for row in rows]))
                    bar.update(number + 1 - start - bar.n)
            finally:
                bar.close()
            return
        rows, crops = found.result() if found is not None \
            else _still_faces(item, detect, detector_params)
        batch.add(name, 0, float("nan"), rows, crops, range(len(rows)))
    except ValueError as exc:
        if kind == "array" or errors == "raise":
            raise  # an array is the caller's own data: always an error
        failed[name] = str(exc)
        if errors == "warn":
            _warn_unreadable(name, exc, stacklevel=5,  # analyze's caller
                             partial=isinstance(exc, VideoBrokeOff))


def _table(tables, names):
    import pandas as pd

    tables = [table for table in tables if len(table)]
    if not tables:
        empty = pd.DataFrame(columns=_COLUMNS + names)
        floats = {column: float for column in ["time", "score"] + LANDMARK_COLUMNS + names}
        return empty.astype({"frame": int, "face": int, **floats})
    table = pd.concat(tables, ignore_index=True)
    floats = {column: float for column in ["time", "score"] + LANDMARK_COLUMNS}
    return table.astype({"frame": int, "face": int, "x": int, "y": int, "width": int,
                         "height": int, **floats})


class _NoProgress:
    """What a disabled bar does (nothing), without importing tqdm: 60 ms of
    a cold one-photo ``fer-sklearn predict``."""

    n = 0

    def update(self, count=1):
        self.n += count

    def close(self):
        pass


def _progress(total, enabled, unit):
    if not enabled:
        return _NoProgress()
    from tqdm.auto import tqdm

    return tqdm(total=total, unit=unit, leave=False)
