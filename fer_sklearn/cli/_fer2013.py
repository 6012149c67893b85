"""The commands on FER2013 faces: ``demo`` (the main job, on the bundled
sample and the shipped CNN), ``train`` and ``evaluate``."""

import sys
import time
from pathlib import Path

import numpy as np

from ._common import CommandError, _check_writable_folder, _load_model, _shipped_name

#: the codes left by the Disgust -> Angry merge: a 6-class FER2013 model
_MERGED_CODES = {0, 2, 3, 4, 5, 6}


def _truth_for(model, y):
    """FER2013's 7 codes as the model's labels: merged (Disgust into Angry)
    for a 6-class model of merged codes, as names for a model of emotion
    names; else a CommandError saying what the model predicts."""
    classes = np.asarray(model.classes_)
    if classes.dtype.kind in "iu":
        if set(classes.tolist()) == _MERGED_CODES:
            from .._label_merger import LabelMerger

            return LabelMerger().fit(np.arange(7)).transform(y)
        if set(classes.tolist()) <= set(range(7)):
            return y
    else:
        from ..datasets import EMOTIONS

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

    from .._label_merger import LabelMerger
    from .._labels import label_names

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

    from .. import plotting

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
    from ..datasets import load_fer2013_sample

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
    from .._pretrained import load_pretrained, pretrained_info

    if not pretrained_info(name).get("history_epochs"):
        return None
    return load_pretrained(name).history


def _train(args):
    from sklearn.metrics import accuracy_score

    from .. import FERCNNClassifier, FERRNNClassifier, LabelMerger
    from ..datasets import load_fer2013

    from .._validation import check_writable_file

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
        from .._recipes import RECIPES

        merge = merge or RECIPES[args.recipe].get("merge_disgust", False)
    merger = LabelMerger().fit(np.arange(7)) if merge else None
    if merger is not None:
        y = merger.transform(y)
    kinds = {"cnn": FERCNNClassifier, "rnn": FERRNNClassifier}
    if args.recipe:
        from .._recipes import make_classifier

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
    from .._pretrained import save_model_file

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
    from ..datasets import load_fer2013

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
