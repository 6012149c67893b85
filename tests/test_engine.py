"""The ONNX Runtime engine: ONNXClassifier, the shipped graphs, and the
predict path that imports no torch."""

import json
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.frozen import FrozenEstimator
from sklearn.metrics import confusion_matrix
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from fer_sklearn import (FERCNNClassifier, FERRNNClassifier, ONNXClassifier,
                         load_fer2013_sample, load_pretrained, pretrained_info)
from fer_sklearn import _shipped
from fer_sklearn._runtime import FaceGraph, cpu_threads, shipped_graph
from fer_sklearn._validation import check_images

pytest.importorskip("onnx", reason="converting a classifier needs the onnx package")

SHIPPED = ["cnn", "cnn-ensemble", "rnn", "study"]
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def sample():
    return load_fer2013_sample()


@pytest.fixture(scope="module")
def small_cnn(sample):
    return FERCNNClassifier(max_epochs=1, module__width=8, random_state=0).fit(
        sample.data[:200], sample.target[:200])


def test_float32_graph_equals_torch_with_and_without_flips(sample):
    clf = load_pretrained("cnn")
    engine = ONNXClassifier.from_estimator(clf, quantize=None)
    assert engine.dtype_ == "float32" and engine.estimator_ is clf
    np.testing.assert_allclose(engine.predict_proba(sample.data), clf.predict_proba(sample.data),
                               atol=1e-5)
    # one graph serves both: tta=False is the single view
    engine.set_params(tta=False)
    np.testing.assert_allclose(engine.predict_proba(sample.data[:64]),
                               load_pretrained("cnn", tta=False).predict_proba(sample.data[:64]),
                               atol=1e-5)
    # any batch size, and batches of the graph's runs
    engine.set_params(tta=None, batch_size=7)
    np.testing.assert_allclose(engine.predict_proba(sample.data[:10]),
                               clf.predict_proba(sample.data[:10]), atol=1e-5)


def test_rnn_float32_graph_equals_torch(sample):
    clf = FERRNNClassifier(max_epochs=1, module__hidden_sizes=(4, 8), random_state=0,
                           tta=True).fit(sample.data[:128], sample.target[:128])
    engine = ONNXClassifier.from_estimator(clf, quantize=None)
    np.testing.assert_allclose(engine.predict_proba(sample.data[:50]),
                               clf.predict_proba(sample.data[:50]), atol=1e-5)


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_graphs_agree_with_torch(name, sample):
    torch_model = load_pretrained(name, engine="torch")
    fast = load_pretrained(name, engine="onnx")
    assert isinstance(fast, ONNXClassifier)
    assert fast.classes_.tolist() == torch_model.classes_.tolist()
    assert fast.default_tta_ is bool(torch_model.tta)
    agree = np.mean(fast.predict(sample.data) == torch_model.predict(sample.data))
    assert agree >= 0.99, f"{name}: {agree:.4f} of the labels agree"
    proba = fast.predict_proba(sample.data[:20])
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    entry = pretrained_info(name)
    # made from the shipped weights, as recorded
    assert entry["onnx"]["made_from_sha256"] == entry["sha256"]
    assert entry["onnx"]["dtype"] in ("int8", "float32")


def test_int8_where_it_keeps_the_labels_float32_elsewhere():
    info = pretrained_info()
    assert {name: info[name]["onnx"]["dtype"] for name in SHIPPED} == {
        "cnn": "int8", "cnn-ensemble": "int8", "rnn": "float32", "study": "float32"}


def test_all_shipped_files_within_25_mb():
    package = ROOT / "fer_sklearn" / "pretrained"
    total = sum(path.stat().st_size for path in package.iterdir()
                if path.suffix in (".gz", ".onnx"))
    assert total <= 25_000_000, total
    for name, entry in pretrained_info().items():
        assert (package / entry["onnx"]["file"]).stat().st_size == entry["onnx"]["bytes"]


def test_a_changed_graph_is_refused(tmp_path, monkeypatch):
    copy = tmp_path / "pretrained"
    shutil.copytree(ROOT / "fer_sklearn" / "pretrained", copy)
    data = bytearray((copy / "cnn.onnx").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (copy / "cnn.onnx").write_bytes(bytes(data))
    monkeypatch.setattr(_shipped, "_package_files", lambda: copy)
    with pytest.raises(OSError, match=r"cnn.onnx is corrupted or was altered: sha256"):
        load_pretrained("cnn", engine="onnx")
    with pytest.raises(OSError, match=r"cnn.onnx is corrupted"):
        shipped_graph("cnn")
    manifest = json.loads((copy / "manifest.json").read_text())
    del manifest["rnn"]["onnx"]["sha256"]
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(OSError, match=r"no onnx graph file or sha256 for 'rnn'"):
        load_pretrained("rnn", engine="onnx")


def test_string_labels_come_back_as_strings(sample):
    labels = sample.target_names[sample.target[:200]]
    clf = FERCNNClassifier(max_epochs=1, module__width=8, random_state=0).fit(
        sample.data[:200], labels)
    engine = ONNXClassifier.from_estimator(clf, calibration=sample.data[200:456])
    predicted = engine.predict(sample.data[:30])
    assert predicted.dtype.kind == "U"
    assert set(predicted) <= set(clf.classes_)
    assert np.mean(predicted == clf.predict(sample.data[:30])) >= 0.9


def test_a_scikit_learn_citizen(sample, small_cnn):
    engine = ONNXClassifier.from_estimator(small_cnn, calibration=sample.data[300:556])
    X, y = sample.data[:300], sample.target[:300]
    # score, confusion_matrix, Pipeline, cross_val_score on the fitted model
    assert engine.score(X, y) == np.mean(engine.predict(X) == y)
    matrix = confusion_matrix(y, engine.predict(X), labels=engine.classes_)
    assert matrix.sum() == 300
    pipeline = make_pipeline(FunctionTransformer(lambda faces: faces), FrozenEstimator(engine))
    np.testing.assert_array_equal(pipeline.fit(X, y).predict(X[:20]), engine.predict(X[:20]))
    scores = cross_val_score(FrozenEstimator(engine), X, y, cv=3)
    assert scores.shape == (3,) and np.all((0 <= scores) & (scores <= 1))
    # pickling: the session is made again where it is read
    copy = pickle.loads(pickle.dumps(engine))
    np.testing.assert_array_equal(copy.predict_proba(X[:20]), engine.predict_proba(X[:20]))
    # clone: the parameters, unfitted
    cloned = clone(engine)
    assert not hasattr(cloned, "graph_") and cloned.get_params()["quantize"] == "int8"


def test_fit_trains_the_estimator_then_converts(sample):
    estimator = FERCNNClassifier(max_epochs=1, module__width=8, random_state=0)
    engine = ONNXClassifier(estimator, calibration_size=64).fit(sample.data[:200],
                                                                sample.target[:200])
    assert engine.dtype_ == "int8" and engine.estimator_ is not estimator
    agree = np.mean(engine.predict(sample.data[:200])
                    == engine.estimator_.predict(sample.data[:200]))
    assert agree >= 0.95
    with pytest.raises(ValueError, match="fit trains its estimator with torch"):
        ONNXClassifier().fit(sample.data[:20], sample.target[:20])


def test_int8_needs_calibration_faces(small_cnn):
    with pytest.raises(ValueError, match="quantize='int8' needs calibration faces"):
        ONNXClassifier.from_estimator(small_cnn)


def test_quantize_is_checked(small_cnn, sample):
    with pytest.raises(ValueError, match="quantize must be 'int8' or None; got 'int4'"):
        ONNXClassifier.from_estimator(small_cnn, quantize="int4", calibration=sample.data[:8])
    with pytest.raises(ValueError, match="calibration_size must be a whole number"):
        ONNXClassifier(small_cnn, calibration_size=0).fit(sample.data[:8], sample.target[:8])


@pytest.mark.parametrize("params, pattern", [
    (dict(tta="no"), "tta must be True, False or None"),
    (dict(batch_size=0), "batch_size must be a whole number of at least 1"),
    (dict(n_threads=1.5), "n_threads must be a whole number"),
])
def test_parameters_are_checked(sample, params, pattern):
    with pytest.raises(ValueError, match=pattern):
        load_pretrained("cnn", engine="onnx", **params).predict(sample.data[:2])


def test_load_pretrained_refuses_unknown_engines_and_parameters():
    with pytest.raises(ValueError, match=r"engine must be one of \['onnx', 'torch'\]"):
        load_pretrained("cnn", engine="tensorflow")
    with pytest.raises(TypeError, match=r"unexpected argument\(s\) \['lr'\]"):
        load_pretrained("cnn", engine="onnx", lr=0.1)
    assert load_pretrained("CNN", engine="onnx").classes_.tolist() == list(range(7))


def test_pixel_scale_mismatch_is_an_error_on_both_engines(sample):
    for model in (load_pretrained("cnn", engine="onnx"), load_pretrained("cnn")):
        with pytest.raises(ValueError, match="trained on grey levels 0..255"):
            model.predict(sample.data[:5] / 255.0)
    # floats on the training scale are fine
    fast = load_pretrained("cnn", engine="onnx")
    np.testing.assert_array_equal(fast.predict(sample.data[:5].astype(float)),
                                  fast.predict(sample.data[:5]))


def test_threads_follow_torch_or_the_environment():
    import torch

    assert cpu_threads() == torch.get_num_threads()
    code = ("import sys; from fer_sklearn._runtime import cpu_threads; "
            "print(cpu_threads(), 'torch' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert result.stdout.split() == ["1", "False"]
    graph = FaceGraph(shipped_graph("cnn").graph, tta=True, n_threads=1)
    options = graph.session().get_session_options()
    assert options.intra_op_num_threads == 1
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"



def test_a_large_batch_is_cut_across_threads_with_the_same_probabilities(sample):
    graph = shipped_graph("cnn").graph
    faces = check_images(sample.data[:40]).astype(np.float32)
    alone = FaceGraph(graph, tta=True, n_threads=1, batch_size=16)
    split = FaceGraph(graph, tta=True, n_threads=2, batch_size=16)
    np.testing.assert_allclose(split.run(faces), alone.run(faces), atol=1e-5)
    assert set(split._sessions) == {1}  # side by side, on one single-threaded session
    few = FaceGraph(graph, tta=True, n_threads=2)
    np.testing.assert_allclose(few.run(faces[:3]), alone.run(faces[:3]), atol=1e-5)
    assert set(few._sessions) == {2}  # a few faces: one session on both threads


def test_a_pool_thread_runs_single_threaded():
    from concurrent.futures import ThreadPoolExecutor

    from fer_sklearn._runtime import one_thread_here

    import torch

    before = cpu_threads()
    with ThreadPoolExecutor(2, initializer=one_thread_here) as pool:
        assert list(pool.map(lambda _: cpu_threads(), range(4))) == [1] * 4
    assert cpu_threads() == before == torch.get_num_threads()  # the caller's untouched


NO_TORCH = """
import sys
{body}
loaded = sorted(m for m in ("torch", "skorch", "sklearn") if m in sys.modules)
print("LOADED", loaded)
"""


@pytest.mark.parametrize("body", [
    "from fer_sklearn import analyze\n"
    "table = analyze(sys.argv[1])\nassert len(table) == 1, table",
    "from fer_sklearn.cli import main\nassert main(['predict', sys.argv[1], '--json']) == 0",
])
def test_the_predict_path_imports_no_torch(tmp_path, sample, body):
    from PIL import Image

    photo = tmp_path / "face.png"
    Image.fromarray(sample.images[3]).resize((200, 200)).save(photo)
    result = subprocess.run([sys.executable, "-c", NO_TORCH.format(body=body), str(photo)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "LOADED []" in result.stdout


def test_the_package_has_no_import_cycle():
    tool = ROOT.parent / "shared" / "tools" / "import_graph.py"
    if not tool.is_file():
        pytest.skip(f"{tool} not found: the import-graph tool lives beside the checkout")
    result = subprocess.run([sys.executable, str(tool), "fer_sklearn"], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
    assert "0 cycles" in result.stdout
