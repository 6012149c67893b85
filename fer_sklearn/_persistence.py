"""Saving and loading the classifiers: ``save_params``/``load_params`` with
their labels and normalisation, pickling, and classifiers rebuilt from
checkpoint dicts (the shipped models, model files, training runs).

A mixin of :class:`fer_sklearn._base._FERClassifierBase`; the public
classes register themselves in :data:`ESTIMATORS` (``_classifiers``), so
that :func:`classifier_from_checkpoint` builds the right one without this
module importing them.
"""

import torch

from ._checkpoints import check_checkpoint, dequantize

__all__ = ["ESTIMATORS", "PersistenceMixin", "classifier_from_checkpoint",
           "classifier_from_checkpoint_file"]

#: The estimator class of each kind of network, "cnn" and "rnn", set by
#: ``fer_sklearn._classifiers`` when it defines them.
ESTIMATORS = {}


class PersistenceMixin:
    """The classifiers' persistence: labels and normalisation travel with
    the weights."""

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
        state.setdefault("consistency_weight", 0.0)
        super().__setstate__(state)


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
    cls = ESTIMATORS["rnn" if kind in _RECURRENT else "cnn"]
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


def classifier_from_checkpoint_file(path, **params):
    """:func:`classifier_from_checkpoint` of the checkpoint saved at ``path``
    (``last.pt`` or ``best.pt`` of ``scripts/train_pretrained.py``), read
    with ``torch.load(weights_only=True)``; ``params`` are set on the
    classifier (``tta=True``, for example).

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    ValueError
        If the file is not such a checkpoint; the message names ``path``.
    """
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    return classifier_from_checkpoint(checkpoint, str(path), **params)
