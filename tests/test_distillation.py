"""Knowledge distillation in the classifiers: ``teacher`` and ``teacher_proba``."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import GridSearchCV, cross_val_score
from skorch.callbacks import Callback

from fer_sklearn import FERCNNClassifier, FERRNNClassifier, LabelMerger, load_fer2013_sample
from fer_sklearn.callbacks import SettleAugmentation

FAST = dict(max_epochs=2, module__width=4, batch_size=32, random_state=0)


@pytest.fixture(scope="module")
def faces():
    sample = load_fer2013_sample()
    keep = np.concatenate([np.flatnonzero(sample.target == c)[:12] for c in range(7)])
    return sample.data[keep], sample.target[keep]


@pytest.fixture(scope="module")
def teacher(faces):
    X, y = faces
    return FERCNNClassifier(**FAST).fit(X, y)


def test_teacher_and_precomputed_probabilities_train_the_same_model(faces, teacher):
    X, y = faces
    by_teacher = FERCNNClassifier(**FAST, teacher=FrozenEstimator(teacher)).fit(X, y)
    by_proba = FERCNNClassifier(**FAST).fit(X, y, teacher_proba=teacher.predict_proba(X))
    np.testing.assert_array_equal(by_teacher.predict_proba(X), by_proba.predict_proba(X))


def test_distill_weight_zero_is_plain_training(faces, teacher):
    X, y = faces
    plain = FERCNNClassifier(**FAST).fit(X, y)
    distilled = FERCNNClassifier(**FAST, distill_weight=0.0).fit(
        X, y, teacher_proba=teacher.predict_proba(X))
    np.testing.assert_allclose(plain.predict_proba(X), distilled.predict_proba(X), atol=1e-6)


def test_one_hot_teacher_at_temperature_one_is_cross_entropy(faces):
    # KL(one-hot || softmax) is the cross-entropy: the same model as plain training
    X, y = faces
    one_hot = np.eye(7)[y]
    plain = FERCNNClassifier(**FAST).fit(X, y)
    distilled = FERCNNClassifier(**FAST, distill_weight=1.0, distill_temperature=1.0).fit(
        X, y, teacher_proba=one_hot)
    np.testing.assert_allclose(plain.predict_proba(X), distilled.predict_proba(X), atol=1e-4)


def test_loss_formula():
    clf = FERCNNClassifier(distill_weight=0.3, distill_temperature=4.0,
                           criterion__label_smoothing=0.1)
    clf._initialize_criterion()
    torch.manual_seed(0)
    logits = torch.randn(5, 3)
    labels = torch.tensor([0, 1, 2, 1, 0])
    teacher = torch.softmax(torch.randn(5, 3), dim=1)
    targets = torch.cat([labels[:, None].float(), teacher], dim=1)
    loss = clf.get_loss(logits, targets, training=True)
    soft = torch.softmax(torch.log(teacher) / 4, dim=1)
    kl = (soft * (soft.log() - F.log_softmax(logits / 4, dim=1))).sum(1).mean()
    expected = 0.7 * F.cross_entropy(logits, labels, label_smoothing=0.1) + 0.3 * 16 * kl
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
    # plain labels: the criterion alone
    assert clf.get_loss(logits, labels).item() == pytest.approx(
        F.cross_entropy(logits, labels, label_smoothing=0.1).item(), rel=1e-6)


def test_grid_search_and_cross_validation_over_distillation(faces, teacher):
    X, y = faces
    clf = FERCNNClassifier(**FAST, teacher=FrozenEstimator(teacher))
    assert clone(clf).teacher is clf.teacher  # FrozenEstimator clones to itself
    search = GridSearchCV(clf, {"distill_weight": [0.2, 0.9],
                                "distill_temperature": [1.0, 3.0]}, cv=2).fit(X, y)
    assert len(search.cv_results_["params"]) == 4
    assert search.best_estimator_.teacher is clf.teacher
    # precomputed probabilities are split with X, fold by fold
    scores = cross_val_score(FERCNNClassifier(**FAST), X, y, cv=2,
                             params={"teacher_proba": teacher.predict_proba(X)})
    assert scores.shape == (2,) and np.all((0 <= scores) & (scores <= 1))


def test_an_unfrozen_teacher_cloned_unfitted_is_explained(faces, teacher):
    X, y = faces
    clf = clone(FERCNNClassifier(**FAST, teacher=teacher))
    with pytest.raises(NotFittedError, match="FrozenEstimator"):
        clf.fit(X, y)


def test_teacher_classes_must_match(faces, teacher):
    X, y = faces
    y6 = LabelMerger().fit_transform(y)
    with pytest.raises(ValueError, match=r"teacher predicts classes \[0, 1, 2, 3, 4, 5, 6\], "
                                         r"y holds \[0, 2, 3, 4, 5, 6\].*merge_proba"):
        FERCNNClassifier(**FAST, teacher=FrozenEstimator(teacher)).fit(X, y6)
    # the way out the message names
    merger = LabelMerger().fit(np.arange(7))
    proba = merger.merge_proba(teacher.predict_proba(X), teacher.classes_)
    clf = FERCNNClassifier(**FAST).fit(X, y6, teacher_proba=proba)
    assert clf.classes_.tolist() == [0, 2, 3, 4, 5, 6]


def test_string_labels_with_a_teacher(faces):
    X, y = faces
    names = np.array(["a", "b", "c", "d", "e", "f", "g"])[y]
    teacher = FERCNNClassifier(**FAST).fit(X, names)
    clf = FERRNNClassifier(max_epochs=1, module__hidden_sizes=(4, 8), random_state=0,
                           teacher=FrozenEstimator(teacher)).fit(X, names)
    assert set(clf.predict(X)) <= set(names)


@pytest.mark.parametrize("proba, pattern", [
    (np.full((3, 7), 1 / 7), r"shape \(84, 7\).*got shape \(3, 7\)"),
    (np.full((84, 6), 1 / 6), r"shape \(84, 7\).*got shape \(84, 6\)"),
    (np.full((84, 7), 0.5), r"summing to 1\); 84 rows are not, the first is row 0"),
    (np.vstack([np.full((83, 7), 1 / 7), [[np.nan] * 7]]), r"the first is row 83"),
])
def test_bad_teacher_proba(faces, proba, pattern):
    X, y = faces
    with pytest.raises(ValueError, match=pattern):
        FERCNNClassifier(**FAST).fit(X, y, teacher_proba=proba)


@pytest.mark.parametrize("params, pattern", [
    (dict(distill_weight=1.5), "distill_weight must be in"),
    (dict(distill_temperature=0), "distill_temperature must be > 0"),
    (dict(teacher=object()), "teacher must be a fitted classifier"),
])
def test_bad_distillation_parameters(faces, params, pattern):
    X, y = faces
    with pytest.raises((ValueError, TypeError), match=pattern):
        FERCNNClassifier(**FAST, **params).fit(X, y)


def test_partial_fit_distils_too(faces, teacher):
    X, y = faces
    proba = teacher.predict_proba(X)
    clf = FERCNNClassifier(**FAST).fit(X, y, teacher_proba=proba)
    before = clf.predict_proba(X)
    clf.partial_fit(X, y, teacher_proba=proba)
    assert len(clf.history) == 4 and not np.allclose(before, clf.predict_proba(X))


class _Augment(Callback):
    def on_epoch_begin(self, net, **kwargs):
        self.seen = getattr(self, "seen", []) + [net.augment_shift]


@pytest.mark.parametrize("stage_ends, expected", [
    (None, ["full", "full", "flips", "flips"]),
    ([2, 4], ["full", "flips", "full", "flips"]),
])
def test_settle_augmentation(faces, stage_ends, expected):
    X, y = faces
    seen = _Augment()
    clf = FERCNNClassifier(**{**FAST, "max_epochs": 4}, callbacks=[
        SettleAugmentation(epochs=2 if stage_ends is None else 1, stage_ends=stage_ends), seen])
    clf.fit(X, y)
    assert clf.history[:, "augment"] == expected
    assert seen.seen == [0.1 if kind == "full" else 0.0 for kind in expected]
    assert clf.augment_shift == 0.1  # restored after training


def test_training_batches_are_shuffled(faces):
    X, y = faces

    class FirstBatch(Callback):
        def on_batch_begin(self, net, batch=None, training=False, **kwargs):
            if training and not self.started:
                self.labels.append(batch[1].tolist())
                self.started = True

        def on_epoch_begin(self, net, **kwargs):
            self.started = False

    record = FirstBatch()
    record.labels = []
    FERCNNClassifier(**{**FAST, "max_epochs": 3}, callbacks=[record]).fit(X, np.sort(y))
    # sorted labels would give the same all-angry first batch every epoch
    assert len({tuple(labels) for labels in record.labels}) == 3
    assert set(record.labels[0]) != {0}


def test_a_shipped_teacher_gives_its_network_probabilities_at_temperature_one():
    from fer_sklearn import load_pretrained

    assert load_pretrained("cnn").temperature != 1.0  # shipped calibrated
    teacher = FERCNNClassifier(teacher="cnn")._teacher_estimator()
    assert teacher.temperature == 1.0 and teacher.tta is True
