"""A fitted classifier's network as ONNX: ``export_onnx`` (a file), and the
graphs the ONNX Runtime engine runs (``export_graph``, ``quantize_graph``).

Needs torch and the ``onnx`` package; what runs the graphs
(:mod:`fer_sklearn._runtime`) needs neither.
"""

import os
import tempfile
from pathlib import Path

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from ._metrics import face_temperatures
from ._validation import check_temperature, check_tta

__all__ = ["export_onnx", "export_graph", "quantize_graph"]

#: how a graph is quantized to int8 (see quantize_graph)
INT8_SCHEME = ("QDQ, per-channel int8 weights in 7 bits (reduce_range), uint8 activations, "
               "min-max calibration; convolutions, matrix products and their ReLU and "
               "pooling only")
#: the operators quantized: the network's body, not what follows its logits
QUANTIZED_OPS = ("Conv", "Gemm", "MatMul", "Relu", "MaxPool", "AveragePool")


def _require_onnx(what):
    try:
        import onnx  # noqa: F401  (the exporter and the quantizer need it)
    except ImportError as exc:
        raise ImportError(
            f"{what} needs the 'onnx' package: pip install onnx "
            "(or the extra: pip install \"fer_sklearn[onnx]\")."
        ) from exc


class _Probabilities(torch.nn.Module):
    """Normalisation, network and softmax, without FERModel's extra state
    (the labels), which the exporter's tracer cannot hold. With ``flip``,
    the logits of each face and its mirror image are averaged, as
    ``predict_proba`` does with ``tta=True``; the logits are divided by the
    classifier's ``temperature`` before the softmax."""

    def __init__(self, model, flip, temperature):
        super().__init__()
        self.network = model.network
        self.flip = flip
        self.temperature = temperature
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
        return torch.softmax(_tempered(logits, self.temperature), dim=1)


class _Views(torch.nn.Module):
    """The engine's graph: every view of every face in one batch through the
    network, the views' logits averaged. ``columns`` (views, 48) gives each
    view's column order (``0..47`` as it is, ``47..0`` mirrored). The mean
    logits are divided by ``temperature`` before the softmax."""

    def __init__(self, model, temperature):
        super().__init__()
        self.network = model.network
        self.temperature = temperature
        self.register_buffer("pixel_mean", model.pixel_mean.detach().clone())
        self.register_buffer("pixel_std", model.pixel_std.detach().clone())

    def forward(self, pixels, columns):
        normalised = (pixels - self.pixel_mean) / self.pixel_std
        views = normalised[:, :, :, columns]  # (n, 1, 48, views, 48)
        views = views.permute(3, 0, 1, 2, 4).reshape(-1, 1, 48, 48)
        logits = self.network(views).float()
        logits = logits.reshape(columns.shape[0], pixels.shape[0], -1).mean(dim=0)
        return torch.softmax(_tempered(logits, self.temperature), dim=1)


def _tempered(logits, temperature):
    """``logits / T`` (``T`` from ``face_temperatures``: a number, or a
    curve read at each face's top probability); no node when it is 1."""
    if temperature == 1.0:
        return logits
    if isinstance(temperature, tuple):
        confidence = torch.softmax(logits, dim=1).amax(dim=1, keepdim=True)
        return logits / face_temperatures(confidence, temperature)
    return logits / temperature


def _export(module, inputs, names, dynamic_axes, path, opset_version):
    with torch.no_grad():
        torch.onnx.export(
            module,
            inputs,
            str(path),
            input_names=names,
            output_names=["probabilities"],
            dynamic_axes={**dynamic_axes, "probabilities": {0: "batch"}},
            opset_version=opset_version,
            dynamo=False,
        )


def export_onnx(classifier, path, *, tta=None, opset_version=17):
    """Write a fitted classifier as an ONNX model.

    The graph takes raw pixels (``float32``, shape ``(batch, 1, 48, 48)``,
    the same scale as the ``X`` given to ``fit``) as input ``"pixels"`` and
    returns ``"probabilities"``, shape ``(batch, n_classes)``, columns in the
    order of ``classifier.classes_``; the pixel normalisation is part of the
    graph, and so is test-time flip averaging when the classifier's ``tta``
    is on (as for the shipped models), and the division of the logits by
    the classifier's ``temperature``: the graph matches ``predict_proba``.
    Needs the ``onnx`` package (``pip install "fer_sklearn[onnx]"``).
    To predict with ONNX Runtime from Python, :class:`ONNXClassifier` does
    this for you (and quantizes to int8).

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

    See Also
    --------
    ONNXClassifier : the same graph run by ONNX Runtime from Python, float32
        or int8.

    Examples
    --------
    >>> from fer_sklearn import export_onnx, load_pretrained
    >>> export_onnx(load_pretrained("cnn"), "fer_cnn.onnx")  # doctest: +SKIP
    """
    check_is_fitted(classifier, "pixel_mean_")
    _require_onnx("export_onnx")
    path = Path(path)
    flip = check_tta(classifier.tta if tta is None else tta)
    temperature = check_temperature(classifier.temperature)
    model = _Probabilities(classifier.module_, flip, temperature).eval().to("cpu")
    try:
        _export(model, (torch.zeros(2, 1, 48, 48),), ["pixels"],
                {"pixels": {0: "batch"}}, path, opset_version)
    finally:
        classifier.module_.to(classifier.device)
    return path


def export_graph(classifier, *, opset_version=17):
    """The engine's float32 graph of a fitted classifier, as bytes: inputs
    ``pixels`` and ``columns`` (see :mod:`fer_sklearn._runtime`), output
    ``probabilities``."""
    check_is_fitted(classifier, "pixel_mean_")
    _require_onnx("Converting a classifier to ONNX")
    temperature = check_temperature(classifier.temperature)
    model = _Views(classifier.module_, temperature).eval().to("cpu")
    example = (torch.zeros(2, 1, 48, 48), torch.arange(48).repeat(2, 1))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "graph.onnx"
        try:
            _export(model, example, ["pixels", "columns"],
                    {"pixels": {0: "batch"}, "columns": {0: "views"}}, path, opset_version)
        finally:
            classifier.module_.to(classifier.device)
        return path.read_bytes()


class _Calibration:
    """onnxruntime's CalibrationDataReader over faces, both views of each."""

    def __init__(self, images, batch_size=64):
        views = np.stack([np.arange(48), np.arange(47, -1, -1)]).astype(np.int64)
        self.batches = iter([
            {"pixels": images[start:start + batch_size], "columns": views}
            for start in range(0, len(images), batch_size)
        ])

    def get_next(self):
        return next(self.batches, None)


def quantize_graph(graph, calibration):
    """An engine graph (bytes) quantized to int8, as bytes.

    Static quantization by ONNX Runtime's quantizer (:data:`INT8_SCHEME`):
    the range of every activation is measured on ``calibration``, float32
    faces of shape ``(m, 1, 48, 48)`` on the scale of the training ``X``
    (a few hundred training faces; one forward pass of each, both views).
    Layers the quantizer does not handle (the RNN's GRUs) stay float32.
    """
    _require_onnx("int8 quantization")
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType
    from onnxruntime.quantization import quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    with tempfile.TemporaryDirectory() as folder:
        source = os.path.join(folder, "float.onnx")
        prepared = os.path.join(folder, "prepared.onnx")
        target = os.path.join(folder, "int8.onnx")
        Path(source).write_bytes(graph)
        # shape inference and graph optimisations (the quantizer's advice)
        quant_pre_process(source, prepared, skip_symbolic_shape=False)
        quantize_static(
            prepared,
            target,
            _Calibration(np.ascontiguousarray(calibration, dtype=np.float32)),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.MinMax,
            # weights in 7 bits: on x86 CPUs without VNNI (AVX2 only) ONNX
            # Runtime's uint8 x int8 products saturate in 16 bits: with 8 bits
            # the shipped cnn gave torch's label on 92% of PublicTest faces on
            # such a CPU (99.7% on the VNNI CPU it was made on), with 7 bits
            # on 99% (scripts/export_graphs.py prints it for the CPU it runs on)
            reduce_range=True,
            # the network's body; the logits, their average over the views
            # and the softmax stay float32 (quantized, the probabilities came
            # in steps of 1/255 and summed to 0.992)
            op_types_to_quantize=list(QUANTIZED_OPS),
            extra_options={"OpTypesToExcludeOutputQuantization": ["Gemm"]},
        )
        return Path(target).read_bytes()
