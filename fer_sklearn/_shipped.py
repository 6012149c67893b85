"""The files that ship in ``fer_sklearn/pretrained``: the manifest and its
sha256-checked reads. Imports neither torch nor scikit-learn, so that the
ONNX Runtime engine reads its graphs without them."""

import hashlib
import json
from importlib import resources

__all__ = ["pretrained_info", "read_verified"]

_MANIFEST = "manifest.json"


def _package_files():
    return resources.files("fer_sklearn.pretrained")


def _manifest():
    return json.loads(_package_files().joinpath(_MANIFEST).read_text())


def _check_name(name, manifest):
    if not isinstance(name, str) or name.lower() not in manifest:
        raise ValueError(
            f"Unknown pretrained model {name!r}; choose one of {sorted(manifest)}."
        )
    return name.lower()


def pretrained_info(name=None):
    """What ships: for each name, its files, sha256 and the runs behind it.

    Parameters
    ----------
    name : str, optional
        One shipped model (``"cnn"``, ``"cnn-ensemble"``, ``"rnn"``,
        ``"study"``; any case); by default all of them.

    Returns
    -------
    dict
        The parsed ``fer_sklearn/pretrained/manifest.json`` (or its entry
        for ``name``): per name, the torch weights' ``file`` and its
        ``sha256``, the ``network`` and ``module_params``,
        ``weights_dtype``, the estimator ``defaults``, ``runs`` (for each
        training run: seed, epochs, selected epoch, wall time, threads,
        recipe and PublicTest accuracy as logged during training) and
        ``onnx``: the ONNX Runtime graph's ``file``, ``sha256``, ``dtype``
        (``"int8"`` or ``"float32"``), calibration and size, and
        ``temperature``: the shipped probability temperature (also in
        ``defaults``), where it was fitted and the calibration error before
        and after.

    Raises
    ------
    ValueError
        For an unknown name.

    See Also
    --------
    load_pretrained : a shipped model, fitted.

    Examples
    --------
    >>> from fer_sklearn import pretrained_info
    >>> info = pretrained_info()
    >>> sorted(info)
    ['cnn', 'cnn-ensemble', 'rnn', 'study']
    >>> pretrained_info("rnn")["network"]
    'renet'
    """
    manifest = _manifest()
    if name is None:
        return manifest
    return manifest[_check_name(name, manifest)]


def read_verified(name, part=None):
    """The manifest entry of a shipped model and the bytes of one of its
    files, checked against the sha256 the manifest records.

    ``part`` None reads the torch weights (``entry["file"]``), ``"onnx"``
    the ONNX graph (``entry["onnx"]["file"]``).

    Raises
    ------
    ValueError
        For an unknown name.
    OSError
        Where the manifest records no file or sha256, or the file does not
        match it.
    """
    manifest = _manifest()
    name = _check_name(name, manifest)
    entry = manifest[name]
    record = entry if part is None else entry.get(part)
    if (not isinstance(record, dict) or not isinstance(record.get("sha256"), str)
            or not isinstance(record.get("file"), str)):
        what = "weights" if part is None else f"{part} graph"
        raise OSError(
            f"The manifest of the shipped models has no {what} file or sha256 for "
            f"{name!r}: nothing is loaded unchecked. Reinstall fer_sklearn."
        )
    data = _package_files().joinpath(record["file"]).read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != record["sha256"]:
        raise OSError(
            f"The shipped file {record['file']} is corrupted or was altered: "
            f"sha256 {digest}, expected {record['sha256']}. Reinstall fer_sklearn."
        )
    return entry, data
