"""The course study, reproduced: the shipped ``study`` model beside the study's numbers.

Prints (and with ``--csv-prefix`` writes as CSV):

- the epoch curve of the run behind ``load_pretrained("study")`` (its
  ``history``: training loss and accuracy, PublicTest loss and accuracy
  through skorch's ``predefined_split``, computed during training);
- the best epoch and epoch 32 beside the study's 58.62% (best validation
  epoch, 9) and 55.25% (test, its final model);
- the shipped model (int8 weights, float32 inference) on a split: 6-class
  accuracy and per-class recall.

Usage::

    python benchmarks/bench_study.py [--data PATH] [--usage PublicTest]
                                     [--csv-prefix docs/bench/study]
"""

import argparse
import csv
from pathlib import Path

import numpy as np
from sklearn.metrics import accuracy_score, recall_score

from fer_sklearn import LabelMerger, load_fer2013, load_pretrained
from fer_sklearn.plotting import label_names

STUDY = {"best validation": (9, 0.5862), "test (final model)": 0.5525}


def write_csv(path, header, rows):
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as handle:
        csv.writer(handle).writerows([header, *rows])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=None)
    parser.add_argument("--usage", default="PublicTest")
    parser.add_argument("--model", default="study")
    parser.add_argument("--csv-prefix", default=None)
    args = parser.parse_args(argv)

    clf = load_pretrained(args.model)
    history = clf.history
    keys = ["epoch", "train_loss", "train_acc", "valid_loss", "valid_acc"]
    curve = [[row["epoch"]] + [f"{row[k]:.4f}" for k in keys[1:]] for row in history]
    print(f"epoch curve of load_pretrained({args.model!r}) (valid = PublicTest, "
          "bfloat16 autocast as trained):")
    print("  ".join(f"{k:>10s}" for k in keys))
    for row in curve:
        print("  ".join(f"{str(v):>10s}" for v in row))
    valid = np.asarray(history[:, "valid_acc"])
    best = int(valid.argmax())
    print(f"\nbest epoch {best + 1}: {valid[best]:.2%} PublicTest; epoch {len(valid)}: "
          f"{valid[-1]:.2%} (the shipped model)")
    print(f"the study: best epoch {STUDY['best validation'][0]}: "
          f"{STUDY['best validation'][1]:.2%} PublicTest; final model "
          f"{STUDY['test (final model)']:.2%} PrivateTest")

    faces = load_fer2013(args.data, usage=args.usage)
    merge = LabelMerger().fit(np.arange(7))
    y6 = merge.transform(faces.target)
    proba = clf.predict_proba(faces.data)
    if len(clf.classes_) == 7:
        proba = merge.merge_proba(proba, clf.classes_)
    predicted = merge.classes_[proba.argmax(axis=1)]
    accuracy = accuracy_score(y6, predicted)
    recall = recall_score(y6, predicted, labels=merge.classes_, average=None)
    names = list(label_names(merge.classes_))
    print(f"\nshipped {args.model!r} (int8 weights, float32 inference) on {args.usage} "
          f"({len(y6)} faces): 6-class accuracy {accuracy:.2%}")
    print("recall: " + ", ".join(f"{n} {r:.2f}" for n, r in zip(names, recall)))

    if args.csv_prefix:
        write_csv(f"{args.csv_prefix}_curve.csv", keys, curve)
        write_csv(
            f"{args.csv_prefix}_summary.csv",
            ["", "best epoch, PublicTest", "epoch 32, PublicTest",
             f"shipped int8 model, {args.usage}", "final model, PrivateTest",
             *[f"recall {n}" for n in names]],
            [["this reproduction", f"{valid[best]:.2%} (epoch {best + 1})", f"{valid[-1]:.2%}",
              f"{accuracy:.2%}", "withheld here", *[f"{r:.2f}" for r in recall]],
             ["the study", f"{STUDY['best validation'][1]:.2%} (epoch 9)", "not reported", "not reported",
              f"{STUDY['test (final model)']:.2%}", *["not reported"] * len(names)]],
        )

if __name__ == "__main__":
    main()
