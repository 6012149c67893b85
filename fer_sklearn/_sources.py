"""Where ``analyze`` and ``live`` get their images: files, folders, image
arrays and the frames of videos, as grey levels; and the warning for a
file that cannot be read. A new kind of input goes here (``_expand`` names
its kind, ``_analysis._item_faces`` reads it)."""

import math
import warnings
from pathlib import Path

import numpy as np

__all__ = ["IMAGE_SUFFIXES", "VIDEO_SUFFIXES", "UnreadableFileWarning"]

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v")


class UnreadableFileWarning(UserWarning):
    """A file that ``analyze`` could not read or decode (``errors="warn"``);
    the message names the file and the reason. The table's
    ``attrs["errors"]`` holds every such file with its reason."""


class VideoBrokeOff(ValueError):
    """A video that stopped decoding before the frames its header counts
    (truncated or damaged): the frames before it were analysed."""


def _warn_unreadable(name, reason, stacklevel, partial=False):
    what = "read in part, it broke off" if partial else "skipped, it could not be read"
    warnings.warn(f"{name}: {what}: {reason}", UnreadableFileWarning, stacklevel=stacklevel)


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
    if min(array.shape) < 1:
        raise ValueError(f"{where}: expected an image of at least 1x1 pixels; got shape "
                         f"{array.shape}.")
    if array.dtype.kind == "f":
        if not np.isfinite(array).all():
            raise ValueError(f"{where}: the image holds NaN or infinite values.")
        if array.size and array.min() >= 0 and array.max() <= 1:
            array = array * 255
    if array.size and (array.min() < 0 or array.max() > 255):
        raise ValueError(f"{where}: pixel values must be in 0..255 (or 0..1 floats); got "
                         f"{array.min()}..{array.max()}.")
    return np.rint(array).astype(np.uint8)


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


#: frames a video may decode short of its header's count without a warning
#: (containers whose count is estimated from the duration)
FRAME_COUNT_SLACK = 2


def _video_frames(path, capture, rate, every, fps, count=0, start=0, stop=None):
    """(frame number, time in seconds, grey frame) of the frames to analyse,
    from frame ``start`` (the capture sought there) up to ``stop``
    (excluded; None: the end of the video). The frames kept are those of
    the whole video, wherever it starts: every ``every``-th frame counted
    from frame 0, or one in each 1/``fps`` s. A :class:`VideoBrokeOff`
    after the last frame decoded where the video stops more than
    :data:`FRAME_COUNT_SLACK` frames short of ``stop`` or of ``count``
    (its header's frame count; 0 when unknown)."""
    import cv2

    if fps is not None and rate <= 0:
        raise ValueError(f"{path}: the video records no frame rate; use every= instead of fps=.")
    try:
        number, last_slot = start, -1
        if start:
            _seek(capture, start)
            if fps is not None:
                last_slot = math.floor((start - 1) / rate * fps + 1e-9)
        while stop is None or number < stop:
            # a frame passed over is only decoded (grab), not converted to
            # BGR (retrieve): twice as fast at 720p
            if not capture.grab():
                break
            time = number / rate if rate > 0 else float("nan")
            if fps is not None:
                slot = math.floor(time * fps + 1e-9)
                keep, last_slot = slot != last_slot, slot
            else:
                keep = number % every == 0
            if keep:
                ok, frame = capture.retrieve()
                if not ok:
                    break
                yield number, time, cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
            number += 1
        if number == 0:
            raise ValueError(f"{path}: not a readable video (no frame could be decoded).")
        end = count if stop is None else min(stop, count)
        if end - number > FRAME_COUNT_SLACK:
            last = number - 1
            when = f" ({last / rate:.2f} s)" if rate > 0 else ""
            raise VideoBrokeOff(
                f"{path}: decoding stopped after frame {last}{when}, the last good frame: "
                f"{number} of the {count} frames its header counts (truncated or damaged); "
                f"the frames up to {last} are analysed.")
    finally:
        capture.release()


def _seek(capture, start):
    """``capture`` at frame ``start``: sought (OpenCV's FFmpeg reader seeks
    to the keyframe before and decodes up to the frame), else, where the
    reader cannot seek, every frame before it decoded."""
    import cv2

    if capture.set(cv2.CAP_PROP_POS_FRAMES, start) and \
            int(capture.get(cv2.CAP_PROP_POS_FRAMES)) == start:
        return
    capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
    for _ in range(start):
        if not capture.grab():
            break


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
