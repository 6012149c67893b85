"""Train the networks whose weights ship in ``fer_sklearn/pretrained/``.

Trains on the Training rows of FER2013 (7 classes) and selects the
checkpoint on PublicTest only; PrivateTest is never read. The loop is plain
PyTorch over the package's own network and augmentation, so it trains
exactly the module that ``load_pretrained`` rebuilds.

Examples
--------
The runs behind the shipped weights (seed, epochs and wall time are written
into the log next to the checkpoint; copies are in ``scripts/logs/``)::

    # cnn: one FERNet run, 42 epochs one-cycle then 5 warm restarts of 7;
    # its 6 snapshots ship as one ensemble (80 minutes on the 2 cores)
    python scripts/train_pretrained.py cnn-snapshot --epochs 42 --seed 10 --out build/snap
    # rnn: ReNet
    python scripts/train_pretrained.py renet --epochs 35 --threads 1 --out build/renet
    # the course study's CNN with its protocol (not shipped)
    python scripts/train_pretrained.py study --epochs 10 --threads 1 --out build/study

then ``python scripts/export_pretrained.py cnn build/snap/snapshot{0,1,2,3,4,5}.pt
--tta`` and ``python scripts/export_pretrained.py rnn build/renet --tta``
(several checkpoints of one recipe ship as an ensemble). The cnn shipped
before (``scripts/logs/cnn*.json`` and ``tune_cnn*.json``) was an ensemble
of four runs of the ``cnn`` recipe, each fine-tuned with ``cnn-tune``
(``--init build/cnn/best.pt --epochs 4``): 70.44% on 6 classes (PublicTest)
after 4 h 33 min of training. ``rnn`` (``RowRNN``, whole rows and columns)
is the recurrent network shipped before ReNet; its log is
``scripts/logs/rowrnn.json``.
"""

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from fer_sklearn._augment import flip_horizontal, random_affine
from fer_sklearn._networks import NETWORKS
from fer_sklearn import LabelMerger
from fer_sklearn.datasets import load_fer2013

RECIPES = {
    # network name, its parameters, optimiser settings, augmentation
    "cnn": dict(
        network="fernet",
        module_params=dict(width=32, convs_per_stage=2, dropout=0.3),
        optimizer="sgd",
        lr=0.1,
        weight_decay=5e-4,
        batch_size=64,
        label_smoothing=0.1,
        augment=dict(shift=0.1, rotation=10.0, zoom=0.1, flip=True),
        channels_last=True,
        bf16=True,
    ),
    "rnn": dict(
        network="rnn",
        # one layer: a second bidirectional layer trains 3x slower on this CPU
        module_params=dict(hidden_size=128, num_layers=1, cell="gru", sweeps=2),
        optimizer="adamw",
        lr=3e-3,
        weight_decay=1e-2,
        batch_size=64,
        label_smoothing=0.1,
        augment=dict(shift=0.08, rotation=8.0, zoom=0.08, flip=True),
        channels_last=False,
        bf16=True,
    ),
    # ReNet: no convolution; three layers of row and column sweeps
    "renet": dict(
        network="renet",
        module_params=dict(hidden_sizes=[64, 96, 128], patch=[4, 2, 2], cell="gru"),
        optimizer="adamw",
        lr=3e-3,
        weight_decay=5e-2,
        batch_size=64,
        label_smoothing=0.1,
        augment=dict(shift=0.1, rotation=10.0, zoom=0.1, flip=True),
        channels_last=False,
        bf16=True,
        clip_grad_norm=5.0,
    ),
    # The course study's protocol: its Keras CNN, Disgust merged into Angry
    # (6 classes), Adam at Keras' defaults, batch 128, no augmentation.
    "study": dict(
        network="study",
        module_params={},
        optimizer="adam",
        lr=1e-3,
        weight_decay=0.0,
        batch_size=128,
        label_smoothing=0.0,
        augment={},
        channels_last=True,
        bf16=True,
        schedule="constant",
        merge_disgust=True,
    ),
}


# Fine-tuning a trained cnn run (--init): the cnn recipe for a few epochs at
# a small, cosine-decaying learning rate with flips only, so the last epochs
# see faces as they come at prediction time (not shifted, rotated or zoomed).
RECIPES["cnn-tune"] = dict(RECIPES["cnn"], lr=0.003, augment=dict(flip=True), schedule="cosine")

# The cnn recipe inside a 90-minute budget: one-cycle for --epochs, then
# ``cycles`` warm restarts at ``cycle_lr``, each decaying to 0 over
# ``cycle_epochs`` (cosine); a snapshot is saved at the end of the one-cycle
# stage and of every restart (snapshot0.pt, snapshot1.pt, ...) and the
# snapshots ship as one ensemble. The last ``settle_epochs`` of every stage
# see flips only, as in cnn-tune.
RECIPES["cnn-snapshot"] = dict(
    RECIPES["cnn"], schedule="snapshots", cycles=5, cycle_epochs=7, cycle_lr=0.02, settle_epochs=2
)


def make_optimizer(recipe, parameters):
    if recipe["optimizer"] == "adam":
        return torch.optim.Adam(parameters, lr=recipe["lr"])
    if recipe["optimizer"] == "sgd":
        return torch.optim.SGD(
            parameters,
            lr=recipe["lr"],
            momentum=0.9,
            nesterov=True,
            weight_decay=recipe["weight_decay"],
        )
    return torch.optim.AdamW(
        parameters, lr=recipe["lr"], weight_decay=recipe["weight_decay"]
    )


def to_tensor(pixels, mean, std, channels_last):
    X = torch.from_numpy(pixels.reshape(-1, 1, 48, 48).astype(np.float32))
    X = (X - mean) / std
    return X.contiguous(memory_format=torch.channels_last) if channels_last else X


@torch.no_grad()
def evaluate(module, X, y, recipe, batch_size=512):
    module.eval()
    correct = correct_flip = 0
    all_probs = []
    for start in range(0, len(X), batch_size):
        batch = X[start : start + batch_size]
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=recipe["bf16"]):
            logits = module(batch).float()
            flipped = module(flip_horizontal(batch)).float()
        target = y[start : start + batch_size]
        correct += (logits.argmax(1) == target).sum().item()
        all_probs.append(logits.softmax(1))
        correct_flip += ((all_probs[-1] + flipped.softmax(1)).argmax(1) == target).sum().item()
    return correct / len(X), correct_flip / len(X), torch.cat(all_probs)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", choices=sorted(RECIPES))
    parser.add_argument("--data", default=None, help="FER2013 path (else $FER2013_PATH)")
    parser.add_argument("--epochs", type=int, default=45)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--init", type=Path, default=None,
                        help="start from this checkpoint's weights (a best.pt of the same network)")
    parser.add_argument("--limit", type=int, default=None,
                        help="train on the first N Training rows only (smoke tests)")
    args = parser.parse_args(argv)

    recipe = RECIPES[args.model]
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    generator = torch.Generator().manual_seed(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)

    train = load_fer2013(args.data, usage="Training")
    if args.limit:
        train.data, train.target = train.data[: args.limit], train.target[: args.limit]
    valid = load_fer2013(args.data, usage="PublicTest")
    mean = float(train.data.mean())
    std = float(train.data.std())
    X_train = to_tensor(train.data, mean, std, recipe["channels_last"])
    X_valid = to_tensor(valid.data, mean, std, recipe["channels_last"])
    classes = np.arange(7)
    if recipe.get("merge_disgust"):
        merger = LabelMerger().fit(classes)
        classes = merger.classes_
        train.target = merger.transform(train.target)
        valid.target = merger.transform(valid.target)
    # column index of each label
    y_train = torch.from_numpy(np.searchsorted(classes, train.target))
    y_valid = torch.from_numpy(np.searchsorted(classes, valid.target))

    module = NETWORKS[recipe["network"]](n_classes=len(classes), **recipe["module_params"])
    if args.init:
        start = torch.load(args.init, map_location="cpu", weights_only=True)
        for key, value in (("network", recipe["network"]),
                           ("module_params", recipe["module_params"]),
                           ("pixel_mean", mean), ("pixel_std", std)):
            if start[key] != value:
                raise SystemExit(f"{args.init} has {key} {start[key]!r}, this run {value!r}")
        module.load_state_dict(start["state_dict"])
    if recipe["channels_last"]:
        module = module.to(memory_format=torch.channels_last)
    optimizer = make_optimizer(recipe, module.parameters())
    batch_size = recipe["batch_size"]
    steps_per_epoch = math.ceil(len(X_train) / batch_size)
    schedule = recipe.get("schedule", "onecycle")
    base_epochs = args.epochs
    if schedule == "snapshots":
        total_epochs = base_epochs + recipe["cycles"] * recipe["cycle_epochs"]
        # the snapshot epochs: the end of the one-cycle stage and of each restart
        stage_ends = [base_epochs + k * recipe["cycle_epochs"] for k in range(recipe["cycles"] + 1)]
    else:
        total_epochs = base_epochs
        stage_ends = [base_epochs]
    if schedule == "cosine":
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
            optimizer, T_max=args.epochs * steps_per_epoch
        )
    elif schedule in ("onecycle", "snapshots"):
        # snapshots: one-cycle for the first stage; the restarts set lr by hand
        scheduler = torch.optim.lr_scheduler.OneCycleLR(
            optimizer,
            max_lr=recipe["lr"],
            epochs=args.epochs,
            steps_per_epoch=steps_per_epoch,
            pct_start=0.2,
        )
    else:
        scheduler = torch.optim.lr_scheduler.ConstantLR(optimizer, factor=1.0)
    print(
        f"{args.model}: {sum(p.numel() for p in module.parameters()):,} parameters, "
        f"{total_epochs} epochs, seed {args.seed}",
        flush=True,
    )

    log = []
    best = -1.0
    snapshot_probs = []
    started = time.perf_counter()
    for epoch in range(1, total_epochs + 1):
        module.train()
        epoch_start = time.perf_counter()
        order = torch.randperm(len(X_train), generator=generator)
        total_loss = 0.0
        stage_end = next(end for end in stage_ends if end >= epoch)
        augment = recipe["augment"]
        if epoch > stage_end - recipe.get("settle_epochs", 0):
            augment = dict(flip=augment.get("flip", False))
        restart = epoch > base_epochs
        if restart:
            cycle_start = stage_end - recipe["cycle_epochs"]
            for group in optimizer.param_groups:
                group["momentum"] = 0.9
        for step in range(steps_per_epoch):
            if restart:
                progress = ((epoch - 1 - cycle_start) * steps_per_epoch + step) / (
                    recipe["cycle_epochs"] * steps_per_epoch
                )
                for group in optimizer.param_groups:
                    group["lr"] = recipe["cycle_lr"] * 0.5 * (1 + math.cos(math.pi * progress))
            index = order[step * batch_size : (step + 1) * batch_size]
            batch = random_affine(X_train[index], generator=generator, **augment)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=recipe["bf16"]):
                logits = module(batch)
            loss = F.cross_entropy(
                logits.float(), y_train[index], label_smoothing=recipe["label_smoothing"]
            )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if recipe.get("clip_grad_norm"):
                torch.nn.utils.clip_grad_norm_(module.parameters(), recipe["clip_grad_norm"])
            optimizer.step()
            if not restart:
                scheduler.step()
            total_loss += loss.item()
        train_time = time.perf_counter() - epoch_start
        entry = dict(
            epoch=epoch,
            augment=augment,
            train_loss=total_loss / steps_per_epoch,
            epoch_seconds=train_time,
            images_per_second=len(X_train) / train_time,
        )
        if schedule == "snapshots" and epoch not in stage_ends:
            # within the time budget: PublicTest is read for the snapshots only
            log.append(dict(entry, elapsed_seconds=time.perf_counter() - started))
            print(json.dumps(log[-1]), flush=True)
            continue
        acc, acc_flip, probs = evaluate(module, X_valid, y_valid, recipe)
        entry.update(publictest_acc=acc, publictest_acc_flip=acc_flip,
                     elapsed_seconds=time.perf_counter() - started)
        log.append(entry)
        print(json.dumps(entry), flush=True)
        checkpoint = dict(
            network=recipe["network"],
            module_params=recipe["module_params"],
            state_dict=module.state_dict(),
            pixel_mean=mean,
            pixel_std=std,
            classes=classes.tolist(),
            epoch=epoch,
            publictest_acc=acc,
            publictest_acc_flip=acc_flip,
            seed=args.seed,
        )
        torch.save(checkpoint, args.out / "last.pt")
        if acc > best:
            best = acc
            torch.save(checkpoint, args.out / "best.pt")
        if schedule == "snapshots" and epoch in stage_ends:
            torch.save(checkpoint, args.out / f"snapshot{len(snapshot_probs)}.pt")
            snapshot_probs.append(probs)
            # the snapshots so far as one ensemble (probabilities averaged)
            entry["snapshot_ensemble_acc"] = (
                (torch.stack(snapshot_probs).mean(0).argmax(1) == y_valid).float().mean().item()
            )
            print(json.dumps({"snapshots": len(snapshot_probs),
                              "snapshot_ensemble_acc": entry["snapshot_ensemble_acc"]}), flush=True)
        summary = dict(
            model=args.model,
            recipe=recipe,
            seed=args.seed,
            epochs=total_epochs,
            init=str(args.init) if args.init else None,
            threads=args.threads,
            torch=torch.__version__,
            wall_seconds=time.perf_counter() - started,
            best_publictest_acc=best,
            log=log,
        )
        (args.out / "log.json").write_text(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
