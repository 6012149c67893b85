"""The ``fer-sklearn`` command line: a thin layer over the public API.

Subcommands: ``demo`` (the main job, on the bundled sample and the shipped
CNN), ``train``, ``evaluate``, ``predict`` and ``live``. Bad input ends with one
line on stderr and exit status 1 (2 for usage errors), never a traceback.
Whatever only predicts (``demo``, ``evaluate``, ``predict``) runs a shipped
model's ONNX graph on ONNX Runtime by default (``--engine torch`` for the
torch model); ``predict`` then imports neither torch nor scikit-learn.
"""

import sys

# torch, pandas, scikit-learn and matplotlib are imported by the commands
# that use them, so that ``fer-sklearn --help`` answers at once. One module
# per group of commands: _fer2013 (demo, train, evaluate), _media (predict,
# live); _parser holds their options, _common what they share.
from ._common import CommandError
from ._parser import build_parser

__all__ = ["build_parser", "main"]


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except BrokenPipeError:
        # the reader went away (``fer-sklearn live ... | head``): stop quietly
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print(f"fer-sklearn {args.command}: interrupted", file=sys.stderr)
        return 130
    except (CommandError, OSError, ValueError, TypeError) as exc:
        print(f"fer-sklearn {args.command}: error: {exc}", file=sys.stderr)
        return 1
