"""Image files of every mode and size as grey levels (loader and command line)."""

import numpy as np
import pytest
from PIL import Image

from fer_sklearn.datasets import _images
from fer_sklearn.datasets._images import read_grey

RAMP8 = np.arange(48 * 48, dtype=np.int64).reshape(48, 48) % 256


@pytest.mark.parametrize("mode, values, expected", [
    ("L", RAMP8.astype(np.uint8), RAMP8),
    ("I;16", (RAMP8 * 257).astype(np.uint16), RAMP8),          # 16-bit PNG: full range kept
    ("I", (RAMP8 * 257).astype(np.int32), RAMP8),              # 16-bit values in a 32-bit image
    ("I", RAMP8.astype(np.int32), RAMP8),                      # 8-bit values in a 32-bit image
    ("F", (RAMP8 / 255).astype(np.float32), RAMP8),            # 0..1 floats
])
def test_modes_scale_to_grey_levels(tmp_path, mode, values, expected):
    path = tmp_path / ("face.tiff" if mode in ("I", "F") else "face.png")
    Image.fromarray(values).save(path)
    with Image.open(path) as image:
        assert image.mode == mode
    grey = read_grey(path)
    assert grey.dtype == np.uint8 and grey.shape == (48, 48)
    np.testing.assert_array_equal(grey, expected)


def test_colour_and_alpha_become_luma(tmp_path):
    rgba = np.zeros((48, 48, 4), np.uint8)
    rgba[..., 0], rgba[..., 3] = 200, 10
    Image.fromarray(rgba).save(tmp_path / "red.png")
    assert np.unique(read_grey(tmp_path / "red.png")).tolist() == [60]  # 0.299 * 200


@pytest.mark.parametrize("values, pattern", [
    (np.full((4, 4), 70000, np.int32), r"32-bit integer image with values 70000..70000"),
    (np.full((4, 4), -1.0, np.float32), r"floating-point image with values -1..-1"),
    (np.full((4, 4), np.nan, np.float32), r"NaN or infinite"),
])
def test_values_without_grey_levels_are_refused(tmp_path, values, pattern):
    Image.fromarray(values).save(tmp_path / "odd.tiff")
    with pytest.raises(ValueError, match=pattern):
        read_grey(tmp_path / "odd.tiff")


def test_images_beyond_the_pixel_limit_are_refused_before_decoding(tmp_path, monkeypatch):
    Image.new("L", (300, 200)).save(tmp_path / "big.png")
    with pytest.raises(ValueError, match=r"big.png: 300x200 is 60,000 pixels, beyond the limit of 50,000"):
        read_grey(tmp_path / "big.png", max_pixels=50_000)
    # Pillow's own guard (twice its MAX_IMAGE_PIXELS) gives the same kind of error
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10_000)
    with pytest.raises(ValueError, match=r"big.png: beyond the limit of"):
        read_grey(tmp_path / "big.png")
    assert _images.MAX_IMAGE_PIXELS == 100_000_000


def test_unreadable_and_missing_files(tmp_path):
    (tmp_path / "not.png").write_bytes(b"no image here")
    with pytest.raises(ValueError, match=r"not.png: not a readable image"):
        read_grey(tmp_path / "not.png")
    with pytest.raises(FileNotFoundError):
        read_grey(tmp_path / "missing.png")
