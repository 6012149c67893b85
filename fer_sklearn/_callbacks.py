"""skorch callbacks used by the classifiers."""

import math

from skorch.callbacks import Callback

__all__ = ["CosineLR", "SettleAugmentation"]


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
