"""FER2013 inside archives (Kaggle's ``fer2013.tar.gz``, zip files) and as
Kaggle's ``train.csv`` with ``test.csv``."""

import tarfile
from pathlib import Path

from isal import isal_zlib

from ._common import KAGGLE_PUBLIC_TEST_ROWS, concatenate
from . import _csv
from ._csv import _too_large, parse_csv_bytes, read_csv

__all__ = ["read_archive", "read_tar", "read_train_test"]

#: FER2013 CSVs that hold every row with its Usage, most common first
_FULL_FILES = ("fer2013.csv", "icml_face_data.csv")


def _header(data):
    """The column names of CSV bytes (gzipped or not), lower case."""
    if data[:2] == b"\x1f\x8b":
        data = isal_zlib.decompressobj(16 + isal_zlib.MAX_WBITS).decompress(data[:65536], 65536)
    first = data.split(b"\n", 1)[0].split(b"\r", 1)[0]
    return [name.strip().strip(b'"').decode("utf-8", "replace").lower()
            for name in first.split(b",")]


def _archive_members(path, data=None):
    """(name, size, read) of each file in a tar or zip archive (``data``:
    the archive's bytes, for one nested in another)."""
    import io
    import zipfile

    def source():  # is_zipfile reads the stream: each reader gets its own
        return path if data is None else io.BytesIO(data)

    if zipfile.is_zipfile(source()):
        archive = zipfile.ZipFile(source())
        return archive, [(info.filename, info.file_size,
                          lambda info=info: archive.read(info))
                         for info in archive.infolist() if not info.is_dir()]
    try:
        archive = (tarfile.open(path, "r:*") if data is None
                   else tarfile.open(fileobj=source(), mode="r:*"))
    except tarfile.TarError as exc:
        raise ValueError(f"{path}: not a readable tar or zip archive ({exc}).") from exc
    return archive, [(m.name, m.size, lambda m=m: archive.extractfile(m).read())
                     for m in archive.getmembers() if m.isfile()]


def _read_member(path, name, size, read):
    if size > _csv.MAX_INFLATED_BYTES:  # one limit, read where it is set
        raise _too_large(f"{path}:{name}", size)
    return read()


def read_archive(path, _data=None, _where=None):
    """Read FER2013 from a tar archive (Kaggle's ``fer2013.tar.gz``) or a zip
    archive (the competition's download), choosing members by content.

    Members are read without unpacking to disk. A CSV member is FER2013 when
    its header names a ``pixels`` column; an archive inside (Kaggle's zip
    holds ``fer2013.tar.gz``) is searched too. Of several, the one holding
    every row with its Usage is read (``fer2013.csv``, then
    ``icml_face_data.csv``: the same data); else ``train.csv`` with its
    ``test.csv``; else the only FER2013 CSV. Several other FER2013 CSVs are
    an error naming them: which one is meant cannot be guessed. No member
    may inflate beyond ``_csv.MAX_INFLATED_BYTES``.
    """
    path = Path(path)
    where = _where or str(path)
    archive, members = _archive_members(path, _data)
    with archive:
        found, nested, names = {}, [], [name for name, _, _ in members]
        for name, size, read in members:
            base = Path(name).name.lower()
            if base.startswith("._"):
                continue  # macOS metadata beside each file in a zip
            if base.endswith((".csv", ".csv.gz")):
                data = _read_member(where, name, size, read)
                if "pixels" in _header(data):
                    found[name] = data
            elif base.endswith((".tar", ".tar.gz", ".tgz", ".zip")) and _data is None:
                nested.append((name, _read_member(where, name, size, read)))
        by_base = {Path(name).name.lower(): name for name in found}
        for full in _FULL_FILES:
            if full in by_base:
                name = by_base[full]
                return parse_csv_bytes(found[name], f"{where}:{name}")
        if "train.csv" in by_base and "test.csv" in by_base:
            train, test = by_base["train.csv"], by_base["test.csv"]
            return concatenate([
                parse_csv_bytes(found[train], f"{where}:{train}", default_usage="Training"),
                _test_part(found[test], f"{where}:{test}"),
            ])
        if len(found) == 1:
            (name, data), = found.items()
            return parse_csv_bytes(data, f"{where}:{name}",
                                   default_usage="Training"
                                   if Path(name).name.lower().startswith("train") else None)
        if len(found) > 1:
            raise ValueError(
                f"{where}: holds several FER2013 CSVs {sorted(found)} and none of "
                f"{', '.join(_FULL_FILES)}: extract the one to read and pass its path."
            )
        for name, data in nested:
            try:
                return read_archive(path, data, f"{where}:{name}")
            except ValueError as exc:
                if "expected an archive holding" not in str(exc):
                    raise
        raise ValueError(
            f"{where}: expected an archive holding a FER2013 CSV (a header with a "
            f"'pixels' column, e.g. fer2013/fer2013.csv); it holds {names}."
        )


def read_tar(path):
    """Read Kaggle's ``fer2013.tar.gz`` without unpacking it to disk (see
    :func:`read_archive`)."""
    return read_archive(path)


def _test_part(data, source):
    """The later release's ``test.csv``: unlabelled; its own ``Usage``
    column where it has one, else Kaggle's order (the first 3,589 rows
    PublicTest, the rest PrivateTest)."""
    test = parse_csv_bytes(data, source, default_usage="PublicTest", labelled=False)
    if "usage" not in _header(data):
        test.usage[KAGGLE_PUBLIC_TEST_ROWS:] = "PrivateTest"
    return test


def read_train_test(train_path, test_path):
    """Read the ``train.csv`` + ``test.csv`` pair of the later Kaggle release.

    ``train.csv`` (``emotion,pixels``) gives Training rows. ``test.csv``
    (``pixels`` only) has no labels: its rows get target ``-1`` and, unless
    it has a ``Usage`` column of its own, in Kaggle's order, usage
    ``PublicTest`` for the first 3,589 rows and ``PrivateTest`` for the rest.
    """
    parts = []
    if train_path is not None:
        parts.append(read_csv(train_path, default_usage="Training"))
    if test_path is not None:
        parts.append(_test_part(Path(test_path).read_bytes(), str(test_path)))
    return concatenate(parts)
