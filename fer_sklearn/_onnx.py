"""``export_onnx``: a fitted classifier's network, normalisation included, as ONNX."""

from pathlib import Path

import torch
from sklearn.utils.validation import check_is_fitted

__all__ = ["export_onnx"]


class _Probabilities(torch.nn.Module):
    """Normalisation, network and softmax, without FERModel's extra state
    (the labels), which the exporter's tracer cannot hold."""

    def __init__(self, model):
        super().__init__()
        self.network = model.network
        self.register_buffer("pixel_mean", model.pixel_mean.detach().clone())
        self.register_buffer("pixel_std", model.pixel_std.detach().clone())

    def forward(self, pixels):
        logits = self.network((pixels - self.pixel_mean) / self.pixel_std)
        return torch.softmax(logits, dim=1)


def export_onnx(classifier, path, *, opset_version=17):
    """Write a fitted classifier as an ONNX model.

    The graph takes raw pixels (``float32``, shape ``(batch, 1, 48, 48)``,
    the same scale as the ``X`` given to ``fit``) as input ``"pixels"`` and
    returns ``"probabilities"``, shape ``(batch, n_classes)``, columns in the
    order of ``classifier.classes_``; the pixel normalisation is part of the
    graph. Test-time flip averaging is not exported: the graph matches
    ``predict_proba`` with ``tta=False`` (note that ``load_pretrained``
    turns ``tta`` on by default). Needs the ``onnx``
    package (``pip install "fer_sklearn[onnx]"``).

    Parameters
    ----------
    classifier : fitted FERCNNClassifier or FERRNNClassifier
    path : str or path-like
        Where to write the ``.onnx`` file.
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
    model = _Probabilities(classifier.module_).eval().to("cpu")
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
