"""Copy a training checkpoint into ``fer_sklearn/pretrained/`` and record it.

Stores the network weights (float32, exactly the selected checkpoint), the
normalisation and the classes, and writes the file's sha256 and the training log's figures
into ``fer_sklearn/pretrained/manifest.json``::

    python scripts/export_pretrained.py build/cnn cnn
"""

import argparse
import hashlib
import json
from pathlib import Path

import torch

PRETRAINED = Path(__file__).resolve().parents[1] / "fer_sklearn" / "pretrained"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run", type=Path, help="folder of a train_pretrained.py run")
    parser.add_argument("name", help="the name load_pretrained will know it by")
    parser.add_argument("--checkpoint", default="best.pt")
    parser.add_argument("--tta", action="store_true",
                        help="make flip averaging the shipped default (chosen on PublicTest)")
    args = parser.parse_args(argv)

    checkpoint = torch.load(args.run / args.checkpoint, map_location="cpu", weights_only=True)
    log = json.loads((args.run / "log.json").read_text())
    shipped = {
        "network": checkpoint["network"],
        "module_params": checkpoint["module_params"],
        "state_dict": checkpoint["state_dict"],
        "pixel_mean": checkpoint["pixel_mean"],
        "pixel_std": checkpoint["pixel_std"],
        "classes": checkpoint["classes"],
    }
    out = PRETRAINED / f"{args.name}.pt"
    torch.save(shipped, out)
    manifest_path = PRETRAINED / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    manifest[args.name] = {
        "file": out.name,
        "sha256": hashlib.sha256(out.read_bytes()).hexdigest(),
        "network": checkpoint["network"],
        "module_params": checkpoint["module_params"],
        "trained_on": "FER2013 Training rows, 7 classes",
        "selected_on": "PublicTest",
        "epoch": checkpoint["epoch"],
        "epochs": log["epochs"],
        "seed": log["seed"],
        "wall_seconds": round(log["wall_seconds"]),
        "publictest_acc_7": round(checkpoint["publictest_acc"], 4),
        "publictest_acc_7_flip": round(checkpoint["publictest_acc_flip"], 4),
        "defaults": {"tta": bool(args.tta)},
        "recipe": log["recipe"],
        "torch": log["torch"],
    }
    manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB) and {manifest_path}")


if __name__ == "__main__":
    main()
