"""Readers for each FER2013 layout.

Every reader returns a :class:`FERArrays`: pixels as ``(n, 2304)`` uint8,
targets as int codes (``-1`` where the file has no labels) and the usage of
each row. Every row is validated; a bad one raises ``ValueError`` naming the
file, the line (header = line 1) and what is wrong. Nothing here imports
torch.
"""

import csv
import os
import re
import tarfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from isal import isal_zlib

IMAGE_SIZE = 48
N_PIXELS = IMAGE_SIZE * IMAGE_SIZE
EMOTIONS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
USAGES = ("Training", "PublicTest", "PrivateTest")
#: Rows of Kaggle's test.csv that are PublicTest; the rest are PrivateTest.
KAGGLE_PUBLIC_TEST_ROWS = 3589
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
UNLABELLED = -1

# Folder names of the image-folder copy, mapped to a usage when the file
# names carry no ``Training_``/``PublicTest_``/``PrivateTest_`` prefix.
_SPLIT_FOLDERS = {
    "train": "Training",
    "training": "Training",
    "val": "PublicTest",
    "valid": "PublicTest",
    "validation": "PublicTest",
    "publictest": "PublicTest",
    "test": "PrivateTest",
    "privatetest": "PrivateTest",
}
_DIGIT_0, _SPACE, _NEWLINE = ord("0"), ord(" "), ord("\n")
_PARSE_CHUNK_ROWS = 512


@dataclass
class FERArrays:
    """What a reader found: pixels, int targets and usages, row-aligned."""

    pixels: np.ndarray
    target: np.ndarray
    usage: np.ndarray


def _row_error(source, line, message):
    return ValueError(f"{source}, line {line}: {message}")


def parse_pixel_strings(strings, source, first_line):
    """Parse FER2013 ``pixels`` fields (bytes) into an ``(n, 2304)`` uint8 array.

    Vectorised over bytes: no Python ``int()`` per pixel. ``first_line`` is
    the file line of ``strings[0]``; the strings are on consecutive lines.
    """
    strings = list(strings)
    out = np.empty((len(strings), N_PIXELS), dtype=np.uint8)
    starts = range(0, len(strings), _PARSE_CHUNK_ROWS)

    def parse(start):
        chunk = strings[start : start + _PARSE_CHUNK_ROWS]
        out[start : start + len(chunk)] = _parse_chunk(chunk, source, first_line + start)

    # numpy releases the GIL: chunks parse in parallel; map re-raises the
    # error of the earliest bad chunk, so the first bad line is reported
    workers = min(4, os.cpu_count() or 1, len(starts))
    if workers > 1:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(parse, starts))
    else:
        for start in starts:
            parse(start)
    return out


def _parse_chunk(strings, source, first_line):
    raw = np.frombuffer(b"\n".join(strings) + b"\n", dtype=np.uint8)
    newlines = np.flatnonzero(raw == _NEWLINE)
    row_starts = np.concatenate(([0], newlines[:-1] + 1))

    digits = raw - np.uint8(_DIGIT_0)  # wraps around for non-digits
    is_digit = digits < 10
    n_spaces = np.count_nonzero(raw == _SPACE)
    if np.count_nonzero(is_digit) + n_spaces + newlines.size != raw.size:
        bad = ~(is_digit | (raw == _SPACE) | (raw == _NEWLINE))
        position = int(np.argmax(bad))
        row = int(np.searchsorted(newlines, position))
        token = _token_at(bytes(strings[row]), position - int(row_starts[row]))
        raise _row_error(
            source,
            first_line + row,
            f"pixel values must be integers in 0..255 separated by spaces; "
            f"got {token!r}.",
        )

    # A token ends where a digit is followed by a non-digit (every row ends
    # in \n). Values are built at byte level from the digit and the one or
    # two digits before it, then gathered once at the token ends.
    ends = np.flatnonzero(is_digit[:-1] > is_digit[1:])
    counts = np.diff(np.searchsorted(ends, np.append(row_starts, raw.size)))
    wrong = np.flatnonzero(counts != N_PIXELS)
    if wrong.size:
        row = int(wrong[0])
        raise _row_error(
            source,
            first_line + row,
            f"expected {N_PIXELS} pixel values (a 48x48 image), got {counts[row]}.",
        )

    # three leading newlines pad the shifted views below
    digit_values = np.zeros(raw.size + 3, dtype=np.uint16)
    np.multiply(digits, is_digit, out=digit_values[3:], casting="unsafe")
    in_token = np.zeros(raw.size + 3, dtype=bool)
    in_token[3:] = is_digit
    values = digit_values[3:].copy()
    values += 10 * digit_values[2:-1]
    values += 100 * (digit_values[1:-2] * in_token[2:-1])
    values = values[ends]
    four_digits = in_token[3:] & in_token[2:-1] & in_token[1:-2] & in_token[:-3]
    if four_digits.any() or values.max(initial=0) > 255:
        index = int(np.argmax(values > 255)) if values.max(initial=0) > 255 else None
        if index is None:
            row = int(np.searchsorted(newlines, int(np.argmax(four_digits))))
            index = row * N_PIXELS
        row = index // N_PIXELS
        bad = next(
            (t for t in bytes(strings[row]).split() if len(t) > 3 or int(t) > 255),
            b"?",
        )
        raise _row_error(
            source,
            first_line + row,
            f"pixel values must be integers in 0..255; got {bad.decode()!r}.",
        )
    return values.astype(np.uint8).reshape(len(strings), N_PIXELS)


def _token_at(text, position):
    start = text.rfind(b" ", 0, position) + 1
    end = text.find(b" ", position)
    return text[start : end if end >= 0 else len(text)].decode("utf-8", "replace")


#: the most a compressed file or an archive member may inflate to: FER2013
#: is about 300 MB uncompressed
MAX_INFLATED_BYTES = 1_000_000_000


def _too_large(source, size=None):
    inflated = "" if size is None else f" ({size:,} bytes)"
    return ValueError(
        f"{source}: inflates to more than {MAX_INFLATED_BYTES:,} bytes{inflated}; FER2013 "
        "is about 300 MB uncompressed, so this is not FER2013 (or is damaged)."
    )


def _decompress(data, source):
    """Gunzip ``data`` if it is gzipped (ISA-L: several times faster than zlib).

    Every gzip member is read (``cat a.gz b.gz`` and parallel gzip write
    several); a truncated member, or bytes after the last member other than
    zero padding, are a ``ValueError``, and so is data that would inflate
    beyond :data:`MAX_INFLATED_BYTES` (it is refused before more is
    inflated).
    """
    if data[:2] != b"\x1f\x8b":
        return data
    view = memoryview(data)
    parts, position, total = [], 0, 0
    while position < len(data):
        if data[position : position + 2] != b"\x1f\x8b":
            if not data[position:].strip(b"\x00"):
                break  # zero padding after the last member, as tar and dd leave
            raise ValueError(
                f"{source}: {len(data) - position:,} bytes after the end of the gzip "
                f"data (at byte {position:,}) are not a gzip member: the file is "
                "damaged or holds something else as well."
            )
        stream = isal_zlib.decompressobj(16 + isal_zlib.MAX_WBITS)
        try:
            room = MAX_INFLATED_BYTES - total + 1
            part = stream.decompress(view[position:], room)
            if len(part) >= room or stream.unconsumed_tail:
                raise _too_large(source)
        except (isal_zlib.error, EOFError) as exc:
            raise ValueError(f"{source}: a corrupt gzip file ({exc}).") from exc
        parts.append(part)
        total += len(part)
        if not stream.eof:
            raise ValueError(
                f"{source}: the gzip file is truncated (it ends inside the gzip "
                f"member that starts at byte {position:,}); download it again."
            )
        position = len(data) - len(stream.unused_data)
    return parts[0] if len(parts) == 1 else b"".join(parts)


def _split_csv_lines(data, source):
    """Split CSV bytes into the data (CR-only line ends made LF), the
    header's column names and per-row fields.

    Each row is a list of ``(start, end)`` byte offsets into ``data``, one
    per field (or the field's bytes, for a quoted line): the 8 KB pixel
    fields are not copied here. FER2013 fields
    hold no commas or newlines, so offsets found with ``bytes.find`` are
    exact for unquoted lines; a line with quotes goes through :mod:`csv`.
    """
    if b"\n" not in data and b"\r" in data:
        data = data.replace(b"\r", b"\n")  # classic Mac OS line ends (CR only)
    header_end = data.find(b"\n")
    header_end = len(data) if header_end < 0 else header_end
    header = data[:header_end].rstrip(b"\r")
    if not header.strip():
        raise ValueError(f"{source}: the file is empty; expected a FER2013 CSV header.")
    try:
        header = header.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{source}: not a text CSV file ({exc}).") from exc
    # icml_face_data.csv names its columns " Usage" and " pixels"
    columns = [name.strip() for name in next(csv.reader([header]))]

    rows = []
    position = header_end + 1
    size = len(data.rstrip(b"\r\n"))  # blank lines at the very end hold no row
    while position < size:
        newline = data.find(b"\n", position)
        newline = size if newline < 0 else newline
        end = newline - 1 if newline > position and data[newline - 1] == 13 else newline
        if data.find(b'"', position, end) >= 0:
            rows.append(_quoted_fields(data, position, end))
        else:
            fields = []
            start = position
            comma = data.find(b",", start, end)
            while comma >= 0:
                fields.append((start, comma))
                start = comma + 1
                comma = data.find(b",", start, end)
            fields.append((start, end))
            rows.append(fields)
        position = newline + 1
    return data, columns, rows


def _quoted_fields(data, start, end):
    """The fields of a line with quotes, unquoted by :mod:`csv`, as bytes."""
    line = data[start:end].decode("utf-8", "replace")
    return [field.encode("utf-8") for field in next(csv.reader([line]), [])]


def _field_bytes(data, field):
    if isinstance(field, bytes):
        return field
    return memoryview(data)[field[0] : field[1]]


def _column(data, rows, index, columns, source):
    values = []
    for offset, fields in enumerate(rows):
        if len(fields) != len(columns):
            raise _row_error(
                source,
                offset + 2,
                f"expected {len(columns)} comma-separated fields "
                f"({', '.join(columns)}); got {len(fields)}.",
            )
        values.append(_field_bytes(data, fields[index]))
    return values


_EMOTION_CODES = {str(code).encode(): code for code in range(len(EMOTIONS))}
_USAGE_NAMES = {usage.encode(): usage for usage in USAGES}


def _lookup(values, table, source, what):
    out = []
    for offset, value in enumerate(values):
        key = bytes(value).strip().strip(b'"')
        if key not in table:
            raise _row_error(
                source,
                offset + 2,
                f"{what}; got {key.decode('utf-8', 'replace')!r}.",
            )
        out.append(table[key])
    return out


_CANONICAL = {"emotion": "emotion", "pixels": "pixels", "usage": "Usage"}


def parse_csv_bytes(data, source, *, default_usage=None, labelled=True):
    """Parse a FER2013 CSV (any column order, column names in any case).

    ``labelled=False`` allows a file without an ``emotion`` column (the
    later release's ``test.csv``): its targets are ``UNLABELLED``.
    """
    data = _decompress(data, source)
    data, columns, rows = _split_csv_lines(data, source)
    # the names of each layout, whatever their case
    columns = [_CANONICAL.get(name.lower(), name) for name in columns]
    repeated = sorted({name for name in columns if name in _CANONICAL.values()
                       and columns.count(name) > 1})
    if repeated:
        raise ValueError(
            f"{source}: the column {repeated[0]!r} appears {columns.count(repeated[0])} "
            f"times in the header {columns}; expected each of emotion, pixels, Usage once."
        )
    if "pixels" not in columns:
        raise ValueError(
            f"{source}: expected a FER2013 CSV with a 'pixels' column (and "
            f"'emotion', 'Usage'); got columns {columns}."
        )
    if not rows:
        raise ValueError(f"{source}: the file has a header ({', '.join(columns)}) but no rows.")
    if "emotion" not in columns and labelled:
        raise ValueError(
            f"{source}: expected an 'emotion' column (integer codes 0..6) beside "
            f"'pixels'; got columns {columns}. Only the test.csv of the later "
            "Kaggle release comes without labels (read it with its train.csv)."
        )
    pixel_fields = _column(data, rows, columns.index("pixels"), columns, source)
    pixels = parse_pixel_strings(pixel_fields, source, first_line=2)
    if "emotion" in columns:
        emotions = _column(data, rows, columns.index("emotion"), columns, source)
        target = np.array(
            _lookup(
                emotions,
                _EMOTION_CODES,
                source,
                f"emotion must be an integer code in 0..{len(EMOTIONS) - 1} "
                f"({', '.join(f'{i} {name}' for i, name in enumerate(EMOTIONS))})",
            ),
            dtype=np.int64,
        )
    else:
        target = np.full(len(rows), UNLABELLED, dtype=np.int64)
    if "Usage" in columns:
        usages = _column(data, rows, columns.index("Usage"), columns, source)
        usage = np.array(
            _lookup(usages, _USAGE_NAMES, source, f"Usage must be one of {list(USAGES)}"),
            dtype="<U11",
        )
    elif default_usage is not None:
        usage = np.broadcast_to(np.asarray(default_usage, dtype="<U11"), len(rows)).copy()
    else:
        raise ValueError(
            f"{source}: expected a 'Usage' column (Training, PublicTest or "
            f"PrivateTest); got columns {columns}."
        )
    return FERArrays(pixels, target, usage)


def read_csv(path, *, default_usage=None, labelled=True):
    """Read Kaggle's ``fer2013.csv`` (plain or gzipped), ``icml_face_data.csv``
    or ``train.csv``."""
    path = Path(path)
    if default_usage is None and path.name.lower().startswith("train"):
        default_usage = "Training"
    return parse_csv_bytes(path.read_bytes(), str(path), default_usage=default_usage,
                           labelled=labelled)


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
    if size > MAX_INFLATED_BYTES:
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
    may inflate beyond :data:`MAX_INFLATED_BYTES`.
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


def concatenate(parts):
    return FERArrays(
        np.concatenate([p.pixels for p in parts]),
        np.concatenate([p.target for p in parts]),
        np.concatenate([p.usage for p in parts]),
    )


_PREFIX = re.compile(r"^(Training|PublicTest|PrivateTest)_", re.IGNORECASE)


def find_image_files(root):
    """The image files of an image-folder copy: ``<split>/<emotion>/*.jpg``."""
    root = Path(root)
    files = []
    for split_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        if split_dir.name.lower() not in _SPLIT_FOLDERS:
            continue
        for emotion_dir in sorted(p for p in split_dir.iterdir() if p.is_dir()):
            files += sorted(
                p
                for p in emotion_dir.iterdir()
                if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
            )
    return files


def read_image_folder(root):
    """Read the image-folder copy: ``train/<emotion>/*.jpg``, ``test/<emotion>/*.png``.

    The usage comes from the ``Training_``/``PublicTest_``/``PrivateTest_``
    prefix of the file name where present, else from the split folder
    (``train`` is Training, ``val`` PublicTest, ``test`` PrivateTest).
    Images must already be 48x48; they are converted to greyscale
    (16-bit and other modes scaled to 0..255: see ``_images``).
    """
    from ._images import read_grey

    root = Path(root)
    files = find_image_files(root)
    if not files:
        raise ValueError(
            f"{root}: expected an image-folder copy of FER2013 "
            f"(train/<emotion>/*.jpg, test/<emotion>/*.jpg); found no images."
        )
    pixels = np.empty((len(files), N_PIXELS), dtype=np.uint8)
    target = np.empty(len(files), dtype=np.int64)
    usage = np.empty(len(files), dtype="<U11")
    for i, file in enumerate(files):
        emotion = file.parent.name.lower()
        if emotion not in EMOTIONS:
            raise ValueError(
                f"{file}: the folder name {file.parent.name!r} is not an emotion; "
                f"expected one of {list(EMOTIONS)}."
            )
        grey = read_grey(file)
        if grey.shape != (IMAGE_SIZE, IMAGE_SIZE):
            raise ValueError(
                f"{file}: expected a 48x48 image; got {grey.shape[1]}x{grey.shape[0]}."
            )
        pixels[i] = grey.reshape(-1)
        target[i] = EMOTIONS.index(emotion)
        prefix = _PREFIX.match(file.name)
        if prefix:
            usage[i] = next(u for u in USAGES if u.lower() == prefix.group(1).lower())
        else:
            usage[i] = _SPLIT_FOLDERS[file.parent.parent.name.lower()]
    return FERArrays(pixels, target, usage)
