"""Faces in photos, arrays and videos: ``analyze``, the crop and the tracker."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from fer_sklearn import analyze, load_fer2013_sample, load_pretrained
from fer_sklearn._sources import UnreadableFileWarning
from fer_sklearn._tracking import _Tracker
from fer_sklearn._faces import align_crop, crop_faces, detect_faces, find_faces
from fer_sklearn._labels import TABLE_COLUMNS
from fer_sklearn.cli import main

PHOTOS = Path(__file__).resolve().parents[2] / "shared" / "photos"
needs_photos = pytest.mark.skipif(not PHOTOS.is_dir(), reason=f"no real photos at {PHOTOS}")
cv2 = pytest.importorskip("cv2", reason="videos are read with OpenCV")

EMOTIONS = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
COLUMNS = [*TABLE_COLUMNS, *EMOTIONS]


@pytest.fixture(scope="module")
def model():
    return load_pretrained("rnn", tta=False)  # the fastest shipped model


def no_face(size=(480, 640), seed=0):
    """A smooth gradient with noise: nothing like a face."""
    rng = np.random.default_rng(seed)
    gradient = np.linspace(40, 200, size[1])[None, :].repeat(size[0], axis=0)
    return np.clip(gradient + rng.normal(0, 8, size), 0, 255).astype(np.uint8)


def write_video(path, frames, fps=15.0):
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR) if frame.ndim == 2 else frame)
    writer.release()
    return path


@pytest.fixture(scope="module")
def portrait_video(tmp_path_factory):
    """30 frames of one real portrait, drifting a few pixels a frame."""
    photo = np.asarray(Image.open(PHOTOS / "img2.jpg").convert("L").resize((480, 480)))
    frames = [np.roll(photo, (k % 10 - 5) * 3, axis=1)[40:400, 0:480] for k in range(30)]
    return write_video(tmp_path_factory.mktemp("video") / "one.mp4", frames)


@needs_photos
def test_one_box_per_face_in_the_real_photos(model):
    table = analyze(PHOTOS, model)
    assert list(table.columns) == COLUMNS
    counts = table.groupby("source").size()
    expected = {p.name: 2 if p.name == "couple.jpg" else 1 for p in PHOTOS.glob("*.jpg")}
    assert {Path(s).name: n for s, n in counts.items()} == expected
    assert (table["frame"] == 0).all() and table["time"].isna().all()
    np.testing.assert_allclose(table[EMOTIONS].sum(axis=1), 1, rtol=1e-5)
    # the couple's two faces side by side, numbered left to right
    couple = table[table["source"].str.endswith("couple.jpg")]
    assert couple["face"].tolist() == [0, 1] and couple["x"].is_monotonic_increasing


def _bench_faces():
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import bench_faces

    return bench_faces


def _portraits():
    return [np.asarray(Image.open(p).convert("L")) for p in sorted(PHOTOS.glob("img*.jpg"))]


@needs_photos
@pytest.mark.parametrize("canvas_size, face_width", [((4032, 1600), 90), ((1280, 720), 30)])
def test_small_faces_of_a_group_photo_are_found(canvas_size, face_width):
    """Seven faces side by side, small for their photo: a phone photo's
    faces 90 pixels wide, a web photo's 30; every face found, no other box."""
    bench = _bench_faces()
    canvas, faces = bench.group_photo(bench.face_tiles(_portraits()[:7]), 7, face_width,
                                      np.random.default_rng(0), canvas_size)
    assert bench.found(faces, detect_faces(canvas)) == (7, 0)
    # a coarser search misses them: the test can fail
    assert bench.found(faces, detect_faces(canvas, work_size=640))[0] < 7


@needs_photos
def test_turned_faces_of_a_group_photo_are_found():
    """Faces tilted by up to 25 degrees in a group photo."""
    bench = _bench_faces()
    rng = np.random.default_rng(1)
    tiles = []
    for tile, width in bench.face_tiles(_portraits()[:7]):
        centre = (tile.shape[1] / 2, tile.shape[0] / 2)
        turn = cv2.getRotationMatrix2D(centre, rng.uniform(-25, 25), 1.0)
        tiles.append((cv2.warpAffine(tile, turn, tile.shape[::-1],
                                     borderMode=cv2.BORDER_REPLICATE), width))
    canvas, faces = bench.group_photo(tiles, 7, 60, rng, (1280, 720))
    assert bench.found(faces, detect_faces(canvas)) == (7, 0)


@needs_photos
def test_a_face_filling_a_large_photo_gives_one_box():
    """A portrait enlarged to 4032 pixels: its face (over 1000 pixels) is
    found once, in the coarse copy, not in pieces."""
    grey = np.asarray(Image.open(PHOTOS / "img1.jpg").convert("L"))
    scale = 4032 / max(grey.shape)
    large = np.asarray(Image.fromarray(grey).resize(
        (round(grey.shape[1] * scale), round(grey.shape[0] * scale)), Image.Resampling.BICUBIC))
    boxes = detect_faces(large)
    assert len(boxes) == 1 and boxes[0][3] > 1000
    # the same face at the photo's own size: the same box, scaled
    np.testing.assert_allclose(np.array(boxes[0]) / scale, detect_faces(grey)[0], rtol=0.1, atol=10)
    # no box on a large image without faces either
    assert detect_faces(no_face((3024, 4032))) == []


@needs_photos
def test_a_face_cut_by_the_photo_edge_is_found():
    """The left 45% of the face cut away by the frame's edge: still one box."""
    grey = np.asarray(Image.open(PHOTOS / "img5.jpg").convert("L"))
    [(x, y, w, h)] = detect_faces(grey)
    cut = np.ascontiguousarray(grey[:, x + int(0.45 * w):])
    [(x2, y2, w2, h2)] = detect_faces(cut)
    assert x2 == 0 and abs(y2 - y) < h / 4  # at the edge, at the face's height


def test_a_changed_detector_file_is_refused(monkeypatch):
    import fer_sklearn._faces as faces

    monkeypatch.setattr(faces, "_SESSIONS", {})
    monkeypatch.setattr(faces, "MODEL_SHA256", "0" * 64)
    with pytest.raises(ValueError, match=r"face_detector.onnx is corrupted.*expected sha256 0{64}"):
        detect_faces(no_face())


def test_no_box_on_an_image_without_faces(model):
    table = analyze(no_face(), model)
    assert len(table) == 0 and list(table.columns) == COLUMNS



def grating(frequency, ratio, size=(480, 640)):
    """A product of two sine gratings, like a fabric or a wallpaper."""
    rows, columns = np.mgrid[:size[0], :size[1]]
    return (127 + 100 * np.sin(columns * frequency)
            * np.sin(rows * frequency * ratio)).astype(np.uint8)


@pytest.mark.parametrize("frequency, ratio", [(0.02, 2.0), (0.03, 1.5)])
def test_boxes_on_a_pattern_are_dropped_by_the_second_search(model, frequency, ratio):
    pattern = grating(frequency, ratio)
    boxes, scores, _ = find_faces(pattern, verify=False)
    assert len(boxes) and scores.max() > 0.99  # the first search is fooled
    assert len(find_faces(pattern)[0]) == 0
    assert len(analyze(pattern, model)) == 0
    assert len(analyze(pattern, model, verify=False)) == len(boxes)
    with pytest.raises(ValueError, match="verify must be True or False; got 'no'"):
        analyze(pattern, model, verify="no")


@needs_photos
@pytest.mark.parametrize("turns", [1, 2, 3])
def test_a_face_on_its_side_or_upside_down_passes_the_second_search(turns):
    from fer_sklearn.datasets._images import read_grey

    grey = np.ascontiguousarray(np.rot90(read_grey(PHOTOS / "img12.jpg"), turns))
    unchecked, _, _ = find_faces(grey, verify=False)
    checked, _, _ = find_faces(grey)
    assert len(unchecked) == 1
    np.testing.assert_array_equal(checked, unchecked)

def test_face_crops_and_arrays(model):
    faces = load_fer2013_sample().images[:3]
    table = analyze(list(faces), model)  # 48x48: taken as crops, not searched
    assert table["source"].tolist() == ["array[0]", "array[1]", "array[2]"]
    assert table[["x", "y", "width", "height"]].values.tolist() == [[0, 0, 48, 48]] * 3
    np.testing.assert_allclose(table[EMOTIONS].values, model.predict_proba(faces), atol=1e-6)
    # a whole image without detection: squashed to 48x48, as asked
    squashed = analyze(no_face(), model, detect=False)
    assert len(squashed) == 1 and squashed["width"].item() == 640
    # colour and 0..1 float arrays
    rgb = np.repeat(faces[0][..., None], 3, axis=2)
    np.testing.assert_allclose(analyze(rgb, model)[EMOTIONS].values,
                               analyze(faces[0] / 255.0, model)[EMOTIONS].values, atol=1e-5)


@pytest.mark.parametrize("bad, error, pattern", [
    (np.zeros((2, 3, 4, 5)), ValueError, r"expected an image of shape"),
    (np.full((48, 48), np.nan), ValueError, r"NaN or infinite"),
    (np.full((48, 48), 300.0), ValueError, r"pixel values must be in 0..255"),
    (42, TypeError, r"source must be a path, an image array or a list"),
])
def test_bad_arrays(model, bad, error, pattern):
    with pytest.raises(error, match=pattern):
        analyze(bad, model)


@needs_photos
def test_crop_is_square_around_the_face():
    grey = np.asarray(Image.open(PHOTOS / "img1.jpg").convert("L"))
    boxes = detect_faces(grey)
    assert len(boxes) == 1
    x, y, w, h = boxes[0]
    assert 0 <= x < x + w <= grey.shape[1] and 0 <= y < y + h <= grey.shape[0]
    crops = crop_faces(grey, boxes)
    assert crops.shape == (1, 48, 48) and crops.dtype == np.uint8
    # a box at the very corner is padded with the border, not cut
    assert crop_faces(grey, [(0, 0, 40, 40)]).shape == (1, 48, 48)


def test_an_aligned_crop_with_level_eyes_is_the_box_crop():
    grey = (np.arange(300 * 400) % 251).reshape(300, 400).astype(np.uint8)
    box = (100, 50, 120, 120)
    eyes_level = np.array([[130, 90], [190, 90], [160, 120], [140, 150], [180, 150]], float)
    np.testing.assert_array_equal(align_crop(grey, box, eyes_level, upward_shift=0),
                                  crop_faces(grey, [box], upward_shift=0)[0])


@needs_photos
@pytest.mark.parametrize("angle", [-25, 15])
def test_a_turned_face_is_cropped_upright(angle):
    # the portrait turned in the plane: the aligned crop of the turned photo
    # looks like the crop of the upright one; the box crop does not
    grey = np.asarray(Image.open(PHOTOS / "img1.jpg").convert("L"))
    upright_boxes, _, upright_points = find_faces(grey)
    reference = align_crop(grey, tuple(upright_boxes[0]), upright_points[0]).astype(float)
    turned = np.asarray(Image.open(PHOTOS / "img1.jpg").convert("L").rotate(
        angle, resample=Image.Resampling.BILINEAR, expand=True, fillcolor=128))
    boxes, _, points = find_faces(turned)
    assert len(boxes) == 1
    aligned = align_crop(turned, tuple(boxes[0]), points[0]).astype(float)
    boxed = crop_faces(turned, [tuple(boxes[0])])[0].astype(float)

    def similarity(crop):
        return np.corrcoef(crop.ravel(), reference.ravel())[0, 1]

    # (measured: 0.66 and 0.83 aligned, 0.18 and 0.59 boxed, for -25 and 15)
    assert similarity(aligned) > 0.6
    assert similarity(aligned) > similarity(boxed) + 0.15


@needs_photos
def test_a_video_of_one_person_keeps_one_face_id(model, portrait_video):
    table = analyze(portrait_video, model)
    per_frame = table.groupby("frame").size()
    assert (per_frame == 1).sum() >= 27 and table["face"].nunique() == 1
    assert table["time"].iloc[1] == pytest.approx(1 / 15, abs=1e-3)
    # every 5th frame, or 3 frames a second
    assert analyze(portrait_video, model, every=5)["frame"].tolist() == [0, 5, 10, 15, 20, 25]
    assert analyze(portrait_video, model, fps=3)["frame"].tolist() == [0, 5, 10, 15, 20, 25]


def test_videos_without_faces_and_corrupt_videos(model, tmp_path):
    empty = write_video(tmp_path / "empty.mp4", [no_face((240, 320), seed) for seed in range(5)])
    assert len(analyze(empty, model)) == 0
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 200)
    with pytest.raises(ValueError, match=r"broken.mp4: not a readable video"):
        analyze(broken, model, errors="raise")
    with pytest.warns(UnreadableFileWarning, match=r"broken.mp4: skipped.*not a readable video"):
        table = analyze([broken, empty], model)
    assert len(table) == 0 and list(table.attrs["errors"]) == [str(broken)]


def test_tracker_keeps_ids_by_overlap():
    tracker = _Tracker()
    assert tracker.assign([(0, 0, 10, 10), (50, 0, 10, 10)]) == [0, 1]
    assert tracker.assign([(52, 1, 10, 10), (1, 1, 10, 10)]) == [1, 0]  # order does not matter
    assert tracker.assign([(100, 100, 10, 10)]) == [2]  # a newcomer
    for _ in range(12):  # tracks unseen for more than max_gap frames end
        tracker.assign([])
    assert tracker.assign([(0, 0, 10, 10)]) == [3]


@needs_photos
def test_predict_on_a_video_and_photos(capsys, tmp_path, portrait_video):
    csv = tmp_path / "faces.csv"
    status = main(["predict", str(portrait_video), str(PHOTOS / "couple.jpg"), "--model", "rnn",
                   "--every", "10", "--json", "--csv", str(csv), "--annotate", str(tmp_path / "a")])
    out, err = capsys.readouterr()
    assert status == 0, err
    results = json.loads(out)
    video = [r for r in results if r["image"].endswith(".mp4")]
    assert [r["frame"] for r in video] == [0, 10, 20] and {r["face"] for r in video} == {0}
    photo = [r for r in results if r["image"].endswith("couple.jpg")]
    assert len(photo) == 2 and "frame" not in photo[0] and set(photo[0]["box"]) == {
        "x", "y", "width", "height"}
    assert len(csv.read_text().splitlines()) == 1 + len(results)
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["couple.png", "one.mp4"]


def test_predict_says_when_no_face_is_found(capsys, tmp_path):
    Image.fromarray(no_face()).save(tmp_path / "wall.png")
    status = main(["predict", str(tmp_path / "wall.png"), "--model", "rnn"])
    out, err = capsys.readouterr()
    assert status == 0 and out == "" and "wall.png: no face found" in err


@needs_photos
def test_emotion_timeline(model, portrait_video):
    import matplotlib

    matplotlib.use("Agg")
    from fer_sklearn.plotting import plot_emotion_timeline

    ax = plot_emotion_timeline(analyze(portrait_video, model, every=3))
    assert len(ax.lines) == 7 and ax.get_xlabel() == "time (s)"
    with pytest.raises(ValueError, match="holds no faces"):
        plot_emotion_timeline(analyze(no_face(), model))


# EXIF Orientation -> the transpose that stores an upright picture so that
# a viewer applying the tag shows it upright (the inverse of exif_transpose)
_STORED = {1: None, 2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
           4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
           6: Image.Transpose.ROTATE_90, 7: Image.Transpose.TRANSVERSE,
           8: Image.Transpose.ROTATE_270}


@needs_photos
@pytest.mark.parametrize("orientation", range(1, 9))
def test_phone_photos_are_read_upright(model, tmp_path, orientation):
    with Image.open(PHOTOS / "img2.jpg") as photo:
        upright = photo.convert("RGB")
    (expected,) = analyze(np.asarray(upright), model)[["x", "y", "width", "height"]].values
    stored = upright if _STORED[orientation] is None else upright.transpose(_STORED[orientation])
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / f"phone{orientation}.jpg"
    stored.save(path, exif=exif, quality=95)
    table = analyze(path, model)
    assert len(table) == 1
    box = table[["x", "y", "width", "height"]].values[0]
    # the box in the upright frame (JPEG noise moves it by a pixel or two)
    np.testing.assert_allclose(box, expected, atol=0.03 * max(upright.size))


@needs_photos
def test_scores_and_landmarks(model):
    table = analyze(PHOTOS / "couple.jpg", model)
    assert len(table) == 2 and (table["score"] >= 0.6).all() and (table["score"] <= 1).all()
    for _, row in table.iterrows():
        for point in ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right"):
            assert row.x <= row[f"{point}_x"] <= row.x + row.width
            assert row.y <= row[f"{point}_y"] <= row.y + row.height
        assert row.left_eye_x < row.right_eye_x and row.mouth_left_x < row.mouth_right_x
        assert max(row.left_eye_y, row.right_eye_y) < row.mouth_left_y
    # without detection there is no score
    crops = analyze(list(load_fer2013_sample().images[:2]), model)
    assert crops["score"].isna().all() and crops["left_eye_x"].isna().all()
    boxes, scores, landmarks = find_faces(np.asarray(Image.open(PHOTOS / "couple.jpg").convert("L")))
    assert boxes.shape == (2, 4) and scores.shape == (2,) and landmarks.shape == (2, 5, 2)


@needs_photos
def test_a_large_jpeg_is_decoded_no_larger_than_needed(model, tmp_path):
    from fer_sklearn.datasets._images import read_photo

    with Image.open(PHOTOS / "img2.jpg") as photo:
        big = photo.convert("RGB").resize((3024, 4032), Image.Resampling.BICUBIC)
    path = tmp_path / "phone.jpg"
    big.save(path, quality=92)
    grey, scale = read_photo(path, draft_side=1280)
    assert scale == 2.0 and grey.shape == (2016, 1512)
    full, one = read_photo(path)
    assert one == 1.0 and full.shape == (4032, 3024)
    # the box is reported in the stored image's pixels, as from a full decode
    (drafted,) = analyze(path, model)[["x", "y", "width", "height"]].values
    (whole,) = analyze(full, model)[["x", "y", "width", "height"]].values
    np.testing.assert_allclose(drafted, whole, atol=0.02 * 4032)


def test_one_bad_file_never_loses_the_others(model, tmp_path):
    faces = load_fer2013_sample().images[:3]
    for i, face in enumerate(faces):
        Image.fromarray(face).save(tmp_path / f"face{i}.png")
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 cut short")
    (tmp_path / "._face0.png").write_bytes(b"\x00\x05\x16\x07 macOS sidecar")
    with pytest.warns(UnreadableFileWarning) as caught:
        table = analyze(tmp_path, model)
    assert len(caught) == 2 and all("not a readable image" in str(w.message) for w in caught)
    assert sorted(Path(s).name for s in table["source"]) == ["face0.png", "face1.png", "face2.png"]
    assert sorted(Path(s).name for s in table.attrs["errors"]) == ["._face0.png", "broken.jpg"]
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(analyze(tmp_path, model, errors="skip")) == 3
    # raise: stops at the first bad file, in the folder's sorted order
    with pytest.raises(ValueError, match=r"\._face0.png: not a readable image"):
        analyze(tmp_path, model, errors="raise")


def test_faces_of_many_photos_share_predict_calls(model, tmp_path):
    faces = load_fer2013_sample().images[:12]
    for i, face in enumerate(faces):
        Image.fromarray(face).save(tmp_path / f"face{i:02d}.png")

    class Counting:
        classes_ = model.classes_
        calls = []

        def predict_proba(self, X):
            self.calls.append(len(X))
            return model.predict_proba(X)

    table = analyze(tmp_path, Counting(), batch_size=5)
    assert Counting.calls == [5, 5, 2] and len(table) == 12
    np.testing.assert_allclose(table[EMOTIONS].values, model.predict_proba(faces), atol=1e-6)



@needs_photos
def test_photos_searched_side_by_side_give_the_table_of_one_at_a_time(model, tmp_path,
                                                                      portrait_video, two_threads):
    from concurrent.futures import ThreadPoolExecutor

    from fer_sklearn._runtime import one_thread_here

    photos = sorted(PHOTOS.glob("img*.jpg"))[:5]
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 cut short")
    face = load_fer2013_sample().images[0]  # an array, taken as a face crop
    sources = [*photos[:2], tmp_path / "broken.jpg", portrait_video, face, *photos[2:]]
    with pytest.warns(UnreadableFileWarning):
        ahead = analyze(sources, model)  # on a pool of threads
    with ThreadPoolExecutor(1, initializer=one_thread_here) as pool:  # one photo at a time
        with pytest.warns(UnreadableFileWarning):
            serial = pool.submit(analyze, sources, model).result()
    pd.testing.assert_frame_equal(ahead, serial)
    assert list(dict.fromkeys(ahead["source"])) == [
        *map(str, photos[:2]), str(portrait_video), "array[4]", *map(str, photos[2:])]
    assert list(ahead.attrs["errors"]) == [str(tmp_path / "broken.jpg")]


@pytest.mark.parametrize("kwargs, error, pattern", [
    (dict(threshold=-1), ValueError, r"threshold must be a number in \(0, 1\]; got -1"),
    (dict(work_size=0), ValueError, r"work_size must be a whole number of pixels in 64..8192"),
    (dict(overlap="0.4"), ValueError, r"overlap must be a number"),
    (dict(fps=float("inf")), ValueError, r"fps must be a finite number > 0; got inf"),
    (dict(every=0), ValueError, r"every must be a whole number of at least 1"),
    (dict(errors="ignore"), ValueError, r"errors must be one of \['warn', 'raise', 'skip'\]"),
    (dict(engine="tf"), ValueError, r"engine must be one of \['onnx', 'torch'\]"),
    (dict(thresh=0.5), TypeError, r"unexpected argument\(s\) \['thresh'\]"),
    (dict(model=None), TypeError, r"model must be a shipped model's name .* got None"),
])
def test_arguments_are_checked_before_any_work(kwargs, error, pattern):
    kwargs = {"model": "rnn", **kwargs}
    with pytest.raises(error, match=pattern):
        analyze(no_face(), **kwargs)


def test_an_unfitted_model_and_an_empty_array():
    from fer_sklearn import FERRNNClassifier

    with pytest.raises(TypeError, match="an unfitted FERRNNClassifier"):
        analyze(no_face(), FERRNNClassifier())
    with pytest.raises(ValueError, match=r"array: expected an image of at least 1x1 pixels"):
        analyze(np.zeros((0, 5), np.uint8), "rnn")
