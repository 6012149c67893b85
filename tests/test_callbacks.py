"""TrainingState: a fit stopped and resumed ends as an uninterrupted one."""

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback, LRScheduler

from fer_sklearn import FERCNNClassifier, load_fer2013_sample
from fer_sklearn.callbacks import SettleAugmentation, TrainingState


class StopAfter(Callback):
    """Raise KeyboardInterrupt at the end of an epoch, as a killed run stops
    (skorch ends the fit there; TrainingState, last, has not saved it)."""

    def __init__(self, epoch=None):
        self.epoch = epoch

    def on_epoch_end(self, net, **kwargs):
        if self.epoch and len(net.history) == self.epoch:
            raise KeyboardInterrupt


def classifier(path, *, resume=False, stop=None):
    schedule = LRScheduler(torch.optim.lr_scheduler.OneCycleLR, step_every="batch",
                           max_lr=0.05, epochs=4, steps_per_epoch=3)
    return FERCNNClassifier(
        module__width=4, max_epochs=4, batch_size=32, random_state=0, lr_schedule=None,
        augment_photo=0.5, augment_aspect=0.3,
        callbacks=[("stop", StopAfter(stop)), ("lr_policy", schedule),
                   ("settle", SettleAugmentation(1)),
                   ("state", TrainingState(str(path), resume=resume))])


@pytest.fixture(scope="module")
def faces():
    sample = load_fer2013_sample()
    return sample.images[:96], sample.target[:96], sample.images[96:160]


def test_a_resumed_fit_is_the_uninterrupted_fit(faces, tmp_path):
    X, y, probe = faces
    whole = classifier(tmp_path / "whole.pt").fit(X, y)
    classifier(tmp_path / "cut.pt", stop=3).fit(X, y)
    done = TrainingState.epochs_done(tmp_path / "cut.pt")
    assert done == 2  # epoch 3 stopped before its state was saved
    resumed = classifier(tmp_path / "cut.pt", resume=True).fit(X, y, epochs=4 - done)
    for key, value in whole.module_.state_dict().items():
        if torch.is_tensor(value):
            assert torch.equal(value, resumed.module_.state_dict()[key]), key
    assert resumed.history[:, "train_loss"] == pytest.approx(whole.history[:, "train_loss"],
                                                             rel=0, abs=0)
    assert resumed.history[:, "augment"] == ["full", "full", "full", "flips"]
    np.testing.assert_array_equal(whole.predict_proba(probe), resumed.predict_proba(probe))


def test_it_must_come_last_and_have_a_state_to_resume(faces, tmp_path):
    X, y, _ = faces
    with pytest.raises(ValueError, match="no saved state"):
        classifier(tmp_path / "missing.pt", resume=True).fit(X, y)
    early = FERCNNClassifier(module__width=4, max_epochs=1, callbacks=[
        ("state", TrainingState(str(tmp_path / "s.pt"))), ("stop", StopAfter())])
    with pytest.raises(ValueError, match="must be the last callback.*'stop'"):
        early.fit(X, y)
    assert TrainingState.epochs_done(tmp_path / "nothing.pt") == 0
