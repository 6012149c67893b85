"""Choose the members of the ``cnn-ensemble`` teacher on PublicTest.

Candidates are the members of shipped ensemble files (int8 or float16
``.pt.gz`` as ``scripts/export_pretrained.py`` writes them, each with the
``manifest.json`` it shipped with beside it: the six snapshots of commit
87282f7 and the four fine-tuned runs of commit d4e2fe5).
Each member's flip-averaged probabilities on PublicTest are computed once;
members are then added greedily (forward selection without replacement,
starting from the best single member) up to ``--max-members``, and each
step's 7- and 6-class accuracy is printed. PublicTest is the only split
read: the choice is a validation choice. The chosen members are written as
one float32 checkpoint per member, with its run's record from the
manifest, ready for ``export_pretrained.py``::

    for c in 87282f7 d4e2fe5; do mkdir -p build/$c
        git show $c:fer_sklearn/pretrained/cnn.pt.gz > build/$c/cnn.pt.gz
        git show $c:fer_sklearn/pretrained/manifest.json > build/$c/manifest.json; done
    python scripts/select_teacher.py build/87282f7/cnn.pt.gz build/d4e2fe5/cnn.pt.gz \\
        --max-members 6 --out build/teacher
    python scripts/export_pretrained.py cnn-ensemble build/teacher/member*.pt --tta
"""

import argparse
import gzip
import io
import json
import sys
from pathlib import Path

import numpy as np
import torch

from fer_sklearn import LabelMerger
from fer_sklearn._classifiers import classifier_from_checkpoint
from fer_sklearn.datasets import load_fer2013


def members_of(path):
    """(name, float32 checkpoint with its run's record) for each member of a
    file (an ensemble's members, or the one network)."""
    checkpoint = torch.load(io.BytesIO(gzip.decompress(path.read_bytes())),
                            map_location="cpu", weights_only=True)
    manifest = json.loads((path.parent / "manifest.json").read_text())
    records = next(entry["runs"] for entry in manifest.values()
                   if entry["file"] == path.name)
    clf = classifier_from_checkpoint(checkpoint, tta=True)
    params = checkpoint["module_params"]
    if checkpoint["network"] == "ensemble":
        members = clf.module_.network.members
        network, params = params["network"], params["network_params"]
    else:
        members, network = [clf.module_.network], checkpoint["network"]
    for index, member in enumerate(members):
        single = dict(network=network, module_params=params,
                      state_dict={k: v.float() if v.is_floating_point() else v
                                  for k, v in member.state_dict().items()},
                      pixel_mean=checkpoint["pixel_mean"], pixel_std=checkpoint["pixel_std"],
                      classes=checkpoint["classes"], record=records[index])
        yield f"{path.parent.name}/{path.name}[{index}]", single


def accuracies(proba, y7, merger):
    acc7 = float(np.mean(proba.argmax(1) == y7))
    merged = merger.merge_proba(proba, np.arange(7))
    acc6 = float(np.mean(merger.classes_[merged.argmax(1)] == merger.transform(y7)))
    return acc7, acc6


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--data", default=None)
    parser.add_argument("--max-members", type=int, default=6)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    valid = load_fer2013(args.data, usage="PublicTest")
    merger = LabelMerger().fit(np.arange(7))
    names, checkpoints, probas = [], [], []
    for path in args.files:
        for name, checkpoint in members_of(path):
            proba = classifier_from_checkpoint(checkpoint, tta=True).predict_proba(valid.data)
            acc7, acc6 = accuracies(proba, valid.target, merger)
            print(f"{name}: {acc7:.2%} 7-class, {acc6:.2%} 6-class (flips)", flush=True)
            names.append(name), checkpoints.append(checkpoint), probas.append(proba)
    probas = np.stack(probas)
    print(f"all {len(names)}: 7/6-class "
          f"{'%.2f%% / %.2f%%' % tuple(100 * a for a in accuracies(probas.mean(0), valid.target, merger))}")
    chosen, steps = [], []
    while len(chosen) < min(args.max_members, len(names)):
        scores = {i: accuracies(probas[chosen + [i]].mean(0), valid.target, merger)
                  for i in range(len(names)) if i not in chosen}
        best = max(scores, key=lambda i: scores[i][0])
        chosen.append(best)
        steps.append(dict(member=names[best], acc7=scores[best][0], acc6=scores[best][1]))
        print(f"+ {names[best]}: {scores[best][0]:.2%} 7-class, {scores[best][1]:.2%} 6-class")
    args.out.mkdir(parents=True, exist_ok=True)
    for rank, index in enumerate(chosen):
        torch.save(checkpoints[index], args.out / f"member{rank}.pt")
    (args.out / "selection.json").write_text(json.dumps(dict(steps=steps), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
