import gzip
import json
from pathlib import Path
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
        (["predict", "--threshold", "0.5", "--csv", "no/such/out.csv", "{text}"], r"--csv no/such/out.csv: the folder no/such does not exist"),
        (["predict", "--model", "CNN", "--annotate", "{text}", "{text}"], r"--annotate .*notes.txt: exists and is not a folder"),
        (["train", "--data", "{cr}", "--out", "."], r"--out .: is a folder; expected a file name"),
        (["predict", "--model", "{text}", "x.png"], r"notes.txt is not a fer_sklearn model file"),
        (["predict", "--model", "nothing.pkl", "x.png"], r"neither one of \['cnn', 'cnn-ensemble', 'rnn', 'study'\] \(any case\) nor an existing file"),
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
    monkeypatch.setattr(_images.read_photo, "__defaults__", (10_000,))
    path = write_face(tmp_path / "big.png", size=(200, 200))
    status, _, err = run(capsys, "predict", str(path))
    assert status == 1 and "200x200 is 40,000 pixels, beyond the limit of 10,000" in err
    assert "1 of 1 files could not be read" in err


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


def test_one_bad_file_never_loses_a_folder(capsys, tmp_path):
    album = tmp_path / "album"
    album.mkdir()
    write_face(album / "a.png")
    write_face(album / "b.jpg")
    (album / "broken.jpg").write_bytes(b"\xff\xd8\xff not a whole JPEG")
    (album / "._a.png").write_bytes(b"\x00\x05\x16\x07 AppleDouble sidecar")
    csv = tmp_path / "faces.csv"
    status, out, err = run(capsys, "predict", str(album), "--csv", str(csv))
    assert status == 1
    assert "broken.jpg: not a readable image" in err and "._a.png: not a readable image" in err
    assert "2 of 4 files could not be read" in err
    import pandas as pd

    table = pd.read_csv(csv)
    assert sorted(Path(s).name for s in table["source"]) == ["a.png", "b.jpg"]
    assert {"score", "left_eye_x", "mouth_right_y"} <= set(table.columns)


def test_json_carries_the_score_and_landmarks(capsys, tmp_path):
    photo = write_face(tmp_path / "face.png")
    status, out, err = run(capsys, "predict", str(photo), "--json", "--threshold", "0.5")
    assert status == 0, err
    (result,) = json.loads(out)
    assert 0.5 <= result["score"] <= 1
    assert set(result["landmarks"]) == {"left_eye", "right_eye", "nose", "mouth_left",
                                        "mouth_right"}
    left, right = result["landmarks"]["left_eye"], result["landmarks"]["right_eye"]
    assert left[0] < right[0]  # as seen in the image
    box = result["box"]
    assert box["x"] <= left[0] <= box["x"] + box["width"]



def test_no_verify_keeps_the_boxes_the_second_search_drops(capsys, tmp_path):
    from PIL import Image

    from tests.test_analyze import grating

    Image.fromarray(grating(0.02, 2.0)).save(tmp_path / "fabric.png")
    status, out, err = run(capsys, "predict", str(tmp_path / "fabric.png"), "--json")
    assert status == 0 and json.loads(out) == [], (out, err)
    status, out, err = run(capsys, "predict", str(tmp_path / "fabric.png"), "--json",
                           "--no-verify")
    assert status == 0 and len(json.loads(out)) == 1, (out, err)

@pytest.mark.parametrize("option, value", [("--threshold", "0"), ("--threshold", "1.5"),
                                           ("--work-size", "10"), ("--overlap", "x")])
def test_detector_settings_are_checked(capsys, option, value):
    with pytest.raises(SystemExit) as exit:
        main(["predict", option, value, "x.png"])
    assert exit.value.code == 2
    assert option in capsys.readouterr().err


def test_annotate_never_writes_over_files(capsys, tmp_path):
    photo = write_face(tmp_path / "face.png")
    before = photo.read_bytes()
    status, _, err = run(capsys, "predict", str(photo), "--annotate", str(tmp_path))
    assert status == 1 and "holds the input" in err
    assert photo.read_bytes() == before
    out = tmp_path / "annotated"
    assert run(capsys, "predict", str(photo), "--annotate", str(out))[0] == 0
    assert (out / "face.png").is_file()
    status, _, err = run(capsys, "predict", str(photo), "--annotate", str(out))
    assert status == 1 and "exists; pass overwrite=True (--overwrite)" in err
    assert run(capsys, "predict", str(photo), "--annotate", str(out), "--overwrite")[0] == 0


def test_engines_and_model_names_in_any_case(capsys, tmp_path):
    photo = write_face(tmp_path / "face.png")
    outs = {}
    for engine in ("onnx", "torch"):
        status, out, err = run(capsys, "predict", str(photo), "--json", "--model", "CNN",
                               "--engine", engine)
        assert status == 0, err
        outs[engine] = json.loads(out)[0]
    assert outs["onnx"]["box"] == outs["torch"]["box"]
    for name, p in outs["torch"]["probabilities"].items():
        assert outs["onnx"]["probabilities"][name] == pytest.approx(p, abs=0.05)


def test_seed_must_fit(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--seed", str(2**40), "--out", "m.pt"])
    assert "expected a whole number in 0..4294967295" in capsys.readouterr().err


def test_evaluate_a_model_of_names_and_a_two_class_model(capsys, tmp_path):
    from tests.conftest import FERFiles

    from fer_sklearn import FERCNNClassifier
    from fer_sklearn._pretrained import save_model_file

    files = FERFiles(tmp_path, n_per_usage=14)
    data = files.write_csv()
    names = np.array(["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"])
    named = FERCNNClassifier(max_epochs=1, module__width=8, random_state=0).fit(
        files.pixels, names[files.target])
    save_model_file(named, tmp_path / "named.pt")
    status, out, err = run(capsys, "evaluate", "--model", str(tmp_path / "named.pt"),
                           "--data", str(data), "--usage", "PrivateTest")
    assert status == 0, err
    assert "accuracy, 7 classes" in out
    two = FERCNNClassifier(max_epochs=1, module__width=8, random_state=0).fit(
        files.pixels, files.target % 2)
    save_model_file(two, tmp_path / "two.pt")
    status, out, err = run(capsys, "evaluate", "--model", str(tmp_path / "two.pt"),
                           "--data", str(data), "--usage", "PrivateTest")
    assert status == 0, err
    assert "accuracy, 2 classes" in out and "6 classes" not in out


def test_summary_of_photos_and_of_a_video(capsys, tmp_path):
    photo = write_face(tmp_path / "face.png")
    status, out, err = run(capsys, "predict", str(photo), "--summary")
    assert status == 0, err
    (line,) = out.splitlines()
    assert line.startswith(f"{photo} face 0: ") and " s," not in line and "100%" in line
