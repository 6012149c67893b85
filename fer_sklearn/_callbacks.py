"""skorch callbacks used by the classifiers."""

import math

from skorch.callbacks import Callback

__all__ = ["CosineLR", "InitFromPretrained", "SettleAugmentation"]


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

    Shifts, rotations and zooms are turned off for those epochs (the
    classifier's ``augment_shift``, ``augment_rotation`` and ``augment_zoom``
    are set to 0, and restored when training ends), so that the network
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

    _SETTINGS = ("augment_shift", "augment_rotation", "augment_zoom")

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
