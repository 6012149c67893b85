import os

import numpy as np
import pandas as pd
import pytest

from fer_sklearn import load_fer2013, load_fer2013_sample
from fer_sklearn.datasets import EMOTIONS, get_data_home


@pytest.mark.parametrize(
    "writer", ["write_csv", "write_gzip", "write_tar", "write_icml"]
)
def test_csv_layouts(fer_files, data_home, writer):
    path = getattr(fer_files, writer)()
    bunch = load_fer2013(path, data_home=data_home)
    np.testing.assert_array_equal(bunch.data, fer_files.pixels)
    np.testing.assert_array_equal(bunch.target, fer_files.target)
    np.testing.assert_array_equal(bunch.usage, fer_files.usage)
    assert bunch.data.dtype == np.uint8 and bunch.data.shape == (21, 2304)
    assert bunch.target.dtype == np.int64
    assert bunch.images.shape == (21, 48, 48)
    assert np.shares_memory(bunch.images, bunch.data)
    assert list(bunch.target_names) == list(EMOTIONS)
    assert "FER2013" in bunch.DESCR


def test_quoted_and_crlf_csv(fer_files, data_home):
    lines = ["emotion,pixels,Usage"] + [
        f'{e},"{p}",{u}' for e, p, u in fer_files.rows()
    ]
    path = fer_files.write_csv(text="\r\n".join(lines) + "\r\n")
    bunch = load_fer2013(path, data_home=data_home, cache=False)
    np.testing.assert_array_equal(bunch.data, fer_files.pixels)
    np.testing.assert_array_equal(bunch.target, fer_files.target)


def test_train_test_pair(fer_files, data_home):
    folder = fer_files.write_train_test()
    bunch = load_fer2013(folder / "train.csv", data_home=data_home)
    training = fer_files.usage == "Training"
    n_train = training.sum()
    np.testing.assert_array_equal(bunch.data[:n_train], fer_files.pixels[training])
    np.testing.assert_array_equal(bunch.target[:n_train], fer_files.target[training])
    np.testing.assert_array_equal(bunch.data[n_train:], fer_files.pixels[~training])
    # test.csv has no labels; fewer than 3,589 rows: all PublicTest
    assert (bunch.target[n_train:] == -1).all()
    assert set(bunch.usage[n_train:]) == {"PublicTest"}
    # the folder itself, or test.csv, finds the same pair
    np.testing.assert_array_equal(load_fer2013(folder, data_home=data_home).data, bunch.data)
    train_only = load_fer2013(folder, usage="Training", data_home=data_home)
    assert len(train_only.target) == n_train


def test_test_csv_splits_public_and_private(tmp_path):
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 256, size=(3591, 2304), dtype=np.uint8)
    text = "pixels\n" + "".join(" ".join(map(str, row)) + "\n" for row in pixels)
    (tmp_path / "test.csv").write_text(text)
    bunch = load_fer2013(tmp_path / "test.csv", cache=False)
    assert (bunch.usage[:3589] == "PublicTest").all()
    assert (bunch.usage[3589:] == "PrivateTest").all()
    np.testing.assert_array_equal(bunch.data, pixels)


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_image_folder(fer_files, data_home, suffix):
    folder = fer_files.write_image_folder(suffix=suffix)
    bunch = load_fer2013(folder, data_home=data_home)
    # rows come sorted by split folder, emotion folder, file name
    order = sorted(
        range(21),
        key=lambda i: (
            "train" if fer_files.usage[i] == "Training" else "test",
            EMOTIONS[fer_files.target[i]],
            f"{fer_files.usage[i]}_{i:05d}",
        ),
    )
    np.testing.assert_array_equal(bunch.target, fer_files.target[order])
    np.testing.assert_array_equal(bunch.usage, fer_files.usage[order])
    assert bunch.data.dtype == np.uint8 and bunch.data.shape == (21, 2304)
    difference = np.abs(bunch.data.astype(int) - fer_files.pixels[order])
    if suffix == ".png":
        assert difference.max() == 0
    else:  # JPEG is lossy; random noise is its worst case
        assert difference.mean() < 40


def test_image_folder_usage_from_folder_names(fer_files, data_home):
    folder = fer_files.write_image_folder(prefix=False)
    bunch = load_fer2013(folder, data_home=data_home)
    # no file-name prefix: train/ is Training, test/ is PrivateTest
    assert (bunch.usage == "Training").sum() == 7
    assert (bunch.usage == "PrivateTest").sum() == 14


def test_image_folder_wrong_size(fer_files, tmp_path):
    from PIL import Image

    folder = fer_files.write_image_folder()
    bad = folder / "train" / "happy" / "Training_99999.png"
    Image.new("L", (64, 48)).save(bad)
    with pytest.raises(ValueError, match=r"Training_99999.png: expected a 48x48 image; got 64x48"):
        load_fer2013(folder, cache=False)


def test_image_folder_unknown_emotion(fer_files):
    from PIL import Image

    folder = fer_files.write_image_folder()
    (folder / "train" / "contempt").mkdir()
    Image.new("L", (48, 48)).save(folder / "train" / "contempt" / "Training_1.png")
    with pytest.raises(ValueError, match=r"'contempt' is not an emotion"):
        load_fer2013(folder, cache=False)


def test_directory_is_searched(fer_files, data_home):
    fer_files.write_gzip()
    bunch = load_fer2013(fer_files.root, data_home=data_home)
    np.testing.assert_array_equal(bunch.data, fer_files.pixels)


def test_usage_filter(fer_files, data_home):
    path = fer_files.write_csv()
    public = load_fer2013(path, usage="PublicTest", data_home=data_home)
    assert set(public.usage) == {"PublicTest"} and len(public.target) == 7
    np.testing.assert_array_equal(
        public.data, fer_files.pixels[fer_files.usage == "PublicTest"]
    )
    both = load_fer2013(path, usage=["Training", "PrivateTest"], data_home=data_home)
    assert len(both.target) == 14
    assert np.shares_memory(both.images, both.data)


@pytest.mark.parametrize("usage", ["train", "Validation", ["Training", "test"], [], 3])
def test_invalid_usage(fer_files, usage):
    path = fer_files.write_csv()
    with pytest.raises(ValueError, match=r"The 'usage' parameter of load_fer2013 must be one of \['Training', 'PublicTest', 'PrivateTest'\].*Got"):
        load_fer2013(path, usage=usage)


def test_usage_absent_from_file(fer_files, data_home):
    folder = fer_files.write_train_test()
    with pytest.raises(ValueError, match=r"holds no \['PrivateTest'\] rows; it holds \['Training', 'PublicTest'\]"):
        load_fer2013(folder / "train.csv", usage="PrivateTest", data_home=data_home)


def test_return_X_y_and_frame(fer_files, data_home):
    path = fer_files.write_csv()
    X, y = load_fer2013(path, return_X_y=True, data_home=data_home)
    np.testing.assert_array_equal(X, fer_files.pixels)
    np.testing.assert_array_equal(y, fer_files.target)
    bunch = load_fer2013(path, as_frame=True, data_home=data_home)
    assert isinstance(bunch.frame, pd.DataFrame)
    assert bunch.frame.shape == (21, 2306)
    np.testing.assert_array_equal(bunch.frame["emotion"], fer_files.target)
    np.testing.assert_array_equal(bunch.frame["pixel_5"], fer_files.pixels[:, 5])


def replace_line(files, line, new):
    lines = files.kaggle_text().splitlines()
    lines[line - 1] = new
    return files.write_csv(text="\n".join(lines) + "\n")


def test_row_with_2303_pixels(fer_files):
    pixels = " ".join(["7"] * 2303)
    path = replace_line(fer_files, 5, f"3,{pixels},Training")
    with pytest.raises(ValueError) as error:
        load_fer2013(path, cache=False)
    message = str(error.value)
    assert str(path) in message
    assert "line 5" in message
    assert "expected 2304 pixel values" in message and "got 2303" in message


@pytest.mark.parametrize(
    "row, pattern",
    [
        ("3,{p} 9,Training", r"line 4: expected 2304 pixel values .* got 2305"),
        ("3,{q} 256,Training", r"line 4: pixel values must be integers in 0..255; got '256'"),
        ("3,{q} 1000,Training", r"line 4: pixel values must be integers in 0..255; got '1000'"),
        ("3,{q} -1,Training", r"line 4: pixel values must be integers .*got '-1'"),
        ("3,{q} nan,Training", r"line 4: pixel values must be integers .*got 'nan'"),
        ("3,{q} 1.5,Training", r"line 4: pixel values must be integers .*got '1.5'"),
        ("7,{p},Training", r"line 4: emotion must be an integer code in 0..6 .*got '7'"),
        ("happy,{p},Training", r"line 4: emotion must be an integer code .*got 'happy'"),
        (",{p},Training", r"line 4: emotion must be an integer code .*got ''"),
        ("3,{p},Validation", r"line 4: Usage must be one of \['Training', 'PublicTest', 'PrivateTest'\]; got 'Validation'"),
        ("3,{p}", r"line 4: expected 3 comma-separated fields \(emotion, pixels, Usage\); got 2"),
        ("3,,Training", r"line 4: expected 2304 pixel values .* got 0"),
        ("", r"line 4: expected 3 comma-separated fields"),
    ],
)
def test_bad_rows(fer_files, row, pattern):
    p = " ".join(["7"] * 2304)
    q = " ".join(["7"] * 2303)
    path = replace_line(fer_files, 4, row.format(p=p, q=q))
    with pytest.raises(ValueError, match=pattern) as error:
        load_fer2013(path, cache=False)
    assert str(path) in str(error.value)


def test_bad_row_in_a_later_chunk_names_its_line(tmp_path):
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(1300, 2304), dtype=np.uint8)
    lines = ["emotion,pixels,Usage"] + [
        f"0,{' '.join(map(str, row))},Training" for row in pixels
    ]
    lines[1200] = "0," + " ".join(["1"] * 2303) + ",Training"  # file line 1201
    path = tmp_path / "fer2013.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=r"line 1201: expected 2304 pixel values"):
        load_fer2013(path, cache=False)


def test_not_a_fer_csv(tmp_path):
    path = tmp_path / "fer2013.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match=r"expected a FER2013 CSV with a 'pixels' column"):
        load_fer2013(path, cache=False)
    path.write_text("")
    with pytest.raises(ValueError, match="the file is empty"):
        load_fer2013(path, cache=False)
    path.write_bytes(b"\x1f\x8bnot really gzip")
    with pytest.raises(ValueError, match="corrupt gzip"):
        load_fer2013(path, cache=False)


def test_missing_file(tmp_path):
    missing = tmp_path / "nowhere" / "fer2013.csv"
    with pytest.raises(OSError, match=r"FER2013 not found.*nowhere.*does not exist.*kaggle competitions download -c challenges-in-representation-learning-facial-expression-recognition-challenge"):
        load_fer2013(missing)


def test_path_none_uses_env_then_data_home(fer_files, tmp_path, monkeypatch):
    monkeypatch.delenv("FER2013_PATH", raising=False)
    home = tmp_path / "home"
    home.mkdir()
    with pytest.raises(OSError, match=r"\$FER2013_PATH \(not set\).*the data home"):
        load_fer2013(data_home=home)
    fer_files.write_csv()
    monkeypatch.setenv("FER2013_PATH", str(fer_files.root / "fer2013.csv"))
    assert len(load_fer2013(data_home=home).target) == 21
    monkeypatch.delenv("FER2013_PATH")
    (home / "fer2013.csv").write_text(fer_files.kaggle_text())
    assert len(load_fer2013(data_home=home).target) == 21


def test_data_home(monkeypatch, tmp_path):
    monkeypatch.setenv("FER_SKLEARN_DATA", str(tmp_path / "x"))
    assert get_data_home() == tmp_path / "x"
    assert get_data_home(tmp_path / "y") == tmp_path / "y"
    monkeypatch.delenv("FER_SKLEARN_DATA")
    assert get_data_home().name == "fer_sklearn_data"


def test_cache_is_written_and_invalidated(fer_files, data_home):
    path = fer_files.write_csv()
    first = load_fer2013(path, data_home=data_home)
    cached = list((data_home / "cache").glob("*.npz"))
    assert len(cached) == 1
    again = load_fer2013(path, data_home=data_home)
    np.testing.assert_array_equal(again.data, first.data)

    # same size, same timestamp, different content: a new key
    stat = path.stat()
    text = path.read_text().replace("\n0,", "\n1,", 1)
    path.write_text(text)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    changed = load_fer2013(path, data_home=data_home)
    assert changed.target[0] == 1 and first.target[0] == 0
    assert len(list((data_home / "cache").glob("*.npz"))) == 2


def test_cache_false_writes_nothing(fer_files, data_home):
    load_fer2013(fer_files.write_csv(), data_home=data_home, cache=False)
    assert not data_home.exists()


@pytest.mark.parametrize("content", [b"garbage", b""], ids=["corrupt", "empty"])
def test_unreadable_cache_is_ignored_with_a_warning(fer_files, data_home, content):
    path = fer_files.write_csv()
    load_fer2013(path, data_home=data_home)
    (cache_file,) = (data_home / "cache").glob("*.npz")
    cache_file.write_bytes(content)
    with pytest.warns(UserWarning, match="unreadable cache"):
        bunch = load_fer2013(path, data_home=data_home)
    np.testing.assert_array_equal(bunch.data, fer_files.pixels)


def test_sample():
    sample = load_fer2013_sample()
    assert sample.data.shape == (900, 2304) and sample.data.dtype == np.uint8
    assert sample.images.shape == (900, 48, 48)
    assert set(sample.usage) == {"PublicTest"}
    assert set(np.unique(sample.target)) == set(range(7))
    X, y = load_fer2013_sample(return_X_y=True)
    np.testing.assert_array_equal(y, sample.target)


def test_full_data_counts(fer2013_path, tmp_path):
    """Exact per-usage, per-class counts of ../shared/data/README.md."""
    bunch = load_fer2013(fer2013_path, data_home=tmp_path)
    expected = {
        "Training": [3995, 436, 4097, 7215, 4830, 3171, 4965],
        "PublicTest": [467, 56, 496, 895, 653, 415, 607],
    }
    for usage, counts in expected.items():
        mask = bunch.usage == usage
        assert mask.sum() == sum(counts)
        assert np.bincount(bunch.target[mask], minlength=7).tolist() == counts
    training = load_fer2013(fer2013_path, usage="Training", data_home=tmp_path)
    assert training.data.shape == (28709, 2304)
    with pytest.raises(ValueError, match="holds no \\['PrivateTest'\\] rows"):
        load_fer2013(fer2013_path, usage="PrivateTest", data_home=tmp_path)


def test_full_data_sample_is_drawn_from_publictest(fer2013_path, tmp_path):
    public = load_fer2013(fer2013_path, usage="PublicTest", data_home=tmp_path)
    sample = load_fer2013_sample()
    rows = {row.tobytes() for row in public.data}
    assert all(row.tobytes() in rows for row in sample.data)


# -- compressed and odd CSV files: the right arrays or one clear error --------


def test_multi_member_gzip_reads_every_member(fer_files, data_home, tmp_path):
    import gzip

    text = fer_files.kaggle_text().encode()
    middle = text.index(b"\n", len(text) // 2) + 1
    path = tmp_path / "parts.csv.gz"
    path.write_bytes(gzip.compress(text[:middle]) + gzip.compress(text[middle:]))
    bunch = load_fer2013(path, cache=False)
    np.testing.assert_array_equal(bunch.data, fer_files.pixels)
    # zero padding after the last member is allowed, as gzip allows it
    path.write_bytes(gzip.compress(text) + b"\x00" * 512)
    assert len(load_fer2013(path, cache=False).data) == len(fer_files.pixels)


@pytest.mark.parametrize("damage, pattern", [
    (lambda data: data + b"garbage", r"7 bytes after the end of the gzip data .* are not a gzip member"),
    (lambda data: data[:5], r"(the gzip file is truncated|a corrupt gzip file)"),
    (lambda data: data[: len(data) // 2], r"the gzip file is truncated \(it ends inside the gzip member that starts at byte 0\)"),
])
def test_damaged_gzip_is_one_clear_error(fer_files, data_home, tmp_path, damage, pattern):
    path = tmp_path / "damaged.csv.gz"
    path.write_bytes(damage(fer_files.write_gzip().read_bytes()))
    with pytest.raises(ValueError, match=r"damaged.csv.gz: " + pattern):
        load_fer2013(path, cache=False)


def test_cr_only_line_ends_and_trailing_blank_lines(fer_files, data_home):
    lines = fer_files.kaggle_text().splitlines()
    for text in ("\r".join(lines) + "\r", "\n".join(lines) + "\n\n\n"):
        bunch = load_fer2013(fer_files.write_csv(text=text), cache=False)
        np.testing.assert_array_equal(bunch.data, fer_files.pixels)
        np.testing.assert_array_equal(bunch.target, fer_files.target)


def test_header_only_file_is_refused(fer_files, data_home):
    path = fer_files.write_csv(text="emotion,pixels,Usage\n")
    with pytest.raises(ValueError, match=r"fer2013.csv: the file has a header \(emotion, pixels, Usage\) but no rows"):
        load_fer2013(path, cache=False)


def test_column_names_in_any_case_and_a_missing_emotion_column(fer_files, data_home):
    text = fer_files.kaggle_text().replace("emotion,pixels,Usage", "Emotion,Pixels,usage", 1)
    bunch = load_fer2013(fer_files.write_csv(text=text), cache=False)
    np.testing.assert_array_equal(bunch.target, fer_files.target)
    rows = [f"{p},{u}" for _, p, u in fer_files.rows()]
    path = fer_files.write_csv(text="pixels,Usage\n" + "\n".join(rows) + "\n")
    with pytest.raises(ValueError, match=r"expected an 'emotion' column .* got columns \['pixels', 'Usage'\]"):
        load_fer2013(path, cache=False)


def test_sixteen_bit_pngs_in_the_image_folder(tmp_path, data_home):
    from PIL import Image

    face = (np.arange(48 * 48).reshape(48, 48) % 256 * 257).astype(np.uint16)
    folder = tmp_path / "fer" / "train" / "happy"
    folder.mkdir(parents=True)
    Image.fromarray(face).save(folder / "Training_00001.png")
    bunch = load_fer2013(tmp_path / "fer", cache=False)
    np.testing.assert_array_equal(bunch.images[0], face // 257)


def test_cache_sees_a_same_size_change_in_the_middle_of_a_large_file(fer_files, data_home):
    files = type(fer_files)(fer_files.root, n_per_usage=100)  # 300 rows, about 2.7 MB
    path = files.write_csv()
    assert path.stat().st_size > 2 * (1 << 20)
    first = load_fer2013(path, data_home=data_home)
    stat = path.stat()
    data = bytearray(path.read_bytes())
    middle = data.index(b"\n", len(data) // 2) + 1  # the emotion code of a middle row
    data[middle : middle + 1] = b"6" if data[middle : middle + 1] != b"6" else b"5"
    path.write_bytes(bytes(data))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    changed = load_fer2013(path, data_home=data_home)
    assert (changed.target != first.target).sum() == 1


# -- archives as people have them, and other files of the second probe ------

def _tar(path, members):
    import io
    import tarfile

    with tarfile.open(path, "w:gz") as archive:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def test_kaggle_zip_is_read_as_it_is(fer_files, tmp_path):
    import zipfile

    text = fer_files.kaggle_text()
    path = tmp_path / "challenges-in-representation-learning-facial-expression-recognition-challenge.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("example_submission.csv", "Id,Emotion\n1,0\n")
        # the icml layout: a space after each comma
        archive.writestr("icml_face_data.csv", text.replace(",", ", "))
        archive.writestr("train.csv", "emotion,pixels\n")
        archive.writestr("test.csv", "pixels\n")
    bunch = load_fer2013(path, cache=False)
    np.testing.assert_array_equal(bunch.data, fer_files.pixels)
    np.testing.assert_array_equal(bunch.usage, fer_files.usage)
    # the data home finds the zip by Kaggle's name
    assert len(load_fer2013(tmp_path, cache=False).target) == len(fer_files.target)


def test_a_tar_chooses_members_by_content(fer_files, tmp_path):
    data = fer_files.kaggle_text().encode()
    behind = _tar(tmp_path / "a.tar.gz", [("example_submission.csv", b"Id,Emotion\n1,0\n"),
                                          ("fer2013/fer2013.csv", data)])
    np.testing.assert_array_equal(load_fer2013(behind, cache=False).data, fer_files.pixels)
    two = _tar(tmp_path / "b.tar.gz", [("one.csv", data), ("two.csv", data)])
    with pytest.raises(ValueError, match=r"holds several FER2013 CSVs \['one.csv', 'two.csv'\]"):
        load_fer2013(two, cache=False)
    none = _tar(tmp_path / "c.tar.gz", [("example_submission.csv", b"Id,Emotion\n")])
    with pytest.raises(ValueError, match=r"expected an archive holding a FER2013 CSV"):
        load_fer2013(none, cache=False)


def test_a_test_csv_with_its_own_usage_keeps_it(tmp_path, fer_files):
    folder = tmp_path / "release"
    folder.mkdir()
    rows = fer_files.rows()
    (folder / "train.csv").write_text("emotion,pixels\n" + "".join(
        f"{e},{p}\n" for e, p, u in rows if u == "Training"))
    (folder / "test.csv").write_text("pixels,Usage\n" + "".join(
        f"{p},PrivateTest\n" for e, p, u in rows if u != "Training"))
    bunch = load_fer2013(folder / "test.csv", cache=False)
    assert set(bunch.usage[bunch.target == -1]) == {"PrivateTest"}


def test_a_column_named_twice_is_an_error(tmp_path):
    path = tmp_path / "twice.csv"
    path.write_text("emotion,emotion,pixels,Usage\n0,1," + " ".join(["0"] * 2304) + ",Training\n")
    with pytest.raises(ValueError, match=r"twice.csv: the column 'emotion' appears 2 times"):
        load_fer2013(path, cache=False)


def test_as_frame_with_return_x_y(fer_files):
    import pandas as pd

    X, y = load_fer2013(fer_files.write_csv(), return_X_y=True, as_frame=True, cache=False)
    assert isinstance(X, pd.DataFrame) and X.shape == (len(fer_files.target), 2304)
    assert isinstance(y, pd.Series) and y.name == "emotion"
    np.testing.assert_array_equal(y, fer_files.target)


def test_a_gzip_bomb_is_refused_before_it_inflates(tmp_path, monkeypatch):
    import gzip

    from fer_sklearn.datasets import _csv

    monkeypatch.setattr(_csv, "MAX_INFLATED_BYTES", 1_000_000)
    path = tmp_path / "bomb.csv.gz"
    path.write_bytes(gzip.compress(b"emotion,pixels,Usage\n" + b"0" * 5_000_000))
    with pytest.raises(ValueError, match=r"bomb.csv.gz: inflates to more than 1,000,000 bytes"):
        load_fer2013(path, cache=False)
    archive = _tar(tmp_path / "bomb.tar.gz", [("fer2013.csv", b"0" * 2_000_000)])
    with pytest.raises(ValueError, match=r"inflates to more than 1,000,000 bytes"):
        load_fer2013(archive, cache=False)


def test_the_cache_is_written_through_a_file_of_its_own(fer_files, tmp_path):
    import threading

    path = fer_files.write_csv()
    home = tmp_path / "home"
    (home / "cache").mkdir(parents=True)
    # a link planted where the old code wrote its partial file is not followed
    from fer_sklearn.datasets._fer2013 import _cache_key

    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (home / "cache" / f"fer2013-{_cache_key(path)}.partial.npz").symlink_to(victim)
    results, errors = [], []

    def load():
        try:
            results.append(load_fer2013(path, data_home=home))
        except Exception as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=load) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert victim.read_text() == "keep me"
    for bunch in results:
        np.testing.assert_array_equal(bunch.data, fer_files.pixels)
    cached = sorted(p.name for p in (home / "cache").iterdir() if not p.is_symlink())
    assert cached == [f"fer2013-{_cache_key(path)}.npz"]  # no temporary left behind
