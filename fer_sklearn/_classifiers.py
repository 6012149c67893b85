"""``FERCNNClassifier`` and ``FERRNNClassifier``: skorch nets for faces.

skorch does not encode labels, infer the output size or scale pixels; these
subclasses do, so that scikit-learn code works unchanged on FER2013:

- ``fit`` learns the pixel normalisation and the sorted ``classes_`` from
  ``y`` (ints 0..6, the codes left by a merge, or strings) and sizes the
  output layer from them; ``predict`` returns labels of the same kind;
- the normalisation and the labels live in the module's state, so
  ``save_params``/``load_params`` and pickling round-trip them;
- training-time augmentation is applied in ``train_step_single`` only, and
  test-time flip averaging is a parameter.
"""

import contextlib
import re
import sys
import threading

import numpy as np
import torch
import torch.nn.functional as F
from skorch import NeuralNetClassifier
from skorch.callbacks import (
    EpochScoring,
    EpochTimer,
    GradientNormClipping,
    PassthroughScoring,
    PrintLog,
    ProgressBar,
)
from skorch.dataset import Dataset, unpack_data
from skorch.utils import to_device, to_tensor
from sklearn.exceptions import NotFittedError
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from ._augment import flip_horizontal, random_affine, random_photo
from ._checkpoints import check_checkpoint, dequantize
from ._callbacks import CosineLR
from ._metrics import tempered
from ._networks import NETWORKS, FERModel, FERNet, ReNet
from ._validation import (
    N_PIXELS,
    check_images,
    check_labels,
    check_pixel_scale,
    check_temperature,
)

__all__ = ["FERCNNClassifier", "FERRNNClassifier", "NesterovSGD", "classifier_from_checkpoint"]


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


class _SoftTargets(np.ndarray):
    """Training targets already encoded, with the teacher's probabilities."""

    def __new__(cls, targets):
        return np.asarray(targets).view(cls)


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


class _FERClassifierBase(NeuralNetClassifier):
    """Shared machinery of the CNN and RNN classifiers (not public)."""

    #: whether the network runs faster on channels-last tensors
    _channels_last = False

    def __init__(
        self,
        module,
        *,
        criterion=torch.nn.CrossEntropyLoss,
        train_split=None,
        augment_shift=0.1,
        augment_rotation=10.0,
        augment_zoom=0.1,
        augment_aspect=0.0,
        augment_photo=0.0,
        augment_flip=True,
        tta=False,
        lr_schedule="cosine",
        clip_grad_norm=None,
        mixed_precision=False,
        teacher=None,
        distill_weight=0.5,
        distill_temperature=2.0,
        rescale=None,
        temperature=1.0,
        random_state=None,
        verbose=0,
        **kwargs,
    ):
        # skorch's DataLoader keeps the data's order unless told otherwise
        kwargs.setdefault("iterator_train__shuffle", True)
        super().__init__(
            module,
            criterion=criterion,
            train_split=train_split,
            verbose=verbose,
            **kwargs,
        )
        self.augment_shift = augment_shift
        self.augment_rotation = augment_rotation
        self.augment_zoom = augment_zoom
        self.augment_aspect = augment_aspect
        self.augment_photo = augment_photo
        self.augment_flip = augment_flip
        self.tta = tta
        self.lr_schedule = lr_schedule
        self.clip_grad_norm = clip_grad_norm
        self.mixed_precision = mixed_precision
        self.teacher = teacher
        self.distill_weight = distill_weight
        self.distill_temperature = distill_temperature
        self.rescale = rescale
        self.temperature = temperature
        self.random_state = random_state

    # -- scikit-learn ---------------------------------------------------

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.random_state is None
        return tags

    @property
    def _default_callbacks(self):
        callbacks = [
            ("epoch_timer", EpochTimer()),
            ("train_loss", PassthroughScoring(name="train_loss", on_train=True)),
            (
                # on the augmented training batches, from cached outputs
                "train_acc",
                EpochScoring(
                    encoded_accuracy,
                    name="train_acc",
                    on_train=True,
                    lower_is_better=False,
                ),
            ),
            ("valid_loss", PassthroughScoring(name="valid_loss")),
            (
                "valid_acc",
                EpochScoring(encoded_accuracy, name="valid_acc", lower_is_better=False),
            ),
        ]
        # parameters are checked in fit (_check_own_params), not here: any
        # value must be settable (scikit-learn's check_do_not_raise_errors_...)
        if isinstance(self.lr_schedule, str) and self.lr_schedule == "cosine":
            callbacks.append(("lr_scheduler", CosineLR()))
        if self.clip_grad_norm is not None:
            callbacks.append(
                ("gradient_clipping", GradientNormClipping(self.clip_grad_norm))
            )
        if isinstance(self.verbose, (int, np.integer)) and self.verbose and _interactive(
                sys.stderr):
            # tqdm's bar redraws itself: only where a person watches it
            callbacks.append(("progress_bar", ProgressBar()))
        callbacks.append(("print_log", _PrintLog()))
        return callbacks

    def _check_own_params(self):
        if self.lr_schedule not in ("cosine", None):
            raise ValueError(
                f"lr_schedule must be 'cosine' or None; got {self.lr_schedule!r}."
            )
        if not isinstance(self.tta, (bool, np.bool_)):
            raise ValueError(f"tta must be True or False; got {self.tta!r}.")
        if not 0.0 <= float(self.distill_weight) <= 1.0:
            raise ValueError(
                f"distill_weight must be in [0, 1]; got {self.distill_weight!r}."
            )
        if not float(self.distill_temperature) > 0.0:
            raise ValueError(
                f"distill_temperature must be > 0; got {self.distill_temperature!r}."
            )
        if not 0.0 <= float(self.augment_photo) <= 1.0:
            raise ValueError(
                f"augment_photo must be a probability in [0, 1]; got {self.augment_photo!r}."
            )
        if not float(self.augment_aspect) >= 0.0:
            raise ValueError(
                f"augment_aspect must be >= 0 (0.4: faces 1/1.4 to 1.4 times as wide); "
                f"got {self.augment_aspect!r}."
            )
        if self.rescale is not None and not (
            isinstance(self.rescale, (int, float, np.number))
            and not isinstance(self.rescale, (bool, np.bool_))
            and np.isfinite(self.rescale) and self.rescale > 0
        ):
            raise ValueError(
                f"rescale must be None or a positive number (e.g. 1/255); "
                f"got {self.rescale!r}."
            )
        check_temperature(self.temperature)
        if isinstance(self.module, str) and self.module not in NETWORKS:
            raise ValueError(
                f"module must be a torch.nn.Module class or one of "
                f"{sorted(NETWORKS)}; got {self.module!r}."
            )

    # -- data ---------------------------------------------------------------

    def _fit_preprocessing(self, X, y, classes=None):
        """Learn the labels and the pixel normalisation from the training data.

        Returns the validated float32 images and the labels, so that fitting
        goes on with them rather than converting ``X`` a second time.
        """
        self._check_own_params()
        labels = check_labels(y)
        check_classification_targets(labels)
        images = check_images(X)
        check_labels(labels, len(images))
        if len(images) < 2:
            raise ValueError(
                f"n_samples=1: {type(self).__name__} needs at least 2 images to "
                "train (BatchNorm statistics need a batch)."
            )
        found = np.unique(labels if classes is None else np.asarray(classes))
        if len(found) < 2:
            raise ValueError(
                f"{type(self).__name__} needs at least 2 classes in y; got "
                f"{len(found)} class: {found.tolist()}."
            )
        if self.rescale is None:
            mean, std = float(images.mean()), float(images.std()) or 1.0
        else:  # as Keras' rescale: multiply, subtract nothing
            mean, std = 0.0, 1.0 / float(self.rescale)
        self._set_learned_state(found, mean, std)
        return images, labels

    def _set_learned_state(self, classes, pixel_mean, pixel_std):
        """What fit learns from the data, also restored from saved parameters."""
        self.classes_inferred_ = np.asarray(classes)
        self.pixel_mean_ = pixel_mean
        self.pixel_std_ = pixel_std
        self.n_features_in_ = N_PIXELS

    def _restore(self, classes, pixel_mean, pixel_std, network_state):
        """Make a fitted classifier from saved labels, normalisation and weights.

        ``network_state`` is the float32 state dict of the bare network
        (without the :class:`~fer_sklearn.networks.FERModel` wrapper; see
        ``_pretrained.dequantize`` for stored files), or None when the
        caller loads the weights itself.
        """
        self._check_own_params()  # e.g. tta="no" given to load_pretrained
        self._set_learned_state(classes, float(pixel_mean), float(pixel_std))
        if network_state is None:
            self.initialize()  # skorch's load_params may load an optimizer too
        else:
            # inference needs no optimizer (building one imports torch's
            # compiler stack: seconds); partial_fit builds it when needed
            self.check_training_readiness()
            self._initialize_virtual_params()
            self._initialize_callbacks()
            self._initialize_module()
            self._initialize_criterion()
            self._initialize_history()
            # misspelt keywords, as initialize() does; optimizer__* wait for
            # the optimizer that partial_fit builds
            to_validate = self._params_to_validate
            self._params_to_validate = {
                key for key in to_validate if not key.startswith("optimizer__")}
            try:
                self._validate_params()
            finally:
                self._params_to_validate = to_validate
            self.initialized_ = True
        if network_state is not None:
            self.module_.network.load_state_dict(network_state)
        self.module_.eval()
        return self

    def check_data(self, X, y):
        # Labels were checked and learned in _fit_preprocessing; skorch's own
        # check would overwrite classes_ with the encoded targets.
        pass

    def _encode(self, labels):
        classes = self.classes_
        index = np.searchsorted(classes, labels)
        index = np.clip(index, 0, len(classes) - 1)
        unknown = classes[index] != labels
        if unknown.any():
            raise ValueError(
                f"y contains labels not seen in fit: "
                f"{np.unique(labels[unknown]).tolist()}; the classifier knows "
                f"{classes.tolist()}."
            )
        return index.astype(np.int64)

    def get_dataset(self, X, y=None):
        if isinstance(X, torch.utils.data.Dataset) or isinstance(y, _SoftTargets):
            # a Dataset, or images with targets made by _with_soft_targets
            dataset = super().get_dataset(X, None if y is None else np.asarray(y))
        else:
            images = check_images(X)
            if y is not None:
                y = self._encode(check_labels(y, len(images)))
            dataset = super().get_dataset(images, y)
        if dataset is not X:  # made here (never mark a caller's own Dataset)
            dataset.fer_prepared = True
        return dataset

    def get_split_datasets(self, X, y=None, **fit_params):
        """skorch's split; a validation ``skorch.dataset.Dataset`` given by
        ``train_split`` (e.g. ``predefined_split(Dataset(X_valid, y_valid))``)
        holds faces and labels as ``fit`` takes them: they are checked,
        shaped and encoded here like the training data."""
        dataset_train, dataset_valid = super().get_split_datasets(X, y, **fit_params)
        if (type(dataset_valid) is Dataset
                and not getattr(dataset_valid, "fer_prepared", False)):
            if dataset_valid.y is None:
                raise ValueError(
                    "The validation Dataset from train_split has no labels; "
                    "expected Dataset(X_valid, y_valid) with y_valid labels "
                    f"like y's ({self.classes_.tolist()})."
                )
            dataset_valid = self.get_dataset(dataset_valid.X, dataset_valid.y)
        return dataset_train, dataset_valid

    # -- distillation ---------------------------------------------------------

    def _teacher_estimator(self):
        teacher = self.teacher
        if isinstance(teacher, str):
            from ._checkpoints import shipped_checkpoint

            entry, checkpoint = shipped_checkpoint(teacher)
            # the network's own probabilities: distill_temperature softens
            # them, and the shipped calibration may change from version to
            # version where the network does not
            return classifier_from_checkpoint(
                checkpoint, **{**entry.get("defaults", {}), "temperature": 1.0})
        if not hasattr(teacher, "predict_proba"):
            raise TypeError(
                "teacher must be a fitted classifier with predict_proba and "
                f"classes_, or the name of a shipped model; got {teacher!r}."
            )
        try:
            check_is_fitted(teacher)
        except NotFittedError as error:
            raise NotFittedError(
                f"The teacher {type(teacher).__name__} is not fitted. A fitted "
                "teacher passed to an estimator that is cloned (GridSearchCV, "
                "cross_val_score) is cloned unfitted: wrap it in "
                "sklearn.frozen.FrozenEstimator, or pass the name of a "
                "shipped model (teacher='cnn-ensemble')."
            ) from error
        return teacher

    def _soft_targets(self, images, teacher_proba):
        """Teacher probabilities for ``images``, columns ordered as ``classes_``."""
        classes = self.classes_
        if teacher_proba is None:
            teacher = self._teacher_estimator()
            teacher_classes = np.asarray(teacher.classes_)
            if sorted(teacher_classes.tolist()) != classes.tolist():
                raise ValueError(
                    f"The teacher predicts classes {teacher_classes.tolist()}, "
                    f"y holds {classes.tolist()}: they must be the same. For "
                    "merged labels pass teacher_proba=LabelMerger().fit(...)"
                    ".merge_proba(teacher.predict_proba(X), teacher.classes_)."
                )
            with torch.random.fork_rng(devices=[]):
                # data loaders draw seeds: keep this fit's random stream as
                # it is with precomputed teacher_proba
                proba = np.asarray(teacher.predict_proba(images), dtype=np.float64)
            order = [teacher_classes.tolist().index(label) for label in classes.tolist()]
            return proba[:, order]
        proba = np.asarray(teacher_proba, dtype=np.float64)
        expected = (len(images), len(classes))
        if proba.shape != expected:
            raise ValueError(
                f"teacher_proba must have shape {expected} (one row per image, "
                f"one column per class in classes_ {classes.tolist()}); got "
                f"shape {proba.shape}."
            )
        sums = proba.sum(axis=1)
        bad = ~np.isfinite(proba).all(axis=1) | (proba < 0).any(axis=1) | (
            np.abs(sums - 1) > 1e-3)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"teacher_proba rows must be probabilities (finite, >= 0, "
                f"summing to 1); {int(bad.sum())} rows are not, the first is "
                f"row {row}: {proba[row].tolist()}."
            )
        return proba

    def _with_soft_targets(self, X, y, teacher_proba):
        """Images and training targets, with the teacher's probabilities when
        distilling: rows of (encoded label, probability per class)."""
        if isinstance(y, _SoftTargets) or (teacher_proba is None and self.teacher is None):
            return X, y
        images = check_images(X)
        labels = self._encode(check_labels(y, len(images)))
        proba = self._soft_targets(images, teacher_proba)
        targets = np.column_stack([labels, proba]).astype(np.float32)
        return images, _SoftTargets(targets)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """The criterion's loss; when distilling, mixed with the teacher's.

        With teacher probabilities ``p`` (see ``teacher``), the loss is
        ``(1 - w) * criterion(logits, y) + w * T**2 * KL(p_T || softmax(logits / T))``
        with ``w = distill_weight``, ``T = distill_temperature`` and
        ``p_T = softmax(log(p) / T)`` (Hinton et al., 2015).
        """
        y_true = to_tensor(y_true, device=self.device)
        if y_true.dim() != 2:
            return self.criterion_(y_pred, y_true)
        labels, teacher = y_true[:, 0].long(), y_true[:, 1:].float()
        loss = self.criterion_(y_pred, labels)
        weight = float(self.distill_weight)
        if weight == 0:
            return loss
        temperature = float(self.distill_temperature)
        target = F.softmax(torch.log(teacher.clamp_min(1e-8)) / temperature, dim=1)
        student = F.log_softmax(y_pred.float() / temperature, dim=1)
        distill = F.kl_div(student, target, reduction="batchmean") * temperature**2
        return (1 - weight) * loss + weight * distill

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

    # -- model ----------------------------------------------------------------

    def initialize_module(self):
        kwargs = self.get_params_for("module")
        kwargs["n_classes"] = len(self.classes_)
        network_class = self.module
        if isinstance(network_class, str):
            network_class = NETWORKS[network_class]
        network = self.initialized_instance(network_class, kwargs)
        self.module_ = FERModel(
            network,
            pixel_mean=self.pixel_mean_,
            pixel_std=self.pixel_std_,
            classes=self.classes_.tolist(),
            channels_last=self._channels_last,
        )
        return self

    def initialize(self):
        if not hasattr(self, "pixel_mean_"):
            raise ValueError(
                f"{type(self).__name__} learns its classes and pixel "
                "normalisation from the data: call fit(X, y), or load_params "
                "on an unfitted classifier, rather than initialize()."
            )
        return super().initialize()

    # -- training -------------------------------------------------------------

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

    def _augment(self, Xi):
        generator = getattr(self, "augment_generator_", None)
        Xi = random_affine(
            Xi,
            shift=self.augment_shift,
            rotation=self.augment_rotation,
            zoom=self.augment_zoom,
            aspect=self.augment_aspect,
            flip=self.augment_flip,
            generator=generator,
        )
        return random_photo(Xi, self.augment_photo, generator=generator)

    def _autocast(self):
        device = torch.device(self.device).type if self.device else "cpu"
        dtype = torch.bfloat16 if device == "cpu" else torch.float16
        return torch.autocast(device, dtype=dtype, enabled=bool(self.mixed_precision))

    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        Xi, yi = unpack_data(batch)
        # augment where the batch will be used (the GPU, with device="cuda")
        Xi = self._augment(to_device(torch.as_tensor(Xi), self.device))
        with self._autocast():
            y_pred = self.infer(Xi, **fit_params)
        loss = self.get_loss(y_pred.float(), yi, X=Xi, training=True)
        loss.backward()
        return {"loss": loss, "y_pred": y_pred}

    # -- prediction -----------------------------------------------------------

    def infer(self, x, **fit_params):
        # float32 logits even under mixed precision: softmax of bfloat16
        # logits would keep three significant digits
        if self.module_.training or not self.tta:
            return super().infer(x, **fit_params).float()
        x = torch.as_tensor(x)
        logits = super().infer(x, **fit_params).float()
        flipped = super().infer(flip_horizontal(x), **fit_params).float()
        return (logits + flipped) / 2

    def evaluation_step(self, batch, training=False):
        with self._autocast():
            return super().evaluation_step(batch, training=training)

    def predict_proba(self, X):
        """Class probabilities, columns ordered as ``classes_``.

        Parameters
        ----------
        X : array-like of face images
            Same shapes and kinds as in ``fit``.

        Returns
        -------
        ndarray of shape (n_samples, n_classes), float32
        """
        check_is_fitted(self, "pixel_mean_")
        temperature = check_temperature(self.temperature)
        if not isinstance(X, torch.utils.data.Dataset):
            X = check_pixel_scale(check_images(X), self.pixel_mean_, self.pixel_std_)
        proba = super().predict_proba(X)
        if temperature != 1.0:
            proba = tempered(proba, temperature)
        return proba.astype(np.float32)

    def predict(self, X):
        """Predicted labels, of the same kind as the ``y`` given to ``fit``."""
        check_is_fitted(self, "pixel_mean_")
        return self.classes_[self.predict_proba(X).argmax(axis=1)]

    def score(self, X, y, sample_weight=None):
        """Accuracy of ``predict(X)`` against ``y``.

        Raises
        ------
        ValueError
            If ``y`` holds labels not seen in ``fit`` (they could never be
            predicted: merge or encode them as in training).
        """
        check_is_fitted(self, "pixel_mean_")
        self._encode(check_labels(y))
        return super().score(X, y, sample_weight=sample_weight)

    # -- parameters -----------------------------------------------------------

    def get_params(self, deep=True, **kwargs):
        """The estimator's parameters, as scikit-learn's ``clone`` and
        searches read them.

        Parameters
        ----------
        deep : bool, default=True
            Also the parameters of the parts set by prefix
            (``module__*``, ``optimizer__*``, ``callbacks__*``, ...).

        Returns
        -------
        dict
            Parameter names to values: those of the signature, and the
            prefixed ones given to ``__init__`` or ``set_params``.
        """
        return super().get_params(deep=deep, **kwargs)

    def set_params(self, **params):
        """Set parameters, as a search does between fits.

        Any parameter of the signature, and prefixed ones such as
        ``module__width=48``, ``optimizer__weight_decay=1e-4`` or
        ``callbacks__print_log=None``. Changing a ``module__*`` parameter
        of a fitted classifier builds a new, untrained network, as in
        skorch (fit again); ``temperature`` and ``tta`` take effect at the
        next prediction.

        Returns
        -------
        self
        """
        return super().set_params(**params)

    # -- persistence ----------------------------------------------------------

    def save_params(self, f_params=None, f_optimizer=None, f_criterion=None,
                    f_history=None, use_safetensors=False, **kwargs):
        """Save the weights (and optionally the optimizer, criterion and
        history) to files, as skorch does.

        ``f_params`` holds the network's weights together with the classes
        and the pixel normalisation, so ``load_params(f_params=...)`` on a
        new, unfitted classifier of the same parameters restores a working
        one. For a file that holds the parameters as well, use
        ``fer-sklearn train --out model.pt`` (see the user guide's command
        line page) or pickle the classifier.

        Parameters
        ----------
        f_params, f_optimizer, f_criterion, f_history : str, path-like, file or None
            Where to write each part; None skips it.
        use_safetensors : bool, default=False
            skorch's safetensors format (needs the ``safetensors``
            package); the default is torch's format.
        """
        return super().save_params(f_params=f_params, f_optimizer=f_optimizer,
                                   f_criterion=f_criterion, f_history=f_history,
                                   use_safetensors=use_safetensors, **kwargs)

    def load_params(self, f_params=None, f_optimizer=None, f_criterion=None,
                    f_history=None, checkpoint=None, use_safetensors=False, **kwargs):
        """Load what ``save_params`` wrote, labels and normalisation included.

        Works on an unfitted classifier: the classes and the pixel
        normalisation are read from ``f_params`` first and the module is
        built to match.
        """
        if f_params is not None and not use_safetensors and checkpoint is None:
            self._restore_from_state(f_params)
        return super().load_params(
            f_params=f_params,
            f_optimizer=f_optimizer,
            f_criterion=f_criterion,
            f_history=f_history,
            checkpoint=checkpoint,
            use_safetensors=use_safetensors,
            **kwargs,
        )

    def _restore_from_state(self, f_params):
        if hasattr(f_params, "seek"):
            position = f_params.tell()
            state = torch.load(f_params, map_location="cpu", weights_only=True)
            f_params.seek(position)
        else:
            state = torch.load(f_params, map_location="cpu", weights_only=True)
        if "_extra_state" not in state or "pixel_mean" not in state:
            raise ValueError(
                f"{f_params!r} holds no classes and pixel normalisation: it was "
                f"not saved by save_params of a fitted {type(self).__name__}."
            )
        self._restore(
            state["_extra_state"]["classes"],
            state["pixel_mean"],
            state["pixel_std"],
            network_state=None,  # skorch's load_params loads the weights
        )

    def __getstate__(self):
        state = super().__getstate__()
        # the augmentation generator is rebuilt at the next fit
        state.pop("augment_generator_", None)
        return state

    def __setstate__(self, state):
        # pickled before these parameters existed: their defaults, which
        # are what those versions did
        state.setdefault("augment_aspect", 0.0)
        state.setdefault("augment_photo", 0.0)
        super().__setstate__(state)


_CNN_DOC = """Convolutional network classifier for 48x48 faces (skorch).

A :class:`skorch.NeuralNetClassifier` that accepts face images as scikit-learn
data: ``X`` of shape ``(n, 2304)``, ``(n, 48, 48)`` or ``(n, 1, 48, 48)``,
uint8 or float, and ``y`` as any labels (ints, the non-contiguous codes left
by :class:`LabelMerger`, or strings). ``predict`` returns labels of the same
kind. Every skorch parameter (``lr``, ``max_epochs``, ``callbacks``,
``module__*``, ``optimizer__*``, ``warm_start``, ``device`` ...) works as
usual.

Parameters
----------
module : torch.nn.Module class or {{"fernet", "study"}}, default={module}
    The network. ``"fernet"`` (:class:`fer_sklearn.networks.FERNet`) is the
    default VGG-style network with BatchNorm; ``"study"`` is the course
    study's Keras CNN. Its ``n_classes`` is set from ``y``; other
    arguments go through ``module__*`` (e.g. ``module__width=48``).
lr : float, default={lr}
    Learning rate.
max_epochs : int, default={max_epochs}
    Epochs per ``fit``.
batch_size : int, default={batch_size}
optimizer : torch optimizer class, default={optimizer}
    With ``optimizer__*`` parameters{optimizer_note}.
train_split : callable or None, default=None
    None trains on all of ``X``: skorch's own default would silently hold
    out 20% inside every GridSearchCV fold. Pass e.g.
    ``skorch.dataset.ValidSplit(0.1, stratified=True)`` or
    ``skorch.helper.predefined_split(skorch.dataset.Dataset(X_valid,
    y_valid))`` for validation curves in ``history``: ``X_valid`` and
    ``y_valid`` as ``fit`` takes them (raw faces, labels like ``y``).
augment_shift : float, default=0.1
    Largest random shift, as a fraction of the image size (training only).
augment_rotation : float, default=10.0
    Largest random rotation in degrees (training only).
augment_zoom : float, default=0.1
    Largest random relative zoom (training only).
augment_aspect : float, default=0.0
    Largest random change of a face's width against its height, on a log
    scale (0.4: from 1/1.4 to 1.4 times as wide; training only), as photos
    squashed or stretched come.
augment_photo : float in [0, 1], default=0.0
    Chance that a training face also gets one photo shift of random
    strength: a Gaussian or motion blur, JPEG compression, low light, a
    gamma curve, light from one side, noise or a lower resolution (see
    ``fer_sklearn._augment.random_photo``).
augment_flip : bool, default=True
    Random horizontal flips (training only). Set them all to 0/False to
    train without augmentation.
tta : bool, default=False
    Test-time augmentation: average the logits of each face and its mirror
    image at prediction.
lr_schedule : {{"cosine", None}}, default="cosine"
    Cosine decay of the learning rate over the ``max_epochs`` of each fit
    call (:class:`fer_sklearn.callbacks.CosineLR`); None keeps ``lr``.
clip_grad_norm : float or None, default={clip_grad_norm}
    Largest L2 norm of the gradient of all parameters, through skorch's
    :class:`~skorch.callbacks.GradientNormClipping`; None does not clip.
mixed_precision : bool, default=False
    bfloat16 autocast on CPU (float16 on CUDA): about 2x faster on CPUs with
    AVX-512 BF16, slower on others.
teacher : str, fitted classifier or None, default=None
    Knowledge distillation: the name of a shipped model (e.g.
    ``"cnn-ensemble"``, loaded in ``fit`` with its shipped ``tta`` and
    temperature 1: its network's own probabilities) or a fitted classifier with
    ``predict_proba`` and the same ``classes_`` as ``y``, whose
    probabilities on the training faces (computed once per ``fit``) the
    network also learns from. Wrap a fitted teacher in
    :class:`sklearn.frozen.FrozenEstimator` so that ``clone`` keeps it
    fitted. ``fit(X, y, teacher_proba=P)`` gives precomputed probabilities
    instead.
distill_weight : float in [0, 1], default=0.5
    When distilling, the loss is ``(1 - distill_weight)`` times the
    criterion's loss on ``y`` plus ``distill_weight`` times
    ``T**2 * KL(teacher_T || student_T)``, both sides softened at
    temperature ``T``.
distill_temperature : float > 0, default=2.0
    ``T`` above: ``softmax(log(p) / T)`` for the teacher's probabilities
    ``p``, ``softmax(logits / T)`` for the network's.
rescale : float or None, default=None
    None standardises the pixels with the mean and standard deviation of
    the training images (learned in ``fit``). A number multiplies the
    pixels by it and subtracts nothing, as Keras' ``rescale=1/255`` does
    (grey levels 0..255 become 0..1): the course study's scaling.
temperature : float > 0 or (a, b, d), default=1.0
    Calibration of the probabilities: ``predict_proba`` returns
    ``softmax(logits / T)`` (the logits averaged over the views with
    ``tta``; for an ensemble, the log of its mean probabilities). A number
    is ``T`` for every face: 1 leaves the network's probabilities as they
    are, below 1 sharpens them, above 1 softens them. Three numbers are a
    curve, ``T = exp(a + b * c + d * c**2)`` for a face whose top
    probability at temperature 1 is ``c``: it can sharpen the confident
    faces more than the unsure ones. ``T`` is positive either way, so
    ``predict`` is the same for every value. The shipped models set the
    value fitted on PublicTest (see :func:`pretrained_info`); training
    ignores it.
random_state : int or None, default=None
    Seed for weights, shuffling, dropout and augmentation: the same seed
    and data give the same predictions. torch's global RNG is restored
    after ``fit``.
verbose : int, default=0
    1 prints skorch's epoch table and a progress bar over batches.
**kwargs
    Any other :class:`skorch.NeuralNetClassifier` parameter.

Attributes
----------
classes_ : ndarray
    The sorted labels seen in ``fit``.
pixel_mean_, pixel_std_ : float
    Input normalisation learned in ``fit`` (the network sees
    ``(X - pixel_mean_) / pixel_std_``; 0 and ``1 / rescale`` when
    ``rescale`` is set).
n_features_in_ : int
    2304 (48x48 pixels).
module_ : fer_sklearn.networks.FERModel
    The trained network with its normalisation and labels.
history : skorch.History
    Per-epoch losses (and validation scores with a ``train_split``).

See Also
--------
{other} : the same estimator with {other_net}.
ONNXClassifier : the fitted classifier on ONNX Runtime, for prediction.
load_pretrained : the shipped, fitted models.
LabelMerger : Disgust merged into Angry, for 6 classes.

Examples
--------
>>> from fer_sklearn import {name}, load_fer2013_sample
>>> faces = load_fer2013_sample()
>>> clf = {name}(max_epochs=1, random_state=0).fit(faces.data[:64], faces.target[:64])
>>> clf.predict(faces.data[:3]).shape
(3,)
"""


def _own_arguments(arguments):
    """A subclass's ``__init__`` arguments (``locals()``) as keywords for
    ``_FERClassifierBase.__init__``, ``**kwargs`` spread."""
    arguments = dict(arguments)
    arguments.pop("self")
    arguments.pop("__class__", None)
    return {**arguments.pop("kwargs"), **arguments}


class FERCNNClassifier(_FERClassifierBase):
    __doc__ = _CNN_DOC.format(
        name="FERCNNClassifier",
        other="FERRNNClassifier",
        other_net="a recurrent network",
        module="FERNet",
        lr=0.05,
        max_epochs=30,
        batch_size=64,
        optimizer="NesterovSGD",
        clip_grad_norm=None,
        optimizer_note=(
            ": SGD with Nesterov momentum 0.9 and weight decay 5e-4; any torch\n"
            "    optimizer class works (e.g. ``torch.optim.Adam``)"
        ),
    )
    _channels_last = True

    # every parameter in the signature (help(), IDEs, the API page); the
    # shared ones are stored by _FERClassifierBase
    def __init__(
        self,
        module=FERNet,
        *,
        lr=0.05,
        max_epochs=30,
        batch_size=64,
        optimizer=NesterovSGD,
        criterion=torch.nn.CrossEntropyLoss,
        train_split=None,
        augment_shift=0.1,
        augment_rotation=10.0,
        augment_zoom=0.1,
        augment_aspect=0.0,
        augment_photo=0.0,
        augment_flip=True,
        tta=False,
        lr_schedule="cosine",
        clip_grad_norm=None,
        mixed_precision=False,
        teacher=None,
        distill_weight=0.5,
        distill_temperature=2.0,
        rescale=None,
        temperature=1.0,
        random_state=None,
        verbose=0,
        **kwargs,
    ):
        super().__init__(**_own_arguments(locals()))


class FERRNNClassifier(_FERClassifierBase):
    __doc__ = _CNN_DOC.format(
        name="FERRNNClassifier",
        other="FERCNNClassifier",
        other_net="a convolutional network",
        module="ReNet",
        lr=0.003,
        max_epochs=20,
        batch_size=64,
        optimizer="torch.optim.AdamW",
        clip_grad_norm=5.0,
        optimizer_note=" (``optimizer__weight_decay=0.05`` by default)",
    ).replace(
        "Convolutional network classifier for 48x48 faces (skorch).",
        "Recurrent network classifier for 48x48 faces (skorch).\n\n"
        "The default network (:class:`fer_sklearn.networks.ReNet`) has no "
        "convolution:\neach layer cuts the map into blocks and runs a "
        "bidirectional GRU along every\nrow of blocks, then along every "
        "column. ``module__hidden_sizes``,\n``module__patch`` and "
        '``module__cell`` ("gru" or "lstm") set its shape;\n``module="rnn"`` '
        "(:class:`fer_sklearn.networks.RowRNN`) reads whole rows and columns\n"
        "instead.",
    ).replace(
        'module : torch.nn.Module class or {"fernet", "study"}, default=ReNet\n'
        '    The network. ``"fernet"`` (:class:`fer_sklearn.networks.FERNet`) is the\n'
        "    default VGG-style network with BatchNorm; ``\"study\"`` is the course\n"
        "    study's Keras CNN.",
        'module : torch.nn.Module class or {"renet", "rnn"}, default=ReNet\n'
        "    The network.",
    )

    def __init__(
        self,
        module=ReNet,
        *,
        lr=0.003,
        max_epochs=20,
        batch_size=64,
        optimizer=torch.optim.AdamW,
        criterion=torch.nn.CrossEntropyLoss,
        train_split=None,
        augment_shift=0.1,
        augment_rotation=10.0,
        augment_zoom=0.1,
        augment_aspect=0.0,
        augment_photo=0.0,
        augment_flip=True,
        tta=False,
        lr_schedule="cosine",
        clip_grad_norm=5.0,
        mixed_precision=False,
        teacher=None,
        distill_weight=0.5,
        distill_temperature=2.0,
        rescale=None,
        temperature=1.0,
        random_state=None,
        verbose=0,
        **kwargs,
    ):
        # the shipped ReNet's recipe: AdamW with weight decay 0.05, clipping at 5
        kwargs.setdefault("optimizer__weight_decay", 0.05)
        super().__init__(**_own_arguments(locals()))
#: Networks that load as a FERRNNClassifier (the others as a FERCNNClassifier).
_RECURRENT = {"rnn", "renet"}


def classifier_from_checkpoint(checkpoint, where="the checkpoint", **params):
    """Build a fitted classifier from a checkpoint dict.

    The dict is what ``scripts/train_pretrained.py`` and
    ``scripts/export_pretrained.py`` save: ``network`` (a name in
    :data:`fer_sklearn.networks.NETWORKS`), ``module_params``, ``state_dict``
    (of the bare network; int8 tensors, with their per-row ``scales``, and
    float16 tensors become float32: see ``_checkpoints.dequantize``),
    ``pixel_mean``, ``pixel_std``, ``classes`` and optionally ``history``
    (the training run's epochs, restored as the classifier's
    ``history``). Recurrent networks (also an ensemble of them) become a
    :class:`FERRNNClassifier`, the others a :class:`FERCNNClassifier`.

    Raises
    ------
    ValueError
        If the dict is not such a checkpoint, or its weights do not fit its
        network; the message names ``where``.
    """
    check_checkpoint(checkpoint, where)
    network = checkpoint["network"]
    kind = network
    if network == "ensemble":
        kind = checkpoint["module_params"]["network"]
    cls = FERRNNClassifier if kind in _RECURRENT else FERCNNClassifier
    module_params = {f"module__{k}": v for k, v in checkpoint["module_params"].items()}
    try:
        weights = dequantize(checkpoint["state_dict"], checkpoint.get("scales"))
    except (KeyError, RuntimeError, TypeError, AttributeError) as exc:
        raise ValueError(f"{where}: its int8 weights and scales do not match ({exc}).") from exc
    clf = cls(module=network, **module_params, **params)
    try:
        clf._restore(checkpoint["classes"], checkpoint["pixel_mean"],
                     checkpoint["pixel_std"], weights)
    except RuntimeError as exc:  # load_state_dict: missing or unexpected keys
        raise ValueError(
            f"{where}: its weights do not fit a {network!r} network with "
            f"{checkpoint['module_params']} ({str(exc).splitlines()[0]})."
        ) from exc
    for row in checkpoint.get("history", []):
        # the training run's epochs (one-run files shipped since the study)
        clf.history.new_epoch()
        for key, value in row.items():
            clf.history.record(key, value)
    return clf
