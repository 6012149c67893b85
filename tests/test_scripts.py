"""The scripts that make the shipped weights, run end to end on tiny data."""

import gzip
import importlib.util
import io
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from fer_sklearn._pretrained import classifier_from_checkpoint

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def script(name):
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def csv(fer_files, monkeypatch, tmp_path):
    monkeypatch.setenv("FER_SKLEARN_DATA", str(tmp_path / "data_home"))
    return str(fer_files.write_csv())


def test_train_tune_and_export_an_int8_ensemble(csv, tmp_path, fer_files):
    train, export = script("train_pretrained"), script("export_pretrained")
    common = ["--data", csv, "--threads", "1"]
    assert train.main(["cnn", "--epochs", "2", "--out", str(tmp_path / "a"), *common]) == 0
    assert train.main(["cnn-tune", "--init", str(tmp_path / "a" / "best.pt"), "--epochs", "1",
                       "--out", str(tmp_path / "b"), *common]) == 0
    log = json.loads((tmp_path / "b" / "log.json").read_text())
    assert log["init"] == str(tmp_path / "a" / "best.pt") and len(log["log"]) == 1

    into = tmp_path / "pretrained"
    export.main(["cnn", str(tmp_path / "a"), str(tmp_path / "b"), "--into", str(into)])
    manifest = json.loads((into / "manifest.json").read_text())["cnn"]
    assert manifest["weights_dtype"] == "int8" and manifest["module_params"]["n_members"] == 2
    assert [run["run"] for run in manifest["runs"]] == ["a", "b"]
    # run b was fine-tuned from a: its record holds a's; the total counts a once
    assert manifest["runs"][1]["init"] == manifest["runs"][0]
    seconds = [json.loads((tmp_path / run / "log.json").read_text())["wall_seconds"] for run in "ab"]
    assert manifest["total_wall_seconds"] == round(sum(seconds))
    shipped = torch.load(io.BytesIO(gzip.decompress((into / "cnn.pt.gz").read_bytes())),
                         weights_only=True)
    clf = classifier_from_checkpoint(shipped)
    proba = clf.predict_proba(fer_files.pixels[:5])
    assert proba.shape == (5, 7)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    # the second member holds run b's weights, each to within half an int8 step
    tuned = torch.load(tmp_path / "b" / "best.pt", weights_only=True)["state_dict"]
    member = clf.module_.network.members[1].state_dict()
    key = "features.0.weight"
    step = shipped["scales"][f"members.1.{key}"].reshape(-1, 1, 1, 1)
    assert ((member[key] - tuned[key]).abs() <= step / 2 + 1e-7).all()


def test_init_from_another_network_is_refused(csv, tmp_path):
    train = script("train_pretrained")
    common = ["--data", csv, "--threads", "1", "--epochs", "1"]
    train.main(["rnn", "--out", str(tmp_path / "r"), *common])
    with pytest.raises(SystemExit, match=r"best.pt has network 'rnn', this run 'fernet'"):
        train.main(["cnn-tune", "--init", str(tmp_path / "r" / "best.pt"),
                    "--out", str(tmp_path / "t"), *common])
