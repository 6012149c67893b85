"""What the ``fer-sklearn`` commands share: the error they report on one
line, the models ``--model`` names, and the checks of paths and numbers."""

import argparse
from pathlib import Path

__all__ = ["CommandError", "MODEL_CHOICES"]

MODEL_CHOICES = ("cnn", "cnn-ensemble", "rnn", "study")


class CommandError(Exception):
    """An error to report on one line, without a traceback."""


def _shipped_name(spec):
    """The shipped model ``spec`` names (any case), or None."""
    return spec.lower() if spec.lower() in MODEL_CHOICES else None


def _load_model(spec, tta=None, engine="onnx", light=False):
    """The model ``--model`` names: a shipped one on ``engine`` (with
    ``light``, the bare graph runner that needs no scikit-learn), or a
    file written by 'fer-sklearn train' (torch)."""
    params = {} if tta is None else {"tta": tta}
    name = _shipped_name(spec)
    if name is not None:
        if engine == "onnx" and light:
            from .._runtime import shipped_graph

            return shipped_graph(name, **params)
        from .._pretrained import load_pretrained

        return load_pretrained(name, engine=engine, **params)
    path = Path(spec)
    if not path.is_file():
        raise CommandError(
            f"model {spec!r} is neither one of {list(MODEL_CHOICES)} (any case) nor an "
            "existing file written by 'fer-sklearn train'."
        )
    from .._pretrained import load_model_file

    # weights and metadata only: a model file cannot run code when read
    return load_model_file(path, **params)


def _check_writable_folder(folder, option):
    """A CommandError unless ``folder`` exists and can be written, or can be
    made where its nearest existing parent can be written."""
    import os

    existing = folder
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise CommandError(f"{option} {folder}: cannot be written ({existing} is not a "
                           "writable folder).")


def _detector_settings(args):
    """The detector settings given on the command line (the others keep
    the API's defaults)."""
    given = {"threshold": args.threshold, "work_size": args.work_size,
             "overlap": args.overlap, "verify": False if args.no_verify else None}
    return {key: value for key, value in given.items() if value is not None}


def _check_annotate_folder(folder, items):
    """A CommandError before any work if ``--annotate`` names a file, or a
    folder holding one of the inputs."""
    if folder.exists() and not folder.is_dir():
        raise CommandError(f"--annotate {folder}: exists and is not a folder.")
    _check_writable_folder(folder, "--annotate")
    resolved = folder.resolve()
    for name, kind, path in items:
        if kind != "array" and Path(path).resolve().parent == resolved:
            raise CommandError(
                f"--annotate {folder}: holds the input {name}; annotated copies are "
                "never written beside their inputs (choose another folder).")


def _number(convert, accept, expected):
    """An argparse type: the text converted (``int`` or ``float``) and kept
    where ``accept`` says so; else argparse's error "expected EXPECTED; got
    TEXT"."""
    def parse(text):
        try:
            value = convert(text)
        except ValueError:
            value = None
        if value is None or not accept(value):
            raise argparse.ArgumentTypeError(f"expected {expected}; got {text!r}")
        return value

    return parse


_positive_int = _number(int, lambda v: v >= 1, "a whole number of at least 1")
_float_in_unit = _number(float, lambda v: 0 < v <= 1, "a number in (0, 1]")
_work_size = _number(int, lambda v: 64 <= v <= 8192, "pixels in 64..8192")
_positive_float = _number(float, lambda v: 0 < v < float("inf"), "a finite number > 0")
_seed = _number(int, lambda v: 0 <= v < 2**32, f"a whole number in 0..{2**32 - 1}")


def _usage(text):
    usages = ("Training", "PublicTest", "PrivateTest")
    for usage in usages:
        if text.lower() == usage.lower():
            return usage
    raise argparse.ArgumentTypeError(f"expected one of {', '.join(usages)}; got {text!r}")


def _named_file(text):
    """An argparse type: NAME=PATH as (name, path) of a file that exists
    (the benchmarks' ``--checkpoint``)."""
    name, _, path = text.partition("=")
    if not name or not path:
        raise argparse.ArgumentTypeError(f"expected NAME=PATH; got {text!r}")
    if not Path(path).is_file():
        raise argparse.ArgumentTypeError(f"{path!r} ({name}) is not a file")
    return name, path
