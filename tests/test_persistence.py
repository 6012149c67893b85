"""Models written by a released version load and predict the same today.

The files in ``fixtures/release-42c4440`` were fitted, pickled and saved by
fer_sklearn at commit 42c4440 (``fixtures/make_release_models.py`` says
how): a pickled CNN on string labels and its ``save_params``, a pickled
RNN on the merged codes and its model file.
"""

import pickle
from pathlib import Path

import numpy as np
import pytest

from fer_sklearn import FERCNNClassifier, load_fer2013_sample
from fer_sklearn._pretrained import load_model_file

RELEASE = Path(__file__).parent / "fixtures" / "release-42c4440"


@pytest.fixture(scope="module")
def expected():
    return np.load(RELEASE / "expected.npz")


@pytest.fixture(scope="module")
def probe():
    return load_fer2013_sample().data[:100]


def check_same(clf, probe, expected, prefix):
    np.testing.assert_array_equal(clf.predict(probe), expected[f"{prefix}_labels"])
    np.testing.assert_allclose(clf.predict_proba(probe), expected[f"{prefix}_proba"],
                               rtol=0, atol=1e-6)


def test_a_pickled_cnn_on_string_labels(probe, expected):
    clf = pickle.loads((RELEASE / "cnn.pkl").read_bytes())
    assert clf.classes_.dtype.kind == "U"
    check_same(clf, probe, expected, "cnn")
    # parameters added since read as their defaults, which is what it did
    assert clf.get_params()["augment_photo"] == 0.0


def test_save_params_of_the_release_loads_into_a_new_classifier(probe, expected):
    clf = FERCNNClassifier(module__width=4)
    clf.load_params(f_params=str(RELEASE / "cnn_params.pt"))
    check_same(clf, probe, expected, "cnn")


def test_a_pickled_rnn_and_its_model_file(probe, expected):
    pickled = pickle.loads((RELEASE / "rnn.pkl").read_bytes())
    assert pickled.classes_.tolist() == [0, 2, 3, 4, 5, 6] and pickled.tta
    check_same(pickled, probe, expected, "rnn")
    check_same(load_model_file(RELEASE / "rnn_model.pt"), probe, expected, "rnn")


def test_a_release_pickle_trains_on(probe):
    clf = pickle.loads((RELEASE / "cnn.pkl").read_bytes())
    names = np.asarray(load_fer2013_sample().target_names)[load_fer2013_sample().target[:100]]
    clf.partial_fit(probe, names)
    assert len(clf.history) == 2
