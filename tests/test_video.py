"""Videos at the machine's full speed: frames searched side by side on the
pool (rows identical to one frame at a time), videos that break off, and
``live``'s counts and work size."""

import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from unittest import mock

import numpy as np
import pandas as pd
import pytest

from fer_sklearn import _analysis, _parallel, analyze, live, load_pretrained
from fer_sklearn._parallel import in_order
from fer_sklearn._runtime import one_thread_here
from fer_sklearn._sources import UnreadableFileWarning, VideoBrokeOff
from fer_sklearn.cli import main

cv2 = pytest.importorskip("cv2", reason="videos are read with OpenCV")
MEDIA = Path(__file__).resolve().parents[2] / "shared" / "media"
TALKING = MEDIA / "one-man-talking.mp4"
needs_media = pytest.mark.skipif(not TALKING.is_file(), reason=f"no real videos at {MEDIA}")


@pytest.fixture(scope="module")
def model():
    return load_pretrained("rnn", tta=False)  # the fastest shipped model


def test_in_order_keeps_the_order_bounds_the_work_and_raises_in_place(two_threads):
    rng = np.random.default_rng(0)
    delays = rng.uniform(0, 0.01, 40)
    pending, most = [0], [0]
    lock = threading.Lock()

    def job(k):
        time.sleep(delays[k])
        if k == 17:
            raise ValueError("job 17 failed")
        return k * k

    def jobs():
        for k in range(40):
            with lock:
                pending[0] += 1
                most[0] = max(most[0], pending[0])
            yield k, job, k

    with _parallel.search_pool() as pool:
        assert pool.threads == 2
        out = []
        for k, future in in_order(jobs(), pool, 2):
            with lock:
                pending[0] -= 1
            if k == 17:
                with pytest.raises(ValueError, match="job 17"):
                    future.result()
                continue
            out.append((k, future.result()))
    assert out == [(k, k * k) for k in range(40) if k != 17]
    # at most 2 a thread waiting, and the one being submitted
    assert most[0] <= 2 * pool.threads + 1

    def breaking():
        yield from ((k, job, k) for k in range(5))
        raise ValueError("the source broke off")

    with _parallel.search_pool() as pool:
        got = []
        with pytest.raises(ValueError, match="broke off"):
            for k, future in in_order(breaking(), pool, 2):
                got.append(future.result())
    assert got == [0, 1, 4, 9, 16]  # every job before the break came out
    # without a pool: each job run just before it is yielded
    assert [f.result() for _, f in in_order(((k, job, k) for k in range(3)), None, 2)] \
        == [0, 1, 4]


def two_people_with_a_cut(path, frames=90):
    """A real clip side by side with its mirror image (two faces), cut to
    a blank for 45 frames, then back: ids that must survive the pool."""
    capture = cv2.VideoCapture(str(TALKING))
    writer = None
    for k in range(frames):
        ok, frame = capture.read()
        assert ok
        both = np.hstack([frame, frame[:, ::-1]])
        if 25 <= k < 70:
            both = np.full_like(both, 90)
        if writer is None:
            writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 24.0,
                                     (both.shape[1], both.shape[0]))
        writer.write(both)
    writer.release()
    capture.release()
    return path


@needs_media
def test_video_frames_searched_side_by_side_give_the_rows_of_one_at_a_time(model, tmp_path,
                                                                         two_threads):
    pair = two_people_with_a_cut(tmp_path / "pair.mp4")
    sources = [TALKING, pair]
    ahead = analyze(sources, model, every=3)
    with mock.patch.object(_parallel, "FRAMES_AHEAD", 0):
        serial = analyze(sources, model, every=3)
    with ThreadPoolExecutor(1, initializer=one_thread_here) as pool:  # no pool at all
        one_thread = pool.submit(analyze, sources, model, every=3).result()
    pd.testing.assert_frame_equal(ahead, serial)
    pd.testing.assert_frame_equal(ahead, one_thread)
    talking = ahead[ahead["source"] == str(TALKING)]
    assert talking["frame"].tolist() == list(range(0, 472, 3))
    assert talking["face"].nunique() == 1
    both = ahead[ahead["source"] == str(pair)]
    assert set(both["frame"]) == set(range(0, 25, 3)) | set(range(72, 90, 3))
    assert (both.groupby("frame").size() == 2).all()
    # two people before the cut, two new ids after it (15 analysed frames without
    # them, more than the tracker's gap)
    assert both["face"].nunique() == 4


@needs_media
def test_a_video_that_breaks_off_gives_its_frames_and_a_warning(model, tmp_path, capsys):
    data = TALKING.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    whole = analyze(TALKING, model, every=4)
    with pytest.warns(UnreadableFileWarning,
                      match=r"cut.mp4: read in part, it broke off: .*after frame (\d+) "
                            r"\([\d.]+ s\), the last good frame: \d+ of the 472 frames"):
        table = analyze([cut, TALKING], model, every=4)
    reason = table.attrs["errors"][str(cut)]
    last = int(reason.split("after frame ")[1].split(" ")[0])
    assert 150 < last < 300
    part = table[table["source"] == str(cut)].reset_index(drop=True)
    # the frames before the break, as in the whole video; the next video complete
    expected = whole[whole["frame"] <= last].reset_index(drop=True)
    pd.testing.assert_frame_equal(part.drop(columns="source"),
                                  expected.drop(columns="source"))
    rest = table[table["source"] == str(TALKING)].reset_index(drop=True)
    pd.testing.assert_frame_equal(rest, whole)
    with pytest.raises(VideoBrokeOff, match="cut.mp4: decoding stopped after frame"):
        analyze(cut, model, every=4, errors="raise")
    # the command line: the rows it could read, the reason, and exit 1
    assert main(["predict", str(cut), "--model", "rnn", "--every", "50", "--json"]) == 1
    out, err = capsys.readouterr()
    assert '"frame": 0' in out and "last good frame" in err
    assert "1 of 1 files could not be read in full" in err


def slow_faces(seconds):
    """``_faces_of``, taking at least ``seconds`` a frame."""
    faces_of = _analysis._faces_of

    def slow(*args, **kwargs):
        time.sleep(seconds)
        return faces_of(*args, **kwargs)

    return slow


@needs_media
def test_live_steps_down_its_work_size_when_it_falls_behind_and_counts_drops(model):
    # 24 fps: a frame every 42 ms; 60 ms a frame falls behind at every size
    with mock.patch.object(_analysis, "_faces_of", slow_faces(0.06)):
        with live(TALKING, model) as stream:
            # the size for the next frame, after each: 8 frames at 1280, 8 at 960
            sizes = [stream.work_size for _ in zip(range(20), stream)]
            assert sizes[:7] == [1280] * 7 and sizes[7:15] == [960] * 8
            assert sizes[15:] == [640] * 5
            assert stream.analysed == 20 and stream.dropped > 0
            waiting = stream.delivered - (stream.analysed + stream.dropped + stream.skipped)
            assert waiting in (0, 1)
    # a fixed size stays; a file read as fast as it is analysed drops nothing
    with live(TALKING, model, work_size=1280, max_fps=12) as stream:
        frames = [item.frame for _, item in zip(range(10), stream)]
        assert stream.work_size == 1280 and stream.skipped > 0
    with mock.patch.object(_analysis, "_faces_of", slow_faces(0.06)):
        with live(TALKING, model, realtime=False) as stream:
            frames = [item.frame for _, item in zip(range(12), stream)]
            assert frames == list(range(12))
            assert stream.work_size == 1280 and stream.dropped == 0
    with pytest.raises(ValueError, match="work_size must be 'auto' or a whole number"):
        next(live(TALKING, model, work_size="big"))


@needs_media
def test_live_command_reports_dropped_frames(capsys):
    assert main(["live", str(TALKING), "--model", "rnn", "--max-fps", "4", "--fast"]) == 0
    err = capsys.readouterr().err
    assert "frames analysed" in err and "0 dropped" in err and "work size 1280" in err


@needs_media
def test_video_benchmark_on_a_few_frames(tmp_path, capsys, two_threads):
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_video.py"
    spec = importlib.util.spec_from_file_location("bench_video", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = tmp_path / "video.csv"
    bench.main(["--parts", "rates", "ceiling", "int8", "--limit-frames", "6",
                "--cache", str(tmp_path), "--csv", str(out)])
    printed = capsys.readouterr().out
    assert "720p, 6 frames: one frame at a time" in printed
    assert "1080p, 6 frames, search only: one frame at a time on" in printed
    assert "detector network, one 720p frame on 1 thread(s): float32" in printed
    assert re.search(r"largest change of a face probability over the 20 photos: [01]\.\d\d\n",
                     printed)
    rows = out.read_text().splitlines()
    # 360p, 720p, 1080p; the search alone at 720p, 1080p; int8 on 1 and 2 threads
    assert len(rows) == 1 + 3 + 2 + 2
    assert all(",True," in row for row in rows[1:4])  # the same rows both ways
    assert all(row.startswith("ceiling,") for row in rows[4:6])
    assert all(row.startswith("int8 detector,") for row in rows[6:])
    assert sorted(p.name for p in tmp_path.glob("*.mp4")) == [
        "talking_1080p_6.mp4", "talking_360p_6.mp4", "talking_720p_6.mp4"]
