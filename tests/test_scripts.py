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


def test_snapshot_run_saves_each_stage_and_exports_the_snapshots(csv, tmp_path, fer_files):
    train, export = script("train_pretrained"), script("export_pretrained")
    train.RECIPES["cnn-snapshot"].update(cycles=2, cycle_epochs=2, settle_epochs=1)
    run = tmp_path / "s"
    assert train.main(["cnn-snapshot", "--epochs", "2", "--out", str(run),
                       "--data", csv, "--threads", "1"]) == 0
    log = json.loads((run / "log.json").read_text())
    assert log["epochs"] == 6 and [entry["epoch"] for entry in log["log"]] == [1, 2, 3, 4, 5, 6]
    # PublicTest is read at the end of each stage only: the one-cycle stage, two restarts
    evaluated = [entry["epoch"] for entry in log["log"] if "publictest_acc" in entry]
    assert evaluated == [2, 4, 6]
    assert [entry.get("snapshot_ensemble_acc") is not None for entry in log["log"]] == \
        [False, True, False, True, False, True]
    # the last epoch of each stage sees flips only
    full = train.RECIPES["cnn"]["augment"]
    assert [entry["augment"] for entry in log["log"]] == [full, {"flip": True}] * 3
    for k, epoch in enumerate(evaluated):
        assert torch.load(run / f"snapshot{k}.pt", weights_only=True)["epoch"] == epoch
    assert not (run / "snapshot3.pt").exists()

    into = tmp_path / "pretrained"
    export.main(["cnn", *(str(run / f"snapshot{k}.pt") for k in range(3)), "--into", str(into)])
    manifest = json.loads((into / "manifest.json").read_text())["cnn"]
    assert manifest["module_params"]["n_members"] == 3
    assert [(r["run"], r["checkpoint"], r["epoch"]) for r in manifest["runs"]] == [
        ("s", "snapshot0.pt", 2), ("s", "snapshot1.pt", 4), ("s", "snapshot2.pt", 6)]
    # three snapshots, one run: its time counts once
    assert manifest["total_wall_seconds"] == round(log["wall_seconds"])


def test_init_from_another_network_is_refused(csv, tmp_path):
    train = script("train_pretrained")
    common = ["--data", csv, "--threads", "1", "--epochs", "1"]
    train.main(["rnn", "--out", str(tmp_path / "r"), *common])
    with pytest.raises(SystemExit, match=r"best.pt has network 'rnn', this run 'fernet'"):
        train.main(["cnn-tune", "--init", str(tmp_path / "r" / "best.pt"),
                    "--out", str(tmp_path / "t"), *common])
