"""Fit the shipped models' probability temperature and record it in the manifest.

For each shipped model (its shipped ``tta``, ``temperature=1``), two forms
are fitted on PublicTest:

- one number, by scikit-learn's temperature scaling
  (``CalibratedClassifierCV(FrozenEstimator(clf), method="temperature")``);
- a curve ``T = exp(a + b*c + d*c**2)`` of each face's top probability
  ``c``, by the same criterion (the mean negative log-likelihood of the
  model's labels), minimised with scipy. It can sharpen confident faces
  more than unsure ones, which one number cannot.

Their effect is estimated on faces the fit did not see, by two-fold
cross-fitting: a form fitted on the even-numbered rows is applied to the
odd-numbered ones and the reverse. Printed for each form: the expected
calibration error (15 equal-width bins of the top probability; on 6
classes from merged probabilities, and on 7) of the two halves, their
mean, and that of the whole of PublicTest made of the two cross-fitted
halves (as many faces as a test set: the figure a target on 3,589 faces is
read against); the mean top probability against the accuracy; and the
number of faces whose label the fitted form changes (the model's own
classes: none can, a positive temperature keeps the order of the
probabilities; 6 classes from a 7-class model, where Disgust's probability
is added to Angry's, a few can). For scale, it also prints the error a
perfectly calibrated model with the same top probabilities would score on
as many faces: sampling noise alone keeps it above 0.

With ``--write`` the form with the lower cross-fitted error on the whole
set (6 classes) goes into the manifest's ``defaults`` (``load_pretrained``
sets it, ``predict_proba`` applies it), where it is lower than at
temperature 1 (else the default stays 1), and a ``temperature`` record;
then rerun ``scripts/export_graphs.py`` so that the ONNX graphs divide
their logits by it too::

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


def averaged(reports):
    """The mean of each figure over several reports of ``errors``, rounded."""
    return {key: round(float(np.mean([report[key] for report in reports])), 4)
            for key in reports[0]}


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


def fit_curve(proba, classes, rows, y, start=1.0):
    """A temperature curve ``(a, b, d)``, ``T = exp(a + b*c + d*c**2)`` at
    each face's top probability ``c``, that minimises the mean negative
    log-likelihood of ``y`` (labels in ``classes``) on ``proba[rows]``;
    the search starts from the number ``start``."""
    from scipy.optimize import minimize

    index = np.searchsorted(classes, y)
    faces = proba[rows]

    def loss(curve):
        tempered_faces = tempered(faces, tuple(curve))
        return -np.mean(np.log(np.maximum(tempered_faces[np.arange(len(rows)), index],
                                          1e-300)))

    found = minimize(loss, [np.log(start), 0.0, 0.0], method="Nelder-Mead",
                     options=dict(maxiter=4000, xatol=1e-6, fatol=1e-10))
    return tuple(round(float(value), 6) for value in found.x)


def fit_both(proba, classes, rows, y):
    """Both forms fitted on ``proba[rows]`` against ``y``: ``{"number": T,
    "curve": (a, b, d)}``; the curve's search starts from the number."""
    number = fit_temperature(proba, classes, rows, y)
    return {"number": round(number, 6),
            "curve": fit_curve(proba, classes, rows, y, start=number)}


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
        proba = clf.predict_proba(X).astype(np.float64)
        every = np.arange(len(X))
        by_half = [errors(y[rows], proba[rows], clf.classes_, merger, seven)
                   for rows in halves]
        report = {"before": {
            "halves": averaged(by_half),
            "whole": averaged([errors(y, proba, clf.classes_, merger, seven)])}}
        print(f"{name}: {len(X)} PublicTest faces")
        for part in ("halves", "whole"):
            print(f"  temperature 1, {part:6s}: " + ", ".join(
                f"{k} {v:.4f}" for k, v in report["before"][part].items()))
        # fitted on every face, on the even rows and on the odd rows
        on_all, *on_halves = (fit_both(proba, clf.classes_, rows, y[rows])
                              for rows in (every, *halves))
        fitted, held = {}, {}
        for form in ("number", "curve"):
            fitted[form] = on_all[form]
            folds = [fits[form] for fits in on_halves]
            by_half = []
            held_out = np.empty_like(proba)
            # each half tempered by what was fitted on the other
            for value, report_rows in zip(folds, halves[::-1]):
                held_out[report_rows] = tempered(proba[report_rows], value)
                by_half.append(errors(y[report_rows], held_out[report_rows], clf.classes_,
                                      merger, seven))
            held[form] = held_out
            after = tempered(proba, fitted[form])
            report[form] = {
                "value": fitted[form],
                "even rows, odd rows": folds,
                "halves": averaged(by_half),
                "whole": averaged([errors(y, held_out, clf.classes_, merger, seven)]),
                "labels_changed": {
                    "model's classes": int(np.sum(proba.argmax(axis=1) != after.argmax(axis=1))),
                    "6 classes merged": int(np.sum(
                        six_class_labels(proba, clf.classes_, merger)
                        != six_class_labels(after, clf.classes_, merger)))},
            }
            print(f"  {form:6s} {fitted[form]} on all faces (even rows {folds[0]}, odd rows "
                  f"{folds[1]})")
            for part in ("halves", "whole"):
                print(f"    cross-fitted, {part:6s}: " + ", ".join(
                    f"{k} {v:.4f}" for k, v in report[form][part].items()))
            print(f"    labels changed on all faces: {report[form]['labels_changed']}")
        top = six_classes(held["curve"], clf.classes_, merger).max(axis=1)
        floors = {part: round(calibrated_floor(top, n_faces), 4)
                  for part, n_faces in (("halves", len(halves[0])), ("whole", len(X)))}
        print(f"  a perfectly calibrated model with these top probabilities would score "
              f"ECE {floors['halves']:.4f} on {len(halves[0])} faces and "
              f"{floors['whole']:.4f} on {len(X)} (6 classes; sampling noise)")
        key = "ECE 6 classes"
        best = min(("number", "curve"), key=lambda form: report[form]["whole"][key])
        ships = report[best]["whole"][key] < report["before"]["whole"][key]
        table.append({
            "model": name,
            "ECE 6, temperature 1": report["before"]["whole"][key],
            "ECE 6, one number": report["number"]["whole"][key],
            "ECE 6, curve": report["curve"]["whole"][key],
            "ECE 6 of a calibrated model (noise)": floors["whole"],
            "ECE 6 on halves: 1 / number / curve": " / ".join(
                f"{report[form]['halves'][key]:.4f}" for form in ("before", "number", "curve")),
            "mean top prob 6 / acc 6, curve": "{:.3f} / {:.3f}".format(
                report["curve"]["whole"]["mean top probability 6"],
                report["curve"]["whole"]["accuracy 6"]),
            "ships": best if ships else "1",
            "labels changed (model's classes)":
                report[best]["labels_changed"]["model's classes"] if ships else 0,
        })
        curves[name] = (y, proba, held["number"], held["curve"], clf.classes_)
        if not args.write:
            continue
        entry = manifest[name]
        value = fitted[best] if ships else 1.0
        entry.setdefault("defaults", {})["temperature"] = (
            list(value) if isinstance(value, tuple) else value)
        print("  ships: " + (f"the {best} {value}" if ships
                             else "temperature 1 (both forms raised the error)"))
        entry["temperature"] = {
            "shipped": best if ships else None,
            "value": entry["defaults"]["temperature"],
            "fitted_by": {
                "number": "sklearn CalibratedClassifierCV(FrozenEstimator, "
                          "method='temperature')",
                "curve": "T = exp(a + b*c + d*c**2) at the top probability c, mean "
                         "negative log-likelihood minimised by scipy (Nelder-Mead)"},
            "fitted_on": f"PublicTest ({len(X)} faces)",
            "cross_fitted": "fitted on the even rows, applied to the odd rows, and the "
                            "reverse: halves is the mean of the two halves' errors, "
                            "whole the error of the two halves together",
            "before": report["before"],
            "number": report["number"],
            "curve": {**report["curve"], "value": list(report["curve"]["value"]),
                      "even rows, odd rows": [list(v) for v in
                                              report["curve"]["even rows, odd rows"]]},
            "ece_6_of_a_calibrated_model": floors,
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
    probability against being right: at temperature 1, and cross-fitted
    (each half tempered by what was fitted on the other) with one number
    and with the curve."""
    import matplotlib.pyplot as plt
    from sklearn.calibration import CalibrationDisplay

    figure, axes = plt.subplots(1, len(curves), figsize=(3.2 * len(curves), 3.4),
                                sharey=True, squeeze=False)
    for ax, (name, (y, proba, number, curve, classes)) in zip(axes[0], curves.items()):
        y6 = merger.transform(y) if len(classes) == 7 else y
        for label, probabilities in (("temperature 1", proba), ("one number", number),
                                     ("curve", curve)):
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
