"""``analyze`` on videos: one frame at a time against frames side by side.

Three parts, each printed as it finishes, each configuration in a fresh
process (its peak resident memory is its own, ``VmHWM``):

1. **rates**: the real clip of ``../shared/media`` (640x360, 472 frames,
   24 fps) as it is, and upscaled to 720p and 1080p (OpenCV's MPEG-4
   writer), every frame analysed: frames/s one frame at a time (the
   detector on every thread, ``FRAMES_AHEAD = 0``) and side by side (the
   default), the ratio, peak memory, and whether the two tables are equal
   row for row.
2. **long**: the clip looped into a 10-minute 720p 30 fps file analysed at
   5 frames a second, and into a 1-hour one analysed once a second (the
   frames in between are decoded, not converted): seconds, frames
   searched, peak memory.
3. **photos**: 40 phone-size portraits (``bench_inference.py``'s) side by
   side: photos/s.
4. **ceiling** (not by default): the face search alone (``find_faces``) on
   120 frames of the 720p and 1080p clips held in memory, one frame at a
   time on every thread against one frame a thread side by side: the most
   that side by side can gain where the search is the work.
5. **int8** (not by default): the detector's network quantized to int8
   (ONNX Runtime, static, calibrated on the photos folder) against the
   shipped float32 graph: ms a 720p frame, and how far face probabilities
   move. A measurement, not shipped.

Usage::

    python benchmarks/bench_video.py [--parts rates long photos ceiling int8]
        [--cache DIR] [--csv docs/bench/video.csv]

``--cache`` keeps the made videos between runs (the 1-hour file is about
1.5 GB and takes minutes to write).
"""

import argparse
import csv
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve()
SHARED = HERE.parents[2] / "shared"
SIZES = {"360p": (640, 360), "720p": (1280, 720), "1080p": (1920, 1080)}


def make_video(path, source, size, seconds=None, rate=None, limit=None):
    """``source`` (its first ``limit`` frames) resized to ``size`` (width,
    height), looped to ``seconds`` (default: once) at ``rate`` fps (default:
    the source's); kept if made."""
    import cv2

    if path.is_file():
        return path
    capture = cv2.VideoCapture(str(source))
    rate = rate or capture.get(cv2.CAP_PROP_FPS)
    frames = []
    while limit is None or len(frames) < limit:
        ok, frame = capture.read()
        if not ok:
            break
        if (frame.shape[1], frame.shape[0]) != size:
            frame = cv2.resize(frame, size, interpolation=cv2.INTER_CUBIC)
        frames.append(frame)
    capture.release()
    total = len(frames) if seconds is None else round(seconds * rate)
    part = path.with_suffix(".part" + path.suffix)
    writer = cv2.VideoWriter(str(part), cv2.VideoWriter_fourcc(*"mp4v"), rate, size)
    for k in range(total):  # looped back and forth: no jump at the seam
        cycle = k % (2 * len(frames) - 2)
        writer.write(frames[cycle if cycle < len(frames) else 2 * len(frames) - 2 - cycle])
    writer.release()
    part.rename(path)
    return path


def child(args):
    """One configuration in this process: a JSON line of its figures."""
    from unittest import mock

    from fer_sklearn import _parallel, analyze

    ahead = _parallel.FRAMES_AHEAD if args.ahead is None else args.ahead
    options = dict(every=args.every) if args.fps is None else dict(fps=args.fps)
    with mock.patch.object(_parallel, "FRAMES_AHEAD", ahead):
        # warm-up: the model and each thread's detector session loaded
        analyze(SHARED / "media" / "one-man-talking.mp4", every=100)
        started = time.perf_counter()
        table = analyze(args.video, **options)
        seconds = time.perf_counter() - started
    frames = table["frame"].nunique()
    digest = hashlib.sha256(table.to_csv(index=False).encode()).hexdigest()[:16]
    print(json.dumps({"seconds": seconds, "rows": len(table), "frames with faces": frames,
                      "peak MB": peak_mb(),
                      "table sha256": digest}))


def peak_mb():
    """This process's peak resident memory: ``VmHWM``, the high-water mark
    of its own address space (``ru_maxrss`` is carried across exec on Linux:
    a child of a parent that held 2.9 GB of frames starts at 2.9 GB)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # not on Linux


def run_child(video, ahead=None, every=1, fps=None):
    command = [sys.executable, str(HERE), "--child", str(video), "--every", str(every)]
    if ahead is not None:
        command += ["--ahead", str(ahead)]
    if fps is not None:
        command += ["--fps", str(fps)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def frame_count(video):
    import cv2

    capture = cv2.VideoCapture(str(video))
    count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    capture.release()
    return count


def bench_rates(args, folder):
    rows = []
    for name, size in SIZES.items():
        video = make_video(folder / f"talking_{name}_{args.limit_frames}.mp4", args.video,
                           size, limit=args.limit_frames)
        count = frame_count(video)
        serial = run_child(video, ahead=0)
        ahead = run_child(video)
        row = {"part": "rates", "video": f"{name}, {count} frames", "analysed": count,
               "serial frames/s": count / serial["seconds"],
               "side by side frames/s": count / ahead["seconds"],
               "ratio": serial["seconds"] / ahead["seconds"],
               "serial peak MB": serial["peak MB"], "side by side peak MB": ahead["peak MB"],
               "same rows": serial["table sha256"] == ahead["table sha256"],
               "rows": ahead["rows"]}
        rows.append(row)
        print(f"{row['video']}: one frame at a time {row['serial frames/s']:.1f} frames/s, "
              f"side by side {row['side by side frames/s']:.1f} ({row['ratio']:.2f}x); peak "
              f"{row['serial peak MB']:.0f} / {row['side by side peak MB']:.0f} MB; "
              f"{row['rows']} rows, the same: {row['same rows']}", flush=True)
    return rows


def bench_long(args, folder):
    rows = []
    for minutes, fps in ((10, 5.0), (60, 1.0)):
        started = time.perf_counter()
        video = make_video(folder / f"talking_720p_{minutes}min.mp4", args.video,
                           SIZES["720p"], seconds=60 * minutes, rate=30.0)
        made = time.perf_counter() - started
        result = run_child(video, fps=fps)
        analysed = round(60 * minutes * fps)
        rows.append({"part": "long", "video": f"720p 30 fps, {minutes} min",
                     "analysed": analysed, "side by side frames/s": analysed / result["seconds"],
                     "seconds": result["seconds"], "side by side peak MB": result["peak MB"],
                     "rows": result["rows"]})
        print(f"720p 30 fps, {minutes} minutes ({made:.0f} s to make or find), analysed at "
              f"{fps:g} frames/s: {result['seconds']:.1f} s for {analysed} frames searched, "
              f"{result['rows']} rows, peak {result['peak MB']:.0f} MB", flush=True)
    return rows


def bench_photos(args, folder):
    sys.path.insert(0, str(HERE.parent))
    from bench_inference import phone_portraits

    from fer_sklearn import analyze

    photos = folder / "portraits"
    photos.mkdir(exist_ok=True)
    files = phone_portraits(photos, args.photos)
    analyze(files[:2])  # warm-up
    started = time.perf_counter()
    table = analyze(photos)
    seconds = time.perf_counter() - started
    print(f"analyze over {len(files)} phone-size portraits, side by side: {seconds:.1f} s, "
          f"{len(files) / seconds:.1f} photos/s, {len(table)} boxes", flush=True)
    return [{"part": "photos", "video": f"{len(files)} phone-size portraits",
             "analysed": len(files), "side by side frames/s": len(files) / seconds,
             "seconds": seconds, "rows": len(table)}]


def bench_ceiling(args, folder):
    """The face search alone (``find_faces``, as ``analyze`` calls it) on
    the first frames of the 720p and 1080p clips held in memory: one frame
    at a time on every thread, against one frame a thread side by side (the
    most that searching frames side by side can gain)."""
    from concurrent.futures import ThreadPoolExecutor
    from itertools import islice

    from fer_sklearn._faces import find_faces
    from fer_sklearn._runtime import cpu_threads, one_thread_here
    from fer_sklearn._sources import _open_video, _video_frames

    threads = cpu_threads()
    rows = []
    for name in ("720p", "1080p"):
        video = make_video(folder / f"talking_{name}_{args.limit_frames}.mp4", args.video,
                           SIZES[name], limit=args.limit_frames)
        capture, rate, count = _open_video(video)  # decoded and made grey as analyze does
        frames = [grey for _, _, grey in islice(
            _video_frames(video, capture, rate, 1, None, count), 120)]
        find_faces(frames[0])  # the session made
        started = time.perf_counter()
        for frame in frames:
            find_faces(frame)
        serial = len(frames) / (time.perf_counter() - started)
        with ThreadPoolExecutor(threads, initializer=one_thread_here) as pool:
            list(pool.map(find_faces, frames[:threads]))  # each thread's session made
            started = time.perf_counter()
            list(pool.map(find_faces, frames))
            side = len(frames) / (time.perf_counter() - started)
        row = {"part": "ceiling", "video": f"{name}, {len(frames)} frames, search only",
               "analysed": len(frames), "serial frames/s": serial,
               "side by side frames/s": side, "ratio": side / serial}
        rows.append(row)
        print(f"{row['video']}: one frame at a time on {threads} threads {serial:.1f} frames/s, "
              f"{threads} frames side by side on 1 thread each {side:.1f} ({side / serial:.2f}x)",
              flush=True)
    return rows


def bench_int8(args, folder):
    """The detector's network as an int8 graph, against the shipped float32
    one: ONNX Runtime's static QDQ quantization (per channel, MinMax),
    calibrated on the photos folder (640 pixels long) and the first frame
    of the 720p clip, the graph first converted to opset 13 (per-channel
    scales need it) and prepared (ONNX Runtime's ``quant_pre_process``).
    One network run on that 720p frame (its input made once, outside the
    timing), ms on 1 and on all threads, and the largest change of a face
    probability on the photos."""
    from importlib import resources

    import cv2
    import numpy as np
    import onnx
    from onnx import version_converter
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat,
                                          QuantType, quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from fer_sklearn._faces import _BGR_MEAN, MODEL_FILE
    from fer_sklearn._runtime import cpu_threads, make_session

    def network_input(grey):
        return {"input": (grey.astype(np.float32)[None] - _BGR_MEAN)[None]}

    photos = [cv2.imread(str(p), cv2.IMREAD_GRAYSCALE) for p in sorted(args.photos.glob("*.jpg"))]
    video = make_video(folder / f"talking_720p_{args.limit_frames}.mp4", args.video,
                       SIZES["720p"], limit=args.limit_frames)
    capture = cv2.VideoCapture(str(video))
    ok, frame = capture.read()
    capture.release()
    if not ok:
        raise SystemExit(f"{video}: no frame could be read")
    frame = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    calibration = [network_input(cv2.resize(g, None, fx=640 / max(g.shape), fy=640 / max(g.shape),
                                            interpolation=cv2.INTER_AREA)) for g in photos]
    calibration.append(network_input(frame))

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.items = iter(calibration)

        def get_next(self):
            return next(self.items, None)

    graph = resources.files("fer_sklearn.pretrained").joinpath(MODEL_FILE).read_bytes()
    opset13, ready = folder / "detector_opset13.onnx", folder / "detector_ready.onnx"
    int8 = folder / "detector_int8.onnx"
    onnx.save(version_converter.convert_version(onnx.load_from_string(graph), 13), str(opset13))
    quant_pre_process(str(opset13), str(ready), skip_symbolic_shape=True)
    quantize_static(str(ready), str(int8), Reader(), quant_format=QuantFormat.QDQ,
                    per_channel=True, activation_type=QuantType.QUInt8,
                    weight_type=QuantType.QInt8, calibrate_method=CalibrationMethod.MinMax)
    graphs = {"float32": graph, "int8": int8.read_bytes()}
    feed = network_input(frame)  # made once: only the network is timed
    rows = []
    for threads in sorted({1, cpu_threads()}):
        ms = {}
        for name, data in graphs.items():
            session = make_session(data, threads)
            session.run(None, feed)
            started, runs = time.perf_counter(), 0
            while time.perf_counter() - started < 3:
                session.run(None, feed)
                runs += 1
            ms[name] = 1000 * (time.perf_counter() - started) / runs
        rows.append({"part": "int8 detector", "video": f"one 720p frame, {threads} thread(s)",
                     "serial frames/s": 1000 / ms["float32"],
                     "side by side frames/s": 1000 / ms["int8"],
                     "ratio": ms["float32"] / ms["int8"]})
        print(f"detector network, one 720p frame on {threads} thread(s): float32 "
              f"{ms['float32']:.1f} ms, int8 {ms['int8']:.1f} ms", flush=True)
    sessions = {name: make_session(data, cpu_threads()) for name, data in graphs.items()}
    change = max(float(np.abs(sessions["float32"].run(None, network_input(g))[1][0, :, 1]
                              - sessions["int8"].run(None, network_input(g))[1][0, :, 1]).max())
                 for g in photos)
    print(f"largest change of a face probability over the {len(photos)} photos: {change:.2f}",
          flush=True)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--parts", nargs="+", default=["rates", "long", "photos"],
                        choices=["rates", "long", "photos", "ceiling", "int8"])
    parser.add_argument("--video", type=Path, default=SHARED / "media" / "one-man-talking.mp4")
    parser.add_argument("--photos", type=Path, default=SHARED / "photos")
    parser.add_argument("--cache", type=Path, default=None,
                        help="keep the made videos here between runs")
    parser.add_argument("--csv", type=Path, default=None)
    parser.add_argument("--limit-frames", type=int, default=None,
                        help="the clip's first N frames only (smoke tests)")
    parser.add_argument("--child", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--ahead", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--every", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--fps", type=float, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        args.video = args.child
        return child(args)
    import cv2

    print(f"{os.cpu_count()} CPUs; OpenCV {cv2.__version__}; each configuration in its own "
          "process, one after another", flush=True)
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.cache or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        rows = []
        for part in args.parts:
            rows += {"rates": bench_rates, "long": bench_long, "photos": bench_photos,
                     "ceiling": bench_ceiling, "int8": bench_int8}[part](
                args, folder)
    if args.csv:
        columns = list(dict.fromkeys(key for row in rows for key in row))
        with open(args.csv, "w", newline="") as handle:
            writer = csv.DictWriter(handle, columns)
            writer.writeheader()
            for row in rows:
                writer.writerow({key: f"{value:.4g}" if isinstance(value, float) else value
                                 for key, value in row.items()})
        print(f"wrote {args.csv}")


if __name__ == "__main__":
    sys.exit(main())
