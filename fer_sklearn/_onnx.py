"""``export_onnx``: a fitted classifier's network, normalisation included, as ONNX."""

from pathlib import Path

import torch
from sklearn.utils.validation import check_is_fitted

__all__ = ["export_onnx"]


class _Probabilities(torch.nn.Module):
    """Normalisation, network and softmax, without FERModel's extra state
    (the labels), which the exporter's tracer cannot hold. With ``flip``,
    the logits of each face and its mirror image are averaged, as
    ``predict_proba`` does with ``tta=True``."""

    def __init__(self, model, flip):
        super().__init__()
        self.network = model.network
        self.flip = flip
        self.register_buffer("pixel_mean", model.pixel_mean.detach().clone())
        self.register_buffer("pixel_std", model.pixel_std.detach().clone())
        # columns in reverse order: a mirror image as one Gather in the graph
        self.register_buffer("reversed_columns", torch.arange(47, -1, -1))

    def forward(self, pixels):
        normalised = (pixels - self.pixel_mean) / self.pixel_std
        logits = self.network(normalised).float()
        if self.flip:
            mirrored = normalised.index_select(3, self.reversed_columns)
            logits = (logits + self.network(mirrored).float()) / 2
        return torch.softmax(logits, dim=1)


def export_onnx(classifier, path, *, tta=None, opset_version=17):
    """Write a fitted classifier as an ONNX model.

    The graph takes raw pixels (``float32``, shape ``(batch, 1, 48, 48)``,
    the same scale as the ``X`` given to ``fit``) as input ``"pixels"`` and
    returns ``"probabilities"``, shape ``(batch, n_classes)``, columns in the
    order of ``classifier.classes_``; the pixel normalisation is part of the
    graph, and so is test-time flip averaging when the classifier's ``tta``
    is on (as for the shipped models): the graph matches ``predict_proba``.
    Needs the ``onnx`` package (``pip install "fer_sklearn[onnx]"``).

    Parameters
    ----------
    classifier : fitted FERCNNClassifier or FERRNNClassifier
    path : str or path-like
        Where to write the ``.onnx`` file.
    tta : bool or None, default=None
        Average each face with its mirror image in the graph; None follows
        ``classifier.tta``. ``tta=False`` gives a graph of half the cost.
    opset_version : int, default=17

    Returns
    -------
    pathlib.Path
        ``path``.

    Examples
    --------
    >>> from fer_sklearn import export_onnx, load_pretrained
    >>> export_onnx(load_pretrained("cnn"), "fer_cnn.onnx")  # doctest: +SKIP
    """
    check_is_fitted(classifier, "pixel_mean_")
    try:
        import onnx  # noqa: F401  (the exporter needs it)
    except ImportError as exc:
        raise ImportError(
            "export_onnx needs the 'onnx' package: pip install onnx "
            "(or the extra: pip install \"fer_sklearn[onnx]\")."
        ) from exc
    path = Path(path)
    flip = classifier.tta if tta is None else tta
    if not isinstance(flip, bool):
        raise ValueError(f"tta must be True, False or None; got {tta!r}.")
    model = _Probabilities(classifier.module_, flip).eval().to("cpu")
    example = torch.zeros(2, 1, 48, 48)
    with torch.no_grad():
        torch.onnx.export(
            model,
            (example,),
            str(path),
            input_names=["pixels"],
            output_names=["probabilities"],
            dynamic_axes={"pixels": {0: "batch"}, "probabilities": {0: "batch"}},
            opset_version=opset_version,
            dynamo=False,
        )
    classifier.module_.to(classifier.device)
    return path
