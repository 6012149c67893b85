"""``analyze``: photos, arrays, videos and folders -> one DataFrame row per face.

The pipeline: read each image (or each chosen video frame) as grey levels
(``_sources``) -> find the faces (:func:`fer_sklearn._faces.detect_faces`) -> crop each as
FER2013 frames faces -> one classifier for all crops, in batches -> a row
per face. Faces in a video are tracked from frame to frame by the overlap
of their boxes (``_tracking``), so one person keeps one ``face`` id.
"""

import inspect

import numpy as np

from ._labels import LANDMARK_COLUMNS, TABLE_COLUMNS
from ._parallel import in_order, search_pool
from ._sources import VideoBrokeOff, _expand, _grey, _open_video, _video_frames, \
    _warn_unreadable
from ._tracking import _Tracker
from ._validation import check_engine

__all__ = ["analyze", "ERRORS"]

_COLUMNS = TABLE_COLUMNS
#: what analyze does with a file it cannot read
ERRORS = ("warn", "raise", "skip")


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


def analyze(source, model="cnn", *, detect=None, every=1, fps=None, batch_size=256,
            progress=False, client=None, errors="warn", engine="onnx", **detector_params):
    """Find the faces in photos, arrays or videos and classify each one.

    Parameters
    ----------
    source : path, ndarray or list of them
        An image file, a video file (``.mp4``, ``.avi``, ``.mov`` ...), a
        folder (its images and videos, sorted, subfolders included), an
        image array (``(height, width)`` grey or ``(height, width, 3)``
        RGB, 0..255 or 0..1 floats), or a list of any of these. Photos are
        read upright: turned as their EXIF Orientation tag says (phones
        store portraits sideways with such a tag), and boxes are given in
        that upright frame.
    model : str or fitted classifier, default="cnn"
        A shipped model's name (:func:`load_pretrained`), run on
        ``engine``, or a fitted :class:`FERCNNClassifier`,
        :class:`FERRNNClassifier` or :class:`ONNXClassifier`.
    detect : bool or None, default=None
        None finds faces in every image except 48x48 ones, which are taken
        as face crops (as in FER2013); True always searches; False takes
        each whole image as one face, resized to 48x48.
    every : int, default=1
        Analyse every ``every``-th frame of a video.
    fps : float, optional
        Analyse this many frames per second of video instead.
    batch_size : int, default=256
        Faces per ``predict_proba`` call; the faces of consecutive photos
        share calls.
    progress : bool, default=False
        Progress bars (on stderr) over the files and over each video's frames.
    client : distributed.Client, optional
        Run on a Dask cluster: one task per image or video (a folder of
        thousands of photos, or many videos), each worker loading the model
        once. The table is the same as the serial run's, row for row.
    errors : {"warn", "raise", "skip"}, default="warn"
        A file that cannot be read or decoded (damaged, not an image, a
        macOS ``._`` sidecar): ``"warn"`` goes on with the others and warns
        (:class:`UnreadableFileWarning`, naming the file and the reason);
        ``"skip"`` goes on silently; ``"raise"`` stops with the error. In
        every case the files that failed are in the table's
        ``attrs["errors"]`` (file -> reason): one bad photo never loses a
        folder's results. A missing path or a bad argument is always an
        error, before any work.
    engine : {"onnx", "torch"}, default="onnx"
        For a shipped model's name: its ONNX graph on ONNX Runtime (3-4x
        faster; torch is not imported), or the torch model.
    **detector_params
        ``work_size`` (64..8192), ``threshold`` and ``overlap`` (in (0, 1])
        and ``verify`` (True: each box checked by a second search around
        it, which drops boxes on patterns and text) of the face detector
        (see the user guide's page on photos and videos), checked before
        any work.

    Returns
    -------
    pandas.DataFrame
        One row per face: ``source``, ``frame`` (0 for images), ``time``
        (seconds into a video; NaN for images), ``face`` (an id, the same
        for one person across the frames of a video; numbered within each
        image), ``x``, ``y``, ``width``, ``height`` (the detector's box, in
        the image's pixels; the whole image without detection), ``score``
        (the detector's face probability; NaN without detection), the five
        landmarks as ``left_eye_x``, ``left_eye_y``, ``right_eye_x`` ...
        ``mouth_right_y`` (as seen in the image), ``label`` and one
        probability column per class (emotion names for FER2013 codes). An
        image or video without faces gives no row. ``attrs["errors"]``:
        the files that could not be read, with the reason.

    See Also
    --------
    live : a webcam or a stream, frame by frame as it comes.
    summarize : one row per face of a video table.
    fer_sklearn.plotting.plot_emotion_timeline : a face's emotions over time.

    Examples
    --------
    >>> import numpy as np
    >>> from fer_sklearn import analyze, load_fer2013_sample
    >>> faces = load_fer2013_sample().images[:2]
    >>> table = analyze(list(faces))  # 48x48 arrays: taken as face crops
    >>> table[["source", "face", "label"]].shape
    (2, 3)
    """
    every, fps, batch_size, engine = _check_options(every, fps, batch_size, errors, engine,
                                                    detector_params)
    items = list(_expand(source))
    options = dict(detect=detect, every=every, fps=fps, detector_params=detector_params,
                   errors=errors)
    if client is None:
        classifier = _classifier(model, engine)
        tables, failed = _analyze_serial(items, classifier, batch_size, progress, options)
    else:
        _classifier(model, engine)  # a bad model fails here, not on every worker
        results = _analyze_on_dask(client, items, model, engine, dict(options,
                                   batch_size=batch_size), progress)
        tables = [table for table, _ in results]
        failed = {name: reason for _, errors_of in results for name, reason in errors_of.items()}
    # every item's table has the probability columns, even without faces
    names = _names(_classifier(model, engine))
    table = _table(tables, names)
    table.attrs["errors"] = failed
    return table


def _check_options(every, fps, batch_size, errors, engine, detector_params):
    """The options of analyze, checked before any work."""
    from ._faces import check_detector_params
    from ._validation import check_positive_number, check_whole_number

    every = check_whole_number(every, "every")
    batch_size = check_whole_number(batch_size, "batch_size")
    if fps is not None:
        fps = check_positive_number(fps, "fps")
    if errors not in ERRORS:
        raise ValueError(f"errors must be one of {list(ERRORS)}; got {errors!r}.")
    engine = check_engine(engine)
    names = list(inspect.signature(check_detector_params).parameters)
    unknown = sorted(set(detector_params) - set(names))
    if unknown:
        raise TypeError(f"analyze got unexpected argument(s) {unknown}; the detector "
                        f"takes {', '.join(names[:-1])} and {names[-1]}.")
    check_detector_params(**detector_params)
    return every, fps, batch_size, engine


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
                progress=False, found=None, pool=None):
    """Find the faces of one image, array or video and hand them to
    ``batch``; a file that cannot be read (or a video that breaks off: its
    frames before stay in ``batch``) goes into ``failed``, and is raised or
    warned about as ``errors`` says. ``found``: the future of a photo's or
    array's faces, searched ahead (:func:`_parallel.in_order`); ``pool``:
    where a video's frames are searched, :data:`FRAMES_AHEAD` a thread."""
    import fer_sklearn._parallel as parallel

    name, kind, value = item
    try:
        if kind == "video":
            capture, rate, count = _open_video(value)
            tracker, frames = _Tracker(), _progress(count, progress, "frames")
            try:
                jobs = (((number, time), _faces_of, grey, detect, detector_params)
                        for number, time, grey in _video_frames(value, capture, rate, every,
                                                                fps, count))
                for (number, time), future in in_order(jobs, pool, parallel.FRAMES_AHEAD):
                    rows, crops = future.result()
                    batch.add(name, number, time, rows, crops,
                              tracker.assign([row[:4] for row in rows]))
                    frames.update(number + 1 - frames.n)
            finally:
                frames.close()
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


def _analyze_item(item, model, *, engine, detect, every, fps, batch_size, detector_params,
                  errors, progress=False):
    """(the rows of one image, array or video as a DataFrame, the files
    that failed): the work of one Dask task."""
    classifier = _classifier(model, engine)  # a shipped model's name, on a worker
    batch, failed = _Batch(classifier, batch_size), {}
    _item_faces(item, batch, failed, detect=detect, every=every, fps=fps,
                detector_params=detector_params, errors="skip" if errors == "warn" else errors,
                progress=progress)
    return _table(batch.tables(), batch.names), failed


def _analyze_on_dask(client, items, model, engine, options, progress):
    """One task per image or video on a Dask cluster: (table, failed) of
    each, in order; the client warns about the failed files."""
    from distributed import as_completed

    # a shipped model's name travels as text and each worker loads it once;
    # a fitted classifier is sent to every worker once
    shipped = model if isinstance(model, str) else client.scatter(model, broadcast=True)
    futures = [client.submit(_analyze_item, item, shipped, engine=engine, pure=False,
                             **options)
               for item in items]
    bar = _progress(len(futures), progress, "files")
    for _ in as_completed(futures):
        bar.update(1)
    bar.close()
    results = client.gather(futures)
    if options["errors"] == "warn":
        for _, failed in results:
            for name, reason in failed.items():
                _warn_unreadable(name, reason, stacklevel=4)  # analyze's caller
    return results


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
