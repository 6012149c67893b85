"""The ``fer-sklearn`` command line: a thin layer over the public API.

Subcommands: ``demo`` (the main job, on the bundled sample and the shipped
CNN), ``train``, ``evaluate``, ``predict`` and ``live``. Bad input ends with one
line on stderr and exit status 1 (2 for usage errors), never a traceback.
Whatever only predicts (``demo``, ``evaluate``, ``predict``) runs a shipped
model's ONNX graph on ONNX Runtime by default (``--engine torch`` for the
torch model); ``predict`` then imports neither torch nor scikit-learn.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from ._labels import LANDMARKS, TABLE_COLUMNS as _COLUMNS_LIVE
from ._recipes import recipe_names

# torch, pandas, scikit-learn and matplotlib are imported by the commands
# that use them, so that ``fer-sklearn --help`` answers at once.

MODEL_CHOICES = ("cnn", "cnn-ensemble", "rnn", "study")
RECIPE_NAMES = recipe_names()


class CommandError(Exception):
    """An error to report on one line, without a traceback."""


def _shipped_name(spec):
    """The shipped model ``spec`` names (any case), or None."""
    return spec.lower() if spec.lower() in MODEL_CHOICES else None


def _load_model(spec, tta=None, engine="onnx", light=False):
    """The model ``--model`` names: a shipped one on ``engine`` (with
    ``light``, the bare graph runner that needs no scikit-learn), or a
    file written by 'fer-sklearn train' (torch)."""
    params = {} if tta is None else {"tta": tta}
    name = _shipped_name(spec)
    if name is not None:
        if engine == "onnx" and light:
            from ._runtime import shipped_graph

            return shipped_graph(name, **params)
        from ._pretrained import load_pretrained

        return load_pretrained(name, engine=engine, **params)
    path = Path(spec)
    if not path.is_file():
        raise CommandError(
            f"model {spec!r} is neither one of {list(MODEL_CHOICES)} (any case) nor an "
            "existing file written by 'fer-sklearn train'."
        )
    from ._pretrained import load_model_file

    # weights and metadata only: a model file cannot run code when read
    return load_model_file(path, **params)


#: the codes left by the Disgust -> Angry merge: a 6-class FER2013 model
_MERGED_CODES = {0, 2, 3, 4, 5, 6}


def _truth_for(model, y):
    """FER2013's 7 codes as the model's labels: merged (Disgust into Angry)
    for a 6-class model of merged codes, as names for a model of emotion
    names; else a CommandError saying what the model predicts."""
    classes = np.asarray(model.classes_)
    if classes.dtype.kind in "iu":
        if set(classes.tolist()) == _MERGED_CODES:
            from ._label_merger import LabelMerger

            return LabelMerger().fit(np.arange(7)).transform(y)
        if set(classes.tolist()) <= set(range(7)):
            return y
    else:
        from .datasets import EMOTIONS

        names = np.asarray(EMOTIONS)
        lowered = {str(c).lower(): c for c in classes}
        if set(lowered) <= set(EMOTIONS):
            return np.asarray([lowered.get(names[code], names[code]) for code in y],
                              dtype=classes.dtype)
    raise CommandError(
        f"the model predicts {classes.tolist()}: neither FER2013's codes 0..6 (or the "
        "6 merged codes) nor its emotion names, so FER2013's labels cannot score it.")


def report(model, X, y, *, split, stream=None):
    """Print accuracy on 7 and 6 classes, per-class metrics and the confusion matrix."""
    from sklearn.metrics import accuracy_score, classification_report, confusion_matrix

    from ._label_merger import LabelMerger
    from ._labels import label_names

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
    n_classes = len(model.classes_)
    if n_classes == 7:
        say(f"accuracy, 7 classes: {accuracy_score(y, predicted):.2%}")
        say(f"accuracy, 6 classes (disgust merged into angry): "
            f"{accuracy_score(merged_truth, merged_predicted):.2%}")
    elif set(np.asarray(model.classes_).tolist()) == _MERGED_CODES:
        say(f"accuracy, 6 classes (disgust merged into angry): "
            f"{accuracy_score(merged_truth, merged_predicted):.2%}")
    else:
        say(f"accuracy, {n_classes} classes: {accuracy_score(y, predicted):.2%}")
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

    out = None
    if args.out:
        out = Path(args.out)
        if out.exists() and not out.is_dir():
            raise CommandError(f"--out {args.out}: exists and is not a folder.")
        _check_writable_folder(out, "--out")
    faces = load_fer2013_sample()
    model = _load_model(args.model, tta=args.tta, engine=args.engine)
    name = _shipped_name(args.model)
    what = (f"the shipped {name!r} model ({args.engine} engine)" if name
            else args.model)
    print(f"fer_sklearn demo: {what} on the bundled sample")
    print("(the sample is drawn from PublicTest, the split the shipped models were "
          "selected on:\n these are validation figures, not test figures)\n")
    truth = _truth_for(model, faces.target)
    proba = report(model, faces.data, truth, split="bundled PublicTest sample")
    if out is not None:
        from sklearn.utils import Bunch

        faces = Bunch(**{**faces, "target": truth})
        # a shipped model's training curve, where its file carries one (the
        # torch weights hold it; the ONNX graph does not)
        history = getattr(model, "history", None)
        if history is None and name is not None:
            history = _shipped_history(name)
        for path in write_figures(model, faces, proba, out, history=history):
            print(f"wrote {path}")
    return 0


def _shipped_history(name):
    """The training curve a shipped file carries (the study's, the rnn's), or None;
    the torch weights are read only where the manifest says there is one."""
    from ._pretrained import load_pretrained, pretrained_info

    if not pretrained_info(name).get("history_epochs"):
        return None
    return load_pretrained(name).history


def _check_writable_folder(folder, option):
    """A CommandError unless ``folder`` exists and can be written, or can be
    made where its nearest existing parent can be written."""
    import os

    existing = folder
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise CommandError(f"{option} {folder}: cannot be written ({existing} is not a "
                           "writable folder).")


def _train(args):
    from sklearn.metrics import accuracy_score

    from . import FERCNNClassifier, FERRNNClassifier, LabelMerger
    from .datasets import load_fer2013

    from ._validation import check_writable_file

    # say so before training, not after
    check_writable_file(Path(args.out), "--out")
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

    model = _load_model(args.model, tta=args.tta, engine=args.engine)
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

    # every output target is checked before any work
    if args.csv:
        from ._validation import check_writable_file

        check_writable_file(Path(args.csv), "--csv")
    model = _load_model(args.model, tta=args.tta, engine=args.engine, light=True)
    # the files, found once: their names for "no face found", their paths for analyze
    items = list(_expand(args.images))
    if args.annotate:
        _check_annotate_folder(Path(args.annotate), items)
    detector = _detector_settings(args)
    sources = [name for name, _, _ in items]
    client = None
    if args.scheduler:
        try:
            from distributed import Client
        except ImportError as exc:
            raise CommandError("--scheduler needs dask.distributed: pip install "
                               "\"fer_sklearn[dask]\"") from exc
        client = Client(args.scheduler)
        # the workers load a shipped model by its name
        model = _shipped_name(args.model) or model
    try:
        table = analyze([path for _, _, path in items], model,
                        detect=False if args.no_detect else None,
                        every=args.every, fps=args.fps, client=client, errors="skip",
                        engine=args.engine,
                        progress=args.progress or sys.stderr.isatty(), **detector)
    finally:
        if client is not None:
            client.close()
    failed = table.attrs.get("errors", {})
    for name, reason in failed.items():
        print(f"fer-sklearn predict: skipped {reason}", file=sys.stderr)
    for name in sorted(set(sources) - set(table["source"]) - set(failed), key=sources.index):
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
            result["score"] = round(float(row["score"]), 4)
            result["landmarks"] = {
                point: [round(float(row[f"{point}_x"]), 1), round(float(row[f"{point}_y"]), 1)]
                for point in LANDMARKS}
        result["label"] = row["label"]
        result["probabilities"] = {name: round(float(row[name]), 4) for name in names}
        results.append(result)
    if args.csv:
        table.to_csv(args.csv, index=False)
        print(f"wrote {len(table)} rows to {args.csv}", file=sys.stderr)
    if args.annotate:
        from ._annotate import annotate

        for path in annotate(table, args.annotate, overwrite=args.overwrite):
            print(f"wrote {path}", file=sys.stderr)
    if args.summary:
        _print_summary(table, args.json)
    elif args.json:
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
                where += f" (face score {result['score']:.2f})"
            print(f"{result['image']}{where}: {result['label']}  ("
                  + ", ".join(f"{name} {p:.2f}" for name, p in ranked) + ")")
    if failed:
        print(f"fer-sklearn predict: {len(failed)} of {len(items)} files could not be "
              "read (named above); the others' results are complete.", file=sys.stderr)
        return 1
    return 0


def _face_json(row, names):
    return {
        "face": int(row["face"]),
        "box": {key: int(row[key]) for key in ("x", "y", "width", "height")},
        "score": round(float(row["score"]), 4),
        "label": row["label"],
        "probabilities": {name: round(float(row[name]), 4) for name in names},
    }


def _print_summary(table, as_json):
    from ._live import summarize

    summary = summarize(table)
    if as_json:
        print(json.dumps({"summary": json.loads(summary.to_json(orient="records"))}))
        return
    from ._analyze import VIDEO_SUFFIXES

    shares = [c for c in summary.columns if c.startswith("share_")]
    for row in summary.itertuples(index=False):
        row = row._asdict()
        parts = ", ".join(f"{c[6:]} {row[c]:.0%}" for c in shares if row[c] >= 0.005)
        seen = ""
        if str(row["source"]).lower().endswith(VIDEO_SUFFIXES):  # a photo has no time
            seen = f"seen {row['first']:.2f}-{row['last']:.2f} s, {row['frames']} frames; "
        print(f"{row['source']} face {row['face']}: {row['dominant']} ({seen}{parts})")


def _live(args):
    import pandas as pd

    from ._live import live

    writer = None
    if args.annotate_video:
        from ._validation import check_writable_file

        out = Path(args.annotate_video)
        check_writable_file(out, "--annotate-video")
        if out.exists() and not args.overwrite:
            raise CommandError(f"--annotate-video {out}: exists; pass --overwrite to "
                               "replace it.")
    show = args.show
    if show:
        import cv2

        try:
            cv2.namedWindow("fer-sklearn live")
        except cv2.error as exc:
            raise CommandError("--show needs OpenCV with a GUI; the opencv-python-headless "
                               "build installed with fer_sklearn has none (pip install "
                               "opencv-python for a window).") from exc
    detector = _detector_settings(args)
    model = _load_model(args.model, tta=args.tta, engine=args.engine, light=True)
    frames, seen, started = [], 0, time.perf_counter()
    try:
        stream = live(args.source, model, max_fps=args.max_fps, realtime=not args.fast,
                      engine=args.engine, **detector)
        for item in stream:
            seen += 1
            names = [c for c in item.faces.columns if c not in _COLUMNS_LIVE]
            if args.summary:
                frames.append(item.faces)
            else:
                print(json.dumps({"frame": int(item.frame), "time": round(float(item.time), 3),
                                  "faces": [_face_json(row, names)
                                            for _, row in item.faces.iterrows()]}),
                      flush=True)
            if args.annotate_video or show:
                from ._annotate import draw_faces

                image = draw_faces(item.image.copy(), item.faces)
                if args.annotate_video:
                    if writer is None:
                        import cv2

                        height, width = image.shape[:2]
                        writer = cv2.VideoWriter(str(args.annotate_video),
                                                 cv2.VideoWriter_fourcc(*"mp4v"),
                                                 args.max_fps or 25.0, (width, height))
                    writer.write(image)
                if show:
                    import cv2

                    cv2.imshow("fer-sklearn live", image)
                    if cv2.waitKey(1) & 0xFF == ord("q"):
                        break
    except KeyboardInterrupt:
        pass  # Ctrl-C: a clean stop; what was analysed stands
    finally:
        if writer is not None:
            writer.release()
        if show:
            import cv2

            cv2.destroyAllWindows()
    seconds = time.perf_counter() - started
    print(f"fer-sklearn live: {seen} frames analysed in {seconds:.1f} s", file=sys.stderr)
    if args.summary and frames:
        _print_summary(pd.concat(frames, ignore_index=True), args.json)
    return 0


def _detector_settings(args):
    """The detector settings given on the command line (the others keep
    the API's defaults)."""
    given = {"threshold": args.threshold, "work_size": args.work_size,
             "overlap": args.overlap, "verify": False if args.no_verify else None}
    return {key: value for key, value in given.items() if value is not None}


def _check_annotate_folder(folder, items):
    """A CommandError before any work if ``--annotate`` names a file, or a
    folder holding one of the inputs."""
    if folder.exists() and not folder.is_dir():
        raise CommandError(f"--annotate {folder}: exists and is not a folder.")
    _check_writable_folder(folder, "--annotate")
    resolved = folder.resolve()
    for name, kind, path in items:
        if kind != "array" and Path(path).resolve().parent == resolved:
            raise CommandError(
                f"--annotate {folder}: holds the input {name}; annotated copies are "
                "never written beside their inputs (choose another folder).")


def _number(convert, accept, expected):
    """An argparse type: the text converted (``int`` or ``float``) and kept
    where ``accept`` says so; else argparse's error "expected EXPECTED; got
    TEXT"."""
    def parse(text):
        try:
            value = convert(text)
        except ValueError:
            value = None
        if value is None or not accept(value):
            raise argparse.ArgumentTypeError(f"expected {expected}; got {text!r}")
        return value

    return parse


_positive_int = _number(int, lambda v: v >= 1, "a whole number of at least 1")
_float_in_unit = _number(float, lambda v: 0 < v <= 1, "a number in (0, 1]")
_work_size = _number(int, lambda v: 64 <= v <= 8192, "pixels in 64..8192")
_positive_float = _number(float, lambda v: 0 < v < float("inf"), "a finite number > 0")
_seed = _number(int, lambda v: 0 <= v < 2**32, f"a whole number in 0..{2**32 - 1}")


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
        command.add_argument("--engine", choices=("onnx", "torch"), default="onnx",
                             help="a shipped model's engine: its ONNX graph on ONNX "
                                  "Runtime (fast, no torch), or the torch model "
                                  "(model files always run on torch)")

    def detector_options(command, what, work_size):
        # None: the API's own default (said in the help)
        command.add_argument("--threshold", type=_float_in_unit, default=None,
                             help="smallest face score kept, in (0, 1] (default 0.6)")
        command.add_argument("--work-size", type=_work_size, default=None,
                             help=f"{what} are searched at most this many pixels long, "
                                  f"64..8192 (default {work_size})")
        command.add_argument("--overlap", type=_float_in_unit, default=None,
                             help="of boxes overlapping more than this, the best is kept "
                                  "(default 0.4)")
        command.add_argument("--no-verify", action="store_true",
                             help="keep every box scoring over the threshold, without "
                                  "the second search around each box that drops boxes "
                                  "on patterns (fabrics, wallpaper) and printed text")

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
    train.add_argument("--seed", type=_seed, default=0)
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
                         help="print JSON: image, box, score, landmarks, label, "
                              "probabilities (and frame, time, face for videos)")
    predict.add_argument("--csv", metavar="FILE", help="also write the table of faces here")
    predict.add_argument("--annotate", metavar="DIR",
                         help="also write each photo (PNG) and video (MP4) with the faces' "
                              "boxes and labels drawn, into DIR (never an input's folder; "
                              "existing files only with --overwrite)")
    predict.add_argument("--no-detect", action="store_true",
                         help="take each whole image as one face, resized to 48x48 (by "
                              "default faces are found, except in 48x48 images)")
    predict.add_argument("--detect-faces", action="store_true", help=argparse.SUPPRESS)
    detector_options(predict, "photos", 1280)
    predict.add_argument("--summary", action="store_true",
                         help="instead of one line per face: one per face of each video "
                              "(first and last time, frames, dominant emotion, share of "
                              "time in each)")
    predict.add_argument("--overwrite", action="store_true",
                         help="let --annotate replace files already in its folder")
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

    live = add_command(
        "live", help="a webcam, a stream URL or a video file analysed as it plays: one "
                     "JSON line per analysed frame")
    live.add_argument("source", nargs="?", default="0",
                      help="a webcam index (0), a device (/dev/video0), a stream URL "
                           "(rtsp://, http://: the only input that reaches the network) "
                           "or a video file, played at its own frame rate")
    model_options(live)
    live.add_argument("--max-fps", type=_positive_float, default=None,
                      help="analyse at most this many frames a second")
    live.add_argument("--fast", action="store_true",
                      help="read a video file as fast as it is analysed (no frame "
                           "dropped) instead of at its own frame rate")
    detector_options(live, "frames", 640)
    live.add_argument("--annotate-video", metavar="FILE.mp4",
                      help="also write the analysed frames with boxes and labels")
    live.add_argument("--overwrite", action="store_true",
                      help="let --annotate-video replace an existing file")
    live.add_argument("--show", action="store_true",
                      help="show the annotated frames in a window (q quits); needs OpenCV "
                           "with a GUI: the opencv-python-headless build that fer_sklearn "
                           "installs has none")
    live.add_argument("--summary", action="store_true",
                      help="instead of a line per frame: at the end, one line per face "
                           "(dominant emotion, share of time in each)")
    live.add_argument("--json", action="store_true",
                      help="with --summary: the summary as one JSON object")
    live.set_defaults(func=_live)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except BrokenPipeError:
        # the reader went away (``fer-sklearn live ... | head``): stop quietly
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print(f"fer-sklearn {args.command}: interrupted", file=sys.stderr)
        return 130
    except (CommandError, OSError, ValueError, TypeError) as exc:
        print(f"fer-sklearn {args.command}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
