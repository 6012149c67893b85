"""The ``fer-sklearn`` command line: a thin layer over the public API.

Subcommands: ``demo`` (the main job, on the bundled sample and the shipped
CNN), ``train``, ``evaluate`` and ``predict``. Bad input ends with one
line on stderr and exit status 1 (2 for usage errors), never a traceback.
"""

import argparse
import json
import pickle
import sys
import time
from pathlib import Path

import numpy as np

from .datasets import load_fer2013, load_fer2013_sample
from .plotting import label_names

MODEL_CHOICES = ("cnn", "rnn")


class CommandError(Exception):
    """An error to report on one line, without a traceback."""


def _load_model(spec, tta=None):
    from ._classifiers import _FERClassifierBase
    from ._pretrained import load_pretrained

    params = {} if tta is None else {"tta": tta}
    if spec in MODEL_CHOICES:
        return load_pretrained(spec, **params)
    path = Path(spec)
    if not path.is_file():
        raise CommandError(
            f"model {spec!r} is neither one of {list(MODEL_CHOICES)} nor an "
            "existing file written by 'fer-sklearn train'."
        )
    try:
        with open(path, "rb") as handle:
            model = pickle.load(handle)
    except Exception as exc:  # any unpickling failure means "not a model file"
        raise CommandError(f"{path} is not a fer_sklearn model file ({exc}).") from exc
    if not isinstance(model, _FERClassifierBase):
        raise CommandError(
            f"{path} holds a {type(model).__name__}, not a fitted "
            "FERCNNClassifier or FERRNNClassifier."
        )
    model.set_params(**params)
    return model


def report(model, X, y, *, split, stream=None):
    """Print accuracy on 7 and 6 classes, per-class metrics and the confusion matrix."""
    from sklearn.metrics import accuracy_score, classification_report, confusion_matrix

    from ._label_merger import LabelMerger

    def say(text=""):
        print(text, file=stream or sys.stdout)

    started = time.perf_counter()
    proba = model.predict_proba(X)
    seconds = time.perf_counter() - started
    predicted = model.classes_[proba.argmax(axis=1)]
    say(f"{len(y)} faces ({split}); inference {len(y) / seconds:,.0f} images/s")
    merger = LabelMerger().fit(np.union1d(model.classes_, np.unique(y)))
    merged_truth = merger.transform(y)
    merged_predicted = merger.classes_[
        merger.merge_proba(proba, model.classes_).argmax(axis=1)
    ]
    if len(model.classes_) == 7:
        say(f"accuracy, 7 classes: {accuracy_score(y, predicted):.2%}")
    say(f"accuracy, 6 classes (disgust merged into angry): "
        f"{accuracy_score(merged_truth, merged_predicted):.2%}")
    labels = model.classes_
    say()
    say(classification_report(y, predicted, labels=labels,
                              target_names=label_names(labels).tolist(), digits=3, zero_division=0))
    matrix = confusion_matrix(y, predicted, labels=labels)
    names = [name[:8] for name in label_names(labels).tolist()]
    say("confusion matrix (rows: true, columns: predicted)")
    say(" " * 10 + "".join(f"{name:>9s}" for name in names))
    for name, row in zip(names, matrix):
        say(f"{name:>10s}" + "".join(f"{count:9d}" for count in row))
    return proba


def write_figures(model, faces, proba, out, history=None):
    """The study's six figures as PNG files in ``out``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from . import plotting

    out.mkdir(parents=True, exist_ok=True)
    predicted = model.classes_[np.asarray(proba).argmax(axis=1)]
    figures = {
        "faces.png": plotting.plot_faces(faces.images, faces.target),
        "label_distribution.png": plotting.plot_label_distribution(
            faces.target, names=["bundled sample"]).figure,
        "predictions.png": plotting.plot_predictions(
            faces.images, proba, faces.target, classes=model.classes_),
        "label_counts.png": plotting.plot_label_counts(faces.target, predicted).figure,
        "confusion_matrix.png": plotting.plot_confusion_matrix(
            faces.target, predicted, labels=model.classes_).figure_,
    }
    if history is not None and len(history):
        figures["history.png"] = plotting.plot_history(history)
    for name, figure in figures.items():
        figure.tight_layout()
        figure.savefig(out / name, dpi=90)
        plt.close(figure)
    return sorted(out / name for name in figures)


def _demo(args):
    faces = load_fer2013_sample()
    model = _load_model(args.model, tta=args.tta)
    print(f"fer_sklearn demo: the shipped {args.model.upper()} on the bundled sample")
    print("(the sample is drawn from PublicTest, the split the shipped models were "
          "selected on:\n these are validation figures, not test figures)\n")
    proba = report(model, faces.data, faces.target, split="bundled PublicTest sample")
    if args.out:
        for path in write_figures(model, faces, proba, Path(args.out)):
            print(f"wrote {path}")
    return 0


def _train(args):
    import torch
    from sklearn.metrics import accuracy_score

    from . import FERCNNClassifier, FERRNNClassifier, LabelMerger

    faces = load_fer2013(args.data, usage=args.usage)
    y = faces.target
    if (y < 0).any():
        raise CommandError(f"{faces.filename}: the {args.usage} rows have no labels.")
    merger = LabelMerger().fit(np.arange(7)) if args.merge_disgust else None
    if merger is not None:
        y = merger.transform(y)
    kinds = {
        "cnn": (FERCNNClassifier, {}),
        "rnn": (FERRNNClassifier, {}),
        "study-cnn": (FERCNNClassifier, dict(
            module="study", optimizer=torch.optim.Adam, lr=1e-3, lr_schedule=None,
            augment_shift=0, augment_rotation=0, augment_zoom=0, augment_flip=False,
            batch_size=128)),
    }
    cls, params = kinds[args.model]
    model = cls(max_epochs=args.epochs, verbose=1, random_state=args.seed, **params)
    print(f"training {args.model} on {len(y)} {args.usage} faces, "
          f"{len(np.unique(y))} classes, {args.epochs} epochs")
    started = time.perf_counter()
    model.fit(faces.data, y)
    seconds = time.perf_counter() - started
    with open(args.out, "wb") as handle:
        pickle.dump(model, handle)
    print(f"trained in {seconds:.0f} s; training accuracy (last epoch, augmented) "
          f"{model.history[-1, 'train_acc']:.2%}; saved to {args.out}")
    if args.valid:
        valid = load_fer2013(args.data, usage=args.valid)
        y_valid = merger.transform(valid.target) if merger is not None else valid.target
        print(f"{args.valid} accuracy: "
              f"{accuracy_score(y_valid, model.predict(valid.data)):.2%}")
    return 0


def _evaluate(args):
    model = _load_model(args.model, tta=args.tta)
    faces = load_fer2013(args.data, usage=args.usage)
    if (faces.target < 0).any():
        raise CommandError(f"{faces.filename}: the {args.usage} rows have no labels.")
    y = faces.target
    if len(model.classes_) == 6:
        from ._label_merger import LabelMerger

        y = LabelMerger().fit(np.arange(7)).transform(y)
    report(model, faces.data, y, split=args.usage)
    return 0


def read_image(path):
    """An image file as greyscale uint8, any size or colour."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("L"), dtype=np.uint8)
    except FileNotFoundError as exc:
        raise CommandError(f"{path}: no such file.") from exc
    except (UnidentifiedImageError, OSError) as exc:
        raise CommandError(f"{path}: not a readable image ({exc}).") from exc


def as_face(grey):
    """A whole greyscale image resized to 48x48."""
    from PIL import Image

    if grey.shape == (48, 48):
        return grey
    return np.asarray(Image.fromarray(grey).resize((48, 48), Image.Resampling.BILINEAR))


def _predict(args):
    from ._faces import crop_faces, detect_faces

    model = _load_model(args.model, tta=args.tta)
    names = label_names(model.classes_).tolist()
    entries = []  # (image path, box or None, 48x48 face)
    for path in args.images:
        grey = read_image(path)
        if args.detect_faces:
            try:
                boxes = detect_faces(grey)
            except ImportError as exc:
                raise CommandError(str(exc)) from exc
            if not boxes:
                print(f"{path}: no face found", file=sys.stderr)
            entries += [(path, box, face) for box, face in zip(boxes, crop_faces(grey, boxes))]
        else:
            entries.append((path, None, as_face(grey)))
    proba = model.predict_proba(np.stack([face for *_, face in entries])) if entries else []
    results = []
    for (path, box, _), row in zip(entries, proba):
        result = {"image": str(path)}
        if box is not None:
            result["box"] = dict(zip(("x", "y", "width", "height"), box))
        result["label"] = names[int(row.argmax())]
        result["probabilities"] = {name: round(float(p), 4) for name, p in zip(names, row)}
        results.append(result)
    if args.json:
        print(json.dumps(results, indent=1))
    else:
        for result in results:
            ranked = sorted(result["probabilities"].items(), key=lambda kv: -kv[1])
            where = ""
            if "box" in result:
                where = " face at ({x}, {y}) {width}x{height}".format(**result["box"])
            print(f"{result['image']}{where}: {result['label']}  ("
                  + ", ".join(f"{name} {p:.2f}" for name, p in ranked) + ")")
    return 0


def build_parser():
    parser = argparse.ArgumentParser(
        prog="fer-sklearn",
        description="Facial-expression recognition on FER2013 with scikit-learn.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    def model_options(command, default="cnn"):
        command.add_argument("--model", default=default,
                             help=f"{' or '.join(MODEL_CHOICES)} (shipped), or a "
                                  "file written by 'fer-sklearn train'")
        command.add_argument("--tta", action=argparse.BooleanOptionalAction,
                             default=None,
                             help="average each face with its mirror image (shipped "
                                  "models: their recorded default)")

    demo = commands.add_parser(
        "demo", help="the shipped CNN on the bundled sample: accuracy, report, figures")
    model_options(demo)
    demo.add_argument("--out", help="also write the study's figures as PNG here")
    demo.set_defaults(func=_demo)

    train = commands.add_parser("train", help="train a classifier on FER2013")
    train.add_argument("--data", help="FER2013 file or folder (else $FER2013_PATH)")
    train.add_argument("--model", choices=["cnn", "rnn", "study-cnn"], default="cnn")
    train.add_argument("--epochs", type=int, default=30)
    train.add_argument("--usage", default="Training")
    train.add_argument("--valid", default=None,
                       help="also report accuracy on this split, e.g. PublicTest")
    train.add_argument("--merge-disgust", action="store_true",
                       help="the 6-class protocol: disgust merged into angry")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--out", required=True, help="where to pickle the model")
    train.set_defaults(func=_train)

    evaluate = commands.add_parser("evaluate", help="accuracy and report on a split")
    model_options(evaluate)
    evaluate.add_argument("--data", help="FER2013 file or folder (else $FER2013_PATH)")
    evaluate.add_argument("--usage", default="PrivateTest")
    evaluate.set_defaults(func=_evaluate)

    predict = commands.add_parser("predict", help="emotion of each image file")
    predict.add_argument("images", nargs="+", help="image files, any size or colour")
    model_options(predict)
    predict.add_argument("--json", action="store_true", help="print JSON")
    predict.add_argument("--detect-faces", action="store_true",
                         help="find faces with OpenCV's Haar cascade and classify "
                              "each (needs opencv-python-headless<5)")
    predict.set_defaults(func=_predict)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (CommandError, OSError, ValueError, TypeError) as exc:
        print(f"fer-sklearn {args.command}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
