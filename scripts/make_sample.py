"""Regenerate the bundled sample ``fer_sklearn/datasets/data/fer2013_sample.npz``.

Draws 900 faces from the PublicTest rows of FER2013, stratified by
emotion, with a fixed seed, and stores them compressed::

    python scripts/make_sample.py ../shared/data/fer2013.csv.gz
"""

import argparse
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split

from fer_sklearn import load_fer2013

OUT = Path(__file__).resolve().parents[1] / "fer_sklearn" / "datasets" / "data"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("path", nargs="?", default=None)
    parser.add_argument("--size", type=int, default=900)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    faces = load_fer2013(args.path, usage="PublicTest")
    index = np.arange(len(faces.target))
    chosen, _ = train_test_split(
        index, train_size=args.size, stratify=faces.target, random_state=args.seed
    )
    chosen = np.sort(chosen)
    out = OUT / "fer2013_sample.npz"
    np.savez_compressed(
        out,
        pixels=faces.data[chosen],
        target=faces.target[chosen],
        usage=faces.usage[chosen],
    )
    counts = np.bincount(faces.target[chosen], minlength=7)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB), class counts {counts}")


if __name__ == "__main__":
    main()
