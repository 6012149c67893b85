"""The training recipes: configurations of the estimators, nothing more."""

import math
import pickle

import pytest
import torch
from sklearn.base import clone
from skorch.callbacks import LRScheduler

from fer_sklearn import FERCNNClassifier, FERRNNClassifier
from fer_sklearn._recipes import RECIPES, _SnapshotSchedule, make_classifier, snapshot_epochs
from fer_sklearn.callbacks import SettleAugmentation


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_every_recipe_is_an_estimator_configuration(name):
    clf = make_classifier(name, n_samples=1000)
    recipe = RECIPES[name]
    assert isinstance(clf, FERRNNClassifier if recipe["kind"] == "rnn" else FERCNNClassifier)
    params = clf.get_params()
    for key in ("module", "lr", "batch_size", "max_epochs", "mixed_precision"):
        assert params[key] == recipe[key]
    callbacks = dict(clf.callbacks or [])
    if recipe.get("schedule"):
        assert isinstance(callbacks["lr_policy"], LRScheduler)
    else:
        assert "lr_policy" not in callbacks
    assert clf.lr_schedule is None  # the recipe's policy is the only one
    assert ("settle" in callbacks) == bool(recipe.get("settle_epochs"))
    # clones and pickles like any estimator
    assert clone(clf).get_params()["lr"] == recipe["lr"]
    pickle.loads(pickle.dumps(clf))


def test_the_distillation_recipe():
    clf = make_classifier("cnn-distill", n_samples=28709)
    assert (clf.teacher, clf.distill_weight, clf.distill_temperature) == ("cnn-ensemble", 0.8, 2.0)
    assert clf.criterion__label_smoothing == 0.1 and clf.optimizer.__name__ == "NesterovSGD"
    policy = dict(clf.callbacks)["lr_policy"]
    assert policy.policy is torch.optim.lr_scheduler.OneCycleLR
    assert policy.kwargs == dict(max_lr=0.1, epochs=75, steps_per_epoch=449, pct_start=0.2)
    assert isinstance(dict(clf.callbacks)["settle"], SettleAugmentation)


def test_overrides_and_errors():
    clf = make_classifier("renet", max_epochs=3, n_samples=64, random_state=5, lr=0.01)
    assert (clf.max_epochs, clf.random_state, clf.lr) == (3, 5, 0.01)
    assert dict(clf.callbacks)["lr_policy"].kwargs["epochs"] == 3
    # the schedule follows an overridden rate and batch size (it once kept
    # the recipe's peak rate while the estimator's lr changed)
    tuned = make_classifier("cnn-robust", n_samples=1000, lr=0.001, batch_size=100)
    assert (tuned.lr, tuned.batch_size) == (0.001, 100)
    kwargs = dict(tuned.callbacks)["lr_policy"].kwargs
    assert (kwargs["max_lr"], kwargs["steps_per_epoch"]) == (0.001, 10)
    with pytest.raises(ValueError, match=r"Unknown recipe 'vgg'; choose one of \['cnn', "):
        make_classifier("vgg")
    with pytest.raises(ValueError, match="pass n_samples"):
        make_classifier("cnn")
    assert make_classifier("study").lr_schedule is None  # Adam at a constant rate


def test_snapshot_schedule():
    recipe = dict(RECIPES["cnn-snapshot"])
    assert snapshot_epochs(recipe) == [42, 49, 56, 63, 70, 77]
    schedule = _SnapshotSchedule(recipe, 77, steps_per_epoch=10)
    lr = [recipe["lr"] * schedule(step) for step in range(770)]
    assert lr[0] == pytest.approx(0.1 / 25)
    assert max(lr[:420]) == pytest.approx(0.1, rel=1e-3)
    assert lr[419] < 1e-4  # the one-cycle stage ends near 0
    for start in (420, 490, 560, 630, 700):  # each restart starts at cycle_lr, decays
        assert lr[start] == pytest.approx(0.02)
        assert lr[start + 69] == pytest.approx(0.02 * (1 + math.cos(math.pi * 69 / 70)) / 2)
