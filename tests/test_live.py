"""Live sources: a video file read as a stream, an MJPEG stream served over
HTTP on 127.0.0.1 by the test itself, sources that cannot be opened, a
stream that stops mid-way; and the per-face summary."""

import http.server
import json
import socketserver
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fer_sklearn import analyze, live, summarize
from fer_sklearn.cli import main

cv2 = pytest.importorskip("cv2", reason="live video is read with OpenCV")
MEDIA = Path(__file__).resolve().parents[2] / "shared" / "media"
TALKING = MEDIA / "one-man-talking.mp4"
needs_media = pytest.mark.skipif(not TALKING.is_file(), reason=f"no real videos at {MEDIA}")


def jpeg_frames(count, step=1):
    capture = cv2.VideoCapture(str(TALKING))
    frames = []
    while len(frames) < count:
        ok, frame = capture.read()
        assert ok
        for _ in range(step - 1):
            capture.read()
        frames.append(cv2.imencode(".jpg", frame)[1].tobytes())
    capture.release()
    return frames


@pytest.fixture
def mjpeg_server():
    """An MJPEG stream of 12 real frames on 127.0.0.1, which then stops."""
    jpegs = jpeg_frames(12, step=10)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
            self.end_headers()
            for jpeg in jpegs:
                self.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\n"
                                 b"Content-Length: %d\r\n\r\n" % len(jpeg) + jpeg + b"\r\n")
                self.wfile.flush()
                time.sleep(0.05)
            # and the stream stops, mid-way for the client

        def log_message(self, *args):
            pass

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/stream.mjpg"
    server.shutdown()
    server.server_close()


@needs_media
def test_a_video_file_read_as_a_stream():
    # as fast as the analysis goes: no frame dropped; one person, one id
    frames = []
    for item in live(TALKING, "rnn", realtime=False):
        frames.append(item)
        if len(frames) == 40:
            break
    assert [f.frame for f in frames] == list(range(40))
    assert all(len(f.faces) == 1 for f in frames)
    assert {int(f.faces["face"].iloc[0]) for f in frames} == {0}
    assert frames[1].time == pytest.approx(1 / 23.98, rel=1e-3)
    assert frames[0].image.shape == (360, 640, 3)
    # max_fps: at most that many analysed frames a second of the video
    times = [f.time for f, _ in zip(live(TALKING, "rnn", realtime=False, max_fps=4), range(8))]
    assert np.all(np.diff(times) >= 0.25 - 1e-6)


@needs_media
def test_the_same_rows_as_analyze():
    streamed = pd.concat([f.faces for f, _ in zip(live(TALKING, "rnn", realtime=False,
                                                       work_size=1280), range(5))],
                         ignore_index=True)
    table = analyze(TALKING, "rnn", every=1)
    table = table[table["frame"] < 5].reset_index(drop=True)
    pd.testing.assert_frame_equal(streamed, table, check_exact=False, atol=1e-5)


@needs_media
def test_an_mjpeg_stream_over_http_that_stops(mjpeg_server):
    frames = list(live(mjpeg_server, "rnn"))
    # the stream delivered 12 frames and closed: the generator ended cleanly,
    # having analysed the newest frame whenever it was ready for one
    assert 1 <= len(frames) <= 12
    assert all(len(f.faces) == 1 for f in frames)
    assert [f.frame for f in frames] == sorted(f.frame for f in frames)


def test_sources_that_cannot_be_opened(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.mp4: no such file or device"):
        next(live(tmp_path / "nothing.mp4"))
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 100)
    with pytest.raises(ValueError, match="broken.mp4: cannot be opened as a video source"):
        next(live(broken))
    with pytest.raises(ValueError, match="cannot be opened as a video source"):
        next(live(97))  # no such webcam
    with pytest.raises(TypeError, match="source must be a webcam index"):
        next(live(1.5))
    with pytest.raises(ValueError, match="max_fps must be a finite number > 0"):
        next(live(0, max_fps=0))


def test_summarize_a_table():
    table = pd.DataFrame({
        "source": "clip.mp4", "frame": [0, 1, 2, 3, 0], "time": [0.0, 0.5, 1.0, 1.5, 0.0],
        "face": [0, 0, 0, 0, 1], "x": 0, "y": 0, "width": 9, "height": 9, "score": 0.9,
        "label": ["happy", "happy", "sad", "happy", "sad"],
        "happy": [0.8, 0.7, 0.3, 0.9, 0.2], "sad": [0.2, 0.3, 0.7, 0.1, 0.8],
    })
    summary = summarize(table)
    assert summary[["face", "first", "last", "frames", "dominant"]].values.tolist() == [
        [0, 0.0, 1.5, 4, "happy"], [1, 0.0, 0.0, 1, "sad"]]
    assert summary.loc[0, "share_happy"] == 0.75 and summary.loc[0, "share_sad"] == 0.25
    assert summary.loc[0, "mean_happy"] == pytest.approx(0.675)
    with pytest.raises(ValueError, match="no probability columns"):
        summarize(table.drop(columns=["happy", "sad"]))


@needs_media
def test_live_command_prints_a_json_line_per_frame(capsys, tmp_path):
    out = tmp_path / "annotated.mp4"
    status = main(["live", str(TALKING), "--fast", "--max-fps", "2", "--model", "rnn",
                   "--annotate-video", str(out)])
    stdout, err = capsys.readouterr()
    assert status == 0, err
    lines = [json.loads(line) for line in stdout.splitlines()]
    assert len(lines) == 40  # 19.7 s at 2 frames a second
    assert set(lines[0]) == {"frame", "time", "faces"}
    face = lines[0]["faces"][0]
    assert set(face) == {"face", "box", "score", "label", "probabilities"}
    assert out.is_file() and "40 frames analysed" in err
    status = main(["live", str(TALKING), "--fast", "--max-fps", "2", "--model", "rnn",
                   "--annotate-video", str(out)])
    assert status == 1 and "exists; pass --overwrite" in capsys.readouterr().err
    status = main(["live", str(TALKING), "--fast", "--max-fps", "4", "--summary", "--json"])
    stdout, err = capsys.readouterr()
    (row,) = json.loads(stdout)["summary"]
    assert row["face"] == 0 and row["frames"] >= 75
    assert sum(v for k, v in row.items() if k.startswith("share_")) == pytest.approx(1)


def test_show_says_when_opencv_has_no_window(capsys):
    try:
        cv2.namedWindow("probe")
        cv2.destroyAllWindows()
        pytest.skip("this OpenCV has a GUI")
    except cv2.error:
        pass
    assert main(["live", "0", "--show"]) == 1
    assert "opencv-python-headless build installed with fer_sklearn has none" in \
        capsys.readouterr().err
