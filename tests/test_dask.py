"""GridSearchCV over both classifiers on a real Dask cluster (two worker processes)."""

from pathlib import Path

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


MEDIA = Path(__file__).resolve().parents[2] / "shared" / "media"
TALKING = MEDIA / "one-man-talking.mp4"


@pytest.mark.skipif(not TALKING.is_file(), reason=f"no real videos at {MEDIA}")
def test_videos_in_spans_on_a_local_cluster_equal_the_serial_run(client, tmp_path):
    import warnings
    from unittest import mock

    import pandas as pd

    from fer_sklearn import _dask, analyze, load_pretrained
    from fer_sklearn._sources import UnreadableFileWarning, VideoBrokeOff
    from tests.test_video import two_people_with_a_cut

    model = load_pretrained("rnn", tta=False)
    pair = two_people_with_a_cut(tmp_path / "pair.mp4")
    cut = tmp_path / "cut.mp4"
    data = TALKING.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    faces = load_fer2013_sample().images
    # the real clip (472 frames, 19.7 s) in spans of 4 s, and the two-person
    # clip with a cut (90 frames) in spans of 1 s; one photo between them
    with mock.patch.object(_dask, "SPAN_SECONDS", 1.0):
        spans = _dask._spans(("pair", "video", pair), dict(every=1, fps=None))
        assert [(warm, start) for warm, start, _ in spans] == [(0, 0), (8, 30), (38, 60)]
    cases = [  # options, sources, span length: 3 spans of the pair, 4 of the clip
        (dict(every=1), [pair, faces[0]], 1.0),
        (dict(every=3), [TALKING, faces[0]], 4.0),
        (dict(fps=5.0), [faces[0], TALKING], 4.0),
    ]
    for options, sources, span in cases:
        serial = analyze(sources, model, **options)
        with mock.patch.object(_dask, "SPAN_SECONDS", span):
            video = next(source for source in sources if isinstance(source, Path))
            parts = _dask._spans(("video", "video", video),
                                 dict(dict(every=1, fps=None), **options))
            assert len(parts) >= 3
            spread = analyze(sources, model, client=client, **options)
        pd.testing.assert_frame_equal(spread, serial)
        faces_seen = spread[spread["source"] == str(video)]["face"].nunique()
        # one person keeps one id across the spans; the pair: two, two new after the cut
        assert faces_seen == (4 if video == pair else 1)
    # a video that breaks off: the frames before the break and the same
    # warning, nothing from the spans after it
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        serial = analyze([cut, faces[0]], model, every=2)
    with mock.patch.object(_dask, "SPAN_SECONDS", 4.0):
        with pytest.warns(UnreadableFileWarning) as spread_caught:
            spread = analyze([cut, faces[0]], model, every=2, client=client)
        pd.testing.assert_frame_equal(spread, serial)
        assert spread.attrs["errors"] == serial.attrs["errors"]
        assert [str(w.message) for w in spread_caught] == \
            [str(w.message) for w in caught if w.category is UnreadableFileWarning]
        with pytest.raises(VideoBrokeOff, match="decoding stopped after frame"):
            analyze([cut], model, every=2, client=client, errors="raise")
