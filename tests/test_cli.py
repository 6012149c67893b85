import gzip
import json
import pickle
import re
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from fer_sklearn import load_fer2013_sample
from fer_sklearn.cli import main


def run(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_demo_prints_accuracy_and_writes_figures(capsys, tmp_path):
    status, out, err = run(capsys, "demo", "--out", str(tmp_path))
    assert status == 0, err
    assert "accuracy, 7 classes:" in out and "accuracy, 6 classes" in out
    assert "disgust" in out and "confusion matrix" in out
    assert "validation figures, not test figures" in out
    written = sorted(p.name for p in tmp_path.glob("*.png"))
    assert written == ["confusion_matrix.png", "faces.png", "label_counts.png",
                       "label_distribution.png", "predictions.png"]


def test_demo_of_the_study_model_merges_the_truth_and_draws_its_curve(capsys, tmp_path):
    status, out, err = run(capsys, "demo", "--model", "study", "--out", str(tmp_path))
    assert status == 0, err
    assert "accuracy, 7 classes" not in out and "accuracy, 6 classes" in out
    # the report's truth is merged: angry's support counts disgust's faces too
    faces = load_fer2013_sample()
    angry = int(np.isin(faces.target, [0, 1]).sum())
    assert re.search(rf"angry\s+[0-9.]+\s+[0-9.]+\s+[0-9.]+\s+{angry}\n", out)
    assert "history.png" in {p.name for p in tmp_path.glob("*.png")}


def test_console_script_runs():
    result = subprocess.run(
        [sys.executable, "-m", "fer_sklearn.cli", "predict", "--help"],
        capture_output=True, text=True, check=True,
    )
    assert "--json" in result.stdout


def write_face(path, size=(200, 200), mode="RGB"):
    face = load_fer2013_sample().images[3]
    Image.fromarray(face).convert(mode).resize(size).save(path)
    return path


def test_predict_any_size_and_json(capsys, tmp_path):
    big = write_face(tmp_path / "face.png")
    small = write_face(tmp_path / "face.jpg", size=(48, 48), mode="L")
    status, out, _ = run(capsys, "predict", str(big), str(small))
    assert status == 0
    emotions = {"angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"}
    lines = out.strip().splitlines()
    assert len(lines) == 2 and lines[0].split(": ")[1].split()[0] in emotions
    status, out, _ = run(capsys, "predict", "--json", str(big))
    (result,) = json.loads(out)
    assert result["label"] in emotions
    assert set(result["probabilities"]) == emotions
    assert sum(result["probabilities"].values()) == pytest.approx(1, abs=1e-3)


@pytest.mark.parametrize(
    "argv, pattern",
    [
        (["predict", "missing.png"], r"missing.png: no such file"),
        (["predict", "{text}"], r"notes.txt: not a readable image"),
        (["predict", "--model", "{text}", "x.png"], r"notes.txt is not a fer_sklearn model file"),
        (["predict", "--model", "nothing.pkl", "x.png"], r"neither one of \['cnn', 'cnn-ensemble', 'rnn', 'study'\] nor an existing file"),
        (["evaluate", "--data", "nowhere.csv"], r"FER2013 not found"),
        (["evaluate", "--data", "{cut}"], r"cut.csv.gz: the gzip file is truncated"),
        (["evaluate", "--data", "{cr}"], r"cr.csv, line 2: expected 3 comma-separated fields"),
        (["train", "--data", "{cr}", "--out", "no/such/folder/m.pt"], r"--out no/such/folder/m.pt: the folder no/such/folder does not exist"),
    ],
)
def test_bad_input_is_one_line_on_stderr(capsys, tmp_path, monkeypatch, argv, pattern):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "cut.csv.gz").write_bytes(gzip.compress(b"emotion,pixels,Usage\n" * 100)[:30])
    # CR line ends with one short row: the row's line is named
    (tmp_path / "cr.csv").write_bytes(b"emotion,pixels,Usage\r0,1 2\r")
    argv = [a.replace("{text}", str(tmp_path / "notes.txt")).replace(
        "{cut}", str(tmp_path / "cut.csv.gz")).replace("{cr}", str(tmp_path / "cr.csv"))
        for a in argv]
    status, out, err = run(capsys, *argv)
    assert status == 1
    assert len(err.strip().splitlines()) == 1
    assert err.startswith(f"fer-sklearn {argv[0]}: error:")
    import re
    assert re.search(pattern, err), err


class _RunsCode:
    def __reduce__(self):
        return (print, ("code ran while the model file was read",))


@pytest.mark.parametrize("payload, pattern", [
    (pickle.dumps({"not": "a model"}), r"is not a fer_sklearn model file"),
    (pickle.dumps(_RunsCode()), r"is not a fer_sklearn model file"),
], ids=["a pickled dict", "a pickle that runs code"])
def test_model_files_are_never_unpickled(capsys, tmp_path, payload, pattern):
    path = tmp_path / "model.pkl"
    path.write_bytes(payload)
    status, out, err = run(capsys, "predict", "--model", str(path), "x.png")
    assert status == 1 and re.search(pattern, err), err
    assert "code ran" not in out + err


def test_a_torch_file_of_another_kind(capsys, tmp_path):
    import torch

    torch.save({"state_dict": {}}, tmp_path / "other.pt")
    status, _, err = run(capsys, "predict", "--model", str(tmp_path / "other.pt"), "x.png")
    assert status == 1 and "a torch file but not a fer_sklearn model file" in err


def test_epochs_must_be_positive(capsys):
    with pytest.raises(SystemExit) as exit:
        main(["train", "--epochs", "0", "--out", "m.pt"])
    assert exit.value.code == 2
    assert "expected a whole number of at least 1; got '0'" in capsys.readouterr().err


def test_a_photo_beyond_the_pixel_limit(capsys, tmp_path, monkeypatch):
    from fer_sklearn.datasets import _images

    monkeypatch.setattr(_images, "MAX_IMAGE_PIXELS", 10_000)
    monkeypatch.setattr(_images.read_grey, "__defaults__", (10_000,))
    path = write_face(tmp_path / "big.png", size=(200, 200))
    status, _, err = run(capsys, "predict", str(path))
    assert status == 1 and "200x200 is 40,000 pixels, beyond the limit of 10,000" in err
    assert len(err.strip().splitlines()) == 1


def test_train_then_evaluate(capsys, tmp_path):
    from tests.conftest import FERFiles

    files = FERFiles(tmp_path, n_per_usage=14)
    data = files.write_csv()
    out = tmp_path / "model.pt"
    status, stdout, err = run(capsys, "train", "--data", str(data), "--model", "rnn",
                              "--epochs", "1", "--merge-disgust", "--out", str(out),
                              "--valid", "PublicTest")
    assert status == 0, err
    assert "PublicTest accuracy:" in stdout
    import torch

    from fer_sklearn import FERRNNClassifier
    from fer_sklearn._pretrained import load_model_file

    # weights and metadata, readable without unpickling
    assert torch.load(out, weights_only=True)["classes"] == [0, 2, 3, 4, 5, 6]
    model = load_model_file(out)
    assert isinstance(model, FERRNNClassifier) and model.classes_.tolist() == [0, 2, 3, 4, 5, 6]
    status, stdout, err = run(capsys, "evaluate", "--model", str(out), "--data",
                              str(data), "--usage", "PrivateTest")
    assert status == 0, err
    assert "accuracy, 6 classes" in stdout and "accuracy, 7 classes" not in stdout


def test_usage_in_any_case_and_the_default_split(capsys, tmp_path):
    from tests.conftest import FERFiles

    files = FERFiles(tmp_path, n_per_usage=7)
    text = "".join(line + "\n" for line in files.kaggle_text().splitlines()
                   if not line.endswith("PrivateTest"))
    data = files.write_csv(text=text)
    status, out, err = run(capsys, "evaluate", "--model", "rnn", "--data", str(data))
    assert status == 0, err
    assert "evaluating on PublicTest, validation: the file holds no PrivateTest rows" in out
    status, out, err = run(capsys, "evaluate", "--model", "rnn", "--data", str(data),
                           "--usage", "publictest")
    assert status == 0 and "7 faces (PublicTest)" in out, err
    with pytest.raises(SystemExit):
        main(["evaluate", "--usage", "validation"])
    assert "expected one of Training, PublicTest, PrivateTest; got 'validation'" in \
        capsys.readouterr().err


def test_train_on_a_stratified_subset(capsys, tmp_path):
    from tests.conftest import FERFiles

    data = FERFiles(tmp_path, n_per_usage=28).write_csv()
    out = tmp_path / "m.pt"
    status, stdout, err = run(capsys, "train", "--data", str(data), "--epochs", "1",
                              "--max-faces", "14", "--out", str(out))
    assert status == 0, err
    assert "training cnn on 14 Training faces, 7 classes" in stdout


def test_help_shows_defaults_and_imports_no_torch():
    code = ("import sys\nfrom fer_sklearn.cli import main\n"
            "try:\n    main(['evaluate', '--help'])\nexcept SystemExit:\n    pass\n"
            "print('torch' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert "(default: cnn)" in result.stdout
    assert result.stdout.strip().endswith("False")
