"""How fast does ``load_fer2013`` read FER2013, against a per-row parse?

Measures, in one run and on the same file:

- the first load (read, parse and validate every row, write the cache),
- the parse alone (``cache=False``),
- ``pandas.read_csv`` and ``int()`` on every pixel,
- a per-row parse as torchvision's FER2013 dataset does it (``csv`` rows,
  ``split()`` and ``int()`` on every pixel),
- the cached reload (the uncompressed ``.npz`` written by the first load),

each in a fresh subprocess so that its peak memory (max RSS) is its own,
and prints the times, the ratios and the peak memory.

Usage::

    python benchmarks/bench_loader.py [PATH] [--repeat 3]

PATH defaults to ``$FER2013_PATH``. Machines here are noisy: compare the
ratios, measured in one run, rather than the seconds.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

MEASURE = r"""
import csv, gzip, io, json, resource, sys, time
import numpy as np
mode, path, data_home = sys.argv[1:4]
from fer_sklearn import load_fer2013  # imports are not what is measured
start = time.perf_counter()
if mode == "pandas":
    import pandas as pd
    frame = pd.read_csv(path)
    pixels = np.array([[int(p) for p in text.split()] for text in frame["pixels"]],
                      dtype=np.uint8)
elif mode == "per_row":
    opener = gzip.open if open(path, "rb").read(2) == b"\x1f\x8b" else open
    with opener(path, "rt", newline="") as handle:
        rows = [
            [int(pixel) for pixel in row["pixels"].split()]
            for row in csv.DictReader(handle)
        ]
    pixels = np.array(rows, dtype=np.uint8)
else:
    pixels = load_fer2013(path, data_home=data_home, cache=(mode != "parse")).data
seconds = time.perf_counter() - start
peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(dict(seconds=seconds, peak_mib=peak_mib, rows=len(pixels))))
"""


def measure(mode, path, data_home):
    output = subprocess.run(
        [sys.executable, "-c", MEASURE, mode, path, data_home],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("path", nargs="?", default=os.environ.get("FER2013_PATH"))
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs")
    args = parser.parse_args(argv)
    if not args.path:
        parser.error("give a FER2013 path or set $FER2013_PATH")

    with tempfile.TemporaryDirectory() as folder:
        results = {}
        for mode in ("parse", "pandas", "per_row"):
            runs = [measure(mode, args.path, folder) for _ in range(args.repeat)]
            results[mode] = min(runs, key=lambda run: run["seconds"])
        # each first load in an empty data home: it parses and writes the cache
        runs = [measure("first", args.path, tempfile.mkdtemp(dir=folder))
                for _ in range(args.repeat)]
        results["first"] = min(runs, key=lambda run: run["seconds"])
        measure("cached", args.path, folder)  # writes the cache
        runs = [measure("cached", args.path, folder) for _ in range(args.repeat)]
        results["cached"] = min(runs, key=lambda run: run["seconds"])

    rows = results["first"]["rows"]
    print(f"file: {os.path.basename(args.path)} ({rows:,} rows), best of {args.repeat}")
    print(f"{'':28s}{'seconds':>10s}{'peak MiB':>10s}")
    labels = {
        "first": "load_fer2013 (first load)",
        "parse": "load_fer2013 (cache=False)",
        "pandas": "pandas.read_csv + int()",
        "per_row": "per-row parse (int())",
        "cached": "load_fer2013 (cached)",
    }
    for mode, label in labels.items():
        print(f"{label:28s}{results[mode]['seconds']:10.2f}{results[mode]['peak_mib']:10.0f}")
    for baseline in ("pandas", "per_row"):
        print(f"first load vs {labels[baseline]}: "
              f"{results[baseline]['seconds'] / results['first']['seconds']:.1f}x faster")
    print(
        "cached reload vs first load: "
        f"{results['first']['seconds'] / results['cached']['seconds']:.1f}x faster"
    )


if __name__ == "__main__":
    main()
