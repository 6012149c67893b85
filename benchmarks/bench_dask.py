"""Speed-up of a GridSearchCV on a Dask cluster: 2 workers against 1.

Runs the same small grid (FERCNNClassifier, 4 candidates x 2 folds) under
``joblib.parallel_backend("dask")`` on a LocalCluster of one worker process,
then of two, each worker with one thread, and prints both times and the
ratio. On a real cluster, pass the scheduler's address instead
(``Client("tcp://scheduler:8786")``); the search code does not change.

Usage::

    python benchmarks/bench_dask.py [--n-images 600] [--epochs 3]
"""

import argparse
import time

import joblib
from distributed import Client, LocalCluster
from sklearn.model_selection import GridSearchCV, StratifiedKFold

from fer_sklearn import FERCNNClassifier, LabelMerger, load_fer2013_sample


def search_time(n_workers, X, y, epochs):
    # one thread per worker process: torch's intra-op threads are set by the
    # environment of the process (set_num_threads only reaches one thread)
    cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                           dashboard_address=None, host="127.0.0.1",
                           env={"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"})
    with cluster, Client(cluster) as client:
        client.run(lambda: __import__("fer_sklearn") and None)  # warm the workers
        search = GridSearchCV(
            FERCNNClassifier(max_epochs=epochs, random_state=0),
            {"lr": [0.01, 0.05], "module__width": [8, 16]},
            cv=StratifiedKFold(2, shuffle=True, random_state=0),
            refit=False,
        )
        started = time.perf_counter()
        with joblib.parallel_backend("dask"):
            search.fit(X, y)
        return time.perf_counter() - started


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n-images", type=int, default=600)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args(argv)
    faces = load_fer2013_sample()
    X = faces.data[: args.n_images]
    y = LabelMerger().fit_transform(faces.target[: args.n_images])
    one = search_time(1, X, y, args.epochs)
    two = search_time(2, X, y, args.epochs)
    print(f"grid of 4 candidates x 2 folds, {len(X)} faces, {args.epochs} epochs each")
    print(f"1 worker : {one:6.1f} s")
    print(f"2 workers: {two:6.1f} s")
    print(f"speed-up : {one / two:6.2f}x")


if __name__ == "__main__":
    main()
