"""Train the networks whose weights ship in ``fer_sklearn/pretrained/``.

A driver of the recipes in ``fer_sklearn._recipes``: each is a
configuration of ``FERCNNClassifier`` or ``FERRNNClassifier`` (plus skorch
callbacks), trained by its ``fit`` on the Training rows of FER2013 (7
classes; 6 for the study). PublicTest is read only at the epochs named by
``--score-every`` (and at the last epoch, and at each snapshot), to log
validation accuracy; PrivateTest is never read. The script saves, next to
the log, checkpoints in the form ``export_pretrained.py`` ships
(``last.pt``, ``snapshot<k>.pt``), skorch's own ``Checkpoint`` of the
estimator every epoch (``params.pt``, ``history.json``), and the whole
training state every epoch (``resume.pt``, by
:class:`fer_sklearn.callbacks.TrainingState`): a run that was stopped goes on
with ``--resume`` (same recipe and options) and ends as an uninterrupted
run would. A teacher's probabilities are computed once per run folder
(``teacher_proba.npy``).

Examples
--------
The runs behind the shipped weights (seed, epochs and wall time are
written into the log next to the checkpoint; copies are in
``scripts/logs/``)::

    # cnn: one FERNet distilled from cnn-ensemble (teacher probabilities
    # computed inside fit, then 75 epochs)
    python scripts/train_pretrained.py cnn-distill --seed 0 --out build/distill
    python scripts/export_pretrained.py cnn build/distill --checkpoint last.pt --tta

``cnn-ensemble`` (the teacher) is six members chosen on PublicTest by
``scripts/select_teacher.py`` among the snapshots of a ``cnn-snapshot`` run
(seed 10) and four ``cnn`` runs fine-tuned for 4 epochs; their logs are
``scripts/logs/snap.json``, ``cnn*.json`` and ``tune_cnn*.json``, trained by
the plain PyTorch loop this script replaced (commit 87282f7 has it).
``rnn`` is ReNet (``scripts/logs/renet.json``, same loop, recipe ``renet``).
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from skorch.callbacks import Callback, Checkpoint
from skorch.dataset import Dataset
from skorch.helper import predefined_split

from fer_sklearn import LabelMerger
from fer_sklearn._pretrained import checkpoint_from_classifier
from fer_sklearn.callbacks import TrainingState
from fer_sklearn._recipes import RECIPES, make_classifier, snapshot_epochs
from fer_sklearn.datasets import load_fer2013


def epoch_entry(row):
    """One epoch of skorch's history for the log: batches left out, the
    learning rate of the epoch's first batch kept."""
    entry = {k: v for k, v in row.items() if k != "batches"}
    if row.get("batches") and "event_lr" in row["batches"][0]:
        entry["lr"] = row["batches"][0]["event_lr"]
    return entry


class ValidationLog(Callback):
    """Score PublicTest at chosen epochs; save checkpoints and the run's log."""

    def __init__(self, args, X_valid, y_valid, score_epochs, snapshot_at):
        self.args = args
        self.X_valid = X_valid
        self.y_valid = y_valid
        self.score_epochs = set(score_epochs)
        self.snapshot_at = list(snapshot_at)

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        # begun_: when this process's training began (started_ goes back by
        # the time trained before, when a run is resumed)
        self.begun_ = self.started_ = time.perf_counter()
        self.snapshot_probs_ = []

    def state_dict(self):
        """What a resumed run needs (``TrainingState``): the time trained so
        far and the snapshots' PublicTest probabilities."""
        return dict(elapsed=time.perf_counter() - self.started_,
                    snapshot_probs=[torch.from_numpy(p) for p in self.snapshot_probs_])

    def load_state_dict(self, state):
        self.started_ = time.perf_counter() - state["elapsed"]
        self.snapshot_probs_ = [p.numpy() for p in state["snapshot_probs"]]

    def on_epoch_end(self, net, **kwargs):
        epoch = len(net.history)
        net.history.record("elapsed_seconds", time.perf_counter() - self.started_)
        try:
            self._score(net, epoch)
        finally:
            print(json.dumps({k: net.history[-1, k] for k in net.history[-1]
                              if k in ("epoch", "train_loss", "train_acc", "valid_loss",
                                       "valid_acc", "publictest_acc", "publictest_acc_flip",
                                       "snapshot_ensemble_acc", "elapsed_seconds")}),
                  flush=True)

    def _score(self, net, epoch):
        if epoch not in self.score_epochs and epoch not in self.snapshot_at:
            return
        with torch.no_grad():
            proba = net.predict_proba(self.X_valid)
            flipped = net.predict_proba(self.X_valid[:, :, ::-1])
        index = np.searchsorted(net.classes_, self.y_valid)
        acc = float(np.mean(proba.argmax(1) == index))
        acc_flip = float(np.mean((proba + flipped).argmax(1) == index))
        net.history.record("publictest_acc", acc)
        net.history.record("publictest_acc_flip", acc_flip)
        checkpoint = checkpoint_from_classifier(
            net, recipe=self.args.recipe, epoch=epoch, seed=self.args.seed,
            publictest_acc=acc, publictest_acc_flip=acc_flip)
        torch.save(checkpoint, self.args.out / "last.pt")
        if epoch in self.snapshot_at:
            torch.save(checkpoint, self.args.out / f"snapshot{len(self.snapshot_probs_)}.pt")
            self.snapshot_probs_.append(proba)
            net.history.record("snapshot_ensemble_acc", float(np.mean(
                np.mean(self.snapshot_probs_, axis=0).argmax(1) == index)))


def init_record(clf):
    """What a fine-tuning run started from (its ``InitFromPretrained``
    callback, None without one): for a shipped model, its name, the sha256
    of its weights and the records of the runs that trained them; for a
    checkpoint file of an earlier run, its path (whose folder holds that
    run's log)."""
    from fer_sklearn._shipped import read_verified

    init = dict(clf.callbacks or []).get("init")
    if init is None:
        return None
    name = init.shipped_name()
    if name is None:
        return str(init.name)
    entry, _ = read_verified(name)
    return dict(shipped=name, sha256=entry["sha256"], runs=entry["runs"])


def teacher_probabilities(clf, X, y, args):
    """The recipe's teacher's probabilities on the training faces, as ``fit``
    computes them: read from ``--teacher-proba``, or from the run folder's
    ``teacher_proba.npy`` when the run is resumed, else computed and saved
    there (a fresh run never reuses a folder's old file, which may be of
    another teacher); None without a teacher. ``fit`` computes them with
    torch's random state kept aside, so passing them gives the same training
    as leaving them to ``fit``."""
    if clf.teacher is None:
        return None
    if args.teacher_proba is not None and not args.teacher_proba.exists():
        raise SystemExit(f"--teacher-proba {args.teacher_proba}: no such file")
    cached = args.teacher_proba or (args.out / "teacher_proba.npy" if args.resume else None)
    if cached is not None and cached.exists():
        proba = np.load(cached)
        if proba.shape[0] != len(X):
            raise SystemExit(f"{cached}: {proba.shape[0]} rows of teacher probabilities "
                             f"for {len(X)} training faces (another --limit?)")
        return proba
    # the labels' classes, learned as fit learns them (fit learns them again)
    images, _ = clf._fit_preprocessing(X, y)
    proba = clf._soft_targets(images, None)
    np.save(args.out / "teacher_proba.npy", proba)
    return proba


def record_segment(out, first_epoch, epochs, wall):
    """Append this process's share of the run (epochs first_epoch+1..epochs,
    its wall time) to ``OUT/segments.json``; all segments so far."""
    path = out / "segments.json"
    segments = json.loads(path.read_text()) if path.exists() and first_epoch else []
    segments.append(dict(first_epoch=first_epoch + 1, last_epoch=epochs, wall_seconds=wall))
    path.write_text(json.dumps(segments, indent=1))
    return segments


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("recipe", choices=sorted(RECIPES))
    parser.add_argument("--data", default=None, help="FER2013 path (else $FER2013_PATH)")
    parser.add_argument("--epochs", type=int, default=None,
                        help="override the recipe's epochs (the schedule follows)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--score-every", type=int, default=10,
                        help="read PublicTest every N epochs (and at the last)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--param", action="append", default=[], metavar="KEY=JSON",
                        help="override an estimator parameter of the recipe, e.g. "
                             "module__init='\"torch\"' or rescale=null (ablations)")
    parser.add_argument("--init", default=None, metavar="MODEL",
                        help="start from this shipped model's weights, or from a "
                             "checkpoint file of an earlier run (its last.pt), instead "
                             "of the recipe's init (fine-tuning recipes)")
    parser.add_argument("--limit", type=int, default=None,
                        help="train on the first N Training rows only (smoke tests)")
    parser.add_argument("--resume", action="store_true",
                        help="go on from the last epoch saved in OUT/resume.pt (a run "
                             "that was stopped), with the same recipe and options: the "
                             "result is that of an uninterrupted run")
    parser.add_argument("--teacher-proba", type=Path, default=None, metavar="NPY",
                        help="the teacher's probabilities on the training faces, saved "
                             "by an earlier run of the same teacher (its "
                             "OUT/teacher_proba.npy), instead of computing them")
    args = parser.parse_args(argv)
    overrides = {}
    for item in args.param:
        key, _, value = item.partition("=")
        try:
            overrides[key] = json.loads(value)
        except json.JSONDecodeError:
            parser.error(f"--param {item}: the value must be JSON (strings in quotes)")

    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    recipe = dict(RECIPES[args.recipe])
    train = load_fer2013(args.data, usage="Training")
    valid = load_fer2013(args.data, usage="PublicTest")
    X, y = train.images, train.target
    if args.limit:
        X, y = X[: args.limit], y[: args.limit]
    y_valid = valid.target
    if recipe.get("merge_disgust"):
        merger = LabelMerger().fit(np.arange(7))
        y, y_valid = merger.transform(y), merger.transform(y_valid)
    epochs = args.epochs or recipe["max_epochs"]
    snapshot_at = snapshot_epochs(recipe, epochs) if recipe.get("schedule") == "snapshots" else []
    score_at = list(range(args.score_every, epochs + 1, args.score_every)) + [epochs]
    validation = ValidationLog(args, valid.images, y_valid, score_at, snapshot_at)
    callbacks = [
        ("validation_log", validation),
        ("checkpoint", Checkpoint(monitor=None, dirname=str(args.out),
                                  f_optimizer=None, f_criterion=None)),
    ]
    state_file = args.out / "resume.pt"
    done = TrainingState.epochs_done(state_file) if args.resume else 0
    if args.resume and not done:
        parser.error(f"--resume: there is no saved state in {state_file}")
    split = {}
    if recipe.get("validation") == "publictest":
        # the study's protocol: PublicTest as Keras' validation_data, scored
        # every epoch (valid_loss, valid_acc; train_acc, as Keras' "acc",
        # comes from the predictions made while training)
        split = dict(train_split=predefined_split(Dataset(valid.images, y_valid)))
    clf = make_classifier(
        args.recipe,
        max_epochs=epochs,
        n_samples=len(X),
        random_state=args.seed,
        callbacks=callbacks,
        init=args.init,
        **split,
        **overrides,
    )
    # last, after the recipe's own callbacks: it saves and restores theirs
    clf.set_params(callbacks=list(clf.callbacks) + [
        ("training_state", TrainingState(str(state_file), resume=bool(done)))])
    print(f"{args.recipe}: {type(clf).__name__}, {epochs} epochs, seed {args.seed}, "
          f"{len(X)} faces" + (f", resumed after epoch {done}" if done else ""), flush=True)
    started = time.perf_counter()
    teacher_proba = teacher_probabilities(clf, X, y, args)
    clf.fit(X, y, teacher_proba=teacher_proba, epochs=epochs - done)
    wall = time.perf_counter() - started
    segments = record_segment(args.out, done, epochs, wall)
    # fit's checks and, when distilling, the teacher's probabilities
    setup = validation.begun_ - started
    public = {k: v for k, v in clf.get_params(deep=False).items()
              if k != "callbacks" and isinstance(v, (int, float, str, bool, list, type(None)))}
    summary = dict(
        model=args.recipe,
        recipe={**recipe, **public},
        overrides=overrides,
        seed=args.seed,
        epochs=epochs,
        init=init_record(clf),
        threads=args.threads,
        torch=torch.__version__,
        n_train=len(X),
        # the sum over the run's segments (one, unless it was resumed)
        wall_seconds=sum(segment["wall_seconds"] for segment in segments),
        segments=segments,
        setup_seconds=setup,
        best_publictest_acc=max((row.get("valid_acc", row.get("publictest_acc", -1))
                                 for row in clf.history), default=None),
        log=[epoch_entry(row) for row in clf.history],
    )
    (args.out / "log.json").write_text(json.dumps(summary, indent=1, default=str))
    print(f"done in {wall:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
