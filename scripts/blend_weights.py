"""Blend a fine-tuned run's weights with the shipped model it started from.

Weight-space ensembling (WiSE-FT, Wortsman et al., 2022): each float
tensor of the run's ``last.pt`` becomes ``alpha * tuned + (1 - alpha) *
shipped`` (the shipped int8 weights dequantized); the rest of the
checkpoint is the run's. One file per alpha, for
``benchmarks/bench_robustness.py --checkpoint``::

    python scripts/blend_weights.py build/robustA/last.pt --base cnn --alpha 0.5 0.7 \
        --out build/blend_
"""

import argparse
import sys

import torch

from fer_sklearn._checkpoints import dequantize, shipped_checkpoint


def blend(tuned, base, alpha):
    """``tuned`` (a checkpoint dict) with its float tensors blended toward ``base``'s."""
    weights = {}
    for key, value in tuned["state_dict"].items():
        if value.is_floating_point():
            weights[key] = (alpha * value.float() + (1 - alpha) * base[key].float()).to(value.dtype)
        else:
            weights[key] = value
    return dict(tuned, state_dict=weights)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("tuned", help="the run's last.pt")
    parser.add_argument("--base", default="cnn", help="the shipped model it was tuned from")
    parser.add_argument("--alpha", type=float, nargs="+", required=True,
                        help="the tuned weights' share, in [0, 1]")
    parser.add_argument("--out", required=True, help="prefix of the files written")
    args = parser.parse_args(argv)
    tuned = torch.load(args.tuned, map_location="cpu", weights_only=True)
    _, shipped = shipped_checkpoint(args.base)
    base = dequantize(shipped["state_dict"], shipped.get("scales"))
    for alpha in args.alpha:
        if not 0 <= alpha <= 1:
            parser.error(f"--alpha must be in [0, 1]; got {alpha}")
        path = f"{args.out}{alpha:g}.pt"
        torch.save(blend(tuned, base, alpha), path)
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
