"""Copy training checkpoints into ``fer_sklearn/pretrained/`` and record them.

One run ships as its network; several runs of the same network ship as one
:class:`~fer_sklearn.networks.Ensemble` whose members are the runs' selected
checkpoints (their probabilities averaged). Weight matrices are stored as
int8 with a float32 scale per output row, the other floating-point tensors
as float16 (``--dtype float16`` stores everything as float16: twice the
bytes); they are float32 again when loaded (``fer_sklearn._pretrained``'s
``quantize_int8`` and ``dequantize``). With the normalisation and the
classes, the file is gzipped (``<name>.pt.gz``; all shipped weights must
stay within 25 MB with their ONNX graphs and the face detector). The
file's sha256 and each
run's record (seed, epochs, wall time, PublicTest accuracy) go into
``fer_sklearn/pretrained/manifest.json``::

    python scripts/export_pretrained.py cnn build/tune_cnn build/tune_cnn2
    python scripts/export_pretrained.py rnn build/renet --tta

A run is named by its folder (its ``--checkpoint``, best.pt by default) or
by one of its checkpoint files, e.g. the snapshots of a cnn-snapshot run::

    python scripts/export_pretrained.py cnn build/snap/snapshot{0,1,2,3,4,5}.pt

or by the member files ``select_teacher.py`` writes, which carry their
records::

    python scripts/export_pretrained.py cnn-ensemble build/teacher/member*.pt --tta
"""

import argparse
import gzip
import hashlib
import io
import json
from pathlib import Path

import torch

from fer_sklearn._checkpoints import quantize_int8

PRETRAINED = Path(__file__).resolve().parents[1] / "fer_sklearn" / "pretrained"


def store(state_dict, dtype):
    """The tensors to save and, for int8, their scales."""
    if dtype == "int8":
        return quantize_int8(state_dict)
    return {k: v.half() if v.is_floating_point() else v for k, v in state_dict.items()}, {}


def run_and_checkpoint(path, checkpoint_name):
    """A run's folder and the checkpoint file named, from a folder or a file."""
    if path.suffix == ".pt":
        return path.parent, path.name
    return path, checkpoint_name


def run_record(run, checkpoint_name):
    checkpoint = torch.load(run / checkpoint_name, map_location="cpu", weights_only=True)
    if "record" in checkpoint:
        # a member picked by select_teacher.py from a shipped file: its record
        # is the one that file's manifest held
        return checkpoint, checkpoint["record"]
    log = json.loads((run / "log.json").read_text())
    n_classes = len(checkpoint["classes"])
    record = {
        "run": run.name,
        "checkpoint": checkpoint_name,
        "epoch": checkpoint["epoch"],
        "epochs": log["epochs"],
        "seed": log["seed"],
        "threads": log["threads"],
        "wall_seconds": round(log["wall_seconds"]),
        # before the first epoch: loading, checks and the teacher's probabilities
        **({"setup_seconds": round(log["setup_seconds"])} if "setup_seconds" in log else {}),
        f"publictest_acc_{n_classes}": round(checkpoint["publictest_acc"], 4),
        f"publictest_acc_{n_classes}_flip": round(checkpoint["publictest_acc_flip"], 4),
        "recipe": log["recipe"],
        "torch": log["torch"],
    }
    init = log.get("init")
    if isinstance(init, dict):
        # fine-tuned from a shipped model: the record of the run that trained
        # it, with the sha256 of the weights the run started from
        if len(init["runs"]) != 1:
            raise SystemExit(f"{run}: fine-tuned from {init['shipped']!r}, trained by "
                             f"{len(init['runs'])} runs; one run's model was expected")
        record["init"] = dict(init["runs"][0], shipped=init["shipped"],
                              shipped_sha256=init["sha256"])
    elif init:
        # a fine-tuning run: record the run it started from, too
        record["init"] = run_record(Path(init).parent, Path(init).name)[1]
    checkpoint["history"] = epoch_history(log, checkpoint["epoch"])
    return checkpoint, record


def epoch_history(log, last_epoch):
    """The run's epochs up to the shipped checkpoint's, as skorch's history
    rows (numbers and strings only, so the weights-only loader reads them)."""
    keep = (int, float, str, bool, type(None))
    return [{k: v for k, v in row.items() if isinstance(v, keep)}
            for row in log.get("log", []) if row.get("epoch", 0) <= last_epoch]


def total_wall_seconds(records):
    """Training time of the runs and of those they were fine-tuned from, each
    run counted once (by its folder name) however many checkpoints ship."""
    seconds = {}
    for record in records:
        while record is not None:
            seconds[record["run"]] = record["wall_seconds"]
            record = record.get("init")
    return round(sum(seconds.values()))


def combine(checkpoints, dtype):
    """The shipped dict: one network, or an Ensemble of the runs' networks."""
    first = checkpoints[0]
    for other in checkpoints[1:]:
        for key in ("network", "module_params", "pixel_mean", "pixel_std", "classes"):
            if other[key] != first[key]:
                raise SystemExit(
                    f"runs differ in {key}: {first[key]!r} vs {other[key]!r}; "
                    "an ensemble needs one network trained on the same data."
                )
    shipped = {key: first[key] for key in ("pixel_mean", "pixel_std", "classes")}
    if len(checkpoints) == 1:
        shipped.update(
            network=first["network"],
            module_params=first["module_params"],
        )
        if first.get("history"):
            # one run: load_pretrained(name).history is its training curve
            shipped["history"] = first["history"]
        state_dict = first["state_dict"]
    else:
        shipped.update(
            network="ensemble",
            module_params={
                "network": first["network"],
                "n_members": len(checkpoints),
                "network_params": first["module_params"],
            },
        )
        state_dict = {
            f"members.{i}.{key}": value
            for i, checkpoint in enumerate(checkpoints)
            for key, value in checkpoint["state_dict"].items()
        }
    shipped["state_dict"], scales = store(state_dict, dtype)
    if scales:
        shipped["scales"] = scales
    return shipped


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("name", help="the name load_pretrained will know it by")
    parser.add_argument("runs", type=Path, nargs="+",
                        help="folders of train_pretrained.py runs, or checkpoint files in "
                             "them (several: an ensemble)")
    parser.add_argument("--checkpoint", default="best.pt")
    parser.add_argument("--tta", action="store_true",
                        help="make flip averaging the shipped default (chosen on PublicTest)")
    parser.add_argument("--dtype", choices=["int8", "float16"], default="int8",
                        help="storage of the weight matrices (default: int8)")
    parser.add_argument("--selected-on", default="PublicTest",
                        help="how the shipped checkpoint was chosen, for the manifest")
    parser.add_argument("--into", type=Path, default=PRETRAINED,
                        help="folder to write to (default: the package's pretrained/)")
    args = parser.parse_args(argv)

    runs = [run_and_checkpoint(path, args.checkpoint) for path in args.runs]
    checkpoints, records = zip(*(run_record(run, name) for run, name in runs))
    shipped = combine(checkpoints, args.dtype)
    buffer = io.BytesIO()
    torch.save(shipped, buffer)
    args.into.mkdir(parents=True, exist_ok=True)
    out = args.into / f"{args.name}.pt.gz"
    # mtime=0: the same weights give the same bytes, hence the same sha256
    out.write_bytes(gzip.compress(buffer.getvalue(), compresslevel=9, mtime=0))
    manifest_path = args.into / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    manifest[args.name] = {
        "file": out.name,
        "sha256": hashlib.sha256(out.read_bytes()).hexdigest(),
        "network": shipped["network"],
        "module_params": shipped["module_params"],
        "weights_dtype": args.dtype,
        "trained_on": f"FER2013 Training rows, {len(shipped['classes'])} classes",
        "selected_on": args.selected_on,
        "total_wall_seconds": total_wall_seconds(records),
        "runs": list(records),
        "defaults": {"tta": bool(args.tta)},
        # epochs of training curve the file carries (its history), so that
        # a caller without torch knows whether there is one to load
        "history_epochs": len(shipped.get("history", [])),
    }
    teachers = {record["recipe"].get("teacher") for record in records} - {None}
    if teachers:
        # distilled: the shipped model its soft targets came from
        manifest[args.name]["teacher"] = ", ".join(sorted(teachers))
    manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB) and {manifest_path}")
    # the entry is new: its ONNX graph (made from the old weights) is gone
    # from it until export_graphs.py makes one from these weights
    print(f"now run: python scripts/export_graphs.py {args.name} (engine='onnx' refuses "
          "the model until then)")


if __name__ == "__main__":
    main()
