"""skorch callbacks used by the classifiers."""

import math

from skorch.callbacks import Callback

__all__ = ["CosineLR", "InitFromPretrained", "SettleAugmentation", "TrainingState"]


class CosineLR(Callback):
    """Cosine learning-rate decay over the epochs of each ``fit`` call.

    Epoch ``e`` (0-based) of a call that trains ``max_epochs`` epochs uses
    ``lr * (1 + cos(pi * e / max_epochs)) / 2``: the full ``lr`` first, never
    zero. Each ``fit``, ``partial_fit`` or warm-started ``fit`` starts a new
    cycle, so continued training is never stuck at a learning rate of 0.
    The rate of each epoch is recorded in ``history`` as ``lr``.
    """

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        self.first_epoch_ = len(net.history)

    def on_epoch_begin(self, net, **kwargs):
        epoch = len(net.history) - 1 - self.first_epoch_
        factor = (1 + math.cos(math.pi * epoch / max(net.max_epochs, 1))) / 2
        lr = net.lr * factor
        for group in net.optimizer_.param_groups:
            group["lr"] = lr
        net.history.record("lr", lr)


class SettleAugmentation(Callback):
    """Train the last ``epochs`` epochs of each stage on flips only.

    Shifts, rotations, zooms, aspect changes, photo shifts and the
    consistency term's shifted view are turned off for those epochs (the
    classifier's ``augment_shift``, ``augment_rotation``, ``augment_zoom``,
    ``augment_aspect``, ``augment_photo`` and ``consistency_weight`` are set
    to 0, and restored when training ends), so that the network
    finishes each stage on faces framed as they come at prediction time;
    random flips stay as configured. By default the one stage is the whole
    ``fit`` call; ``stage_ends`` names the epochs that end stages (e.g. the
    end of each warm restart, where a snapshot is taken). Each epoch's
    setting is recorded in ``history`` as ``augment`` (``"full"`` or
    ``"flips"``).

    Parameters
    ----------
    epochs : int, default=2
        How many final epochs of each stage train on flips only.
    stage_ends : sequence of int, optional
        Epochs (1-based, counted within each ``fit`` call) that end a stage;
        None: ``max_epochs``.
    """

    _SETTINGS = ("augment_shift", "augment_rotation", "augment_zoom", "augment_aspect",
                 "augment_photo", "consistency_weight")

    def __init__(self, epochs=2, stage_ends=None):
        self.epochs = epochs
        self.stage_ends = stage_ends

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        self.first_epoch_ = len(net.history)
        self.saved_ = {name: getattr(net, name) for name in self._SETTINGS}

    def on_epoch_begin(self, net, **kwargs):
        epoch = len(net.history) - self.first_epoch_  # 1-based within this call
        ends = sorted(self.stage_ends or [net.max_epochs])
        stage_end = next((end for end in ends if end >= epoch), ends[-1])
        settle = stage_end - self.epochs < epoch <= stage_end
        for name, value in self.saved_.items():
            setattr(net, name, 0.0 if settle else value)
        net.history.record("augment", "flips" if settle else "full")

    def on_train_end(self, net, X=None, y=None, **kwargs):
        for name, value in self.saved_.items():
            setattr(net, name, value)


class InitFromPretrained(Callback):
    """Start each ``fit`` from the weights of a shipped model (fine-tuning).

    At the start of every ``fit`` (not of a ``partial_fit`` that goes on
    training), the network's weights and the pixel normalisation are set to
    those of ``load_pretrained(name)``. Because it is a callback, the
    estimator stays clonable: ``GridSearchCV`` and ``cross_val_score``
    fine-tune a fresh copy of the shipped weights in every fold.

    The classifier must hold the same network (e.g. ``"cnn"`` is FERNet at
    its default shape) and ``y`` the same classes (the shipped models know
    the 7 codes 0..6; ``"study"`` the 6 merged codes).

    Parameters
    ----------
    name : str or path, default="cnn"
        A shipped model (see :func:`fer_sklearn.pretrained_info`), or the
        path of a checkpoint that ``scripts/train_pretrained.py`` wrote
        (``last.pt``), read with ``torch.load(weights_only=True)``: the way
        to start again from a run's own weights after the shipped model has
        changed.

    Examples
    --------
    >>> from fer_sklearn import FERCNNClassifier, load_fer2013_sample
    >>> from fer_sklearn.callbacks import InitFromPretrained
    >>> faces = load_fer2013_sample()
    >>> clf = FERCNNClassifier(lr=1e-3, max_epochs=1, random_state=0,
    ...                        callbacks=[("init", InitFromPretrained("cnn"))])
    >>> clf.fit(faces.data[:64], faces.target[:64]).score(faces.data, faces.target) > 0.5
    True
    """

    def __init__(self, name="cnn"):
        self.name = name

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        if len(net.history):
            return  # partial_fit going on: keep what was learned
        from ._checkpoints import dequantize

        checkpoint = self._checkpoint()
        classes = list(checkpoint["classes"])
        if classes != list(net.classes_):
            raise ValueError(
                f"InitFromPretrained({self.name!r}): the model knows the "
                f"classes {classes}; y has {net.classes_.tolist()}."
            )
        try:
            net.module_.network.load_state_dict(
                dequantize(checkpoint["state_dict"], checkpoint.get("scales")))
        except RuntimeError as exc:
            raise ValueError(
                f"InitFromPretrained({self.name!r}): the network "
                f"({checkpoint['network']}, {checkpoint['module_params']}) does not "
                f"fit this classifier's ({type(net.module_.network).__name__}, "
                f"{net.get_params_for('module')})."
            ) from exc
        mean, std = float(checkpoint["pixel_mean"]), float(checkpoint["pixel_std"])
        net.pixel_mean_, net.pixel_std_ = mean, std
        net.module_.pixel_mean.fill_(mean)
        net.module_.pixel_std.fill_(std)

    def shipped_name(self):
        """The shipped model named (lower case), or None for a checkpoint file."""
        from ._shipped import pretrained_info

        if isinstance(self.name, str) and self.name.lower() in pretrained_info():
            return self.name.lower()
        return None

    def _checkpoint(self):
        """The checkpoint dict of the shipped model or of the file named."""
        import os

        from ._checkpoints import check_checkpoint, shipped_checkpoint
        from ._shipped import pretrained_info

        if self.shipped_name() is not None:
            return shipped_checkpoint(self.name)[1]
        if not isinstance(self.name, (str, os.PathLike)) or not os.path.isfile(self.name):
            raise ValueError(
                f"InitFromPretrained({self.name!r}): expected a shipped model "
                f"({sorted(pretrained_info())}) or the path of a checkpoint file; "
                "found neither.")
        import torch

        checkpoint = torch.load(self.name, map_location="cpu", weights_only=True)
        return check_checkpoint(checkpoint, str(self.name))


class TrainingState(Callback):
    """Save all a fit needs to go on where it stopped; resume from it.

    At the end of every epoch the callback writes ``f_state``: the
    network's weights, the optimizer's and criterion's state, the
    learning-rate scheduler's step, ``history``, torch's global random
    state and the classifier's augmentation generator, and the state of
    the other callbacks (their best scores; ``state_dict()`` of those that
    have one). A fit that was stopped (a killed process, a session that
    ended) goes on with the same estimator, data and callbacks and
    ``resume=True``: ``fit(X, y, epochs=max_epochs - TrainingState.epochs_done(f_state))``
    restores it all before the first epoch and trains the epochs left,
    which then give the weights, history and predictions an uninterrupted
    fit gives (on the same machine and thread count).

    It must be the last callback (skorch's epoch table, which holds no
    state, may follow it), so that the others have started before it
    restores their state and have ended their epoch before it saves it.

    Parameters
    ----------
    f_state : str or path
        The file to write (replaced atomically each epoch) and resume from.
    resume : bool, default=False
        Restore the state in ``f_state`` at the start of ``fit``; a missing
        file is an error.
    """

    def __init__(self, f_state, resume=False):
        self.f_state = f_state
        self.resume = resume

    @staticmethod
    def epochs_done(f_state):
        """Epochs a saved state has trained (0 when there is no file)."""
        import os

        import torch

        if not os.path.exists(f_state):
            return 0
        return int(torch.load(f_state, map_location="cpu", weights_only=True)["epoch"])

    def _others(self, net):
        return [(name, cb) for name, cb in net.callbacks_ if cb is not self]

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        from skorch.callbacks import PrintLog

        names = [name for name, _ in net.callbacks_]
        position = [cb for _, cb in net.callbacks_].index(self)
        later = [name for name, cb in net.callbacks_[position + 1:]
                 if not isinstance(cb, PrintLog)]
        if later:
            raise ValueError(
                "TrainingState must be the last callback but the epoch table (it "
                f"restores and saves the others' state); it is followed by {later} "
                f"(callbacks: {names}).")
        if self.resume:
            self._restore(net)

    def on_epoch_end(self, net, **kwargs):
        import json
        import os

        import torch

        callbacks = {}
        for name, cb in self._others(net):
            part = {}
            if hasattr(cb, "best_score_"):
                part["best_score"] = float(cb.best_score_)
            if hasattr(cb, "lr_scheduler_"):  # skorch's LRScheduler
                part["scheduler"] = cb.lr_scheduler_.state_dict()
                part["batch_idx"] = int(cb.batch_idx_)
            if hasattr(cb, "state_dict"):
                part["own"] = cb.state_dict()
            if part:
                callbacks[name] = part
        state = dict(
            epoch=len(net.history),
            module=net.module_.state_dict(),
            optimizer=net.optimizer_.state_dict(),
            criterion=net.criterion_.state_dict(),
            history=json.dumps(net.history.to_list(), default=_plain),
            torch_rng=torch.get_rng_state(),
            augment_rng=net.augment_generator_.get_state(),
            callbacks=callbacks,
        )
        partial = f"{self.f_state}.partial"
        torch.save(state, partial)
        os.replace(partial, self.f_state)

    def _restore(self, net):
        import json
        import os

        import torch
        from skorch.history import History

        if not os.path.exists(self.f_state):
            raise ValueError(f"TrainingState(resume=True): there is no saved state at "
                             f"{self.f_state!r} to resume from.")
        state = torch.load(self.f_state, map_location="cpu", weights_only=True)
        net.module_.load_state_dict(state["module"])
        net.optimizer_.load_state_dict(state["optimizer"])
        net.criterion_.load_state_dict(state["criterion"])
        net.history_ = History(json.loads(state["history"]))
        torch.set_rng_state(state["torch_rng"])
        net.augment_generator_.set_state(state["augment_rng"])
        others = dict(self._others(net))
        for name, part in state["callbacks"].items():
            if name not in others:
                raise ValueError(f"TrainingState: the saved state has a callback {name!r} "
                                 f"that this estimator lacks ({sorted(others)}).")
            cb = others[name]
            if "best_score" in part:
                cb.best_score_ = part["best_score"]
            if "scheduler" in part:
                cb.lr_scheduler_.load_state_dict(part["scheduler"])
                cb.batch_idx_ = part["batch_idx"]
            if "own" in part:
                cb.load_state_dict(part["own"])


def _plain(value):
    """numpy scalars in history, as JSON numbers."""
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"history holds a {type(value).__name__}, which TrainingState "
                    "cannot save")
