"""``load_pretrained``: fitted classifiers from weights shipped in the wheel."""

import gzip
import hashlib
import io
import json
from importlib import resources

import torch
from sklearn.utils.validation import check_is_fitted

from ._classifiers import FERCNNClassifier, FERRNNClassifier

__all__ = ["load_pretrained", "pretrained_info"]

_MANIFEST = "manifest.json"

#: Networks that load as a FERRNNClassifier (the others as a FERCNNClassifier).
_RECURRENT = {"rnn", "renet"}


def quantize_int8(state_dict):
    """Weight matrices as int8 with one float32 scale per output row.

    Tensors of two or more dimensions (convolution kernels, linear and
    recurrent weight matrices) become ``round(w / scale)`` in int8, with
    ``scale = max|row| / 127`` for each slice along the first dimension;
    other floating-point tensors (biases, BatchNorm) become float16 and
    integer buffers stay as they are. :func:`dequantize` undoes it to within
    half a step (``scale / 2``) per weight.

    Returns
    -------
    state_dict : dict
        The stored tensors.
    scales : dict
        For each int8 tensor, its float32 scales of shape ``(rows,)``.
    """
    stored, scales = {}, {}
    for key, value in state_dict.items():
        if not value.is_floating_point():
            stored[key] = value
        elif value.dim() < 2:
            stored[key] = value.half()
        else:
            rows = value.float().reshape(len(value), -1)
            scale = rows.abs().amax(dim=1) / 127.0
            scale = torch.where(scale > 0, scale, torch.ones_like(scale))
            stored[key] = torch.round(rows / scale[:, None]).to(torch.int8).reshape(value.shape)
            scales[key] = scale
    return stored, scales


def dequantize(state_dict, scales=None):
    """float32 weights from a stored state dict (int8 with scales, float16).

    Tensors named in ``scales`` are int8 rows times their scale; other
    floating-point tensors are cast to float32; integer buffers stay as
    they are.
    """
    scales = scales or {}
    weights = {}
    for key, value in state_dict.items():
        if key in scales:
            scale = scales[key].float().reshape(-1, *([1] * (value.dim() - 1)))
            weights[key] = value.float() * scale
        elif value.is_floating_point():
            weights[key] = value.float()
        else:
            weights[key] = value
    return weights


def _package_files():
    return resources.files("fer_sklearn.pretrained")


def pretrained_info():
    """What ships: for each name, its file, sha256 and the runs behind it.

    Returns
    -------
    dict
        The parsed ``fer_sklearn/pretrained/manifest.json``: per name, the
        ``file`` and its ``sha256``, the ``network`` and ``module_params``,
        ``weights_dtype``, the estimator ``defaults`` and ``runs`` (for each
        training run: seed, epochs, selected epoch, wall time, threads,
        recipe and PublicTest accuracy as logged during training).

    Examples
    --------
    >>> from fer_sklearn import pretrained_info
    >>> info = pretrained_info()
    >>> sorted(info)
    ['cnn', 'cnn-ensemble', 'rnn']
    >>> info["rnn"]["network"]
    'renet'
    """
    return json.loads(_package_files().joinpath(_MANIFEST).read_text())


def _read_verified(name):
    manifest = pretrained_info()
    if name not in manifest:
        raise ValueError(
            f"Unknown pretrained model {name!r}; choose one of {sorted(manifest)}."
        )
    entry = manifest[name]
    if not isinstance(entry.get("sha256"), str) or not isinstance(entry.get("file"), str):
        raise OSError(
            f"The manifest of the shipped weights has no file name or sha256 for "
            f"{name!r}: nothing is loaded unchecked. Reinstall fer_sklearn."
        )
    data = _package_files().joinpath(entry["file"]).read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != entry["sha256"]:
        raise OSError(
            f"The shipped weights {entry['file']} are corrupted or were altered: "
            f"sha256 {digest}, expected {entry['sha256']}. Reinstall fer_sklearn."
        )
    return entry, data


def load_pretrained(name="cnn", **params):
    """A fitted classifier from the weights that ship with fer_sklearn.

    Trained on the Training rows of FER2013 (7 classes), the checkpoint
    chosen on PublicTest; ``classes_`` are the int codes 0..6 (0 angry,
    1 disgust, 2 fear, 3 happy, 4 sad, 5 surprise, 6 neutral). The
    exception is ``"study"``, the course study's network trained by its
    protocol for comparison: 6 classes (Disgust merged into Angry, codes
    0, 2, 3, 4, 5, 6), the model of its last epoch (32), and its training
    curve in ``history``. The file's
    sha256 is checked before it is unzipped (gzip, in memory) and read with
    ``torch.load(weights_only=True)``. No optimizer is built (inference
    needs none); ``partial_fit`` builds one when training goes on.
    Nothing is downloaded.

    Parameters
    ----------
    name : {"cnn", "cnn-ensemble", "rnn", "study"}, default="cnn"
        ``"cnn"`` (the default: one FERNet distilled from the ensemble, two
        forward passes per face with flip averaging), ``"cnn-ensemble"``
        (six FERNets, the most accurate, six times the cost) and
        ``"study"`` (:class:`~fer_sklearn.networks.StudyCNN`, 6 classes) are
        :class:`FERCNNClassifier` objects; ``"rnn"`` (ReNet) is a
        :class:`FERRNNClassifier`.
    **params
        Estimator parameters to set, e.g. ``device="cuda"``. The shipped
        defaults are in :func:`pretrained_info` (``"defaults"``): flip
        averaging (``tta=True``) where it scored better on PublicTest; pass
        ``tta=False`` for single-view predictions at half the cost.

    Returns
    -------
    FERCNNClassifier or FERRNNClassifier
        Fitted: ready for ``predict``, ``predict_proba`` and ``score``.

    Raises
    ------
    ValueError
        For an unknown name.
    OSError
        If the file does not match its recorded sha256.

    Examples
    --------
    >>> from fer_sklearn import load_pretrained, load_fer2013_sample
    >>> clf = load_pretrained("cnn")
    >>> clf.classes_.tolist()
    [0, 1, 2, 3, 4, 5, 6]
    >>> faces = load_fer2013_sample()
    >>> clf.predict(faces.data[:2]).shape
    (2,)
    """
    entry, data = _read_verified(name)
    checkpoint = torch.load(io.BytesIO(gzip.decompress(data)), map_location="cpu",
                            weights_only=True)
    return classifier_from_checkpoint(checkpoint, **{**entry.get("defaults", {}), **params})


def classifier_from_checkpoint(checkpoint, **params):
    """Build a fitted classifier from a checkpoint dict.

    The dict is what ``scripts/train_pretrained.py`` and
    ``scripts/export_pretrained.py`` save: ``network`` (a name in
    :data:`fer_sklearn.networks.NETWORKS`), ``module_params``, ``state_dict``
    (of the bare network; int8 tensors, with their per-row ``scales``, and
    float16 tensors become float32: see :func:`dequantize`),
    ``pixel_mean``, ``pixel_std``, ``classes`` and optionally ``history``
    (the training run's epochs, restored as the classifier's
    ``history``). Recurrent networks (also
    an ensemble of them) become a :class:`FERRNNClassifier`, the others a
    :class:`FERCNNClassifier`.
    """
    network = checkpoint["network"]
    kind = network
    if network == "ensemble":
        kind = checkpoint["module_params"]["network"]
    cls = FERRNNClassifier if kind in _RECURRENT else FERCNNClassifier
    module_params = {f"module__{k}": v for k, v in checkpoint["module_params"].items()}
    clf = cls(module=network, **module_params, **params)._restore(
        checkpoint["classes"],
        checkpoint["pixel_mean"],
        checkpoint["pixel_std"],
        dequantize(checkpoint["state_dict"], checkpoint.get("scales")),
    )
    for row in checkpoint.get("history", []):
        # the training run's epochs (one-run files shipped since the study)
        clf.history.new_epoch()
        for key, value in row.items():
            clf.history.record(key, value)
    return clf


#: ``format`` of a model file written by :func:`save_model_file`.
MODEL_FILE_FORMAT = "fer_sklearn.model/1"


def checkpoint_from_classifier(clf, **extra):
    """The checkpoint dict of a fitted classifier (what
    :func:`classifier_from_checkpoint` reads): tensors, numbers, strings and
    lists only, so ``torch.load(weights_only=True)`` can read it back.

    The network must be one of :data:`fer_sklearn.networks.NETWORKS`; a
    custom torch module has no name to be rebuilt from (pickle such a
    classifier instead).
    """
    from ._networks import NETWORKS

    check_is_fitted(clf, "pixel_mean_")
    names = {cls: name for name, cls in NETWORKS.items()}
    network = clf.module if isinstance(clf.module, str) else names.get(clf.module)
    if network not in NETWORKS:
        raise ValueError(
            f"{clf.module!r} is not one of fer_sklearn's networks {sorted(NETWORKS)}: "
            "a model file can only name those (pickle the classifier instead)."
        )
    classes = clf.classes_.tolist()
    return dict(
        network=network,
        module_params=clf.get_params_for("module"),
        state_dict={k: v.detach().cpu().clone().contiguous()
                    for k, v in clf.module_.network.state_dict().items()},
        pixel_mean=float(clf.pixel_mean_),
        pixel_std=float(clf.pixel_std_),
        classes=classes,
        **extra,
    )


def save_model_file(clf, path):
    """Write a fitted classifier to ``path`` as a file that cannot run code
    when read: tensors and JSON-like metadata (classes, normalisation,
    network name and parameters, ``tta``), read back by
    :func:`load_model_file` with ``torch.load(weights_only=True)``."""
    torch.save(checkpoint_from_classifier(clf, format=MODEL_FILE_FORMAT,
                                          defaults={"tta": bool(clf.tta)}), path)


def load_model_file(path, **params):
    """Read a file written by :func:`save_model_file` (never unpickles code).

    Raises
    ------
    ValueError
        If ``path`` is not such a file (a pickle, another torch file, a
        damaged file); the message names it.
    """
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as exc:  # weights_only refuses pickled code, among others
        raise ValueError(
            f"{path} is not a fer_sklearn model file written by 'fer-sklearn train' "
            f"(it could not be read as weights only: {type(exc).__name__})."
        ) from exc
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != MODEL_FILE_FORMAT:
        raise ValueError(
            f"{path} is a torch file but not a fer_sklearn model file (expected "
            f"format {MODEL_FILE_FORMAT!r})."
        )
    return classifier_from_checkpoint(checkpoint, **{**checkpoint.get("defaults", {}), **params})
