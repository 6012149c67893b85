"""How the classifiers train: ``fit`` and ``partial_fit`` seeded, the
training step with its augmentation and mixed precision, the data loaders;
and what every fit shares: the epoch table, the accuracy of encoded labels,
the lock that keeps seeded fits apart, and the CNN's default optimizer."""

import contextlib
import re
import sys
import threading

import numpy as np
import torch
from skorch.callbacks import PrintLog
from skorch.dataset import unpack_data
from skorch.utils import to_device

from ._augment import random_affine, random_photo

__all__ = ["NesterovSGD", "TrainingMixin", "encoded_accuracy", "jensen_shannon"]


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _interactive(stream):
    """Whether ``stream`` is a terminal or a notebook's output."""
    try:
        if stream.isatty():
            return True
    except (AttributeError, ValueError):  # replaced or closed streams
        return False
    return "ipykernel" in sys.modules


def _print_plain_unless_terminal(text):
    """skorch's epoch table; its colour codes only where they show as colour
    (a log file keeps plain text)."""
    print(text if _interactive(sys.stdout) else _ANSI.sub("", text))


class _PrintLog(PrintLog):
    """skorch's PrintLog, printing (when ``verbose``) through
    :func:`_print_plain_unless_terminal`. skorch sends any sink but ``print``
    every table whatever ``verbose`` says, hence a subclass, not a sink."""

    def _sink(self, text, verbose):
        if verbose:
            _print_plain_unless_terminal(text)


def encoded_accuracy(net, X, y):
    """Accuracy of ``net`` on a dataset whose ``y`` holds encoded labels.

    skorch's validation scoring sees the encoded targets of its internal
    dataset, while ``predict`` decodes; this compares column indices. When
    distilling, the training targets are rows of (encoded label, teacher
    probabilities...): the label is the first column.
    """
    y = np.asarray(y)
    if y.ndim == 2:
        y = y[:, 0]
    return float(np.mean(net.predict_proba(X).argmax(axis=1) == y))


#: held by every fit for its whole length (re-entrant: a fit inside a fit,
#: such as an ONNXClassifier's estimator, is fine); see _seeded
_FIT_LOCK = threading.RLock()


class NesterovSGD(torch.optim.SGD):
    """SGD with Nesterov momentum 0.9 and weight decay 5e-4 by default.

    :class:`FERCNNClassifier`'s default optimizer: :class:`torch.optim.SGD`
    with other defaults, so that ``optimizer__momentum`` or
    ``optimizer__weight_decay`` change them in ``set_params`` and grids.

    Parameters
    ----------
    params : iterable
        The parameters to optimise (skorch passes the network's).
    lr : float, default=0.05
        Learning rate (skorch passes the estimator's ``lr``).
    momentum : float, default=0.9
    weight_decay : float, default=5e-4
        L2 penalty, as SGD's ``weight_decay``.
    nesterov : bool, default=True
    **kwargs
        Any other :class:`torch.optim.SGD` argument.
    """

    def __init__(self, params, lr=0.05, momentum=0.9, weight_decay=5e-4,
                 nesterov=True, **kwargs):
        super().__init__(params, lr=lr, momentum=momentum,
                         weight_decay=weight_decay, nesterov=nesterov, **kwargs)


class TrainingMixin:
    """``fit`` and ``partial_fit`` of the classifiers, their training step
    and data loaders (a mixin of ``_base._FERClassifierBase``)."""

    def get_iterator(self, dataset, training=False):
        if training and "iterator_train__drop_last" not in self.__dict__:
            batch_size = self.batch_size if self.batch_size != -1 else len(dataset)
            if len(dataset) > 1 and len(dataset) % batch_size == 1:
                # a last batch of one image would break BatchNorm in training
                self.iterator_train__drop_last = True
                try:
                    return super().get_iterator(dataset, training=True)
                finally:
                    del self.iterator_train__drop_last
        if not training:
            # skorch's own steps, and a DataLoader generator of its own: a
            # DataLoader draws a seed from torch's global generator for every
            # pass, and a prediction in one thread would shift a seeded fit's
            # draws in another (prediction uses no randomness)
            kwargs = self.get_params_for("iterator_valid")
            kwargs.setdefault("batch_size", self.batch_size)
            if kwargs["batch_size"] == -1:
                kwargs["batch_size"] = len(dataset)
            kwargs.setdefault("generator", torch.Generator())
            return self.iterator_valid(dataset, **kwargs)
        return super().get_iterator(dataset, training=training)


    @contextlib.contextmanager
    def _seeded(self, continuing):
        """Seed torch's RNG for one fit when random_state is set, then restore it.

        Also makes the augmentation generator, drawn from that seed (or from
        torch's global RNG when random_state is None). A fit that starts
        afresh is seeded by ``random_state`` alone, so fitting the same
        object twice gives the same model; training that goes on
        (``continuing``: ``partial_fit``, a warm start) adds the epochs
        already trained, so it does not repeat the first epochs' batches.
        """
        with contextlib.ExitStack() as stack:
            # torch's global generator (weights, dropout, shuffling) is one
            # per process: fits in threads of one process take turns, or
            # their draws would interleave (a seeded fit came up to 0.025
            # apart in probability from the serial one)
            stack.enter_context(_FIT_LOCK)
            if self.random_state is not None:
                stack.enter_context(torch.random.fork_rng(devices=[]))
                trained = len(getattr(self, "history_", None) or []) if continuing else 0
                torch.manual_seed(int(self.random_state) * 1_000_003 + trained)
            seed = int(torch.randint(2**62, (1,)))
            self.augment_generator_ = torch.Generator().manual_seed(seed)
            yield

    def fit(self, X, y, teacher_proba=None, **fit_params):
        """Learn labels and normalisation, (re)initialise and train.

        Parameters
        ----------
        X : array-like of shape (n_samples, 2304), (n_samples, 48, 48) or (n_samples, 1, 48, 48)
            Faces, uint8 0..255 or floats.
        y : array-like of shape (n_samples,)
            Labels: ints (any codes) or strings.
        teacher_proba : array-like of shape (n_samples, n_classes), optional
            Precomputed teacher probabilities for distillation, columns
            ordered as the sorted labels of ``y``; used instead of
            ``teacher``. Sample-aligned, so GridSearchCV and
            ``cross_val_score(params=...)`` split it with ``X``.
        **fit_params : dict
            Passed to skorch's ``fit``.

        Returns
        -------
        self
        """
        self._refuse_sample_weight(fit_params)
        with self._seeded(continuing=self.warm_start and self.initialized_):
            if not self.warm_start or not self.initialized_:
                X, y = self._fit_preprocessing(X, y)
            X, y = self._with_soft_targets(X, y, teacher_proba)
            return super().fit(X, y, **fit_params)

    def partial_fit(self, X, y=None, classes=None, teacher_proba=None, **fit_params):
        """Train for ``max_epochs`` more epochs without re-initialising.

        On an unfitted classifier, learns labels (from ``classes`` if
        given) and normalisation first. ``teacher_proba`` as in ``fit``.
        """
        self._refuse_sample_weight(fit_params)
        with self._seeded(continuing=True):
            if not self.initialized_ or not hasattr(self, "pixel_mean_"):
                X, y = self._fit_preprocessing(X, y, classes)
            elif not hasattr(self, "optimizer_"):
                # loaded for inference only (load_pretrained): build it now
                self._initialize_optimizer()
            X, y = self._with_soft_targets(X, y, teacher_proba)
            return super().partial_fit(X, y, **fit_params)

    def _refuse_sample_weight(self, fit_params):
        if "sample_weight" in fit_params:
            raise TypeError(
                f"{type(self).__name__}.fit does not take sample_weight (skorch "
                "would pass it on to the network). Weight classes through the "
                "criterion instead, e.g. criterion__weight=torch.tensor([...]), "
                "one weight per class in classes_ order."
            )

    def _affine(self, Xi):
        generator = getattr(self, "augment_generator_", None)
        return random_affine(
            Xi,
            shift=self.augment_shift,
            rotation=self.augment_rotation,
            zoom=self.augment_zoom,
            aspect=self.augment_aspect,
            flip=self.augment_flip,
            generator=generator,
        )

    def _autocast(self):
        device = torch.device(self.device).type if self.device else "cpu"
        dtype = torch.bfloat16 if device == "cpu" else torch.float16
        return torch.autocast(device, dtype=dtype, enabled=bool(self.mixed_precision))

    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        Xi, yi = unpack_data(batch)
        # augment where the batch will be used (the GPU, with device="cuda")
        Xi = to_device(torch.as_tensor(Xi), self.device)
        weight = float(self.consistency_weight)
        generator = getattr(self, "augment_generator_", None)
        framed = self._affine(Xi)
        first = random_photo(framed, self.augment_photo, generator=generator)
        views = first
        if weight:
            # the consistency term: one pass of both views (BatchNorm sees
            # them together), the labels' loss on the first only
            shifted = random_photo(framed, 1.0, generator=generator)
            views = torch.cat([first, shifted])
        with self._autocast():
            logits = self.infer(views, **fit_params).float()
        y_pred = logits[: len(first)]
        loss = self.get_loss(y_pred, yi, X=first, training=True)
        if weight:
            loss = loss + weight * jensen_shannon(y_pred, logits[len(first):])
        loss.backward()
        return {"loss": loss, "y_pred": y_pred}


def jensen_shannon(logits_a, logits_b):
    """Mean over the batch of the Jensen-Shannon divergence between the
    probabilities of two sets of logits (natural log; 0 to log 2)."""
    log_a = torch.log_softmax(logits_a, dim=1)
    log_b = torch.log_softmax(logits_b, dim=1)
    # log of the mixture, clamped as AugMix does against log(0)
    log_mix = torch.log((log_a.exp() + log_b.exp()).clamp(1e-7, 2.0) / 2)
    kl_a = (log_a.exp() * (log_a - log_mix)).sum(dim=1)
    kl_b = (log_b.exp() * (log_b - log_mix)).sum(dim=1)
    return ((kl_a + kl_b) / 2).mean()

