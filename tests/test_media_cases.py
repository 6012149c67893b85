"""Harder videos built from the two real clips in ../shared/media: cuts
between clips, two people side by side, a face entering and leaving the
frame. Each is written as an .mp4 and read back by ``analyze``, as a user's
video would be."""

from pathlib import Path

import numpy as np
import pytest

from fer_sklearn import analyze, summarize

cv2 = pytest.importorskip("cv2", reason="videos are read with OpenCV")
MEDIA = Path(__file__).resolve().parents[2] / "shared" / "media"
TALKING = MEDIA / "one-man-talking.mp4"
NO_FACE = MEDIA / "no-face.mp4"
pytestmark = pytest.mark.skipif(not (TALKING.is_file() and NO_FACE.is_file()),
                                reason=f"no real videos at {MEDIA}")
SIZE = (640, 360)
FPS = 24.0


def frames_of(path, start, count, size=SIZE):
    capture = cv2.VideoCapture(str(path))
    capture.set(cv2.CAP_PROP_POS_FRAMES, start)
    frames = []
    while len(frames) < count:
        ok, frame = capture.read()
        assert ok, f"{path} ended before frame {start + count}"
        frames.append(cv2.resize(frame, size) if frame.shape[1::-1] != size else frame)
    capture.release()
    return frames


def write(path, frames):
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (width, height))
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


def faces_per_frame(table, n_frames):
    counts = np.zeros(n_frames, dtype=int)
    for frame, rows in table.groupby("frame"):
        counts[int(frame)] = len(rows)
    return counts


def test_cuts_between_clips(tmp_path):
    # 40 frames of the man, a cut to 30 frames of an empty scene, 40 more of him
    frames = (frames_of(TALKING, 0, 40) + frames_of(NO_FACE, 0, 30)
              + frames_of(TALKING, 300, 40))
    table = analyze(write(tmp_path / "cuts.mp4", frames))
    counts = faces_per_frame(table, len(frames))
    assert np.mean(counts[:40] == 1) >= 0.95 and np.mean(counts[70:] == 1) >= 0.95
    assert counts[40:70].sum() == 0, "a box in the scene without a face"
    # away for 30 frames (more than the tracker's 10-frame gap): a new id
    first, last = (set(table[table.frame.between(a, b)]["face"]) for a, b in ((0, 39), (70, 109)))
    assert len(first) == 1 and len(last) == 1 and first != last
    summary = summarize(table)
    assert len(summary) == 2
    assert summary["frames"].sum() == counts.sum()


def test_two_people_side_by_side(tmp_path):
    # the clip beside its mirror image: two faces in every frame, two ids
    frames = [np.hstack([frame, frame[:, ::-1]]) for frame in frames_of(TALKING, 100, 40)]
    table = analyze(write(tmp_path / "two.mp4", frames))
    counts = faces_per_frame(table, len(frames))
    assert np.mean(counts == 2) >= 0.95
    ids = table.groupby("face")["x"].median()
    assert len(ids) == 2, f"ids {sorted(ids.index)}: a person changed id"
    left, right = ids.sort_values().index
    assert (table[table.face == left]["x"] < SIZE[0]).all()
    assert (table[table.face == right]["x"] >= SIZE[0] - 40).all()


def test_a_face_entering_and_leaving(tmp_path):
    # the frame slides in from the left over a grey scene, stays, slides out
    # to the right: no face, then one (one id) while in view, then none
    # (16 pixels a frame; the man's face lies at about x 320..550 of his frame)
    offsets = list(range(-576, 0, 16)) + [0] * 20 + list(range(16, 592, 16))
    source = frames_of(TALKING, 200, len(offsets))
    frames = []
    for frame, offset in zip(source, offsets):
        canvas = np.full_like(frame, 128)
        if offset < 0:
            canvas[:, :SIZE[0] + offset] = frame[:, -offset:]
        else:
            canvas[:, offset:] = frame[:, :SIZE[0] - offset]
        frames.append(canvas)
    table = analyze(write(tmp_path / "enter.mp4", frames))
    counts = faces_per_frame(table, len(frames))
    assert counts[:5].sum() == 0 and counts[-5:].sum() == 0
    assert np.all(counts[36:56] == 1), "the face fully in view was not found in every frame"
    assert counts.max() == 1
    assert table["face"].nunique() == 1
    seen = np.flatnonzero(counts)
    assert np.all(np.diff(seen) == 1), "the face disappeared while in view"
