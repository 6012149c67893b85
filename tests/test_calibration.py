"""Probability temperature: predictions unchanged, both engines alike,
checked, carried by model files and shipped models; the calibration error."""

import numpy as np
import pytest

from fer_sklearn import FERCNNClassifier, load_fer2013_sample, load_pretrained, pretrained_info
from fer_sklearn._metrics import expected_calibration_error
from fer_sklearn._pretrained import load_model_file, save_model_file

SHIPPED = ["cnn", "cnn-ensemble", "rnn", "study"]


@pytest.fixture(scope="module")
def sample():
    return load_fer2013_sample()


@pytest.fixture(scope="module")
def small_cnn(sample):
    return FERCNNClassifier(max_epochs=1, module__width=8, random_state=0, tta=True).fit(
        sample.data[:200], sample.target[:200])


@pytest.mark.parametrize("temperature", [0.5, 0.88, 2.0])
def test_temperature_changes_probabilities_not_labels(small_cnn, sample, temperature):
    X = sample.data[:100]
    raw = small_cnn.set_params(temperature=1.0).predict_proba(X)
    tempered = small_cnn.set_params(temperature=temperature).predict_proba(X)
    try:
        np.testing.assert_array_equal(small_cnn.predict(X), small_cnn.classes_[raw.argmax(1)])
        np.testing.assert_allclose(tempered.sum(axis=1), 1, rtol=1e-5)
        # softmax(logits / T) from softmax(logits)
        expected = raw.astype(np.float64) ** (1 / temperature)
        expected /= expected.sum(axis=1, keepdims=True)
        np.testing.assert_allclose(tempered, expected, rtol=1e-4, atol=1e-6)
        top = tempered.max(axis=1).mean()
        assert (top > raw.max(axis=1).mean()) == (temperature < 1)
    finally:
        small_cnn.set_params(temperature=1.0)


@pytest.mark.parametrize("bad", [0, -1.0, float("nan"), float("inf"), "0.9", True, None])
def test_a_bad_temperature_is_an_error(small_cnn, sample, bad):
    small_cnn.set_params(temperature=bad)
    try:
        with pytest.raises(ValueError, match="temperature must be a finite number > 0"):
            small_cnn.predict_proba(sample.data[:2])
        with pytest.raises(ValueError, match="temperature"):
            FERCNNClassifier(max_epochs=1, temperature=bad).fit(sample.data[:8], sample.target[:8])
    finally:
        small_cnn.set_params(temperature=1.0)


def test_the_onnx_graph_divides_by_the_same_temperature(small_cnn, sample):
    pytest.importorskip("onnx", reason="converting a classifier needs the onnx package")
    from fer_sklearn import ONNXClassifier

    small_cnn.set_params(temperature=0.7)
    try:
        engine = ONNXClassifier.from_estimator(small_cnn, quantize=None)
        np.testing.assert_allclose(engine.predict_proba(sample.data[:50]),
                                   small_cnn.predict_proba(sample.data[:50]), atol=1e-5)
    finally:
        small_cnn.set_params(temperature=1.0)


def test_model_files_keep_the_temperature(small_cnn, sample, tmp_path):
    small_cnn.set_params(temperature=0.8)
    try:
        save_model_file(small_cnn, tmp_path / "m.pt")
        loaded = load_model_file(tmp_path / "m.pt")
        assert loaded.temperature == pytest.approx(0.8)
        np.testing.assert_allclose(loaded.predict_proba(sample.data[:20]),
                                   small_cnn.predict_proba(sample.data[:20]), atol=1e-6)
    finally:
        small_cnn.set_params(temperature=1.0)


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_models_carry_their_fitted_temperature(name, sample):
    entry = pretrained_info(name)
    record = entry["temperature"]
    key = "ECE 6 classes"
    for form in ("number", "curve"):
        assert record[form]["labels_changed"]["model's classes"] == 0
    # the form with the lower cross-fitted error ships where it lowered the
    # error at temperature 1; else 1
    best = min(("number", "curve"), key=lambda form: record[form]["whole"][key])
    lowered = record[best]["whole"][key] < record["before"]["whole"][key]
    assert record["shipped"] == (best if lowered else None)
    expected = record[best]["value"] if lowered else 1.0
    assert entry["defaults"]["temperature"] == expected == record["value"]
    clf = load_pretrained(name)
    assert clf.temperature == expected
    raw = load_pretrained(name, temperature=1.0)
    X = sample.data[:64]
    np.testing.assert_array_equal(clf.predict(X), raw.predict(X))


def test_expected_calibration_error():
    classes = np.array(["a", "b"])
    # four faces at 0.75 (three right), four at 0.5 (two right): calibrated
    proba = np.array([[0.75, 0.25]] * 4 + [[0.5, 0.5]] * 4)
    y = np.array(["a", "a", "a", "b", "a", "a", "b", "b"])
    assert expected_calibration_error(y, proba, classes) == pytest.approx(0.0)
    # all at 0.9, half right: |0.5 - 0.9|
    proba = np.array([[0.9, 0.1]] * 4)
    y = np.array(["a", "b", "a", "b"])
    assert expected_calibration_error(y, proba, classes) == pytest.approx(0.4)
    # bins weighted by size: 2 faces at 1.0 all right, 2 at 0.6 none right
    proba = np.array([[1.0, 0.0]] * 2 + [[0.6, 0.4]] * 2)
    y = np.array(["a", "a", "b", "b"])
    assert expected_calibration_error(y, proba, classes) == pytest.approx(0.5 * 0.6)
    with pytest.raises(ValueError, match="proba must have shape"):
        expected_calibration_error(y, proba[:3], classes)


CURVE = (-0.6, 1.7, -1.3)  # T = exp(a + b*c + d*c**2): 0.74 at c=0.2, 0.89 at 0.9


def test_a_temperature_curve_tempers_each_face_at_its_own_temperature(small_cnn, sample):
    X = sample.data[:100]
    raw = small_cnn.set_params(temperature=1.0).predict_proba(X).astype(np.float64)
    try:
        curved = small_cnn.set_params(temperature=list(CURVE)).predict_proba(X)
        np.testing.assert_array_equal(small_cnn.predict(X), small_cnn.classes_[raw.argmax(1)])
        c = raw.max(axis=1, keepdims=True)
        T = np.exp(CURVE[0] + CURVE[1] * c + CURVE[2] * c**2)
        expected = raw ** (1 / T)
        expected /= expected.sum(axis=1, keepdims=True)
        np.testing.assert_allclose(curved, expected, rtol=1e-4, atol=1e-6)
        # a curve that is flat is one number
        flat = small_cnn.set_params(temperature=(np.log(0.8), 0.0, 0.0)).predict_proba(X)
        np.testing.assert_allclose(
            flat, small_cnn.set_params(temperature=0.8).predict_proba(X), atol=1e-6)
    finally:
        small_cnn.set_params(temperature=1.0)


@pytest.mark.parametrize("bad", [(1.0, 2.0), (0.0, float("nan"), 0.0), ("a", 0, 0),
                                 (0, True, 0), []])
def test_a_bad_temperature_curve_is_an_error(small_cnn, sample, bad):
    small_cnn.set_params(temperature=bad)
    try:
        with pytest.raises(ValueError, match=r"or a curve \(a, b, d\) of three finite numbers"):
            small_cnn.predict_proba(sample.data[:2])
    finally:
        small_cnn.set_params(temperature=1.0)


def test_the_onnx_graph_follows_a_temperature_curve(small_cnn, sample):
    pytest.importorskip("onnx", reason="converting a classifier needs the onnx package")
    from fer_sklearn import ONNXClassifier

    small_cnn.set_params(temperature=CURVE)
    try:
        expected = small_cnn.predict_proba(sample.data[:50])
        engine = ONNXClassifier.from_estimator(small_cnn, quantize=None)
        np.testing.assert_allclose(engine.predict_proba(sample.data[:50]), expected, atol=1e-5)
    finally:
        small_cnn.set_params(temperature=1.0)


def test_model_files_keep_a_temperature_curve(small_cnn, sample, tmp_path):
    small_cnn.set_params(temperature=CURVE)
    try:
        save_model_file(small_cnn, tmp_path / "m.pt")
        loaded = load_model_file(tmp_path / "m.pt")
        assert tuple(loaded.temperature) == pytest.approx(CURVE)
        np.testing.assert_allclose(loaded.predict_proba(sample.data[:20]),
                                   small_cnn.predict_proba(sample.data[:20]), atol=1e-6)
    finally:
        small_cnn.set_params(temperature=1.0)
