"""Checkpoint dicts: what the shipped ``.pt.gz`` files and model files
written by ``fer-sklearn train`` hold, read with
``torch.load(weights_only=True)`` and checked before a classifier is built
from them. Knows nothing of the estimators (they build themselves from a
checked checkpoint: ``_classifiers.classifier_from_checkpoint``)."""

import gzip
import io

import torch

from ._shipped import read_verified

__all__ = ["quantize_int8", "dequantize", "shipped_checkpoint", "check_checkpoint",
           "MODEL_FILE_FORMAT"]

#: ``format`` of a model file written by ``save_model_file``.
MODEL_FILE_FORMAT = "fer_sklearn.model/1"


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


def shipped_checkpoint(name):
    """The manifest entry and the checkpoint dict of a shipped model (sha256
    checked before it is unzipped, in memory)."""
    entry, data = read_verified(name)
    checkpoint = torch.load(io.BytesIO(gzip.decompress(data)), map_location="cpu",
                            weights_only=True)
    return entry, check_checkpoint(checkpoint, f"the shipped {entry['file']}")


_REQUIRED = {"network": str, "module_params": dict, "state_dict": dict,
             "pixel_mean": (int, float), "pixel_std": (int, float), "classes": list}


def check_checkpoint(checkpoint, where):
    """``checkpoint`` if it is one (keys, kinds, a known network, classes of
    one kind, tensors in its state); else a ValueError naming ``where``."""
    from ._networks import NETWORKS

    if not isinstance(checkpoint, dict):
        raise ValueError(f"{where}: expected a checkpoint dict; found "
                         f"{type(checkpoint).__name__}.")
    for key, kind in _REQUIRED.items():
        if key not in checkpoint:
            raise ValueError(f"{where}: the checkpoint has no {key!r} (it holds "
                             f"{sorted(checkpoint)}); it was not written by this "
                             "version of fer_sklearn.")
        value = checkpoint[key]
        if not isinstance(value, kind) or isinstance(value, bool):
            raise ValueError(f"{where}: {key!r} should be a {_kind(kind)}; found "
                             f"{type(value).__name__}.")
    network = checkpoint["network"]
    if network not in NETWORKS:
        raise ValueError(f"{where}: unknown network {network!r}; this version of "
                         f"fer_sklearn knows {sorted(NETWORKS)}.")
    if network == "ensemble" and checkpoint["module_params"].get("network") not in NETWORKS:
        raise ValueError(f"{where}: the ensemble's members name no known network "
                         f"({checkpoint['module_params'].get('network')!r}).")
    classes = checkpoint["classes"]
    if len(classes) < 2 or not (all(isinstance(c, str) for c in classes)
                                or all(isinstance(c, int) and not isinstance(c, bool)
                                       for c in classes)):
        raise ValueError(f"{where}: 'classes' should be two or more labels of one kind "
                         f"(ints or strings); found {classes!r}.")
    bad = [key for key, value in checkpoint["state_dict"].items()
           if not isinstance(key, str) or not isinstance(value, torch.Tensor)]
    if bad or not checkpoint["state_dict"]:
        raise ValueError(f"{where}: the 'state_dict' should map parameter names to "
                         f"tensors; {'it is empty' if not bad else f'not so for {bad[:3]}'}.")
    if not (float(checkpoint["pixel_std"]) > 0):
        raise ValueError(f"{where}: 'pixel_std' should be > 0; found "
                         f"{checkpoint['pixel_std']!r}.")
    return checkpoint


def _kind(kind):
    names = {str: "string", dict: "dict", list: "list"}
    return "number" if isinstance(kind, tuple) else names[kind]
