"""``analyze``: photos, arrays, videos and folders -> one DataFrame row per face.

The options are checked and the sources listed here (``_sources``); the
work is done item by item in this process (``_analysis``: find the faces,
crop, classify in batches, track faces across a video's frames) or on a
Dask cluster (``_dask``: batches of photos and spans of videos as tasks).
"""

import inspect

from ._analysis import _analyze_serial, _classifier, _names, _table
from ._sources import _expand
from ._validation import check_engine

__all__ = ["analyze", "ERRORS"]

#: what analyze does with a file it cannot read
ERRORS = ("warn", "raise", "skip")


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
        Run on a Dask cluster, each worker loading the model once: photos
        and arrays in batches of up to 16 a task, and each video longer
        than a minute in spans of 30 s, one task each (a task seeks to a
        little before its span and tracks from there; the spans' face ids
        are joined by the boxes they share, so one person keeps one id).
        The table is the same as the serial run's, row for row.
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
        from ._dask import _analyze_on_dask

        _classifier(model, engine)  # a bad model fails here, not on every worker
        tables, failed = _analyze_on_dask(client, items, model, engine,
                                          dict(options, batch_size=batch_size), progress)
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


