"""Shared fixtures: small FER2013 files in every layout, and the full data."""

import gzip
import io
import os
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest

#: this process's OMP_NUM_THREADS when the tests began
_OMP_NUM_THREADS = os.environ.get("OMP_NUM_THREADS")
EMOTIONS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
USAGES = ("Training", "PublicTest", "PrivateTest")


class FERFiles:
    """Small FER2013 files written into a folder, with the arrays they hold."""

    def __init__(self, root, n_per_usage=7, seed=0):
        rng = np.random.default_rng(seed)
        self.root = Path(root)
        self.usage = np.repeat(USAGES, n_per_usage)
        n = len(self.usage)
        self.target = np.tile(np.arange(7), 3 * n_per_usage // 7 + 1)[:n]
        self.pixels = rng.integers(0, 256, size=(n, 2304), dtype=np.uint8)

    def rows(self, index=None):
        index = range(len(self.target)) if index is None else index
        return [
            (int(self.target[i]), " ".join(map(str, self.pixels[i])), str(self.usage[i]))
            for i in index
        ]

    def kaggle_text(self):
        lines = ["emotion,pixels,Usage"]
        lines += [f"{e},{p},{u}" for e, p, u in self.rows()]
        return "\n".join(lines) + "\n"

    def write_csv(self, name="fer2013.csv", text=None):
        path = self.root / name
        path.write_text(self.kaggle_text() if text is None else text)
        return path

    def write_gzip(self, name="fer2013.csv.gz"):
        path = self.root / name
        path.write_bytes(gzip.compress(self.kaggle_text().encode()))
        return path

    def write_tar(self, name="fer2013.tar.gz"):
        path = self.root / name
        data = self.kaggle_text().encode()
        with tarfile.open(path, "w:gz") as archive:
            for member, payload in [
                ("fer2013/README", b"readme"),
                ("fer2013/fer2013.csv", data),
            ]:
                info = tarfile.TarInfo(member)
                info.size = len(payload)
                archive.addfile(info, io.BytesIO(payload))
        return path

    def write_icml(self, name="icml_face_data.csv"):
        lines = ["emotion, Usage, pixels"]
        lines += [f"{e}, {u}, {p}" for e, p, u in self.rows()]
        path = self.root / name
        path.write_text("\n".join(lines) + "\n")
        return path

    def write_train_test(self, folder="kaggle_new"):
        folder = self.root / folder
        folder.mkdir()
        train = np.flatnonzero(self.usage == "Training")
        test = np.flatnonzero(self.usage != "Training")
        (folder / "train.csv").write_text(
            "emotion,pixels\n"
            + "".join(f"{e},{p}\n" for e, p, _ in self.rows(train))
        )
        (folder / "test.csv").write_text(
            "pixels\n" + "".join(f"{p}\n" for _, p, _ in self.rows(test))
        )
        return folder

    def write_image_folder(self, folder="images", suffix=".png", prefix=True):
        from PIL import Image

        folder = self.root / folder
        for i, (emotion, usage) in enumerate(zip(self.target, self.usage)):
            split = "train" if usage == "Training" else "test"
            directory = folder / split / EMOTIONS[emotion]
            directory.mkdir(parents=True, exist_ok=True)
            name = f"{usage}_{i:05d}{suffix}" if prefix else f"im{i:05d}{suffix}"
            Image.fromarray(self.pixels[i].reshape(48, 48)).save(directory / name)
        return folder


@pytest.fixture(autouse=True, scope="session")
def _private_data_home(tmp_path_factory):
    """The parse cache in a temporary folder, never the user's real
    ~/fer_sklearn_data (``.ci/run`` sets its own)."""
    if not os.environ.get("FER_SKLEARN_DATA"):
        os.environ["FER_SKLEARN_DATA"] = str(tmp_path_factory.mktemp("fer_sklearn_data"))
    yield


@pytest.fixture(autouse=True)
def _thread_settings_restored():
    """Each test starts with the process's thread settings: the training
    scripts set torch's thread count and a Dask cluster's nannies leave
    ``OMP_NUM_THREADS=1`` in this process's environment, and either would
    make every later test run single-threaded (and the pool tests fail)."""
    torch = sys.modules.get("torch")
    threads = torch.get_num_threads() if torch is not None else None
    yield
    torch = sys.modules.get("torch")
    if torch is not None and threads is not None and torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    if _OMP_NUM_THREADS is None:
        os.environ.pop("OMP_NUM_THREADS", None)
    else:
        os.environ["OMP_NUM_THREADS"] = _OMP_NUM_THREADS


@pytest.fixture
def two_threads():
    """torch's thread count, which the search pool follows, at 2 for the
    test whatever the machine: the pool's work is then really side by side
    (restored after the test)."""
    torch = pytest.importorskip("torch")
    torch.set_num_threads(2)
    from fer_sklearn._runtime import cpu_threads

    assert cpu_threads() == 2
    return 2


@pytest.fixture
def fer_files(tmp_path):
    """Small FER2013 data (21 rows, every emotion in every split) and its writers."""
    return FERFiles(tmp_path)


@pytest.fixture
def data_home(tmp_path):
    return tmp_path / "data_home"


@pytest.fixture(scope="session")
def fer2013_path():
    """The full FER2013 file from $FER2013_PATH; skips when it is not set."""
    path = os.environ.get("FER2013_PATH")
    if not path:
        pytest.skip("FER2013_PATH is not set: the full-data tests need FER2013")
    if not Path(path).exists():
        pytest.skip(f"FER2013_PATH={path} does not exist")
    return path
