"""The shared skorch base of ``FERCNNClassifier`` and ``FERRNNClassifier``.

skorch does not encode labels, infer the output size or scale pixels; this
base does, so that scikit-learn code works unchanged on FER2013:

- ``fit`` learns the pixel normalisation and the sorted ``classes_`` from
  ``y`` (ints 0..6, the codes left by a merge, or strings) and sizes the
  output layer from them; ``predict`` returns labels of the same kind;
- the normalisation and the labels live in the module's state, so
  ``save_params``/``load_params`` and pickling round-trip them
  (``_persistence``);
- training-time augmentation is applied in ``train_step_single`` only, and
  test-time flip averaging is a parameter;
- distillation from a teacher is a parameter too (``_distillation``).
"""

import sys

import numpy as np
import torch
from skorch import NeuralNetClassifier
from skorch.callbacks import (
    EpochScoring,
    EpochTimer,
    GradientNormClipping,
    PassthroughScoring,
    ProgressBar,
)
from skorch.dataset import Dataset
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from ._augment import flip_horizontal
from ._callbacks import CosineLR
from ._distillation import DistillationMixin, _SoftTargets
from ._metrics import tempered
from ._networks import NETWORKS, FERModel
from ._persistence import PersistenceMixin
from ._training import TrainingMixin, _interactive, _PrintLog, encoded_accuracy
from ._validation import (
    N_PIXELS,
    check_images,
    check_labels,
    check_pixel_scale,
    check_temperature,
)

__all__ = ["_FERClassifierBase"]


class _FERClassifierBase(TrainingMixin, DistillationMixin, PersistenceMixin,
                         NeuralNetClassifier):
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
        consistency_weight=0.0,
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
        self.consistency_weight = consistency_weight
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
        try:
            consistency = float(self.consistency_weight)
        except (TypeError, ValueError):
            consistency = float("nan")
        if not (np.isfinite(consistency) and consistency >= 0.0):
            raise ValueError(
                f"consistency_weight must be a finite number >= 0 (0: no consistency "
                f"term); got {self.consistency_weight!r}."
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

