"""Property-based tests of the loader (hypothesis): every valid file in every
layout round-trips to the arrays it was written from; every malformed file
is a ValueError that names the file and the line."""

import gzip
import io
import re
import tarfile

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis", reason="property tests need hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from fer_sklearn import load_fer2013  # noqa: E402

USAGES = ("Training", "PublicTest", "PrivateTest")
SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


@st.composite
def datasets(draw):
    n = draw(st.integers(1, 6))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, size=(n, 2304), dtype=np.uint8)
    target = np.array(draw(st.lists(st.integers(0, 6), min_size=n, max_size=n)))
    usage = np.array(draw(st.lists(st.sampled_from(USAGES), min_size=n, max_size=n)))
    return pixels, target, usage


@st.composite
def layouts(draw):
    return dict(
        order=draw(st.permutations(["emotion", "pixels", "Usage"])),
        case=draw(st.sampled_from([str, str.lower, str.upper])),
        newline=draw(st.sampled_from(["\n", "\r\n", "\r"])),
        final_newline=draw(st.booleans()),
        quote=draw(st.booleans()),
        packing=draw(st.sampled_from(["plain", "gz", "gz-members", "tar.gz", "tar-several",
                                      "zip", "zip-nested"])),
    )


def render(pixels, target, usage, layout):
    fields = {"emotion": [str(t) for t in target], "Usage": list(usage),
              "pixels": [('"%s"' if layout["quote"] else "%s") % " ".join(map(str, row))
                         for row in pixels]}
    lines = [",".join(layout["case"](name) for name in layout["order"])]
    lines += [",".join(fields[name][i] for name in layout["order"]) for i in range(len(target))]
    text = layout["newline"].join(lines) + (layout["newline"] if layout["final_newline"] else "")
    return text.encode()


def write(path_stem, data, packing):
    if packing == "plain":
        path = path_stem.with_suffix(".csv")
        path.write_bytes(data)
    elif packing == "gz":
        path = path_stem.with_suffix(".csv.gz")
        path.write_bytes(gzip.compress(data))
    elif packing == "gz-members":
        path = path_stem.with_suffix(".csv.gz")
        cut = len(data) // 2
        path.write_bytes(gzip.compress(data[:cut]) + gzip.compress(data[cut:]))
    elif packing == "tar.gz":
        path = path_stem.with_suffix(".tar.gz")
        with tarfile.open(path, "w:gz") as archive:
            _add(archive, "fer2013/fer2013.csv", data)
    elif packing == "tar-several":
        # the FER CSV behind others, under a name of no layout: chosen by content
        path = path_stem.with_suffix(".tar")
        with tarfile.open(path, "w") as archive:
            _add(archive, "README.txt", b"readme")
            _add(archive, "example_submission.csv", b"Id,Emotion\n1,0\n")
            _add(archive, "faces/data.csv", data)
    else:
        import zipfile

        path = path_stem.with_suffix(".zip")
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("example_submission.csv", "Id,Emotion\n1,0\n")
            if packing == "zip":
                archive.writestr("icml_face_data.csv", data)
            else:  # Kaggle's zip holds fer2013.tar.gz
                buffer = io.BytesIO()
                with tarfile.open(fileobj=buffer, mode="w:gz") as inner:
                    _add(inner, "fer2013/fer2013.csv", data)
                archive.writestr("fer2013.tar.gz", buffer.getvalue())
    return path


def _add(archive, name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    archive.addfile(info, io.BytesIO(data))


@SETTINGS
@given(data=datasets(), layout=layouts())
def test_valid_files_round_trip(tmp_path, data, layout):
    pixels, target, usage = data
    path = write(tmp_path / f"fer{abs(hash(repr(layout))) % 10**8}",
                 render(pixels, target, usage, layout), layout["packing"])
    bunch = load_fer2013(path, cache=False)
    np.testing.assert_array_equal(bunch.data, pixels)
    np.testing.assert_array_equal(bunch.target, target)
    np.testing.assert_array_equal(bunch.usage, usage)


DAMAGES = {
    "a pixel short": (lambda p: p.rsplit(" ", 1)[0], r"expected 2304 pixel values"),
    "a pixel too many": (lambda p: p + " 7", r"expected 2304 pixel values"),
    "a pixel of 256": (lambda p: "256" + p[p.index(" "):], r"pixel values must be integers in 0..255"),
    "a word among the pixels": (lambda p: "x" + p[p.index(" "):], r"pixel values must be integers"),
}


@SETTINGS
@given(data=datasets(), row=st.integers(0, 5), damage=st.sampled_from(sorted(DAMAGES)),
       packing=st.sampled_from(["plain", "gz", "gz-members"]))
def test_a_damaged_pixel_row_names_the_file_and_line(tmp_path, data, row, damage, packing):
    pixels, target, usage = data
    row = row % len(target)
    lines = render(pixels, target, usage, dict(
        order=["emotion", "pixels", "Usage"], case=str, newline="\n", final_newline=True,
        quote=False, packing=packing)).decode().split("\n")
    emotion, pixel_text, split = lines[row + 1].split(",")
    change, message = DAMAGES[damage]
    lines[row + 1] = ",".join([emotion, change(pixel_text), split])
    path = write(tmp_path / "damaged", "\n".join(lines).encode(), packing)
    with pytest.raises(ValueError, match=re.escape(f"{path}, line {row + 2}: ") + message):
        load_fer2013(path, cache=False)


@SETTINGS
@given(data=datasets(), row=st.integers(0, 5),
       field=st.sampled_from(["emotion", "Usage", "fields"]),
       bad=st.sampled_from(["7", "-1", "angry", "", "train"]))
def test_a_damaged_label_or_row_names_the_file_and_line(tmp_path, data, row, field, bad):
    pixels, target, usage = data
    row = row % len(target)
    lines = render(pixels, target, usage, dict(
        order=["emotion", "pixels", "Usage"], case=str, newline="\n", final_newline=True,
        quote=False, packing="plain")).decode().split("\n")
    emotion, pixel_text, split = lines[row + 1].split(",")
    if field == "emotion":
        lines[row + 1] = ",".join([bad, pixel_text, split])
    elif field == "Usage":
        lines[row + 1] = ",".join([emotion, pixel_text, bad])
    else:
        lines[row + 1] = ",".join([emotion, pixel_text])  # a field missing
    path = write(tmp_path / "labels", "\n".join(lines).encode(), "plain")
    with pytest.raises(ValueError, match=re.escape(f"{path}, line {row + 2}: ")):
        load_fer2013(path, cache=False)
