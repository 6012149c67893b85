"""Training throughput of FERCNNClassifier.fit against a plain PyTorch loop.

Both train the same network (FERNet inside FERModel, channels-last), with
the same batch size, optimiser and augmentation, on the same faces; the runs
alternate (plain, skorch, plain, skorch, ...) and the best of each is kept,
so that the ratio is measured in one run on one noisy machine. Also prints
inference throughput of ``predict_proba``.

Usage::

    python benchmarks/bench_training.py [--n-images 4096] [--epochs 1] [--repeat 3]
                                        [--mixed-precision] [--model cnn|rnn]

Faces come from ``$FER2013_PATH`` (Training rows) when set, else the bundled
sample, tiled.
"""

import argparse
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

from fer_sklearn import FERCNNClassifier, FERRNNClassifier, load_fer2013, load_fer2013_sample
from fer_sklearn._augment import random_affine
from fer_sklearn._classifiers import NesterovSGD
from fer_sklearn.networks import FERModel, FERNet, ReNet

AUGMENT = dict(shift=0.1, rotation=10.0, zoom=0.1, flip=True)


def faces(n_images):
    if os.environ.get("FER2013_PATH"):
        data = load_fer2013(usage="Training")
    else:
        data = load_fer2013_sample()
    repeat = int(np.ceil(n_images / len(data.target)))
    X = np.tile(data.data, (repeat, 1))[:n_images]
    y = np.tile(data.target, repeat)[:n_images]
    return X, y


def plain_loop(X, y, *, model, epochs, batch_size, mixed_precision, seed):
    """What a PyTorch user would write by hand for the same training."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    images = torch.from_numpy(X.reshape(-1, 1, 48, 48).astype(np.float32))
    targets = torch.from_numpy(y.astype(np.int64))
    # the classifiers' defaults: FERRNNClassifier clips at 5, weight decay 0.05
    if model == "cnn":
        network, channels_last = FERNet(n_classes=7), True
        optimizer, clip = NesterovSGD, None
        settings = dict(lr=0.05)
    else:
        network, channels_last = ReNet(n_classes=7), False
        optimizer, clip = torch.optim.AdamW, 5.0
        settings = dict(lr=0.003, weight_decay=0.05)
    module = FERModel(network, float(images.mean()), float(images.std()),
                      channels_last=channels_last)
    optimizer = optimizer(module.parameters(), **settings)
    module.train()
    for _ in range(epochs):
        order = torch.randperm(len(images), generator=generator)
        for start in range(0, len(images), batch_size):
            index = order[start : start + batch_size]
            batch = random_affine(images[index], generator=generator, **AUGMENT)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=mixed_precision):
                logits = module(batch)
            loss = F.cross_entropy(logits.float(), targets[index])
            optimizer.zero_grad()
            loss.backward()
            if clip is not None:
                torch.nn.utils.clip_grad_norm_(module.parameters(), clip)
            optimizer.step()
    return module


def skorch_fit(X, y, *, model, epochs, batch_size, mixed_precision, seed):
    cls = FERCNNClassifier if model == "cnn" else FERRNNClassifier
    clf = cls(max_epochs=epochs, batch_size=batch_size, lr_schedule=None,
              mixed_precision=mixed_precision, random_state=seed)
    return clf.fit(X, y)


def timed(function, *args, **kwargs):
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - started, result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n-images", type=int, default=4096)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--model", choices=["cnn", "rnn"], default="cnn")
    parser.add_argument("--mixed-precision", action="store_true")
    args = parser.parse_args(argv)

    X, y = faces(args.n_images)
    settings = dict(model=args.model, epochs=args.epochs, batch_size=args.batch_size,
                    mixed_precision=args.mixed_precision, seed=0)
    n_trained = args.n_images * args.epochs
    plain, wrapped = [], []
    clf = None
    for _ in range(args.repeat):
        plain.append(timed(plain_loop, X, y, **settings)[0])
        seconds, clf = timed(skorch_fit, X, y, **settings)
        wrapped.append(seconds)
    plain_rate, skorch_rate = n_trained / min(plain), n_trained / min(wrapped)
    inference = min(timed(clf.predict_proba, X)[0] for _ in range(args.repeat))

    print(f"{args.model}: {args.n_images} faces x {args.epochs} epoch(s), batch "
          f"{args.batch_size}, mixed precision {args.mixed_precision}, "
          f"torch threads {torch.get_num_threads()}, best of {args.repeat}")
    print(f"plain PyTorch loop        {plain_rate:8.0f} images/s")
    print(f"{type(clf).__name__}.fit  {skorch_rate:8.0f} images/s")
    print(f"ratio (fit / plain loop)  {skorch_rate / plain_rate:8.3f}")
    print(f"predict_proba             {args.n_images / inference:8.0f} images/s")


if __name__ == "__main__":
    main()
