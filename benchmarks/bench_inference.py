"""Inference speed of the shipped models, against this machine's compute limit.

For each model, with its shipped defaults (flip averaging where it is on):

- faces/s: ``predict_proba`` on one batch of at least 3,000 faces (the
  bundled sample, repeated), best of ``--repeat``;
- one-face latency: the median of ``--calls`` (at least 50) ``predict``
  calls of one face on the loaded model;
- cold one-photo time: the wall time of a new ``fer-sklearn predict PHOTO
  --model NAME`` process, median of 3 (imports, loading, the photo, the
  prediction);
- FLOPs per face (``torch.utils.flop_counter``, forward passes included,
  2 per multiply-add), and the fraction of the machine's limit that the
  batch throughput reaches, where the limit is the fp32 FLOP/s measured on
  FERNet's own convolutions alone (each at batch 256, in a loop).

Usage::

    python benchmarks/bench_inference.py [--models cnn cnn-ensemble rnn]
        [--photo ../shared/photos/img1.jpg] [--csv docs/bench/inference.csv]
        [--before build/old]   # git worktree add build/old <older commit>

Run on a quiet machine: every figure is a time.
"""

import argparse
import csv
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from fer_sklearn import load_fer2013_sample, load_pretrained
from fer_sklearn.networks import FERNet


def flops_per_face(model):
    """FLOPs of one face through the model as predict runs it (TTA included)."""
    X = torch.zeros(1, 1, 48, 48)
    model.module_.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model.infer(X)
    return counter.get_total_flops()


def convolution_limit(batch=256, seconds=3.0):
    """fp32 FLOP/s of FERNet's convolutions alone, at the shapes they run at."""
    net = FERNet().eval().to(memory_format=torch.channels_last)
    shapes, X = [], torch.zeros(1, 1, 48, 48)
    for layer in net.features:
        if isinstance(layer, torch.nn.Conv2d):
            shapes.append((layer, X.shape[1:]))
        X = layer(X)
    total_flops = total_time = 0.0
    with torch.no_grad():
        for layer, shape in shapes:
            inputs = torch.randn(batch, *shape).contiguous(memory_format=torch.channels_last)
            with FlopCounterMode(display=False) as counter:
                layer(inputs)
            layer(inputs)  # warm-up
            runs, started = 0, time.perf_counter()
            while time.perf_counter() - started < seconds / len(shapes):
                layer(inputs)
                runs += 1
            total_time += time.perf_counter() - started
            total_flops += runs * counter.get_total_flops()
    return total_flops / total_time


def batch_rate(model, X, repeat):
    model.predict_proba(X[:256])  # warm-up
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        model.predict_proba(X)
        times.append(time.perf_counter() - started)
    return len(X) / min(times)


def latency(model, face, calls):
    model.predict(face)  # warm-up
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        model.predict(face)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


_RUN_CHECKOUT = """
import runpy, sys
sys.meta_path[:] = [f for f in sys.meta_path if "__editable__" not in getattr(f, "__module__", "")]
sys.path.insert(0, sys.argv.pop(1))
import fer_sklearn
assert fer_sklearn.__file__.startswith(sys.path[0]), fer_sklearn.__file__
sys.argv[0] = "fer-sklearn"
runpy.run_module("fer_sklearn.cli", run_name="__main__")
"""


def cold_photo_seconds(name, photo, runs=3, checkout=None):
    """Median wall time of a new ``fer-sklearn predict`` process; with
    ``checkout``, the fer_sklearn of that folder (e.g. an older commit's
    ``git worktree``) is imported instead of the installed one."""
    arguments = ["predict", str(photo), "--model", name]
    command = [sys.executable, "-m", "fer_sklearn.cli", *arguments]
    if checkout is not None:
        # an editable install's import hook would win over PYTHONPATH: drop it
        command = [sys.executable, "-c", _RUN_CHECKOUT, str(Path(checkout).resolve()), *arguments]
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=["cnn", "cnn-ensemble", "rnn"])
    parser.add_argument("--n-faces", type=int, default=3600)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--photo", type=Path,
                        default=Path(__file__).resolve().parents[2] / "shared/photos/img1.jpg")
    parser.add_argument("--csv", type=Path, default=None, help="also write the table here")
    parser.add_argument("--before", type=Path, default=None,
                        help="a checkout of an older fer_sklearn (git worktree): also time "
                             "its cold 'predict --model cnn' on the photo")
    args = parser.parse_args(argv)
    if args.n_faces < 3000 or args.calls < 50:
        parser.error("measure at least 3,000 faces and 50 calls")

    sample = load_fer2013_sample()
    X = np.resize(sample.data, (args.n_faces, sample.data.shape[1]))
    limit = convolution_limit()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; fp32 limit measured "
          f"on FERNet's convolutions: {limit / 1e9:.1f} GFLOP/s")
    rows = []
    for name in args.models:
        model = load_pretrained(name)
        flops = flops_per_face(model)
        rate = batch_rate(model, X, args.repeat)
        rows.append({
            "model": name,
            "tta": model.tta,
            "GFLOP/face": flops / 1e9,
            "faces/s": rate,
            "limit fraction": rate * flops / limit,
            "latency ms": 1e3 * latency(model, X[:1], args.calls),
            "cold photo s": cold_photo_seconds(name, args.photo) if args.photo.is_file() else None,
        })
    base = next((row["faces/s"] for row in rows if row["model"] == "cnn-ensemble"), None)
    for row in rows:
        row["x cnn-ensemble"] = row["faces/s"] / base if base else None

    header = list(rows[0])
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(_cell(row[key]) for key in header) + " |")
    if args.photo and not args.photo.is_file():
        print(f"(no cold-photo time: {args.photo} not found)")
    elif args.before is not None:
        # measured back to back, so that the ratio is fair
        before = cold_photo_seconds("cnn", args.photo, checkout=args.before)
        after = cold_photo_seconds("cnn", args.photo)
        print(f"cold 'fer-sklearn predict PHOTO --model cnn', median of 3, back to back: "
              f"{before:.2f} s with the checkout {args.before}, {after:.2f} s now "
              f"({before / after:.1f}x faster)")
    if args.csv:
        args.csv.parent.mkdir(parents=True, exist_ok=True)
        with open(args.csv, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows([[_cell(row[key]) for key in header] for row in rows])


def _cell(value):
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "flips" if value else "no"
    if isinstance(value, str):
        return value
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


if __name__ == "__main__":
    main()
