"""Accuracy report of the shipped models (and the study's CNN) on a FER2013 split.

For each model: 7-class accuracy, 6-class accuracy (Disgust merged into
Angry with LabelMerger, on the predicted probabilities and on the truth),
per-class recall, each with and without test-time flip averaging, and
inference throughput. Prints a Markdown table.

Usage::

    python benchmarks/bench_accuracy.py [--data PATH] [--usage PublicTest]
                                        [--study build/study/best.pt]
                                        [--checkpoint NAME=build/run/last.pt ...]
                                        [--without-training-duplicates]
                                        [--csv docs/bench/accuracy.csv]

``--data`` defaults to ``$FER2013_PATH``. The shipped models were selected
on PublicTest: figures on it are validation figures. ``study`` (shipped)
is the course study's CNN trained with its protocol (6 classes: no 7-class
figure; its recall columns are of the 6 classes, Angry with Disgust);
``--study`` adds another checkpoint of ``scripts/train_pretrained.py
study``; ``--checkpoint NAME=PATH`` (repeated) adds a checkpoint of any
recipe's run under NAME: the clean figure of a candidate on the whole
split (``bench_robustness.py --every 3`` scores one face in three).

FER2013's test splits repeat some Training faces byte for byte (280 of
PublicTest's 3,589); ``--without-training-duplicates`` leaves those out,
for a figure on faces no model has seen.
"""

import argparse
import csv
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import accuracy_score, recall_score

from fer_sklearn import LabelMerger, load_fer2013, load_pretrained
from fer_sklearn._classifiers import classifier_from_checkpoint_file
from fer_sklearn.cli._common import _named_file
from fer_sklearn.datasets import EMOTIONS


def training_duplicates(path, X):
    """Which rows of ``X`` are, pixel for pixel, a face of the Training rows."""
    training = {row.tobytes() for row in load_fer2013(path, usage="Training").data}
    return np.fromiter((row.tobytes() in training for row in X), dtype=bool, count=len(X))


def evaluate(name, model, X, y):
    merger = LabelMerger().fit(np.arange(7))
    y6 = merger.transform(y)
    rows = []
    for tta in (False, True):
        model.set_params(tta=tta)
        started = time.perf_counter()
        proba = model.predict_proba(X)
        rate = len(X) / (time.perf_counter() - started)
        merged = merger.merge_proba(proba, model.classes_)
        predicted6 = merger.classes_[merged.argmax(axis=1)]
        row = {
            "model": name + (" + flip TTA" if tta else ""),
            "acc7": None,
            "acc6": accuracy_score(y6, predicted6),
            "images_per_s": rate,
        }
        if len(model.classes_) == 7:
            predicted = model.classes_[proba.argmax(axis=1)]
            row["acc7"] = accuracy_score(y, predicted)
            row["recall"] = recall_score(y, predicted, labels=np.arange(7), average=None)
        else:
            recall6 = recall_score(y6, predicted6, labels=merger.classes_, average=None)
            row["recall"] = np.insert(recall6, 1, np.nan)  # no disgust column
        rows.append(row)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=None)
    parser.add_argument("--usage", default="PublicTest")
    parser.add_argument("--models", nargs="*",
                        default=["cnn", "cnn-ensemble", "rnn", "study"])
    parser.add_argument("--csv", default=None, help="also write the table here (CSV)")
    parser.add_argument("--study", default=None, metavar="PATH",
                        help="checkpoint of the study's CNN (as --checkpoint 'study CNN=PATH')")
    parser.add_argument("--checkpoint", action="append", default=[], metavar="NAME=PATH",
                        type=_named_file,
                        help="also a checkpoint of scripts/train_pretrained.py, as NAME")
    parser.add_argument("--without-training-duplicates", action="store_true",
                        help="leave out the faces identical to a Training face")
    args = parser.parse_args(argv)

    faces = load_fer2013(args.data, usage=args.usage)
    X, y = faces.data, faces.target
    described = f"{len(y)} faces"
    if args.without_training_duplicates:
        seen = training_duplicates(args.data, X)
        X, y = X[~seen], y[~seen]
        described = f"{len(y)} faces ({seen.sum()} identical to Training faces left out)"
    rows = []
    for name in args.models:
        rows += evaluate(name, load_pretrained(name), X, y)
    checkpoints = ([("study CNN", args.study)] if args.study else []) + args.checkpoint
    for name, path in checkpoints:
        rows += evaluate(name, classifier_from_checkpoint_file(path), X, y)

    print(f"{args.usage}: {described} of {Path(faces.filename).name}; torch threads "
          f"{torch.get_num_threads()}\n")
    header = ["model", "7-class acc", "6-class acc"] + [
        f"recall {e[:4]}" for e in EMOTIONS] + ["images/s"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    table = []
    for row in rows:
        acc7 = "n/a (6-class model)" if row["acc7"] is None else f"{row['acc7']:.2%}"
        recalls = ["n/a" if np.isnan(r) else f"{r:.2f}" for r in row["recall"]]
        cells = [row["model"], acc7, f"{row['acc6']:.2%}", *recalls,
                 f"{row['images_per_s']:,.0f}"]
        table.append(cells)
        print("| " + " | ".join(cells) + " |")
    if args.csv:
        Path(args.csv).parent.mkdir(parents=True, exist_ok=True)
        with open(args.csv, "w", newline="") as handle:
            csv.writer(handle).writerows([header, *table])


if __name__ == "__main__":
    main()
