"""The CSV layouts of FER2013 (Kaggle's ``fer2013.csv``, ``icml_face_data.csv``,
``train.csv``/``test.csv``), gzipped or not: every row validated, the
pixels parsed with vectorised numpy. A bad row raises ``ValueError``
naming the file, the line (header = line 1) and what is wrong."""

import csv
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from isal import isal_zlib

from ._common import EMOTIONS, N_PIXELS, UNLABELLED, USAGES, FERArrays, _row_error

__all__ = ["parse_csv_bytes", "parse_pixel_strings", "read_csv"]

_DIGIT_0, _SPACE, _NEWLINE = ord("0"), ord(" "), ord("\n")
_PARSE_CHUNK_ROWS = 512


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
