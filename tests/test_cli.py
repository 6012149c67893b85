import json
import pickle
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
        (["predict", "--model", "nothing.pkl", "x.png"], r"neither one of \['cnn', 'rnn'\] nor an existing file"),
        (["evaluate", "--data", "nowhere.csv"], r"FER2013 not found"),
    ],
)
def test_bad_input_is_one_line_on_stderr(capsys, tmp_path, monkeypatch, argv, pattern):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("not an image")
    argv = [a.replace("{text}", str(tmp_path / "notes.txt")) for a in argv]
    status, out, err = run(capsys, *argv)
    assert status == 1
    assert len(err.strip().splitlines()) == 1
    assert err.startswith(f"fer-sklearn {argv[0]}: error:")
    import re
    assert re.search(pattern, err), err


def test_model_file_of_another_kind(capsys, tmp_path):
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps({"not": "a model"}))
    status, _, err = run(capsys, "predict", "--model", str(path), "x.png")
    assert status == 1 and "holds a dict, not a fitted FERCNNClassifier" in err


def test_train_then_evaluate(capsys, tmp_path):
    from tests.conftest import FERFiles

    files = FERFiles(tmp_path, n_per_usage=14)
    data = files.write_csv()
    out = tmp_path / "model.pkl"
    status, stdout, err = run(capsys, "train", "--data", str(data), "--model", "rnn",
                              "--epochs", "1", "--merge-disgust", "--out", str(out),
                              "--valid", "PublicTest")
    assert status == 0, err
    assert "PublicTest accuracy:" in stdout
    with open(out, "rb") as handle:
        model = pickle.load(handle)
    assert model.classes_.tolist() == [0, 2, 3, 4, 5, 6]
    status, stdout, err = run(capsys, "evaluate", "--model", str(out), "--data",
                              str(data), "--usage", "PrivateTest")
    assert status == 0, err
    assert "accuracy, 6 classes" in stdout and "accuracy, 7 classes" not in stdout


def write_photo(path):
    """Two sample faces, enlarged, on a grey 640x320 'photo'."""
    faces = load_fer2013_sample().images
    photo = np.full((320, 640), 128, np.uint8)
    for i, left in ((0, 60), (1, 380)):
        photo[80:240, left : left + 160] = np.asarray(
            Image.fromarray(faces[i]).resize((160, 160)))
    Image.fromarray(photo).convert("RGB").save(path)
    return path


def test_predict_detect_faces(capsys, tmp_path):
    pytest.importorskip("cv2", reason="face detection needs opencv-python-headless")
    photo = write_photo(tmp_path / "photo.png")
    status, out, err = run(capsys, "predict", "--detect-faces", "--json", str(photo))
    assert status == 0, err
    results = json.loads(out)
    assert len(results) == 2
    boxes = [r["box"] for r in results]
    assert boxes[0]["x"] < 240 < boxes[1]["x"]
    for box in boxes:
        assert 60 <= box["y"] + box["height"] / 2 <= 260
    status, out, err = run(capsys, "predict", "--detect-faces", str(photo))
    assert out.count("face at (") == 2

    blank = tmp_path / "blank.png"
    Image.new("L", (200, 200), 128).save(blank)
    status, out, err = run(capsys, "predict", "--detect-faces", str(blank))
    assert status == 0 and "no face found" in err and out == ""
