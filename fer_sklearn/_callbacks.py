"""skorch callbacks used by the classifiers."""

import math

from skorch.callbacks import Callback

__all__ = ["CosineLR"]


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
