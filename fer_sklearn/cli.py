"""The ``fer-sklearn`` command line: a thin layer over the public API."""

import argparse
import sys

import numpy as np

from .datasets import EMOTIONS, load_fer2013_sample


def _demo(args):
    sample = load_fer2013_sample()
    counts = np.bincount(sample.target, minlength=len(EMOTIONS))
    print(f"Bundled FER2013 sample: {len(sample.target)} faces of 48x48 pixels, "
          f"usage {', '.join(sorted(set(sample.usage)))}")
    for name, count in zip(EMOTIONS, counts):
        print(f"  {name:9s}{count:5d}  {'#' * int(round(60 * count / counts.sum()))}")
    print(f"pixel mean {sample.data.mean():.1f}, std {sample.data.std():.1f}")
    return 0


def build_parser():
    parser = argparse.ArgumentParser(
        prog="fer-sklearn",
        description="Facial-expression recognition on FER2013 with scikit-learn.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="run the main job on the bundled sample")
    demo.set_defaults(func=_demo)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (OSError, ValueError) as exc:
        print(f"fer-sklearn {args.command}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
