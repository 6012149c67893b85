"""GridSearchCV over both classifiers on a real Dask cluster (two worker processes)."""

import pytest
from sklearn.model_selection import GridSearchCV, StratifiedKFold

from fer_sklearn import FERCNNClassifier, FERRNNClassifier, LabelMerger, load_fer2013_sample

distributed = pytest.importorskip("distributed", reason="needs dask.distributed")
joblib = pytest.importorskip("joblib")


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
        host="127.0.0.1",
    )
    with distributed.Client(cluster) as client:
        yield client
    cluster.close()


def test_grid_search_on_a_local_cluster(client):
    faces = load_fer2013_sample()
    X, y = faces.data[:160], LabelMerger().fit_transform(faces.target[:160])
    searches = {
        FERCNNClassifier: GridSearchCV(
            FERCNNClassifier(max_epochs=1, module__width=4, random_state=0),
            {"lr": [0.01, 0.05], "module__width": [4, 6]},
            cv=StratifiedKFold(2, shuffle=True, random_state=0),
        ),
        FERRNNClassifier: GridSearchCV(
            FERRNNClassifier(max_epochs=1, module__hidden_sizes=(4, 8), random_state=0),
            {"lr": [0.001, 0.003]},
            cv=StratifiedKFold(2, shuffle=True, random_state=0),
        ),
    }
    workers = set(client.scheduler_info()["workers"])
    assert len(workers) == 2
    for cls, search in searches.items():
        with joblib.parallel_backend("dask"):
            search.fit(X, y)
        assert isinstance(search.best_estimator_, cls)
        assert len(search.cv_results_["params"]) == len(search.param_grid["lr"]) * (
            2 if "module__width" in search.param_grid else 1)
        assert search.best_estimator_.classes_.tolist() == [0, 2, 3, 4, 5, 6]
        assert set(search.predict(X)) <= {0, 2, 3, 4, 5, 6}
    # the fits ran on the cluster's workers
    assert sum(len(tasks) for tasks in client.processing().values()) == 0
    assert any(
        "_fit_and_score" in key or "batch_of" in key
        for key in map(str, client.run_on_scheduler(
            lambda dask_scheduler: list(dask_scheduler.task_prefixes)))
    )


def test_analyze_on_a_local_cluster_equals_the_serial_run(client, tmp_path):
    import numpy as np
    import pandas as pd
    from PIL import Image

    from fer_sklearn import analyze, load_pretrained

    faces = load_fer2013_sample().images
    for i in range(6):  # 48x48 face crops, as files, in two folders
        folder = tmp_path / f"part{i % 2}"
        folder.mkdir(exist_ok=True)
        Image.fromarray(faces[i]).save(folder / f"face{i}.png")
    model = load_pretrained("rnn", tta=False)
    serial = analyze(tmp_path, model)
    assert len(serial) == 6 and np.all(serial["width"] == 48)
    # a fitted classifier is sent to the workers; a shipped model's name is
    # loaded by each worker (with its shipped defaults, as analyze() does)
    pd.testing.assert_frame_equal(analyze(tmp_path, model, client=client), serial)
    pd.testing.assert_frame_equal(analyze(tmp_path, "rnn", client=client),
                                  analyze(tmp_path, "rnn"))
