"""Fit the shipped models' probability temperature and record it in the manifest.

For each shipped model, scikit-learn's temperature scaling
(``CalibratedClassifierCV(FrozenEstimator(clf), method="temperature")``)
is fitted on PublicTest with the model's shipped ``tta`` and
``temperature=1``. Its effect is estimated on faces the fit did not see, by
two-fold cross-fitting: a temperature fitted on the even-numbered rows is
measured on the odd-numbered ones and the reverse, and the two are
averaged. Printed: the expected calibration error (15 equal-width bins of
the top probability; on 6 classes from merged probabilities, and on 7),
the mean top probability against the accuracy, before and after, and the
number of faces whose label the shipped temperature changes (the model's
own classes: none can, a temperature keeps the order of the
probabilities; 6 classes from a 7-class model, where Disgust's probability
is added to Angry's, a few can). For scale, it also prints the error a
perfectly calibrated model with the same top probabilities would score on
as many faces: sampling noise alone keeps it above 0. With ``--write`` the temperature goes into the manifest's
``defaults`` (``load_pretrained`` sets it, ``predict_proba`` applies it)
where it lowers the two-fold error on 6 classes (else the default stays 1),
and a ``temperature`` record; then rerun ``scripts/export_graphs.py`` so that the
ONNX graphs divide their logits by it too::

    python scripts/calibrate_temperature.py --data "$FER2013_PATH" --write
    python scripts/export_graphs.py --data "$FER2013_PATH"
"""

import argparse
import json
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator

from fer_sklearn import LabelMerger, load_fer2013, load_pretrained
from fer_sklearn._metrics import expected_calibration_error, tempered
from fer_sklearn._validation import check_images

PRETRAINED = Path(__file__).resolve().parents[1] / "fer_sklearn" / "pretrained"


def six_classes(proba, classes, merger):
    """A model's probabilities on the 6 classes: Disgust's column added to
    Angry's for a 7-class model, as they are for a 6-class one."""
    return merger.merge_proba(proba, classes) if len(classes) == 7 else proba


def six_class_labels(proba, classes, merger):
    """Labels of the 6 classes from (merged) probabilities."""
    return merger.classes_[six_classes(proba, classes, merger).argmax(axis=1)]


def errors(y, proba, classes, merger, seven):
    """Expected calibration error (15 bins), mean top probability and
    accuracy on 6 classes (merged probabilities), and the error on 7."""
    six = six_classes(proba, classes, merger)
    y6 = merger.transform(y) if seven else y
    predicted = merger.classes_[six.argmax(axis=1)]
    scores = {
        "ECE 6 classes": expected_calibration_error(y6, six, merger.classes_),
        "mean top probability 6": float(six.max(axis=1).mean()),
        "accuracy 6": float(np.mean(predicted == y6)),
    }
    if seven:
        scores["ECE 7 classes"] = expected_calibration_error(y, proba, classes)
    return scores


class Precomputed(ClassifierMixin, BaseEstimator):
    """A fitted model's probabilities, looked up by row number: ``X`` is a
    column of row indices into ``proba`` (the networks run once)."""

    def __init__(self, proba, classes):
        self.proba = proba
        self.classes = classes

    def fit(self, X, y):
        self.classes_ = np.asarray(self.classes)
        return self

    def predict_proba(self, X):
        return self.proba[np.asarray(X, dtype=int).ravel()]

    def predict(self, X):
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


def fit_temperature(proba, classes, rows, y):
    """scikit-learn's temperature scaling of the probabilities ``proba[rows]``
    (a frozen model's), against ``y`` (labels in ``classes``).

    ``y`` goes in as column indices: scikit-learn 1.9 encodes string labels
    for temperature scaling but uses integer labels as column indices as
    they are, which is wrong for the merged codes 0, 2, ..., 6 of a 6-class
    model.
    """
    frozen = FrozenEstimator(Precomputed(proba, classes).fit(None, None))
    calibrated = CalibratedClassifierCV(frozen, method="temperature")
    calibrated.fit(rows.reshape(-1, 1), np.searchsorted(classes, y))
    return 1.0 / float(calibrated.calibrated_classifiers_[0].calibrators[0].beta_)


def calibrated_floor(confidence, n_faces, repeats=300, seed=0):
    """The mean expected calibration error (15 bins) that a perfectly
    calibrated model would score on ``n_faces`` faces with these top
    probabilities: each face drawn with replacement, and right with the
    probability it is given. The error is never 0 on a finite sample."""
    rng = np.random.default_rng(seed)
    errors = []
    for _ in range(repeats):
        drawn = rng.choice(confidence, n_faces)
        right = rng.random(n_faces) < drawn
        errors.append(expected_calibration_error(
            np.where(right, 0, 1), np.column_stack([drawn, 1 - drawn]), np.array([0, 1])))
    return float(np.mean(errors))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", default=None)
    parser.add_argument("--data", default=None, help="FER2013 (else $FER2013_PATH)")
    parser.add_argument("--write", action="store_true",
                        help="record the temperatures in the manifest")
    parser.add_argument("--csv", type=Path, default=None,
                        help="write the two-fold figures, a row per model")
    parser.add_argument("--plot", type=Path, default=None,
                        help="write reliability diagrams (6 classes, two-fold)")
    args = parser.parse_args(argv)

    manifest_path = PRETRAINED / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    names = args.names or sorted(manifest)
    valid = load_fer2013(args.data, usage="PublicTest")
    X = check_images(valid.data)
    merger = LabelMerger().fit(np.arange(7))
    halves = (np.arange(0, len(X), 2), np.arange(1, len(X), 2))
    table, curves = [], {}
    for name in names:
        clf = load_pretrained(name, temperature=1.0)
        seven = len(clf.classes_) == 7
        y = valid.target if seven else merger.transform(valid.target)
        proba = clf.predict_proba(X)
        every = np.arange(len(X))
        shipped = fit_temperature(proba, clf.classes_, every, y)
        # the error of a temperature fitted on one half, on the other half
        rows = {"before": [], "after": []}
        folds = []
        held_out = np.empty_like(proba, dtype=np.float64)
        for fit_rows, report_rows in (halves, halves[::-1]):
            temperature = fit_temperature(proba, clf.classes_, fit_rows, y[fit_rows])
            folds.append(temperature)
            held_out[report_rows] = tempered(proba[report_rows], temperature)
            for label, value in (("before", 1.0), ("after", temperature)):
                rows[label].append(errors(y[report_rows], tempered(proba[report_rows], value),
                                          clf.classes_, merger, seven))
        after = tempered(proba, shipped)
        changed = int(np.sum(proba.argmax(axis=1) != after.argmax(axis=1)))
        changed_6 = int(np.sum(six_class_labels(proba, clf.classes_, merger)
                               != six_class_labels(after, clf.classes_, merger)))
        print(f"{name}: temperature {shipped:.4f} on all {len(X)} PublicTest faces "
              f"({folds[0]:.4f} on the even rows, {folds[1]:.4f} on the odd rows)")
        report = {}
        for label in ("before", "after"):
            report[label] = {key: round(float(np.mean([fold[key] for fold in rows[label]])), 4)
                             for key in rows[label][0]}
            print(f"  {label:6s} " + ", ".join(f"{key} {value:.4f}"
                                               for key, value in report[label].items()))
        print(f"  labels changed by the shipped temperature: {changed} of {len(X)} "
              f"(the model's classes), {changed_6} (6 classes, merged probabilities)")
        six = six_classes(held_out, clf.classes_, merger)
        floor = calibrated_floor(six.max(axis=1), len(halves[0]))
        print(f"  a perfectly calibrated model with these top probabilities would score "
              f"ECE {floor:.4f} on {len(halves[0])} faces (6 classes; sampling noise)")
        table.append({"model": name, "temperature": round(shipped, 4),
                      **{f"{key}, {label}": value for label in ("before", "after")
                         for key, value in report[label].items()},
                      "labels changed (model's classes)": changed,
                      "labels changed (6 classes merged)": changed_6,
                      "ECE 6 of a calibrated model (noise)": round(floor, 4)})
        curves[name] = (y, proba, held_out, clf.classes_)
        if not args.write:
            continue
        entry = manifest[name]
        # shipped only where it lowers the (two-fold) error on 6 classes
        ships = report["after"]["ECE 6 classes"] < report["before"]["ECE 6 classes"]
        entry.setdefault("defaults", {})["temperature"] = round(shipped, 6) if ships else 1.0
        print("  ships: " + (f"temperature {shipped:.4f}" if ships
                             else "temperature 1 (the fitted one raised the error)"))
        entry["temperature"] = {
            "shipped": bool(ships),
            "value": round(shipped, 6),
            "fitted_by": "sklearn CalibratedClassifierCV(FrozenEstimator, "
                         "method='temperature')",
            "fitted_on": f"PublicTest ({len(X)} faces)",
            "two_fold_estimate": "fitted on the even rows, measured on the odd "
                                 "rows, and the reverse; the mean of the two",
            "before": report["before"],
            "after": report["after"],
            "labels_changed": {"model's classes": changed, "6 classes merged": changed_6},
            "ece_6_of_a_calibrated_model": round(floor, 4),
        }
        manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
        print(f"  wrote {manifest_path}")
    if args.csv:
        import pandas as pd

        pd.DataFrame(table).to_csv(args.csv, index=False)
        print(f"wrote {args.csv}")
    if args.plot:
        plot_reliability(curves, merger, args.plot)
        print(f"wrote {args.plot}")


def plot_reliability(curves, merger, path):
    """scikit-learn's CalibrationDisplay of each model's top 6-class
    probability against being right, before (temperature 1) and after (each
    half tempered by the temperature fitted on the other half)."""
    import matplotlib.pyplot as plt
    from sklearn.calibration import CalibrationDisplay

    figure, axes = plt.subplots(1, len(curves), figsize=(3.2 * len(curves), 3.4),
                                sharey=True, squeeze=False)
    for ax, (name, (y, proba, held_out, classes)) in zip(axes[0], curves.items()):
        y6 = merger.transform(y) if len(classes) == 7 else y
        for label, probabilities in (("temperature 1", proba), ("fitted", held_out)):
            six = six_classes(probabilities, classes, merger)
            right = merger.classes_[six.argmax(axis=1)] == y6
            CalibrationDisplay.from_predictions(right, six.max(axis=1), n_bins=15,
                                                name=label, ax=ax)
        ax.set_title(name)
        ax.set_xlabel("top probability")
        ax.set_ylabel("share right" if ax is axes[0][0] else "")
        ax.legend(loc="upper left", fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
