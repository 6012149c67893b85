"""``load_pretrained``: fitted classifiers from files shipped in the wheel, on
either engine; model files written by ``fer-sklearn train``.

torch and the estimators are imported only for ``engine="torch"`` and model
files: ``load_pretrained(name, engine="onnx")`` needs neither.
"""

from ._shipped import pretrained_info
from ._validation import check_engine

__all__ = ["load_pretrained", "pretrained_info"]

#: the engines a shipped model loads on


def load_pretrained(name="cnn", engine="torch", **params):
    """A fitted classifier from the files that ship with fer_sklearn.

    Trained on the Training rows of FER2013 (7 classes), the checkpoint
    chosen on PublicTest; ``classes_`` are the int codes 0..6 (0 angry,
    1 disgust, 2 fear, 3 happy, 4 sad, 5 surprise, 6 neutral). The
    exception is ``"study"``, the course study's network trained by its
    protocol for comparison: 6 classes (Disgust merged into Angry, codes
    0, 2, 3, 4, 5, 6), the model of its last epoch (32), and its training
    curve in ``history``. Every file's sha256 is checked before it is read;
    torch weights are read with ``torch.load(weights_only=True)``. Nothing
    is downloaded.

    Parameters
    ----------
    name : {"cnn", "cnn-ensemble", "rnn", "study"}, default="cnn"
        ``"cnn"`` (the default: one FERNet distilled from the ensemble, two
        forward passes per face with flip averaging), ``"cnn-ensemble"``
        (six FERNets, the most accurate, six times the cost), ``"rnn"``
        (ReNet: no convolution) and ``"study"``
        (:class:`~fer_sklearn.networks.StudyCNN`, 6 classes). Any case.
    engine : {"torch", "onnx"}, default="torch"
        ``"torch"``: the skorch estimator (:class:`FERCNNClassifier` or
        :class:`FERRNNClassifier`), for ``fit``, ``partial_fit``,
        fine-tuning, export, and prediction. ``"onnx"``: the shipped ONNX
        graph on ONNX Runtime (:class:`ONNXClassifier`): prediction only,
        3-4x faster on a CPU (int8 where it kept the accuracy), without
        importing torch. torch is the default because it is the model that
        does everything (and what this function returned before there were
        two engines); whatever in fer_sklearn only predicts (``analyze``,
        ``fer-sklearn predict``, ``demo``, ``evaluate``, ``live``) uses
        ``"onnx"``.
    **params
        ``engine="torch"``: estimator parameters to set, e.g.
        ``device="cuda"`` or ``tta=False``; ``engine="onnx"``: ``tta``,
        ``batch_size``, ``n_threads``. The shipped defaults are in
        :func:`pretrained_info` (``"defaults"``): flip averaging
        (``tta=True``) where it scored better on PublicTest; ``tta=False``
        gives single-view predictions at half the cost. An unknown
        parameter is an error.

    Returns
    -------
    FERCNNClassifier, FERRNNClassifier or ONNXClassifier
        Fitted: ready for ``predict``, ``predict_proba`` and ``score``.

    Raises
    ------
    ValueError
        For an unknown name or engine, or an invalid parameter.
    OSError
        If a file does not match its recorded sha256.

    See Also
    --------
    pretrained_info : what ships, the runs behind it and the defaults.
    ONNXClassifier : the ``engine="onnx"`` model.
    analyze : the shipped models on photos and videos.

    Examples
    --------
    >>> from fer_sklearn import load_pretrained, load_fer2013_sample
    >>> clf = load_pretrained("cnn")
    >>> clf.classes_.tolist()
    [0, 1, 2, 3, 4, 5, 6]
    >>> faces = load_fer2013_sample()
    >>> clf.predict(faces.data[:2]).shape
    (2,)
    >>> fast = load_pretrained("cnn", engine="onnx")
    >>> (fast.predict(faces.data[:50]) == clf.predict(faces.data[:50])).mean() > 0.95
    True
    """
    if check_engine(engine) == "onnx":
        from ._engine import ONNXClassifier

        return ONNXClassifier._from_shipped(name, **params)
    from ._checkpoints import shipped_checkpoint
    from ._classifiers import classifier_from_checkpoint

    entry, checkpoint = shipped_checkpoint(name)
    return classifier_from_checkpoint(checkpoint, f"the shipped {entry['file']}",
                                      **{**entry.get("defaults", {}), **params})


def checkpoint_from_classifier(clf, **extra):
    """The checkpoint dict of a fitted classifier (what
    ``classifier_from_checkpoint`` reads): tensors, numbers, strings and
    lists only, so ``torch.load(weights_only=True)`` can read it back.

    The network must be one of :data:`fer_sklearn.networks.NETWORKS`; a
    custom torch module has no name to be rebuilt from (pickle such a
    classifier instead).
    """
    from sklearn.utils.validation import check_is_fitted

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
    network name and parameters, ``tta`` and ``temperature``), read back by
    :func:`load_model_file` with ``torch.load(weights_only=True)``.

    The file is written beside ``path`` under a temporary name, then renamed
    over it: an interrupted write leaves no half file.

    Raises
    ------
    ValueError
        If ``path`` is a folder, or its folder does not exist or cannot be
        written to (checked before anything is written).
    """
    import os
    import tempfile
    from pathlib import Path

    import torch

    from ._checkpoints import MODEL_FILE_FORMAT
    from ._validation import check_temperature, check_writable_file

    target = Path(path)
    check_writable_file(target, "the model file")
    temperature = check_temperature(clf.temperature)  # a curve is kept as a list
    checkpoint = checkpoint_from_classifier(
        clf, format=MODEL_FILE_FORMAT,
        defaults={"tta": bool(clf.tta), "temperature": (
            list(temperature) if isinstance(temperature, tuple) else temperature)})
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial",
                                         dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            torch.save(checkpoint, stream)
        os.replace(temporary, target)
    except BaseException:
        os.unlink(temporary)
        raise



def load_model_file(path, **params):
    """Read a file written by :func:`save_model_file` (never unpickles code).

    Raises
    ------
    ValueError
        If ``path`` is not such a file (a pickle, another torch file, a
        damaged file, a file of another version); the message names it.
    """
    import torch

    from ._checkpoints import MODEL_FILE_FORMAT
    from ._classifiers import classifier_from_checkpoint

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
    defaults = checkpoint.get("defaults", {})
    if not isinstance(defaults, dict):
        raise ValueError(f"{path}: 'defaults' should be a dict; found "
                         f"{type(defaults).__name__}.")
    return classifier_from_checkpoint(checkpoint, str(path), **{**defaults, **params})
