"""Live video: a webcam, a device, a stream URL or a file played in real
time, analysed frame by frame as it comes (``live``), and the per-face
summary of a table of video frames (``summarize``).

A reader thread takes frames from OpenCV as the source delivers them (a
file at its own frame rate, as a camera would) and keeps only the newest;
the analysis takes the newest frame whenever it is ready for one, so a slow
analysis drops frames instead of falling behind. ``max_fps`` analyses at
most that many frames a second. Faces keep their ids from frame to frame
(the same tracker as ``analyze``).
"""

import math
import threading
import time as clock
from collections import namedtuple
from pathlib import Path

import numpy as np

from ._labels import TABLE_COLUMNS

__all__ = ["live", "summarize", "LiveFrame", "LiveStream"]

#: the detector sizes ``live`` tries where ``work_size="auto"``, largest first
AUTO_WORK_SIZES = (1280, 960, 640)
#: analysed frames timed at one size before ``live`` decides to step down
AUTO_FRAMES = 8

#: one analysed frame: its number in the stream, its time in seconds from
#: the start, its faces (a DataFrame with analyze's columns) and the frame
#: itself (BGR, as OpenCV reads it)
LiveFrame = namedtuple("LiveFrame", ["frame", "time", "faces", "image"])

_URL_SCHEMES = ("rtsp://", "rtsps://", "rtmp://", "http://", "https://", "udp://", "tcp://")


def _open(source):
    """An opened ``cv2.VideoCapture`` of ``source``, its frame rate and
    whether it is a file (played at its own rate) rather than a device or
    a stream; a ValueError naming the source if it cannot be opened."""
    import cv2

    if isinstance(source, (bool, np.bool_)) or not isinstance(source, (int, np.integer, str,
                                                                        Path)):
        raise TypeError(f"source must be a webcam index, a device path, a stream URL or a "
                        f"video file; got {type(source).__name__}.")
    if isinstance(source, str) and source.isdigit():
        source = int(source)
    is_file = False
    if isinstance(source, (int, np.integer)):
        capture = cv2.VideoCapture(int(source))
    else:
        text = str(source)
        if not text.lower().startswith(_URL_SCHEMES):
            path = Path(text)
            if not path.exists():
                raise FileNotFoundError(f"{text}: no such file or device.")
            is_file = path.is_file() and not text.startswith("/dev/")
        capture = cv2.VideoCapture(text)
    if not capture.isOpened():
        capture.release()
        raise ValueError(f"{source}: cannot be opened as a video source (OpenCV could not "
                         "open it: a webcam index, a device path, a stream URL or a video "
                         "file).")
    return capture, capture.get(cv2.CAP_PROP_FPS) or 0.0, is_file


class _Reader(threading.Thread):
    """Reads frames as the source delivers them and keeps the newest.

    A file with ``realtime`` is read at its own frame rate; without, as fast
    as the analysis takes frames (none is dropped). A device or a stream is
    read as fast as it delivers.
    """

    def __init__(self, capture, rate, paced, keep_all):
        super().__init__(daemon=True)
        self.capture, self.rate, self.paced, self.keep_all = capture, rate, paced, keep_all
        self.condition = threading.Condition()
        self.latest = None  # (number, time, frame)
        self.delivered = 0
        self.dropped = 0  # frames replaced by a newer one before they were taken
        self.finished = False
        self.stopping = False
        self.error = None

    def run(self):
        started = clock.perf_counter()
        number = 0
        try:
            while not self.stopping:
                if self.keep_all:
                    with self.condition:  # wait until the last frame was taken
                        while self.latest is not None and not self.stopping:
                            self.condition.wait(0.1)
                ok, frame = self.capture.read()
                if not ok:
                    break
                if self.rate > 0:
                    time = number / self.rate
                else:
                    time = clock.perf_counter() - started
                if self.paced and self.rate > 0:
                    delay = started + time - clock.perf_counter()
                    if delay > 0:
                        clock.sleep(delay)
                with self.condition:
                    self.dropped += self.latest is not None
                    self.latest = (number, time, frame)
                    self.delivered = number + 1
                    self.condition.notify_all()
                number += 1
        except Exception as exc:  # a stream that breaks: end, and say why
            self.error = exc
        finally:
            with self.condition:
                self.finished = True
                self.condition.notify_all()

    def take(self):
        """The newest frame not yet taken, waiting for one; None at the end."""
        with self.condition:
            while self.latest is None and not self.finished:
                self.condition.wait(0.1)
            taken, self.latest = self.latest, None
            self.condition.notify_all()
            return taken

    def stop(self):
        with self.condition:
            self.stopping = True
            self.condition.notify_all()


class LiveStream:
    """What :func:`live` returns: an iterator of ``LiveFrame``, with
    counts of what the source delivered and what the analysis kept.

    Attributes
    ----------
    delivered : int
        Frames the source delivered so far.
    analysed : int
        Frames analysed (yielded).
    skipped : int
        Frames passed over by ``max_fps``.
    dropped : int
        Frames that came while the analysis was busy and were replaced by a
        newer one before it was ready. ``delivered`` is ``analysed +
        skipped + dropped``, and the one frame that may be waiting.
    work_size : int
        The detector's work size now (it changes with ``work_size="auto"``).
    """

    def __init__(self, frames, state):
        self._frames, self._state = frames, state

    def __iter__(self):
        return self

    def __next__(self):
        return next(self._frames)

    def close(self):
        """Stop reading and release the source."""
        self._frames.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    @property
    def delivered(self):
        reader = self._state.get("reader")
        return reader.delivered if reader is not None else 0

    @property
    def analysed(self):
        return self._state["analysed"]

    @property
    def skipped(self):
        return self._state["skipped"]

    @property
    def dropped(self):
        reader = self._state.get("reader")
        return reader.dropped if reader is not None else 0

    @property
    def work_size(self):
        return self._state["work_size"]


def live(source=0, model="cnn", *, max_fps=None, realtime=True, engine="onnx",
         work_size="auto", threshold=0.6, overlap=0.4, verify=True):
    """Analyse a live video source frame by frame, as it comes.

    An iterator (a :class:`LiveStream`): each item is a ``LiveFrame``
    ``(frame, time, faces, image)`` for one analysed frame, ``image`` the
    frame itself (BGR) and ``faces`` a DataFrame with :func:`analyze`'s
    columns (empty where no face was found), face ids kept across frames.
    Frames that arrive while a frame is being analysed are dropped (only
    the newest waits), so the results keep up with the source; the
    stream's ``dropped`` counts them. It ends at the end of the stream (or
    of the file); closing it (or Ctrl-C in a loop over it) releases the
    source.

    Parameters
    ----------
    source : int, str or path, default=0
        A webcam index (``0``, or ``"0"``), a device path
        (``/dev/video0``), a stream URL (``rtsp://``, ``http://`` ...: the
        one input that reaches the network, and only when given), or a
        video file.
    model : str or fitted classifier, default="cnn"
        As for :func:`analyze`.
    max_fps : float, optional
        Analyse at most this many frames a second of the source.
    realtime : bool, default=True
        A video file is played at its own frame rate, as a camera would
        deliver it (frames the analysis cannot keep up with are dropped);
        False reads it as fast as the analysis goes, dropping nothing.
        Devices and streams are always live.
    engine : {"onnx", "torch"}, default="onnx"
        For a shipped model's name, as for :func:`analyze`.
    work_size : int or "auto", default="auto"
        The face detector's work size (as for :func:`analyze`). ``"auto"``
        picks it from the measured throughput: a live source starts at the
        photo size 1280, and whenever the median analysis time of
        8 frames at a size is longer than the source's
        frame interval (``1 / max_fps`` where that is longer; 1/30 s for a
        source without a frame rate), it steps down to the next of 960 and
        640, never below 640 and never back up. A file read with
        ``realtime=False`` drops nothing and stays at 1280. An integer fixes
        the size.
    threshold, overlap, verify
        The face detector's other settings (see :func:`analyze`).

    Yields
    ------
    LiveFrame
        A named tuple ``(frame, time, faces, image)``.

    Raises
    ------
    FileNotFoundError, ValueError
        A source that does not exist or cannot be opened (before the
        first frame).

    See Also
    --------
    analyze : photos, videos and folders, all frames at once.
    summarize : one row per face of the concatenated ``faces``.
    """
    auto = isinstance(work_size, str) and work_size == "auto"
    state = {"analysed": 0, "skipped": 0, "reader": None,
             "work_size": AUTO_WORK_SIZES[0] if auto else work_size}
    return LiveStream(_live_frames(source, model, max_fps, realtime, engine, auto, threshold,
                                   overlap, verify, state), state)


def _live_frames(source, model, max_fps, realtime, engine, auto, threshold, overlap, verify,
                 state):
    """The generator behind :func:`live`; ``state`` holds its counts."""
    from ._analysis import _Batch, _classifier, _faces_of, _table
    from ._faces import check_detector_params
    from ._tracking import _Tracker
    from ._validation import check_engine, check_positive_number

    if isinstance(state["work_size"], str):
        raise ValueError(f"work_size must be 'auto' or a whole number of pixels in "
                         f"64..8192; got {state['work_size']!r}.")
    detector = check_detector_params(state["work_size"], threshold, overlap, verify)
    engine = check_engine(engine)
    if max_fps is not None:
        max_fps = check_positive_number(max_fps, "max_fps")
    classifier = _classifier(model, engine)
    capture, rate, is_file = _open(source)
    paced = not is_file or realtime
    reader = _Reader(capture, rate, paced=is_file and realtime,
                     keep_all=is_file and not realtime)
    state["reader"] = reader
    # the frame interval the analysis has to keep up with
    interval = max(1 / rate if rate > 0 else 1 / 30, 1 / max_fps if max_fps else 0)
    sizes = [size for size in AUTO_WORK_SIZES if size <= detector["work_size"]]
    timings = []
    name = str(source)
    tracker, last_time = _Tracker(), -math.inf
    import cv2

    reader.start()
    try:
        while True:
            taken = reader.take()
            if taken is None:
                break
            number, time, frame = taken
            if max_fps is not None and time - last_time < 1 / max_fps - 1e-9:
                state["skipped"] += 1
                continue
            last_time = time
            started = clock.perf_counter()
            grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) if frame.ndim == 3 else frame
            rows, crops = _faces_of(grey, True, detector)
            batch = _Batch(classifier, 256)
            batch.add(name, number, time, rows, crops, tracker.assign([r[:4] for r in rows]))
            faces = _table(batch.tables(), batch.names)
            if auto and paced and len(sizes) > 1:
                timings.append(clock.perf_counter() - started)
                if len(timings) == AUTO_FRAMES:
                    if np.median(timings) > interval:
                        sizes.pop(0)  # too slow for the source at this size: step down
                        detector = dict(detector, work_size=sizes[0])
                        state["work_size"] = sizes[0]
                    timings = []
            state["analysed"] += 1
            yield LiveFrame(number, time, faces, frame)
        if reader.error is not None:
            raise ValueError(f"{name}: the stream broke off ({reader.error}).")
    finally:
        reader.stop()
        reader.join(timeout=2)
        capture.release()


def summarize(table):
    """One row per face of a video table (:func:`analyze` or :func:`live`):
    when it was seen, how long, and which emotions it showed.

    Parameters
    ----------
    table : pandas.DataFrame
        Rows of :func:`analyze` (or the concatenated ``faces`` of
        :func:`live`).

    Returns
    -------
    pandas.DataFrame
        Per ``source`` and ``face``: ``first`` and ``last`` (seconds; the
        frame numbers where the video records no frame rate), ``frames``
        (analysed frames it was seen in), ``dominant`` (the emotion of
        highest mean probability), then ``mean_<emotion>`` (the mean
        probability of each) and ``share_<emotion>`` (the share of its
        frames whose label is that emotion; they add up to 1).

    See Also
    --------
    analyze, live : the tables it summarizes.
    """
    import pandas as pd

    emotions = [column for column in table.columns if column not in TABLE_COLUMNS]
    if not emotions:
        raise ValueError("table has no probability columns: expected the rows of analyze() "
                         "or live().")
    rows = []
    for (source, face), group in table.groupby(["source", "face"], sort=True):
        timed = group["time"].notna().all()
        when = group["time"] if timed else group["frame"].astype(float)
        means = group[emotions].mean()
        shares = group["label"].value_counts(normalize=True)
        rows.append({
            "source": source, "face": int(face),
            "first": float(when.min()), "last": float(when.max()),
            "frames": int(group["frame"].nunique()),
            "dominant": str(means.idxmax()),
            **{f"mean_{e}": float(means[e]) for e in emotions},
            **{f"share_{e}": float(shares.get(e, 0.0)) for e in emotions},
        })
    columns = (["source", "face", "first", "last", "frames", "dominant"]
               + [f"mean_{e}" for e in emotions] + [f"share_{e}" for e in emotions])
    return pd.DataFrame(rows, columns=columns)
