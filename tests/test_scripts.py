"""The scripts that make the shipped weights, run end to end on tiny data."""

import gzip
import importlib.util
import io
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from fer_sklearn import _recipes
from fer_sklearn._classifiers import classifier_from_checkpoint

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def script(name):
    return script_at(SCRIPTS, name)


def script_at(folder, name):
    spec = importlib.util.spec_from_file_location(name, folder / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def csv(fer_files, monkeypatch, tmp_path):
    monkeypatch.setenv("FER_SKLEARN_DATA", str(tmp_path / "data_home"))
    return str(fer_files.write_csv())


def test_train_and_export_an_int8_ensemble(csv, tmp_path, fer_files):
    train, export = script("train_pretrained"), script("export_pretrained")
    common = ["--data", csv, "--threads", "1", "--epochs", "2"]
    for run, seed in (("a", "0"), ("b", "1")):
        assert train.main(["cnn", "--seed", seed, "--out", str(tmp_path / run), *common]) == 0
    log = json.loads((tmp_path / "a" / "log.json").read_text())
    assert [entry["epoch"] for entry in log["log"]] == [1, 2]
    assert log["recipe"]["module__width"] == 32 and log["seed"] == 0
    # one-cycle stepped every batch by skorch's LRScheduler (one batch an
    # epoch here): each epoch's rate is torch's OneCycleLR's
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    policy = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.1, epochs=2,
                                                 steps_per_epoch=1, pct_start=0.2)
    expected = []
    for _ in range(2):
        expected.append(policy.get_last_lr()[0])
        optimizer.step(), policy.step()
    assert [entry["lr"] for entry in log["log"]] == pytest.approx(expected)
    checkpoint = torch.load(tmp_path / "a" / "last.pt", weights_only=True)
    assert checkpoint["network"] == "fernet" and checkpoint["epoch"] == 2
    assert set(checkpoint["module_params"]) == {"width", "convs_per_stage", "dropout"}
    assert (tmp_path / "a" / "params.pt").exists()  # skorch's Checkpoint

    into = tmp_path / "pretrained"
    export.main(["cnn", str(tmp_path / "a"), str(tmp_path / "b"), "--checkpoint", "last.pt",
                 "--into", str(into)])
    manifest = json.loads((into / "manifest.json").read_text())["cnn"]
    assert manifest["weights_dtype"] == "int8" and manifest["module_params"]["n_members"] == 2
    assert [run["run"] for run in manifest["runs"]] == ["a", "b"]
    seconds = [json.loads((tmp_path / run / "log.json").read_text())["wall_seconds"] for run in "ab"]
    # each run's seconds as its log has them, whole; the total is theirs
    assert [run["wall_seconds"] for run in manifest["runs"]] == [round(s) for s in seconds]
    assert manifest["total_wall_seconds"] == sum(round(s) for s in seconds)
    shipped = torch.load(io.BytesIO(gzip.decompress((into / "cnn.pt.gz").read_bytes())),
                         weights_only=True)
    clf = classifier_from_checkpoint(shipped)
    proba = clf.predict_proba(fer_files.pixels[:5])
    assert proba.shape == (5, 7)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    # the second member holds run b's weights, each to within half an int8 step
    trained = torch.load(tmp_path / "b" / "last.pt", weights_only=True)["state_dict"]
    member = clf.module_.network.members[1].state_dict()
    key = "features.0.weight"
    step = shipped["scales"][f"members.1.{key}"].reshape(-1, 1, 1, 1)
    assert ((member[key] - trained[key]).abs() <= step / 2 + 1e-7).all()


def test_snapshot_run_saves_each_stage(csv, tmp_path, monkeypatch):
    train, export = script("train_pretrained"), script("export_pretrained")
    monkeypatch.setitem(_recipes.RECIPES, "cnn-snapshot",
                        dict(_recipes.RECIPES["cnn-snapshot"], cycles=2, cycle_epochs=2,
                             settle_epochs=1))
    run = tmp_path / "s"
    assert train.main(["cnn-snapshot", "--epochs", "6", "--score-every", "100",
                       "--out", str(run), "--data", csv, "--threads", "1"]) == 0
    log = json.loads((run / "log.json").read_text())
    assert [entry["epoch"] for entry in log["log"]] == [1, 2, 3, 4, 5, 6]
    # PublicTest is read at the end of each stage: the one-cycle stage, two restarts
    assert [entry["epoch"] for entry in log["log"] if "publictest_acc" in entry] == [2, 4, 6]
    assert ["snapshot_ensemble_acc" in entry for entry in log["log"]] == [False, True] * 3
    # the last epoch of each stage sees flips only
    assert [entry["augment"] for entry in log["log"]] == ["full", "flips"] * 3
    for k, epoch in enumerate([2, 4, 6]):
        assert torch.load(run / f"snapshot{k}.pt", weights_only=True)["epoch"] == epoch
    assert not (run / "snapshot3.pt").exists()

    into = tmp_path / "pretrained"
    export.main(["cnn", *(str(run / f"snapshot{k}.pt") for k in range(3)), "--into", str(into)])
    manifest = json.loads((into / "manifest.json").read_text())["cnn"]
    assert [(r["run"], r["checkpoint"], r["epoch"]) for r in manifest["runs"]] == [
        ("s", "snapshot0.pt", 2), ("s", "snapshot1.pt", 4), ("s", "snapshot2.pt", 6)]
    # three snapshots, one run: its time counts once
    assert manifest["total_wall_seconds"] == round(log["wall_seconds"])


def test_distillation_run_and_teacher_selection(csv, tmp_path, fer_files):
    train, export, select = (script(name) for name in
                             ("train_pretrained", "export_pretrained", "select_teacher"))
    run = tmp_path / "d"
    # the recipe's teacher is the shipped cnn-ensemble, run inside fit
    assert train.main(["cnn-distill", "--epochs", "2", "--out", str(run), "--data", csv,
                       "--threads", "1"]) == 0
    log = json.loads((run / "log.json").read_text())
    assert log["recipe"]["teacher"] == "cnn-ensemble"
    assert log["recipe"]["distill_weight"] == 0.8
    assert [entry["augment"] for entry in log["log"]] == ["flips", "flips"]  # 2 settle epochs

    # select_teacher: members of two files, chosen greedily on PublicTest
    into = tmp_path / "pretrained"
    export.main(["one", str(run), "--checkpoint", "last.pt", "--into", str(into)])
    export.main(["two", str(run), str(run), "--checkpoint", "last.pt", "--into", str(into)])
    assert select.main([str(into / "one.pt.gz"), str(into / "two.pt.gz"), "--data", csv,
                        "--max-members", "2", "--out", str(tmp_path / "t")]) == 0
    steps = json.loads((tmp_path / "t" / "selection.json").read_text())["steps"]
    assert len(steps) == 2
    member = torch.load(tmp_path / "t" / "member0.pt", weights_only=True)
    assert member["record"]["run"] == "d"
    export.main(["ens", str(tmp_path / "t" / "member0.pt"), str(tmp_path / "t" / "member1.pt"),
                 "--into", str(into)])
    manifest = json.loads((into / "manifest.json").read_text())["ens"]
    assert [r["run"] for r in manifest["runs"]] == ["d", "d"]
    assert manifest["total_wall_seconds"] == round(log["wall_seconds"])


def test_study_run_validates_every_epoch_and_ships_its_history(csv, tmp_path, fer_files):
    train, export = script("train_pretrained"), script("export_pretrained")
    run = tmp_path / "study"
    assert train.main(["study", "--epochs", "2", "--score-every", "2", "--out", str(run),
                       "--data", csv, "--threads", "1"]) == 0
    log = json.loads((run / "log.json").read_text())
    # PublicTest through skorch's predefined_split: scored every epoch
    assert all({"train_acc", "valid_loss", "valid_acc"} <= set(entry) for entry in log["log"])
    assert log["recipe"]["rescale"] == pytest.approx(1 / 255)
    assert log["recipe"]["module__init"] == "keras"
    checkpoint = torch.load(run / "last.pt", weights_only=True)
    assert checkpoint["classes"] == [0, 2, 3, 4, 5, 6] and checkpoint["pixel_std"] == 255.0
    # the valid_acc of skorch's split is the accuracy the script measures itself
    assert log["log"][-1]["valid_acc"] == pytest.approx(log["log"][-1]["publictest_acc"])

    into = tmp_path / "pretrained"
    export.main(["study", str(run), "--checkpoint", "last.pt", "--into", str(into),
                 "--selected-on", "none: the last epoch"])
    manifest = json.loads((into / "manifest.json").read_text())["study"]
    assert manifest["trained_on"] == "FER2013 Training rows, 6 classes"
    assert manifest["selected_on"] == "none: the last epoch"
    assert "publictest_acc_6" in manifest["runs"][0]
    shipped = torch.load(io.BytesIO(gzip.decompress((into / "study.pt.gz").read_bytes())),
                         weights_only=True)
    clf = classifier_from_checkpoint(shipped)
    assert clf.classes_.tolist() == [0, 2, 3, 4, 5, 6]
    # the loaded classifier's history is the run's curve
    assert clf.history[:, "valid_acc"] == [entry["valid_acc"] for entry in log["log"]]
    assert clf.history[:, "train_loss"] == [entry["train_loss"] for entry in log["log"]]


def test_recipe_parameters_can_be_overridden_for_ablations(csv, tmp_path):
    train = script("train_pretrained")
    run = tmp_path / "ablation"
    assert train.main(["study", "--epochs", "1", "--out", str(run), "--data", csv,
                       "--threads", "1", "--param", 'module__init="torch"',
                       "--param", "rescale=null"]) == 0
    log = json.loads((run / "log.json").read_text())
    assert log["overrides"] == {"module__init": "torch", "rescale": None}
    assert log["recipe"]["module__init"] == "torch" and log["recipe"]["rescale"] is None
    checkpoint = torch.load(run / "last.pt", weights_only=True)
    assert checkpoint["pixel_std"] != 255.0  # standardised, not rescaled
    with pytest.raises(SystemExit):
        train.main(["study", "--out", str(run), "--data", csv, "--param", "rescale=1/255"])


def test_fine_tuning_run_starts_from_the_shipped_model_and_records_it(csv, tmp_path):
    from fer_sklearn._shipped import read_verified

    train, export = script("train_pretrained"), script("export_pretrained")
    run = tmp_path / "renet_tune"
    assert train.main(["renet-distill-tune", "--epochs", "2", "--score-every", "1",
                       "--out", str(run), "--data", csv, "--threads", "1"]) == 0
    log = json.loads((run / "log.json").read_text())
    entry, _ = read_verified("rnn")
    assert log["init"] == {"shipped": "rnn", "sha256": entry["sha256"], "runs": entry["runs"]}
    assert log["recipe"]["criterion__weight"] == [1.0, 1.0, 2.0, 1.0, 1.0, 1.0, 1.0]
    assert [row["augment"] for row in log["log"]] == ["flips", "flips"]

    into = tmp_path / "pretrained"
    export.main(["rnn", str(run), "--checkpoint", "last.pt", "--into", str(into)])
    manifest = json.loads((into / "manifest.json").read_text())["rnn"]
    (record,) = manifest["runs"]
    assert record["init"]["shipped_sha256"] == entry["sha256"]
    assert record["init"]["run"] == entry["runs"][0]["run"]
    # the time of the runs behind the model it started from counts too
    assert manifest["total_wall_seconds"] == (round(log["wall_seconds"])
                                              + entry["total_wall_seconds"])


def test_a_recipe_takes_class_weights_as_a_list():
    clf = _recipes.make_classifier("renet-distill-tune", n_samples=128)
    weight = clf.criterion__weight
    assert isinstance(weight, torch.Tensor) and weight.tolist() == [1, 1, 2, 1, 1, 1, 1]
    assert [name for name, _ in clf.callbacks][-1] == "init"
    assert clf.callbacks[-1][1].name == "rnn"
    other = _recipes.make_classifier("renet-distill-tune", n_samples=128, init="cnn",
                                     criterion__weight=None)
    assert other.callbacks[-1][1].name == "cnn" and other.criterion__weight is None


def test_calibrate_temperature_fits_both_forms_and_keeps_the_labels(tmp_path, monkeypatch):
    import pandas as pd

    from fer_sklearn import load_fer2013_sample

    monkeypatch.setenv("FER_SKLEARN_DATA", str(tmp_path / "data_home"))
    sample = load_fer2013_sample()  # 900 PublicTest faces
    lines = ["emotion,pixels,Usage"] + [
        f"{label},{' '.join(map(str, face))},PublicTest"
        for label, face in zip(sample.target, sample.data[:300])]
    data = tmp_path / "fer2013.csv"
    data.write_text("\n".join(lines) + "\n")
    calibrate = script("calibrate_temperature")
    table, plot = tmp_path / "calibration.csv", tmp_path / "calibration.png"
    calibrate.main(["cnn", "--data", str(data), "--csv", str(table), "--plot", str(plot)])
    (row,) = pd.read_csv(table).to_dict("records")
    assert row["model"] == "cnn" and row["ships"] in ("number", "curve", "1")
    assert row["labels changed (model's classes)"] == 0
    for column in ("ECE 6, temperature 1", "ECE 6, one number", "ECE 6, curve"):
        assert 0 <= row[column] < 1
    assert plot.stat().st_size > 0


def test_a_stopped_run_resumes_to_the_uninterrupted_result(csv, tmp_path, monkeypatch):
    # a distilled recipe with the photo shifts and settle epochs: every
    # kind of state (teacher, scheduler, augmentation draws, settle epochs)
    train = script("train_pretrained")
    common = ["cnn-robust", "--epochs", "3", "--data", csv, "--threads", "1",
              "--score-every", "1", "--param", "mixed_precision=false"]
    assert train.main([*common, "--out", str(tmp_path / "whole")]) == 0

    from fer_sklearn.callbacks import TrainingState

    saved = TrainingState.on_epoch_end

    def stop_after_two(self, net, **kwargs):
        saved(self, net, **kwargs)
        if len(net.history) == 2:
            raise KeyboardInterrupt  # as a killed process, after epoch 2 was saved

    monkeypatch.setattr(TrainingState, "on_epoch_end", stop_after_two)
    assert train.main([*common, "--out", str(tmp_path / "cut")]) == 0
    assert TrainingState.epochs_done(tmp_path / "cut" / "resume.pt") == 2
    monkeypatch.setattr(TrainingState, "on_epoch_end", saved)
    assert train.main([*common, "--out", str(tmp_path / "cut"), "--resume"]) == 0

    whole, cut = (torch.load(tmp_path / run / "last.pt", weights_only=True)
                  for run in ("whole", "cut"))
    assert cut["epoch"] == whole["epoch"] == 3
    for key, value in whole["state_dict"].items():
        assert torch.equal(value, cut["state_dict"][key]), key
    logs = [json.loads((tmp_path / run / "log.json").read_text()) for run in ("whole", "cut")]
    for field in ("train_loss", "publictest_acc", "augment", "lr"):
        assert [e[field] for e in logs[0]["log"]] == [e[field] for e in logs[1]["log"]], field
    assert [s["first_epoch"] for s in logs[1]["segments"]] == [1, 3]
    assert logs[1]["wall_seconds"] == pytest.approx(
        sum(s["wall_seconds"] for s in logs[1]["segments"]))
    # the teacher ran once per folder: the resumed run read its probabilities
    assert (tmp_path / "cut" / "teacher_proba.npy").exists()
    with pytest.raises(SystemExit):  # nothing to resume from
        train.main([*common, "--out", str(tmp_path / "none"), "--resume"])
    with pytest.raises(SystemExit, match="no such file"):
        train.main([*common, "--out", str(tmp_path / "none"),
                    "--teacher-proba", str(tmp_path / "missing.npy")])


def test_robustness_benchmark_on_a_few_faces(csv, tmp_path, capsys):
    bench = script_at(SCRIPTS.parent / "benchmarks", "bench_robustness")
    out_csv, figure, cache = tmp_path / "r.csv", tmp_path / "r.png", tmp_path / "cache"
    bench.main(["--data", csv, "--models", "study", "--csv", str(out_csv), "--plot",
                str(figure), "--cache", str(cache)])
    printed = capsys.readouterr().out
    assert "| study |" in printed and "mCA" in printed
    rows = out_csv.read_text().splitlines()
    # clean, the canvas round trip, 13 shifts at 3 severities
    assert len(rows) == 1 + 2 + 13 * 3
    assert figure.stat().st_size > 0
    # the second run reads the cache
    bench.main(["--data", csv, "--models", "study", "--cache", str(cache)])
    assert "study: from the cache" in capsys.readouterr().out


def test_robustness_benchmark_scores_a_run_checkpoint(csv, tmp_path, capsys):
    from fer_sklearn._checkpoints import shipped_checkpoint

    bench = script_at(SCRIPTS.parent / "benchmarks", "bench_robustness")
    _, checkpoint = shipped_checkpoint("study")
    torch.save(checkpoint, tmp_path / "last.pt")
    bench.main(["--data", csv, "--models", "--checkpoint", f"mine={tmp_path / 'last.pt'}",
                "--limit", "20"])
    assert "| mine |" in capsys.readouterr().out
    for wrong, said in [("no-path", "expected NAME=PATH; got 'no-path'"),
                        (f"gone={tmp_path / 'gone.pt'}",
                         f"{str(tmp_path / 'gone.pt')!r} (gone) is not a file")]:
        with pytest.raises(SystemExit):
            bench.main(["--data", csv, "--models", "--checkpoint", wrong])
        assert said in capsys.readouterr().err


def test_the_shifted_faces_are_what_they_say():
    bench = script_at(SCRIPTS.parent / "benchmarks", "bench_robustness")
    rng = np.random.default_rng(0)
    faces = rng.integers(0, 256, (3, 48, 48), dtype=np.uint8)
    sets = bench.shifted_sets(faces)
    assert sets[("clean", 0)] is faces
    # the round trip through the enlarged canvas keeps the face (a little blurred)
    assert np.abs(sets[("clean_canvas", 0)].astype(int) - faces).mean() < 40
    # a tighter frame shows the middle of the face larger
    flat = np.zeros((48, 48), np.uint8)
    flat[16:32, 16:32] = 255
    tight = bench.frame(bench.canvas(flat), side=0.5)
    assert (tight > 128).mean() > 3 * (flat > 128).mean()
    # low light scales the grey levels, JPEG changes them, noise is seeded
    assert sets[("low_light", 2)].max() <= round(255 * 0.15)
    assert not np.array_equal(sets[("jpeg", 2)], faces)
    again = bench.shifted_sets(faces)
    np.testing.assert_array_equal(sets[("noise", 1)], again[("noise", 1)])


def test_blend_weights_between_a_run_and_the_shipped_model(tmp_path, capsys):
    from fer_sklearn._checkpoints import dequantize, shipped_checkpoint

    blend = script("blend_weights")
    _, shipped = shipped_checkpoint("cnn")
    base = dequantize(shipped["state_dict"], shipped.get("scales"))
    tuned = dict(shipped, scales=None, epoch=10,
                 state_dict={k: v + 1.0 if v.is_floating_point() else v for k, v in base.items()})
    torch.save(tuned, tmp_path / "last.pt")
    assert blend.main([str(tmp_path / "last.pt"), "--alpha", "0", "0.25", "1",
                       "--out", str(tmp_path / "blend_")]) == 0
    for alpha in (0, 0.25, 1):
        blended = torch.load(tmp_path / f"blend_{alpha:g}.pt", weights_only=True)
        assert blended["epoch"] == 10
        for key, value in base.items():
            if value.is_floating_point():
                torch.testing.assert_close(blended["state_dict"][key], value + alpha)
            else:
                assert torch.equal(blended["state_dict"][key], value)
    with pytest.raises(SystemExit):
        blend.main([str(tmp_path / "last.pt"), "--alpha", "1.5", "--out", str(tmp_path / "x")])
    assert "--alpha must be in [0, 1]; got 1.5" in capsys.readouterr().err


def test_accuracy_benchmark_scores_a_run_checkpoint_as_the_shipped_model(csv, tmp_path,
                                                                         capsys):
    from fer_sklearn._checkpoints import shipped_checkpoint

    bench = script_at(SCRIPTS.parent / "benchmarks", "bench_accuracy")
    _, checkpoint = shipped_checkpoint("study")
    torch.save(checkpoint, tmp_path / "last.pt")
    bench.main(["--data", csv, "--models", "study",
                "--checkpoint", f"mine={tmp_path / 'last.pt'}"])
    rows = {line.split(" | ")[0].strip("| "): line.split(" | ")[1:3]
            for line in capsys.readouterr().out.splitlines() if line.startswith("| ")}
    # the same weights score the same, with and without flips
    assert rows["mine"] == rows["study"]
    assert rows["mine + flip TTA"] == rows["study + flip TTA"]
    # --study is a checkpoint under the name "study CNN"
    bench.main(["--data", csv, "--models", "--study", str(tmp_path / "last.pt")])
    rows_study = {line.split(" | ")[0].strip("| "): line.split(" | ")[1:3]
                  for line in capsys.readouterr().out.splitlines() if line.startswith("| ")}
    assert rows_study["study CNN"] == rows["study"]
    with pytest.raises(SystemExit):
        bench.main(["--data", csv, "--models", "study", "--checkpoint", "no-path"])
    assert "expected NAME=PATH; got 'no-path'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        bench.main(["--data", csv, "--checkpoint", f"gone={tmp_path / 'gone.pt'}"])
    assert f"{str(tmp_path / 'gone.pt')!r} (gone) is not a file" in capsys.readouterr().err


def test_inference_benchmark_prices_other_widths(capsys):
    bench = script_at(SCRIPTS.parent / "benchmarks", "bench_inference")
    bench.main(["--parts", "widths", "--widths", "8", "16", "--repeat", "1"])
    lines = [line for line in capsys.readouterr().out.splitlines() if "faces/s" in line]
    assert len(lines) == 3 and lines[0].startswith("network shipped cnn")
    # the narrower networks have fewer parameters than the shipped FERNet
    counts = [int(line.split("parameters ")[1].split(" |")[0].replace(",", ""))
              for line in lines]
    assert counts[1] < counts[2] < counts[0]
    assert "ratio 1.00x" in lines[0]
