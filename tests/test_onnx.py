"""ONNX export: onnxruntime's probabilities match predict_proba on real faces."""

import numpy as np
import pytest

from fer_sklearn import FERRNNClassifier, export_onnx, load_fer2013_sample, load_pretrained

ort = pytest.importorskip("onnxruntime", reason="needs onnxruntime")
pytest.importorskip("onnx", reason="needs onnx")


@pytest.fixture(scope="module")
def faces():
    return load_fer2013_sample().data[:128]


def run_onnx(path, X):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (name,) = [i.name for i in session.get_inputs()]
    assert name == "pixels"
    return session.run(["probabilities"], {name: X.reshape(-1, 1, 48, 48).astype(np.float32)})[0]


@pytest.mark.parametrize("tta", [True, False])
def test_pretrained_cnn_parity_with_and_without_flips(faces, tmp_path, tta):
    clf = load_pretrained("cnn", tta=tta)
    path = export_onnx(clf, tmp_path / "cnn.onnx")  # follows the classifier's tta
    np.testing.assert_allclose(run_onnx(path, faces), clf.predict_proba(faces), atol=1e-5)
    # any batch size
    np.testing.assert_allclose(run_onnx(path, faces[:3]), clf.predict_proba(faces[:3]), atol=1e-5)


def test_tta_argument_overrides_the_classifier(faces, tmp_path):
    clf = load_pretrained("cnn")
    assert clf.tta is True  # the shipped default
    path = export_onnx(clf, tmp_path / "plain.onnx", tta=False)
    plain = load_pretrained("cnn", tta=False).predict_proba(faces)
    np.testing.assert_allclose(run_onnx(path, faces), plain, atol=1e-5)
    with pytest.raises(ValueError, match="tta must be True, False or None"):
        export_onnx(clf, tmp_path / "x.onnx", tta="yes")


def test_rnn_parity_with_string_labels(faces, tmp_path):
    sample = load_fer2013_sample()
    labels = sample.target_names[sample.target[:128]]
    clf = FERRNNClassifier(max_epochs=1, module__hidden_sizes=(4, 8), random_state=0).fit(faces, labels)
    path = export_onnx(clf, tmp_path / "rnn.onnx")
    proba = run_onnx(path, faces)
    np.testing.assert_allclose(proba, clf.predict_proba(faces), atol=1e-5)
    # the GRUs' batch is images x rows of blocks: other batch sizes work too
    np.testing.assert_allclose(run_onnx(path, faces[:3]), clf.predict_proba(faces[:3]), atol=1e-5)
    np.testing.assert_array_equal(clf.classes_[proba.argmax(1)], clf.predict(faces))


def test_unfitted_is_refused(tmp_path):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        export_onnx(FERRNNClassifier(), tmp_path / "x.onnx")


def test_a_numpy_bool_tta_is_a_bool(faces, tmp_path):
    clf = load_pretrained("cnn")
    clf.set_params(tta=np.True_)  # e.g. from a grid made with numpy
    path = export_onnx(clf, tmp_path / "np.onnx")
    np.testing.assert_allclose(run_onnx(path, faces[:8]),
                               load_pretrained("cnn", tta=True).predict_proba(faces[:8]),
                               atol=1e-5)
