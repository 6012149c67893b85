import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from fer_sklearn import LabelMerger


def test_default_merges_disgust_into_angry_codes():
    y = np.array([0, 1, 2, 3, 4, 5, 6, 1])
    merger = LabelMerger()
    merged = merger.fit_transform(y)
    np.testing.assert_array_equal(merged, [0, 0, 2, 3, 4, 5, 6, 0])
    assert merged.dtype == y.dtype
    np.testing.assert_array_equal(merger.classes_, [0, 2, 3, 4, 5, 6])
    np.testing.assert_array_equal(merger.input_classes_, np.arange(7))
    assert merger.mapping_ == {1: 0}


def test_default_merges_names():
    y = np.array(["angry", "disgust", "happy", "disgust"])
    merger = LabelMerger().fit(y)
    np.testing.assert_array_equal(merger.transform(y), ["angry", "angry", "happy", "angry"])
    np.testing.assert_array_equal(merger.classes_, ["angry", "happy"])
    capitalised = LabelMerger().fit_transform(["Angry", "Disgust", "Fear"])
    np.testing.assert_array_equal(capitalised, ["Angry", "Angry", "Fear"])


def test_custom_mapping_and_lists():
    merger = LabelMerger({"fear": "surprise", "disgust": "angry"})
    merged = merger.fit_transform(["fear", "surprise", "disgust", "sad"])
    assert merged.tolist() == ["surprise", "surprise", "angry", "sad"]
    assert merger.classes_.tolist() == ["angry", "sad", "surprise"]


def test_unseen_label_is_refused_by_name():
    merger = LabelMerger().fit([0, 1, 2, 3])
    with pytest.raises(ValueError, match=r"y contains labels not seen in fit: \[7\]; LabelMerger was fitted on \[0, 1, 2, 3\]"):
        merger.transform([0, 7])


def test_inverse_transform():
    merger = LabelMerger().fit(np.arange(7))
    back = merger.inverse_transform(merger.transform([1, 0, 6]))
    np.testing.assert_array_equal(back, [0, 0, 6])
    with pytest.raises(ValueError, match=r"not merged classes: \[1\]"):
        merger.inverse_transform([1])


def test_merge_proba_sums_merged_columns():
    merger = LabelMerger().fit(np.arange(7))
    proba = np.array([[0.1, 0.3, 0.1, 0.2, 0.1, 0.1, 0.1], [0, 0, 0, 1.0, 0, 0, 0]])
    merged = merger.merge_proba(proba, classes=np.arange(7))
    assert merged.shape == (2, 6)
    np.testing.assert_allclose(merged[0], [0.4, 0.1, 0.2, 0.1, 0.1, 0.1])
    np.testing.assert_allclose(merged.sum(axis=1), 1)
    # columns in another order are matched by label
    order = np.array([6, 5, 4, 3, 2, 1, 0])
    np.testing.assert_allclose(merger.merge_proba(proba[:, order], classes=order), merged)
    with pytest.raises(ValueError, match=r"proba must have shape \(n_samples, 7\)"):
        merger.merge_proba(proba[:, :6], classes=np.arange(7))
    with pytest.raises(ValueError, match=r"classes holds labels not seen in fit: \[9\]"):
        merger.merge_proba(proba, classes=[0, 1, 2, 3, 4, 5, 9])


def test_bad_parameters_and_inputs():
    with pytest.raises(TypeError, match="must be a dict"):
        LabelMerger(mapping=[(1, 0)]).fit([0, 1])
    with pytest.raises(ValueError, match=r"mapping chains labels: \[0\]"):
        LabelMerger(mapping={1: 0, 0: 2}).fit([0, 1, 2])
    with pytest.raises(ValueError, match="NaN"):
        LabelMerger().fit([0.0, np.nan])
    with pytest.raises(NotFittedError):
        LabelMerger().transform([0])
    assert clone(LabelMerger({1: 0})).get_params() == {"mapping": {1: 0}}


def test_int_codes_in_an_object_array_are_merged():
    y = np.array([0, 1, 2, 6], dtype=object)
    assert LabelMerger().fit_transform(y).tolist() == [0, 0, 2, 6]
    names = np.array(["angry", "disgust"], dtype=object)
    assert LabelMerger().fit_transform(names).tolist() == ["angry", "angry"]
    with pytest.raises(ValueError, match=r"y mixes label names and other values \(e.g. 1 beside 'angry'\)"):
        LabelMerger().fit(np.array(["angry", 1], dtype=object))


def test_a_mapping_that_merges_nothing_is_an_error():
    import re

    with pytest.raises(ValueError, match=re.escape("None of the mapping's labels ['Disgust'] "
                                                   "occur in y")):
        LabelMerger({"Disgust": "Angry"}).fit(np.array(["angry", "disgust", "happy"]))
    with pytest.raises(ValueError, match="occur in y"):
        LabelMerger({1: 0}).fit(np.array(["angry", "disgust"]))
    # the default mapping on already-merged codes merges nothing, and says so by its classes
    assert LabelMerger().fit(np.array([0, 2, 3])).classes_.tolist() == [0, 2, 3]


def test_merge_proba_refuses_classes_named_twice():
    merger = LabelMerger().fit(np.arange(7))
    with pytest.raises(ValueError, match="classes must name each column once"):
        merger.merge_proba(np.full((2, 7), 1 / 7), classes=[0, 0, 2, 3, 4, 5, 6])


def test_target_names_for_a_classification_report():
    from sklearn.metrics import classification_report

    merger = LabelMerger().fit(np.arange(7))
    assert merger.target_names_.tolist() == ["angry", "fear", "happy", "sad", "surprise",
                                             "neutral"]
    y = merger.transform(np.array([0, 1, 2, 3, 4, 5, 6]))
    report = classification_report(y, y, labels=merger.classes_,
                                   target_names=merger.target_names_, zero_division=0)
    assert "fear" in report and "disgust" not in report
    named = LabelMerger().fit(np.array(["Angry", "Disgust", "Happy"]))
    assert named.target_names_.tolist() == ["Angry", "Happy"]
