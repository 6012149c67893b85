import gzip
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from fer_sklearn import FERCNNClassifier, FERRNNClassifier, LabelMerger, load_fer2013_sample, load_pretrained
from fer_sklearn import _shipped
from fer_sklearn._checkpoints import dequantize, quantize_int8
from fer_sklearn._shipped import pretrained_info
from fer_sklearn.networks import StudyCNN


@pytest.fixture(scope="module")
def sample():
    return load_fer2013_sample()


NAMES = [("cnn", FERCNNClassifier), ("cnn-ensemble", FERCNNClassifier),
         ("rnn", FERRNNClassifier)]


@pytest.mark.parametrize("name, cls", NAMES)
def test_pretrained_is_fitted_on_seven_codes(name, cls, sample):
    clf = load_pretrained(name)
    assert isinstance(clf, cls)
    assert clf.classes_.tolist() == list(range(7))
    proba = clf.predict_proba(sample.data[:50])
    assert proba.shape == (50, 7)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    # far better than chance (the most frequent class is 25%) on the sample
    assert clf.score(sample.data, sample.target) > 0.45
    merged = LabelMerger().fit(np.arange(7)).merge_proba(proba, clf.classes_)
    assert merged.shape == (50, 6)


def test_pretrained_params_and_size():
    assert load_pretrained("cnn").tta is pretrained_info()["cnn"]["defaults"]["tta"]
    assert load_pretrained("cnn", tta=False).tta is False
    info = pretrained_info()
    assert set(info) >= {"cnn", "cnn-ensemble", "rnn"}
    # one model's entry, by name in any case (issue 23: it was a TypeError)
    assert pretrained_info("RNN") == info["rnn"]
    with pytest.raises(ValueError, match="Unknown pretrained model 'vgg'"):
        pretrained_info("vgg")


def test_unknown_name():
    with pytest.raises(ValueError, match=r"Unknown pretrained model 'vgg'; choose one of \['cnn', 'cnn-ensemble', 'rnn', 'study'\]"):
        load_pretrained("vgg")


def test_tampered_weights_are_refused(tmp_path, monkeypatch):
    package = Path(_shipped.__file__).parent / "pretrained"
    copy = tmp_path / "pretrained"
    shutil.copytree(package, copy)
    data = bytearray((copy / "cnn.pt.gz").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (copy / "cnn.pt.gz").write_bytes(bytes(data))
    monkeypatch.setattr(_shipped, "_package_files", lambda: copy)
    with pytest.raises(OSError, match=r"cnn.pt.gz is corrupted or was altered: sha256 [0-9a-f]{64}, expected"):
        load_pretrained("cnn")


@pytest.mark.parametrize("name", [name for name, _ in NAMES] + ["study"])
def test_int8_files_load_as_float32(name):
    entry, data = _shipped.read_verified(name)
    stored = torch.load(io.BytesIO(gzip.decompress(data)), map_location="cpu", weights_only=True)
    state, scales = stored["state_dict"], stored["scales"]
    assert entry["weights_dtype"] == "int8"
    # every weight matrix is int8 with one scale per row; the rest float16
    assert scales and set(scales) == {k for k, v in state.items() if v.dtype == torch.int8}
    assert all(scales[k].shape == (len(state[k]),) for k in scales)
    assert all(v.dtype == torch.float16 for v in state.values() if v.is_floating_point())
    clf = load_pretrained(name)
    assert all(p.dtype == torch.float32 for p in clf.module_.parameters())
    # every run the file was made from is on record: seed, epochs, wall time
    assert entry["runs"] and all({"seed", "epochs", "wall_seconds"} <= set(run) for run in entry["runs"])


def test_int8_round_trip_is_within_half_a_step():
    generator = torch.Generator().manual_seed(0)
    state = {
        "conv.weight": torch.randn(8, 3, 3, 3, generator=generator),
        "gru.weight_hh": torch.randn(12, 4, generator=generator) * 1e-3,
        "zero.weight": torch.zeros(2, 5),
        "bn.bias": torch.randn(8, generator=generator),
        "bn.num_batches_tracked": torch.tensor(7),
    }
    stored, scales = quantize_int8(state)
    assert set(scales) == {"conv.weight", "gru.weight_hh", "zero.weight"}
    assert stored["conv.weight"].dtype == torch.int8 and stored["bn.bias"].dtype == torch.float16
    assert stored["bn.num_batches_tracked"].dtype == torch.int64
    restored = dequantize(stored, scales)
    for key in scales:
        step = scales[key].reshape(-1, *[1] * (state[key].dim() - 1))
        error = (restored[key] - state[key]).abs()
        assert restored[key].dtype == torch.float32
        assert (error <= step / 2 + 1e-7).all(), key
        # the largest weight of each row maps to +-127 exactly: nothing clipped
        rows = len(state[key])
        torch.testing.assert_close(restored[key].reshape(rows, -1).abs().amax(1),
                                   state[key].reshape(rows, -1).abs().amax(1))
    np.testing.assert_array_equal(restored["zero.weight"], 0)
    np.testing.assert_allclose(restored["bn.bias"], state["bn.bias"], rtol=1e-3)
    assert restored["bn.num_batches_tracked"].item() == 7


@pytest.mark.parametrize("name", [name for name, _ in NAMES])
def test_loading_for_inference_builds_no_optimizer(name, sample):
    clf = load_pretrained(name)
    assert not hasattr(clf, "optimizer_")
    # training on goes on as usual: partial_fit builds the optimizer then,
    # and adds its epoch to the shipped training curve (one-run files carry it)
    clf.set_params(max_epochs=1)
    clf.partial_fit(sample.data[:16], sample.target[:16])
    assert hasattr(clf, "optimizer_")
    assert len(clf.history) == pretrained_info(name)["history_epochs"] + 1


def test_the_default_cnn_is_one_network_distilled_from_the_ensemble():
    info = pretrained_info()
    assert info["cnn"]["network"] == "fernet"
    assert info["cnn"]["teacher"] == "cnn-ensemble"
    assert info["cnn-ensemble"]["network"] == "ensemble"
    assert load_pretrained("cnn").teacher is None  # the shipped estimator does not retrain


def test_a_manifest_entry_without_sha256_is_refused(tmp_path, monkeypatch):
    package = Path(_shipped.__file__).parent / "pretrained"
    copy = tmp_path / "pretrained"
    shutil.copytree(package, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    del manifest["rnn"]["sha256"]
    (copy / "manifest.json").write_text(json.dumps(manifest))
    monkeypatch.setattr(_shipped, "_package_files", lambda: copy)
    with pytest.raises(OSError, match=r"no weights file or sha256 for 'rnn': nothing is loaded unchecked"):
        load_pretrained("rnn")


def test_init_from_pretrained_fine_tunes_a_clone_in_each_fit(sample):
    from sklearn.base import clone

    from fer_sklearn.callbacks import InitFromPretrained

    X, y = sample.data[:96], sample.target[:96]
    shipped = load_pretrained("cnn")
    # lr=0: the weights stay the shipped ones (only BatchNorm statistics move)
    still = FERCNNClassifier(lr=0.0, max_epochs=1, random_state=0,
                             callbacks=[("init", InitFromPretrained("cnn"))]).fit(X, y)
    for key, value in shipped.module_.network.named_parameters():
        torch.testing.assert_close(dict(still.module_.network.named_parameters())[key], value)
    assert (still.pixel_mean_, still.pixel_std_) == (shipped.pixel_mean_, shipped.pixel_std_)
    assert float(still.module_.pixel_mean) == pytest.approx(shipped.pixel_mean_)
    # a clone (as GridSearchCV makes) starts from the shipped weights again
    tuned = clone(still).set_params(lr=1e-3).fit(X, y)
    assert tuned.score(sample.data, sample.target) > 0.5  # from scratch: near chance
    moved = {k: v.clone() for k, v in tuned.module_.network.state_dict().items()}
    first = next(iter(shipped.module_.network.state_dict()))
    assert not torch.equal(moved[first], shipped.module_.network.state_dict()[first])
    # partial_fit goes on from the tuned weights, not from the shipped ones
    tuned.partial_fit(X, y)
    weight = "features.0.weight"
    assert not torch.equal(tuned.module_.network.state_dict()[weight],
                           shipped.module_.network.state_dict()[weight])
    assert len(tuned.history) == 2


def test_init_from_pretrained_refuses_other_classes_or_networks(sample):
    from fer_sklearn.callbacks import InitFromPretrained

    X, y = sample.data[:64], sample.target[:64]
    init = [("init", InitFromPretrained("cnn"))]
    with pytest.raises(ValueError, match=r"InitFromPretrained\('cnn'\): the model knows "
                                         r"the classes \[0, 1, 2, 3, 4, 5, 6\]; y has \[0, 2, 3"):
        FERCNNClassifier(max_epochs=1, callbacks=init).fit(
            X, LabelMerger().fit_transform(y))
    with pytest.raises(ValueError, match=r"the network \(fernet, .*does not fit this "
                                         r"classifier's \(FERNet, \{'width': 8\}\)"):
        FERCNNClassifier(max_epochs=1, module__width=8, callbacks=init).fit(X, y)


def test_the_study_model_is_its_protocol_at_epoch_32(sample):
    study = load_pretrained("study")
    info = pretrained_info()["study"]
    assert isinstance(study.module_.network, StudyCNN)
    assert study.classes_.tolist() == [0, 2, 3, 4, 5, 6]  # Disgust merged into Angry
    assert (study.pixel_mean_, study.pixel_std_) == (0.0, 255.0)  # Keras' rescale=1/255
    assert study.tta is False and info["trained_on"].endswith("6 classes")
    run = info["runs"][0]
    assert run["epoch"] == run["epochs"] == 32 and run["recipe"]["module__init"] == "keras"
    # the run's curve travels with the weights: PublicTest every epoch
    assert len(study.history) == 32
    assert all({"train_loss", "train_acc", "valid_loss", "valid_acc"} <= set(row)
               for row in study.history)
    assert study.history[-1, "valid_acc"] == pytest.approx(run["publictest_acc_6"], abs=0.01)
    y6 = LabelMerger().fit_transform(sample.target)
    assert study.score(sample.data, y6) > 0.45


def test_parameters_are_checked_when_loading(sample):
    # issue 23: tta="no" predicted with flips; a misspelt keyword was ignored
    with pytest.raises(ValueError, match="tta must be True or False; got 'no'"):
        load_pretrained("cnn", tta="no")
    with pytest.raises(ValueError, match=r"unexpected argument\(s\) batchsize"):
        load_pretrained("cnn", batchsize=512)
    # prefixed skorch parameters still pass, optimizer__* too (for partial_fit)
    clf = load_pretrained("rnn", iterator_valid__batch_size=32)
    assert clf.get_params()["optimizer__weight_decay"] == 0.05


@pytest.mark.parametrize("change, pattern", [
    (lambda c: c.update(network="vgg"), r"unknown network 'vgg'"),
    (lambda c: c.pop("classes"), r"the checkpoint has no 'classes'"),
    (lambda c: c.update(state_dict=[1, 2]), r"'state_dict' should be a dict; found list"),
    (lambda c: c["state_dict"].pop(next(iter(c["state_dict"]))), r"weights do not fit"),
    (lambda c: c.update(classes=[0]), r"'classes' should be two or more labels"),
    (lambda c: c.update(pixel_std=0.0), r"'pixel_std' should be > 0"),
])
def test_model_files_from_other_versions_are_a_value_error(tmp_path, change, pattern):
    from fer_sklearn._checkpoints import MODEL_FILE_FORMAT
    from fer_sklearn._pretrained import checkpoint_from_classifier, load_model_file

    clf = load_pretrained("study")
    checkpoint = checkpoint_from_classifier(clf, format=MODEL_FILE_FORMAT)
    change(checkpoint)
    path = tmp_path / "other.pt"
    torch.save(checkpoint, path)
    with pytest.raises(ValueError, match=pattern) as error:
        load_model_file(path)
    assert str(path) in str(error.value)
    # not a dict at all
    torch.save([1, 2, 3], path)
    with pytest.raises(ValueError, match="not a fer_sklearn model file"):
        load_model_file(path)


def test_save_model_file_checks_the_path_first(tmp_path):
    from fer_sklearn._pretrained import load_model_file, save_model_file

    clf = load_pretrained("study")
    with pytest.raises(ValueError, match="is a folder; expected a file name"):
        save_model_file(clf, tmp_path)
    with pytest.raises(ValueError, match="does not exist"):
        save_model_file(clf, tmp_path / "missing" / "m.pt")
    save_model_file(clf, tmp_path / "m.pt")
    assert [p.name for p in tmp_path.iterdir()] == ["m.pt"]  # no temporary left
    np.testing.assert_array_equal(load_model_file(tmp_path / "m.pt").classes_, clf.classes_)


@pytest.mark.parametrize("name", [name for name, _ in NAMES] + ["study"])
def test_the_manifest_says_how_long_a_files_training_curve_is(name):
    # demo --out on the ONNX engine reads the torch weights only for a curve
    assert pretrained_info(name)["history_epochs"] == len(load_pretrained(name).history)


def test_init_from_a_checkpoint_file_of_an_earlier_run(sample, tmp_path):
    from fer_sklearn._pretrained import checkpoint_from_classifier
    from fer_sklearn.callbacks import InitFromPretrained

    X, y = sample.data[:64], sample.target[:64]
    earlier = FERCNNClassifier(max_epochs=1, module__width=8, random_state=0).fit(X, y)
    torch.save(checkpoint_from_classifier(earlier), tmp_path / "last.pt")
    # at a learning rate of 0 the weights stay those it started from
    later = FERCNNClassifier(max_epochs=1, module__width=8, random_state=1, lr=0.0,
                             callbacks=[("init", InitFromPretrained(tmp_path / "last.pt"))])
    later.fit(X, y)
    for (name, started), (_, trained) in zip(earlier.module_.network.named_parameters(),
                                             later.module_.network.named_parameters()):
        assert torch.equal(started, trained), name
    with pytest.raises(ValueError, match=r"expected a shipped model .* or the path of a "
                                         r"checkpoint file; found neither"):
        FERCNNClassifier(max_epochs=1, callbacks=[
            ("init", InitFromPretrained(tmp_path / "missing.pt"))]).fit(X, y)
