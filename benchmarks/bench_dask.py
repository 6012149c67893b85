"""Dask scale-out on one machine: where the time goes, and what 2 workers buy.

Three parts, each printed as it finishes:

1. **Capacity**: the same training steps of FERNet (batch 64) in one
   process with 1 thread, one process with 2 threads, and two processes of
   1 thread side by side. This is what any parallel scheme can get from
   the machine's cores, before Dask is involved.
2. **Worker start-up**: a LocalCluster's start, and the first import of
   torch, skorch and fer_sklearn's estimators in its workers (``import
   fer_sklearn`` alone imports none of them: the package is lazy).
3. **Workloads of at least 2 minutes** (serial): a GridSearchCV of
   FERCNNClassifier (joblib's Dask backend), ``analyze`` over the photos
   folder (repeated) and over a video (the real clip looped to 2.5 minutes,
   in spans: 1 single-threaded worker against 2), each run serially with torch's 2 threads, on 1 Dask
   worker whose torch has 2 threads, and on 2 single-threaded workers.
   The 2-worker layout also runs with ``TORCH_MALLOC`` (glibc's malloc
   thresholds; see below) instead of Dask's default worker environment.
   The search has no 1-worker row (joblib's Dask backend runs a search on
   a one-slot cluster in the client process) and one more: its 8 fits split
   between two plain single-threaded processes, without Dask, the most two
   workers could reach. Each row says how busy the workers were (Dask's
   task stream): idle time is fits badly spread. Warm
   workers (imports done, models loaded) are timed; the start-up is part
   2's. Results are checked equal to the serial run's (a model trained
   with 1 thread may differ in its last digits from one trained with 2).

Usage::

    python benchmarks/bench_dask.py [--parts capacity,startup,grid,analyze,video]
        [--epochs 12] [--grid-widths 32,16] [--photo-repeats 60]
        [--photos ../shared/photos] [--video-seconds 150] [--cache build/videos]
"""

import argparse
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve()
SHARED_CLIP = HERE.parents[2] / "shared" / "media" / "one-man-talking.mp4"


# -- 1. capacity ---------------------------------------------------------------

def train_steps(steps):
    """Images per second of ``steps`` FERNet training steps (batch 64)."""
    import torch

    from fer_sklearn.networks import FERNet

    torch.manual_seed(0)
    net = FERNet()
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01)
    X, y = torch.randn(64, 1, 48, 48), torch.randint(0, 7, (64,))
    for step in range(steps + 2):
        if step == 2:  # the first steps allocate
            started = time.perf_counter()
        loss = torch.nn.functional.cross_entropy(net(X), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return 64 * steps / (time.perf_counter() - started)


def run_children(option_lists, threads):
    """Run this script once per list of options, side by side, each with
    ``threads`` torch threads; the number each prints last."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    procs = [subprocess.Popen([sys.executable, str(HERE), *options], env=env,
                              stdout=subprocess.PIPE, text=True)
             for options in option_lists]
    return [float(p.communicate()[0].strip().splitlines()[-1]) for p in procs]


def capacity(steps):
    def run(threads, copies):
        return run_children([["--steps-only", str(steps)]] * copies, threads)

    one = run(1, 1)[0]
    two_threads = run(2, 1)[0]
    two_procs = run(1, 2)
    print("1. capacity (FERNet training steps, batch 64, images/s)")
    print(f"   1 process, 1 thread     : {one:7.0f}")
    print(f"   1 process, 2 threads    : {two_threads:7.0f}  ({two_threads / one:.2f}x)")
    print(f"   2 processes, 1 thread   : {sum(two_procs):7.0f}  ({sum(two_procs) / one:.2f}x; "
          f"each {two_procs[0]:.0f} and {two_procs[1]:.0f})")
    print(f"   so 2 single-threaded workers can beat 1 worker with 2 threads by at most "
          f"{sum(two_procs) / two_threads:.2f}x", flush=True)


# -- 2. start-up ---------------------------------------------------------------

def _import_estimators():
    started = time.perf_counter()
    import skorch  # noqa: F401
    import torch  # noqa: F401

    from fer_sklearn import _classifiers  # noqa: F401
    return time.perf_counter() - started


def _threads():
    import torch

    return torch.get_num_threads()


#: glibc settings for workers that train PyTorch models. Dask's nanny sets
#: MALLOC_TRIM_THRESHOLD_=65536 in every worker it spawns; setting it at all
#: fixes glibc's mmap threshold at 128 KiB, so every large tensor is mmapped
#: and page-faulted anew at each step (fits 1.4x slower here). Large
#: thresholds keep those buffers on the heap.
TORCH_MALLOC = {"MALLOC_TRIM_THRESHOLD_": 2**27, "MALLOC_MMAP_THRESHOLD_": 2**25}


def cluster(n_workers, torch_threads, malloc=None):
    """A LocalCluster of single-threaded worker processes whose torch runs
    ``torch_threads`` threads (Dask sets OMP_NUM_THREADS=1 in workers unless
    told otherwise); ``malloc`` adds glibc settings before the workers start."""
    import dask
    from distributed import LocalCluster

    environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ"))
    environ.update(OMP_NUM_THREADS=torch_threads, MKL_NUM_THREADS=torch_threads,
                   **(malloc or {}))
    # the nanny sets these in this process's environment before it spawns a
    # worker, and leaves them there: restore ours, so that the next cluster
    # starts from the same environment
    saved = dict(os.environ)
    try:
        with dask.config.set({"distributed.nanny.pre-spawn-environ": environ}):
            return LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                                dashboard_address=None, host="127.0.0.1",
                                silence_logs=logging.CRITICAL)
    finally:
        os.environ.clear()
        os.environ.update(saved)


def warm(client, model=None):
    """Import the estimators (and load a shipped model) on every worker;
    return the slowest worker's seconds."""
    seconds = client.run(_import_estimators)
    if model is not None:
        from fer_sklearn._analysis import _classifier

        client.run(_classifier, model)
    threads = client.run(_threads)
    return max(seconds.values()), sorted(threads.values())


def startup():
    from distributed import Client

    print("2. worker start-up")
    for n_workers in (1, 2):
        started = time.perf_counter()
        with cluster(n_workers, 1) as local, Client(local) as client:
            up = time.perf_counter() - started
            imports, _ = warm(client)
            print(f"   {n_workers} worker(s): cluster up in {up:5.1f} s; first import of "
                  f"torch + skorch + estimators {imports:5.1f} s", flush=True)


# -- 3. workloads --------------------------------------------------------------

#: the search's learning rates
LEARNING_RATES = (0.01, 0.05)


def grid_search(epochs, widths, rates=LEARNING_RATES):
    from sklearn.model_selection import GridSearchCV, StratifiedKFold

    from fer_sklearn import FERCNNClassifier

    return GridSearchCV(
        FERCNNClassifier(max_epochs=epochs, random_state=0),
        {"lr": list(rates), "module__width": list(widths)},
        cv=StratifiedKFold(2, shuffle=True, random_state=0),
        refit=False,
    )


def run_grid(X, y, epochs, widths, client=None):
    import joblib

    search = grid_search(epochs, widths)
    started = time.perf_counter()
    if client is None:
        search.fit(X, y)
    else:
        with joblib.parallel_backend("dask"):
            search.fit(X, y)
    return time.perf_counter() - started, search.cv_results_["mean_test_score"]


def run_analyze(photos, client=None):
    from fer_sklearn import analyze

    started = time.perf_counter()
    table = analyze(photos, "cnn", client=client)
    return time.perf_counter() - started, table


def looped_video(args):
    """The real clip looped (back and forth) to ``args.video_seconds`` at
    360p: bench_video.py's file, kept in ``args.cache``."""
    sys.path.insert(0, str(HERE.parent))
    from bench_video import make_video

    folder = Path(args.cache)
    folder.mkdir(parents=True, exist_ok=True)
    return make_video(folder / f"talking_360p_{args.video_seconds:g}s.mp4", SHARED_CLIP,
                      (640, 360), seconds=args.video_seconds)


#: (workers, torch threads per worker, glibc settings)
CONFIGS = [(1, 2, None), (2, 1, None), (2, 1, TORCH_MALLOC)]


def describe(n_workers, threads, malloc):
    return (f"{n_workers} worker(s), torch {'+'.join(map(str, threads))} thread(s), "
            f"{'tuned malloc' if malloc else 'Dask default '}")


def busy_share(stream, n_workers, seconds):
    """The share of the workers' time (``n_workers`` x ``seconds``) spent
    computing tasks, from Dask's task stream."""
    computing = sum(part["stop"] - part["start"] for task in stream
                    for part in task["startstops"] if part["action"] == "compute")
    return computing / (n_workers * seconds)


def compare_layouts(run, what, model=None, configs=CONFIGS):
    """Time ``run(client)`` serially (``client=None``) and on each layout of
    ``configs`` (warm workers), checking each result equal to the serial one;
    also how busy the workers were (Dask's task stream). Returns the serial
    seconds and each layout's."""
    from distributed import Client, get_task_stream

    serial, expected = run(None)
    print(f"   serial, torch 2 threads                          : {serial:6.1f} s",
          flush=True)
    layouts = []
    for n_workers, threads, malloc in configs:
        with cluster(n_workers, threads, malloc) as local, Client(local) as client:
            _, seen = warm(client, model)
            with get_task_stream(client) as stream:
                seconds, result = run(client)
        same = (np.allclose(expected, result) if isinstance(expected, np.ndarray)
                else result.equals(expected))
        print(f"   {describe(n_workers, seen, malloc)}: {seconds:6.1f} s "
              f"({serial / seconds:.2f}x serial; {what} equal: {same}; workers busy "
              f"{busy_share(stream.data, n_workers, seconds):.0%})", flush=True)
        layouts.append(seconds)
    return serial, layouts


def grid_child(lr, args):
    """A plain single-threaded process's share of the search: the
    candidates of one learning rate."""
    X, y = grid_data(args)
    search = grid_search(args.epochs, args.grid_widths, rates=[lr])
    started = time.perf_counter()
    search.fit(X, y)
    print(time.perf_counter() - started)


def plain_processes(serial, args):
    """The same 8 fits split between two plain single-threaded processes
    (4 each, one learning rate each), without Dask: what two workers
    could reach on this workload."""
    options = ["--epochs", str(args.epochs), "--n-faces", str(args.n_faces),
               "--grid-widths", ",".join(map(str, args.grid_widths)), "--grid-child"]
    each = run_children([options + [str(lr)] for lr in LEARNING_RATES], threads=1)
    seconds = max(each)  # timed inside each process: start-up excluded, as for warm workers
    print(f"   2 plain processes, 1 thread, 4 fits each, no Dask: {seconds:6.1f} s "
          f"({serial / seconds:.2f}x serial; each {each[0]:.1f} and {each[1]:.1f} s)",
          flush=True)


def grid_data(args):
    from fer_sklearn import LabelMerger, load_fer2013_sample

    faces = load_fer2013_sample()
    X = faces.data[: args.n_faces]
    return X, LabelMerger().fit_transform(faces.target[: args.n_faces])


def workloads(parts, args):
    import torch

    torch.set_num_threads(2)
    if "grid" in parts:
        X, y = grid_data(args)
        widths = args.grid_widths
        print(f"3a. GridSearchCV, 4 candidates x 2 folds, {len(X)} faces, "
              f"{args.epochs} epochs, module__width in the order {widths}", flush=True)
        print("   (1 worker: not measured; joblib's Dask backend takes the cluster's task "
              "slots as n_jobs, and with one slot it runs the search in this process)")
        serial, _ = compare_layouts(lambda client: run_grid(X, y, args.epochs, widths, client),
                                    "scores", configs=[c for c in CONFIGS if c[0] == 2])
        plain_processes(serial, args)
    if "analyze" in parts:
        files = sorted(p for p in Path(args.photos).iterdir()
                       if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
        photos = [str(p) for p in files] * args.photo_repeats
        run_analyze(photos[:1])  # load the model and the detector once
        print(f"3b. analyze, {len(photos)} photos ({len(files)} files x "
              f"{args.photo_repeats}), model cnn", flush=True)
        compare_layouts(lambda client: run_analyze(photos, client), "table", model="cnn")
    if "video" in parts:
        from fer_sklearn import _dask

        video = looped_video(args)
        run_analyze(str(SHARED_CLIP))  # load the model and the detector once
        print(f"3c. analyze, a {args.video_seconds:g} s 360p video (the real clip looped), "
              f"every frame, model cnn, in spans of {_dask.SPAN_SECONDS:g} s", flush=True)
        _, (one, two) = compare_layouts(lambda client: run_analyze(str(video), client),
                                        "table", model="cnn",
                                        configs=[(1, 1, None), (2, 1, None)])
        print(f"   2 workers of 1 thread against 1: {one / two:.2f}x", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--parts", default="capacity,startup,grid,analyze,video")
    parser.add_argument("--steps", type=int, default=40, help="capacity: training steps")
    parser.add_argument("--epochs", type=int, default=12, help="grid: epochs per fit")
    parser.add_argument("--n-faces", type=int, default=900, help="grid: sample faces used")
    parser.add_argument("--grid-widths", default=[32, 16],
                        type=lambda text: [int(w) for w in text.split(",")],
                        help="grid: FERNet widths, in the order the search takes them "
                             "(the wider fits cost about 3.3 times as much)")
    parser.add_argument("--photos", default=str(HERE.parents[2] / "shared" / "photos"))
    parser.add_argument("--photo-repeats", type=int, default=60)
    parser.add_argument("--video-seconds", type=float, default=150.0,
                        help="video: the looped clip's length")
    parser.add_argument("--cache", default="build/videos",
                        help="video: where the looped clip is kept")
    parser.add_argument("--steps-only", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--grid-child", type=float, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.steps_only:  # a capacity child process
        print(train_steps(args.steps_only))
        return
    if args.grid_child is not None:  # a plain process's share of the search
        grid_child(args.grid_child, args)
        return
    parts = args.parts.split(",")
    if "capacity" in parts:
        capacity(args.steps)
    if "startup" in parts:
        startup()
    workloads(parts, args)


if __name__ == "__main__":
    main()
