"""Inference of the shipped models on both engines, side by side, in one run.

For each model, each engine (torch; ONNX Runtime float32; ONNX Runtime
int8) and each of with and without flip averaging:

- accuracy on PublicTest (7 and 6 classes) and the 6-class recall of each
  emotion, when FER2013 is given (``--data`` or ``$FER2013_PATH``; else on
  the bundled sample, itself 900 PublicTest faces);
- faces/s: ``predict_proba`` over those faces (at least 3,000: the sample
  is repeated), best of ``--repeat``;
- one-face latency: the median of ``--calls`` ``predict`` calls of one face.

The int8 graph is the shipped one where a model ships int8 (else it is made
here by ``ONNXClassifier.from_estimator`` with the same calibration:
``--calibration`` Training faces, seed 0; never PublicTest); the float32
graph is made here from the torch weights (the shipped one for ``rnn``).

``--parts threads`` times each shipped graph (its shipped flips) over
3,000 faces run two ways on the same threads: one session using them all,
and the batch cut across them on a single-threaded session (the default).
``--parts cold`` times a new ``fer-sklearn predict PHOTO`` process (median
of 3) with ``--engine torch`` and ``--engine onnx``, back to back, and
whether each imported torch; ``--parts photos`` times ``analyze`` over a
folder of 40 phone-size portraits (the 20 shared photos, each enlarged to
a 4032-pixel long side and mirrored, as JPEGs) on both engines, one photo
at a time on every thread and photos searched side by side (the
default), with the number of boxes found; ``--parts live`` plays a 720p,
30 fps file (the shared clip's first 10 s, upscaled) to ``live`` in real
time and counts the frames analysed. ``--parts widths`` prices a wider
student before one is trained: FERNets of each ``--widths`` (and
``--convs`` per stage), fitted for one epoch only, so that int8
calibration has real activations (their accuracy means nothing), as int8
graphs with flips, their faces/s beside the shipped ``cnn``'s in the same
run.

Usage::

    python benchmarks/bench_inference.py --data ../shared/data/fer2013.csv.gz \\
        --csv docs/bench/inference.csv [--models cnn rnn] [--parts models cold photos]

Run on a quiet machine: every figure is a time.
"""

import argparse
import csv
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

import numpy as np

from fer_sklearn import (LabelMerger, ONNXClassifier, load_fer2013, load_fer2013_sample,
                         load_pretrained, pretrained_info)

SHARED = Path(__file__).resolve().parents[2] / "shared"
EMOTIONS_6 = ["angry", "fear", "happy", "sad", "surprise", "neutral"]


def faces_and_labels(data):
    """PublicTest faces and labels (or the bundled sample's), and the split's name."""
    if data is not None:
        valid = load_fer2013(data, usage="PublicTest")
        return valid.data, valid.target, f"PublicTest ({len(valid.target)} faces)"
    sample = load_fer2013_sample()
    return sample.data, sample.target, f"the bundled PublicTest sample ({len(sample.target)})"


def calibration_faces(data, size):
    if data is None:
        return None
    train = load_fer2013(data, usage="Training")
    order = np.random.default_rng(0).permutation(len(train.data))
    return train.data[np.sort(order[:size])]


def scores(model, proba, y):
    """7-class accuracy (None for a 6-class model), 6-class accuracy and recalls."""
    merger = LabelMerger().fit(np.arange(7))
    classes = np.asarray(model.classes_)
    truth6 = merger.transform(y)
    if len(classes) == 7:
        acc7 = float(np.mean(classes[proba.argmax(1)] == y))
        predicted6 = merger.classes_[merger.merge_proba(proba, classes).argmax(1)]
    else:
        acc7, predicted6 = None, classes[proba.argmax(1)]
    recalls = [float(np.mean(predicted6[truth6 == code] == code))
               for code in merger.classes_]
    return acc7, float(np.mean(predicted6 == truth6)), recalls


def throughput(model, X, repeat):
    """(probabilities, faces/s best of ``repeat``) over at least 3,000 faces."""
    big = X if len(X) >= 3000 else np.resize(X, (3000, X.shape[1]))
    model.predict_proba(big[:256])  # warm-up: sessions, allocations
    times, proba = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        out = model.predict_proba(big)
        times.append(time.perf_counter() - started)
        proba = out[:len(X)]
    return proba, len(big) / min(times)


def latency(model, face, calls):
    model.predict(face)
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        model.predict(face)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def engines(name, tta, calibration):
    """(engine label, model) of one shipped model on each engine."""
    torch_model = load_pretrained(name, tta=tta)
    shipped = pretrained_info(name)["onnx"]["dtype"]
    yield "torch", torch_model
    float32 = (load_pretrained(name, engine="onnx", tta=tta) if shipped == "float32"
               else ONNXClassifier.from_estimator(torch_model, quantize=None))
    yield "onnx float32" + (" (shipped)" if shipped == "float32" else ""), float32
    if shipped == "int8":
        yield "onnx int8 (shipped)", load_pretrained(name, engine="onnx", tta=tta)
    elif calibration is not None:
        yield "onnx int8", ONNXClassifier.from_estimator(torch_model, calibration=calibration)


def bench_models(args):
    X, y, split = faces_and_labels(args.data)
    calibration = calibration_faces(args.data, args.calibration)
    print(f"accuracy on {split}; faces/s over at least 3,000 faces, best of {args.repeat}; "
          f"latency: median of {args.calls} one-face calls")
    rows = []
    for name in args.models:
        for tta in (True, False):
            for engine, model in engines(name, tta, calibration):
                proba, rate = throughput(model, X, args.repeat)
                acc7, acc6, recalls = scores(model, proba, y)
                rows.append({
                    "model": name, "engine": engine, "flips": "yes" if tta else "no",
                    "acc 7": acc7, "acc 6": acc6,
                    **{f"recall {e}": r for e, r in zip(EMOTIONS_6, recalls)},
                    "faces/s": rate,
                    "latency ms": 1e3 * latency(model, X[:1], args.calls),
                })
                print(_line(rows[-1]), flush=True)
    return rows


def cold_seconds(photo, engine, runs=3):
    """Median wall time of a new ``fer-sklearn predict PHOTO`` process, and
    whether it imported torch."""
    code = ("import sys; from fer_sklearn.cli import main; "
            f"status = main(['predict', {str(photo)!r}, '--engine', {engine!r}]); "
            "print('TORCH', 'torch' in sys.modules, file=sys.stderr); sys.exit(status)")
    times, torch_loaded = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                check=True)
        times.append(time.perf_counter() - started)
        torch_loaded = "TORCH True" in result.stderr
    return statistics.median(times), torch_loaded


def bench_cold(args):
    rows = []
    for engine in ("torch", "onnx"):
        seconds, loaded = cold_seconds(args.photo, engine)
        rows.append({"engine": engine, "cold photo s": seconds, "torch imported": loaded})
    print(f"cold 'fer-sklearn predict {args.photo.name}', median of 3, back to back: "
          + "; ".join(f"--engine {r['engine']} {r['cold photo s']:.2f} s (torch imported: "
                      f"{r['torch imported']})" for r in rows)
          + f"; {rows[0]['cold photo s'] / rows[1]['cold photo s']:.1f}x")
    return rows


def phone_portraits(folder, photos):
    """40 JPEGs of phone size (4032-pixel long side): each photo enlarged,
    and its mirror image."""
    from PIL import Image, ImageOps

    written = []
    for path in sorted(photos.glob("*.jpg"))[:20]:
        with Image.open(path) as image:
            image = image.convert("RGB")
        scale = 4032 / max(image.size)
        big = image.resize((round(image.width * scale), round(image.height * scale)),
                           Image.Resampling.BICUBIC)
        for suffix, picture in (("", big), ("_mirror", ImageOps.mirror(big))):
            out = folder / f"{path.stem}{suffix}.jpg"
            picture.save(out, quality=90)
            written.append(out)
    return written


def bench_photos(args):
    """``analyze`` over 40 phone-size portraits on each engine: one photo
    at a time on every thread (as before), and photos searched side by side,
    one a thread (the default)."""
    from fer_sklearn import _parallel, analyze

    with tempfile.TemporaryDirectory() as folder:
        files = phone_portraits(Path(folder), args.photos)
        rows = []
        for engine in ("torch", "onnx"):
            for ahead, how in ((0, "one at a time"), (_parallel.PHOTOS_AHEAD, "side by side")):
                with mock.patch.object(_parallel, "PHOTOS_AHEAD", ahead):
                    analyze(files[:2], engine=engine)  # warm-up: model and sessions loaded
                    started = time.perf_counter()
                    table = analyze(folder, engine=engine)
                    seconds = time.perf_counter() - started
                rows.append({"engine": engine, "photos": how, "files": len(files),
                             "boxes": len(table), "photos/s": len(files) / seconds,
                             "ms/photo": 1e3 * seconds / len(files)})
                print(f"analyze over {len(files)} phone-size portraits, --engine {engine}, "
                      f"{how}: {seconds:.1f} s, {len(files) / seconds:.1f} photos/s, "
                      f"{len(table)} boxes", flush=True)
    return rows


def bench_widths(args):
    """faces/s of FERNets of other widths as int8 graphs with flips, beside
    the shipped cnn's (speed only: one epoch of training)."""
    from fer_sklearn import FERCNNClassifier

    X, y, split = faces_and_labels(args.data)
    shipped = load_pretrained("cnn", engine="onnx", tta=True)
    _, base = throughput(shipped, X, args.repeat)
    rows = [{"network": "shipped cnn", "parameters": sum(
        v.numel() for v in load_pretrained("cnn").module_.parameters()),
        "faces/s": base, "ratio": 1.0}]
    print(_line(rows[-1]), flush=True)
    fit_faces = X[:1024]
    for width in args.widths:
        clf = FERCNNClassifier(module="fernet", module__width=width,
                               module__convs_per_stage=args.convs, max_epochs=1, tta=True,
                               random_state=0).fit(fit_faces, y[:1024])
        engine = ONNXClassifier.from_estimator(clf, calibration=fit_faces[:512])
        _, rate = throughput(engine, X, args.repeat)
        rows.append({"network": f"FERNet width {width}, {args.convs} convs a stage",
                     "parameters": sum(v.numel() for v in clf.module_.parameters()),
                     "faces/s": rate, "ratio": rate / base})
        print(_line(rows[-1]), flush=True)
    return rows


def bench_threads(args):
    """Each shipped graph on every thread: one session using them all, and a
    batch cut across the threads on a single-threaded session (the default)."""
    from fer_sklearn import _runtime

    X, _, split = faces_and_labels(args.data)
    big = np.resize(X, (3000, X.shape[1])).reshape(-1, 1, 48, 48).astype(np.float32)
    rows = []
    for name in args.models:
        graph = _runtime.shipped_graph(name)
        rates = {}
        for split_faces, how in ((len(big) + 1, "one session"), (_runtime.SPLIT_FACES, "cut")):
            with mock.patch.object(_runtime, "SPLIT_FACES", split_faces):
                graph.run(big[:256])  # warm-up
                times = []
                for _ in range(args.repeat):
                    started = time.perf_counter()
                    graph.run(big)
                    times.append(time.perf_counter() - started)
            rates[how] = len(big) / min(times)
        rows.append({"model": name, "flips": "yes" if graph.tta else "no",
                     "one session faces/s": rates["one session"],
                     "cut across threads faces/s": rates["cut"],
                     "ratio": rates["cut"] / rates["one session"]})
        print(_line(rows[-1]), flush=True)
    return rows


def video_720p(path, source, seconds=10.0, rate=30.0):
    """``source``'s first ``seconds`` upscaled to 1280x720 at ``rate`` fps."""
    import cv2

    capture = cv2.VideoCapture(str(source))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), rate, (1280, 720))
    for _ in range(int(seconds * rate)):
        ok, frame = capture.read()
        if not ok:
            break
        writer.write(cv2.resize(frame, (1280, 720), interpolation=cv2.INTER_CUBIC))
    capture.release()
    writer.release()
    return path


def bench_live(args):
    """``live`` on a 720p, 30 fps file played in real time: the share of
    its frames analysed (the rest dropped to keep up)."""
    import cv2

    from fer_sklearn import live

    rows = []
    with tempfile.TemporaryDirectory() as folder:
        video = video_720p(Path(folder) / "talking720.mp4", args.video)
        total = int(cv2.VideoCapture(str(video)).get(cv2.CAP_PROP_FRAME_COUNT))
        for work_size in ("auto", 640, 1280):
            started = time.perf_counter()
            stream = live(video, work_size=work_size)
            with stream:
                frames = list(stream)
            seconds = time.perf_counter() - started
            one = sum(len(f.faces) == 1 for f in frames)
            rows.append({"video": "720p, 30 fps", "work_size": str(work_size), "frames": total,
                         "analysed": len(frames), "analysed share": len(frames) / total,
                         "dropped": stream.dropped, "final work size": stream.work_size,
                         "one face": one, "seconds": seconds})
            print(f"live on a 720p 30 fps file in real time, work_size={work_size}: "
                  f"{len(frames)} of {total} frames analysed ({len(frames) / total:.0%}), "
                  f"{stream.dropped} dropped, work size at the end {stream.work_size}, "
                  f"{one} with one face, {seconds:.1f} s", flush=True)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=None, help="FER2013 (else the bundled sample)")
    parser.add_argument("--models", nargs="+", default=["cnn", "cnn-ensemble", "rnn", "study"])
    parser.add_argument("--parts", nargs="+",
                        default=["models", "threads", "cold", "photos", "live"],
                        choices=["models", "threads", "cold", "photos", "live", "widths"])
    parser.add_argument("--widths", type=int, nargs="+", default=[32, 40, 48],
                        help="FERNet widths for --parts widths")
    parser.add_argument("--convs", type=int, default=2,
                        help="convolutions per stage for --parts widths")
    parser.add_argument("--video", type=Path, default=SHARED / "media" / "one-man-talking.mp4")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--calibration", type=int, default=512)
    parser.add_argument("--photo", type=Path, default=SHARED / "photos" / "img1.jpg")
    parser.add_argument("--photos", type=Path, default=SHARED / "photos")
    parser.add_argument("--csv", type=Path, default=None,
                        help="write the models' table here (and -cold, -photos beside it)")
    args = parser.parse_args(argv)
    if args.calls < 50:
        parser.error("measure at least 50 calls")
    import torch

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads (ONNX Runtime "
          "the same)")
    tables = {}
    if "models" in args.parts:
        tables[""] = bench_models(args)
    if "threads" in args.parts:
        tables["_threads"] = bench_threads(args)
    if "widths" in args.parts:
        tables["_widths"] = bench_widths(args)
    if "cold" in args.parts and args.photo.is_file():
        tables["_cold"] = bench_cold(args)
    if "photos" in args.parts and args.photos.is_dir():
        tables["_photos"] = bench_photos(args)
    if "live" in args.parts and args.video.is_file():
        tables["_live"] = bench_live(args)
    if args.csv:
        args.csv.parent.mkdir(parents=True, exist_ok=True)
        for suffix, rows in tables.items():
            path = args.csv.with_name(args.csv.stem + suffix + args.csv.suffix)
            with open(path, "w", newline="") as handle:
                writer = csv.writer(handle)
                writer.writerow(list(rows[0]))
                writer.writerows([[_cell(row[k], k) for k in rows[0]] for row in rows])
            print(f"wrote {path}")


def _line(row):
    return " | ".join(f"{key} {_cell(value, key)}" for key, value in row.items())


def _cell(value, key=""):
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return value
    if key.startswith(("acc", "recall", "analysed share")):
        if key == "analysed share":
            return f"{value:.0%}"
        return f"{value:.2%}" if key.startswith("acc") else f"{value:.2f}"
    if key == "ratio":
        return f"{value:.2f}x"
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


if __name__ == "__main__":
    main()
