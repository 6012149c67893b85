import shutil
from pathlib import Path

import numpy as np
import pytest

from fer_sklearn import FERCNNClassifier, FERRNNClassifier, LabelMerger, load_fer2013_sample, load_pretrained
from fer_sklearn import _pretrained
from fer_sklearn._pretrained import pretrained_info


@pytest.fixture(scope="module")
def sample():
    return load_fer2013_sample()


@pytest.mark.parametrize("name, cls", [("cnn", FERCNNClassifier), ("rnn", FERRNNClassifier)])
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
    assert set(info) >= {"cnn", "rnn"}
    package = Path(_pretrained.__file__).parent / "pretrained"
    total = sum((package / entry["file"]).stat().st_size for entry in info.values())
    assert total <= 10_000_000


def test_unknown_name():
    with pytest.raises(ValueError, match=r"Unknown pretrained model 'vgg'; choose one of \['cnn', 'rnn'\]"):
        load_pretrained("vgg")


def test_tampered_weights_are_refused(tmp_path, monkeypatch):
    package = Path(_pretrained.__file__).parent / "pretrained"
    copy = tmp_path / "pretrained"
    shutil.copytree(package, copy)
    data = bytearray((copy / "cnn.pt.gz").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (copy / "cnn.pt.gz").write_bytes(bytes(data))
    monkeypatch.setattr(_pretrained, "_package_files", lambda: copy)
    with pytest.raises(OSError, match=r"cnn.pt.gz are corrupted or were altered: sha256 [0-9a-f]{64}, expected"):
        load_pretrained("cnn")


@pytest.mark.parametrize("name", ["cnn", "rnn"])
def test_float16_files_load_as_float32(name):
    import gzip
    import io

    import torch

    entry, data = _pretrained._read_verified(name)
    stored = torch.load(io.BytesIO(gzip.decompress(data)), map_location="cpu", weights_only=True)
    floats = [v for v in stored["state_dict"].values() if v.is_floating_point()]
    assert floats and all(v.dtype == torch.float16 for v in floats)
    assert entry["weights_dtype"] == "float16"
    clf = load_pretrained(name)
    assert all(p.dtype == torch.float32 for p in clf.module_.parameters())
    # every run the file was made from is on record: seed, epochs, wall time
    assert entry["runs"] and all({"seed", "epochs", "wall_seconds"} <= set(run) for run in entry["runs"])
