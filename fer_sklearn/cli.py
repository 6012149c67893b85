"""The ``fer-sklearn`` command line: a thin layer over the public API.

Subcommands: ``demo`` (the main job, on the bundled sample and the shipped
CNN), ``train``, ``evaluate`` and ``predict``. Bad input ends with one
line on stderr and exit status 1 (2 for usage errors), never a traceback.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from ._recipes import recipe_names

# torch, pandas, scikit-learn and matplotlib are imported by the commands
# that use them, so that ``fer-sklearn --help`` answers at once.

MODEL_CHOICES = ("cnn", "cnn-ensemble", "rnn", "study")
RECIPE_NAMES = recipe_names()


class CommandError(Exception):
    """An error to report on one line, without a traceback."""


def _load_model(spec, tta=None):
    from ._pretrained import load_model_file, load_pretrained

    params = {} if tta is None else {"tta": tta}
    if spec in MODEL_CHOICES:
        return load_pretrained(spec, **params)
    path = Path(spec)
    if not path.is_file():
        raise CommandError(
            f"model {spec!r} is neither one of {list(MODEL_CHOICES)} nor an "
            "existing file written by 'fer-sklearn train'."
        )
    # weights and metadata only: a model file cannot run code when read
    return load_model_file(path, **params)


def _truth_for(model, y):
    """FER2013's 7 codes, merged (Disgust into Angry) for a 6-class model."""
    if len(model.classes_) == 6 and 1 not in model.classes_:
        from ._label_merger import LabelMerger

        return LabelMerger().fit(np.arange(7)).transform(y)
    return y


def report(model, X, y, *, split, stream=None):
    """Print accuracy on 7 and 6 classes, per-class metrics and the confusion matrix."""
    from sklearn.metrics import accuracy_score, classification_report, confusion_matrix

    from ._label_merger import LabelMerger
    from .plotting import label_names

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
    from .datasets import load_fer2013_sample

    faces = load_fer2013_sample()
    model = _load_model(args.model, tta=args.tta)
    what = f"the shipped {args.model!r} model" if args.model in MODEL_CHOICES else args.model
    print(f"fer_sklearn demo: {what} on the bundled sample")
    print("(the sample is drawn from PublicTest, the split the shipped models were "
          "selected on:\n these are validation figures, not test figures)\n")
    truth = _truth_for(model, faces.target)
    proba = report(model, faces.data, truth, split="bundled PublicTest sample")
    if args.out:
        from sklearn.utils import Bunch

        faces = Bunch(**{**faces, "target": truth})
        # a shipped model's training curve, where its file carries one
        for path in write_figures(model, faces, proba, Path(args.out),
                                  history=model.history):
            print(f"wrote {path}")
    return 0


def _train(args):
    from sklearn.metrics import accuracy_score

    from . import FERCNNClassifier, FERRNNClassifier, LabelMerger
    from .datasets import load_fer2013

    out = Path(args.out)
    if not out.parent.is_dir():
        # say so before training, not after
        raise CommandError(f"--out {args.out}: the folder {out.parent} does not exist.")
    if args.model == "study-cnn" and not args.recipe:
        args.recipe = "study"  # the study's network is trained by its protocol
    faces = load_fer2013(args.data, usage=args.usage)
    y = faces.target
    if (y < 0).any():
        raise CommandError(f"{faces.filename}: the {args.usage} rows have no labels.")
    X = faces.data
    if args.max_faces and args.max_faces < len(y):
        from sklearn.model_selection import train_test_split

        # a stratified subset: every class keeps its share
        X, _, y, _ = train_test_split(X, y, train_size=args.max_faces, stratify=y,
                                      random_state=args.seed)
    merge = args.merge_disgust
    if args.recipe:
        from ._recipes import RECIPES

        merge = merge or RECIPES[args.recipe].get("merge_disgust", False)
    merger = LabelMerger().fit(np.arange(7)) if merge else None
    if merger is not None:
        y = merger.transform(y)
    kinds = {"cnn": FERCNNClassifier, "rnn": FERRNNClassifier}
    if args.recipe:
        from ._recipes import make_classifier

        model = make_classifier(args.recipe, max_epochs=args.epochs, n_samples=len(y),
                                verbose=1, random_state=args.seed)
        what = f"recipe {args.recipe}"
    else:
        model = kinds[args.model](max_epochs=args.epochs or 30, verbose=1,
                                  random_state=args.seed)
        what = args.model
    print(f"training {what} on {len(y)} {args.usage} faces, "
          f"{len(np.unique(y))} classes, {model.max_epochs} epochs")
    started = time.perf_counter()
    model.fit(X, y)
    seconds = time.perf_counter() - started
    from ._pretrained import save_model_file

    save_model_file(model, args.out)
    print(f"trained in {seconds:.0f} s; training accuracy (last epoch, augmented) "
          f"{model.history[-1, 'train_acc']:.2%}; saved to {args.out}")
    if args.valid:
        valid = load_fer2013(args.data, usage=args.valid)
        y_valid = merger.transform(valid.target) if merger is not None else valid.target
        print(f"{args.valid} accuracy: "
              f"{accuracy_score(y_valid, model.predict(valid.data)):.2%}")
    return 0


def _evaluate(args):
    from .datasets import load_fer2013

    model = _load_model(args.model, tta=args.tta)
    usage = args.usage
    if usage is None:
        # the test split where the file holds it; Kaggle's training file
        # (and the data here) hold Training and PublicTest only
        held = set(load_fer2013(args.data).usage)
        usage = "PrivateTest" if "PrivateTest" in held else "PublicTest"
        print(f"(--usage not given: evaluating on {usage}"
              + ("" if usage == "PrivateTest" else ", validation: the file holds no PrivateTest rows")
              + ")")
    faces = load_fer2013(args.data, usage=usage)
    if (faces.target < 0).any():
        raise CommandError(f"{faces.filename}: the {usage} rows have no labels.")
    report(model, faces.data, _truth_for(model, faces.target), split=usage)
    return 0


def _predict(args):
    from ._analyze import _COLUMNS, VIDEO_SUFFIXES, _expand, analyze

    model = _load_model(args.model, tta=args.tta)
    # the files, found once: their names for "no face found", their paths for analyze
    items = list(_expand(args.images))
    sources = [name for name, _, _ in items]
    client = None
    if args.scheduler:
        try:
            from distributed import Client
        except ImportError as exc:
            raise CommandError("--scheduler needs dask.distributed: pip install "
                               "\"fer_sklearn[dask]\"") from exc
        client = Client(args.scheduler)
    try:
        table = analyze([path for _, _, path in items], model,
                        detect=False if args.no_detect else None,
                        every=args.every, fps=args.fps, client=client,
                        progress=args.progress or sys.stderr.isatty())
    finally:
        if client is not None:
            client.close()
    for name in sorted(set(sources) - set(table["source"]), key=sources.index):
        print(f"{name}: no face found", file=sys.stderr)
    names = [column for column in table.columns if column not in _COLUMNS]
    results = []
    for row in table.itertuples(index=False):
        row = row._asdict()
        result = {"image": row["source"]}
        if Path(row["source"]).suffix.lower() in VIDEO_SUFFIXES:
            seconds = float(row["time"])  # NaN where the video records no frame rate
            result.update(frame=int(row["frame"]),
                          time=None if np.isnan(seconds) else round(seconds, 3),
                          face=int(row["face"]))
        if not args.no_detect:
            result["box"] = {key: int(row[key]) for key in ("x", "y", "width", "height")}
        result["label"] = row["label"]
        result["probabilities"] = {name: round(float(row[name]), 4) for name in names}
        results.append(result)
    if args.csv:
        table.to_csv(args.csv, index=False)
        print(f"wrote {len(table)} rows to {args.csv}", file=sys.stderr)
    if args.annotate:
        from ._annotate import annotate

        for path in annotate(table, args.annotate):
            print(f"wrote {path}", file=sys.stderr)
    if args.json:
        print(json.dumps(results, indent=1))
    else:
        for result in results:
            ranked = sorted(result["probabilities"].items(), key=lambda kv: -kv[1])
            where = ""
            if "frame" in result:
                when = "" if result["time"] is None else f" ({result['time']:.2f} s)"
                where += f" frame {result['frame']}{when} face {result['face']}"
            if "box" in result:
                where += " at ({x}, {y}) {width}x{height}".format(**result["box"])
            print(f"{result['image']}{where}: {result['label']}  ("
                  + ", ".join(f"{name} {p:.2f}" for name, p in ranked) + ")")
    return 0


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1; got {text!r}")
    return value


def _usage(text):
    usages = ("Training", "PublicTest", "PrivateTest")
    for usage in usages:
        if text.lower() == usage.lower():
            return usage
    raise argparse.ArgumentTypeError(f"expected one of {', '.join(usages)}; got {text!r}")


def build_parser():
    parser = argparse.ArgumentParser(
        prog="fer-sklearn",
        description="Facial-expression recognition on FER2013 with scikit-learn.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    def add_command(name, **kwargs):
        # every subcommand's --help shows the defaults
        return commands.add_parser(
            name, formatter_class=argparse.ArgumentDefaultsHelpFormatter, **kwargs)

    def model_options(command, default="cnn"):
        command.add_argument("--model", default=default,
                             help=f"{' or '.join(MODEL_CHOICES)} (shipped), or a "
                                  "file written by 'fer-sklearn train'")
        command.add_argument("--tta", action=argparse.BooleanOptionalAction,
                             default=None,
                             help="average each face with its mirror image (shipped "
                                  "models: their recorded default)")

    demo = add_command(
        "demo", help="the shipped CNN on the bundled sample: accuracy, report, figures")
    model_options(demo)
    demo.add_argument("--out", help="also write the study's figures as PNG here")
    demo.set_defaults(func=_demo)

    train = add_command("train", help="train a classifier on FER2013")
    train.add_argument("--data", help="FER2013 file or folder (else $FER2013_PATH)")
    train.add_argument("--model", choices=["cnn", "rnn", "study-cnn"], default="cnn",
                       help="an estimator at its defaults; study-cnn is recipe study")
    train.add_argument("--recipe", choices=RECIPE_NAMES, default=None,
                       help="train as a shipped model was trained (overrides --model): "
                            + ", ".join(RECIPE_NAMES))
    train.add_argument("--epochs", type=_positive_int, default=None,
                       help="epochs (default: the recipe's, else 30)")
    train.add_argument("--usage", type=_usage, default="Training",
                       help="the split to train on (any case)")
    train.add_argument("--max-faces", type=_positive_int, default=None,
                       help="train on a stratified subset of this many faces (a quick run)")
    train.add_argument("--valid", type=_usage, default=None,
                       help="also report accuracy on this split, e.g. PublicTest")
    train.add_argument("--merge-disgust", action="store_true",
                       help="the 6-class protocol: disgust merged into angry")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--out", required=True,
                       help="the model file to write (weights and metadata, read with "
                            "torch.load(weights_only=True): it cannot run code)")
    train.set_defaults(func=_train)

    evaluate = add_command("evaluate", help="accuracy and report on a split")
    model_options(evaluate)
    evaluate.add_argument("--data", help="FER2013 file or folder (else $FER2013_PATH)")
    evaluate.add_argument("--usage", type=_usage, default=None,
                          help="the split (any case); default: PrivateTest where the "
                               "file holds it, else PublicTest")
    evaluate.set_defaults(func=_evaluate)

    predict = add_command(
        "predict", help="the emotion of each face in photos, videos and folders")
    predict.add_argument("images", nargs="+",
                         help="image files (any size, colour or bit depth), videos "
                              "(.mp4, .avi, .mov ...) or folders of them")
    model_options(predict)
    predict.add_argument("--json", action="store_true",
                         help="print JSON: image, box, label, probabilities (and frame, "
                              "time, face for videos)")
    predict.add_argument("--csv", metavar="FILE", help="also write the table of faces here")
    predict.add_argument("--annotate", metavar="DIR",
                         help="also write each photo (PNG) and video (MP4) with the faces' "
                              "boxes and labels drawn, into DIR")
    predict.add_argument("--no-detect", action="store_true",
                         help="take each whole image as one face, resized to 48x48 (by "
                              "default faces are found, except in 48x48 images)")
    predict.add_argument("--detect-faces", action="store_true", help=argparse.SUPPRESS)
    predict.add_argument("--every", type=_positive_int, default=1,
                         help="analyse every N-th frame of a video")
    predict.add_argument("--fps", type=float, default=None,
                         help="analyse this many frames per second of video instead")
    predict.add_argument("--scheduler", metavar="ADDRESS",
                         help="run on this Dask scheduler (e.g. tcp://host:8786), one task "
                              "per photo or video")
    predict.add_argument("--progress", action="store_true",
                         help="progress bars on stderr even when it is not a terminal")
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
