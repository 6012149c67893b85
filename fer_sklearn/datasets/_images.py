"""Image files as greyscale uint8 arrays, for the loader and the command line.

One place decides how every image mode becomes 0..255 grey levels and how
large an image may be:

- 8-bit modes (``L``, ``P``, ``RGB``, ``RGBA``, ``CMYK`` ...) go through
  Pillow's greyscale conversion (ITU-R 601-2 luma; alpha is dropped);
- 16-bit greyscale (``I;16`` and its byte orders) is scaled by 255/65535;
- 32-bit integer (``I``) is taken as 8-bit when every value is in 0..255,
  as 16-bit when every value is in 0..65535 (scaled by 255/65535), and
  refused otherwise; floating point (``F``) as 0..1 when every value is
  in 0..1 (scaled by 255), as 0..255 when every value is there, and
  refused otherwise (NaN included);
- an image of more than :data:`MAX_IMAGE_PIXELS` pixels is refused before
  it is decoded.
"""

import numpy as np

__all__ = ["MAX_IMAGE_PIXELS", "read_grey", "read_photo"]

#: The largest image read, in pixels (width x height): 100 megapixels, more
#: than any camera photo; larger files are refused before decoding.
MAX_IMAGE_PIXELS = 100_000_000

_SIXTEEN_BIT = ("I;16", "I;16L", "I;16B", "I;16N")


def _scaled(values, top):
    grey = np.rint(values.astype(np.float64) * (255.0 / top))
    return grey.astype(np.uint8)


def grey_levels(image, where):
    """A Pillow image as a greyscale uint8 array (see the module docstring)."""
    mode = image.mode
    if mode in _SIXTEEN_BIT:
        return _scaled(np.asarray(image), 65535)
    if mode == "I":
        values = np.asarray(image)
        low, high = (int(values.min()), int(values.max())) if values.size else (0, 0)
        if low >= 0 and high <= 255:
            return values.astype(np.uint8)
        if low >= 0 and high <= 65535:
            return _scaled(values, 65535)
        raise ValueError(
            f"{where}: a 32-bit integer image with values {low}..{high}; expected "
            "grey levels in 0..255 (8-bit) or 0..65535 (16-bit)."
        )
    if mode == "F":
        values = np.asarray(image, dtype=np.float64)
        if not np.isfinite(values).all():
            raise ValueError(f"{where}: a floating-point image with NaN or infinite values.")
        low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
        if low >= 0 and high <= 1:
            return _scaled(values, 1.0)
        if low >= 0 and high <= 255:
            return np.rint(values).astype(np.uint8)
        raise ValueError(
            f"{where}: a floating-point image with values {low:g}..{high:g}; expected "
            "grey levels in 0..1 or 0..255."
        )
    return np.asarray(image.convert("L"), dtype=np.uint8)


def read_grey(path, max_pixels=MAX_IMAGE_PIXELS, *, upright=True):
    """Read an image file as a greyscale uint8 array of shape (height, width).

    ``upright``: turned as its EXIF Orientation tag says (as phones store
    portraits), so that the array is the picture as it is shown.

    Raises
    ------
    FileNotFoundError
        If there is no such file.
    ValueError
        If the file is not a readable image, has more than ``max_pixels``
        pixels, or has values no grey level maps to; the message names the
        file.
    """
    return read_photo(path, max_pixels, upright=upright)[0]


def read_photo(path, max_pixels=MAX_IMAGE_PIXELS, *, upright=True, draft_side=None):
    """:func:`read_grey`, decoding a large JPEG at a reduced size.

    With ``draft_side``, a JPEG whose long side is more than twice it is
    decoded at 1/2, 1/4 or 1/8 of its size (Pillow's draft mode: the
    decoder skips the detail), its long side kept at least ``draft_side``.

    Returns
    -------
    grey : ndarray of shape (height, width), uint8
        Upright (EXIF) when ``upright``.
    scale : float
        The stored image's pixels per pixel of ``grey`` (1.0 unless the
        draft mode reduced it).
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            width, height = image.size
            if width * height > max_pixels:
                raise ValueError(
                    f"{path}: {width}x{height} is {width * height:,} pixels, beyond "
                    f"the limit of {max_pixels:,}; scale it down first."
                )
            scale = 1.0
            if (draft_side and image.format == "JPEG" and image.mode in ("L", "RGB", "CMYK",
                                                                         "YCbCr")
                    and max(width, height) >= 2 * draft_side):
                factor = max(width, height) / draft_side
                # grey straight from the decoder where it can (the luma plane)
                image.draft("CMYK" if image.mode == "CMYK" else "L",
                            (int(width / factor) + 1, int(height / factor) + 1))
                scale = width / image.size[0]
            if upright:
                image = ImageOps.exif_transpose(image)
            return grey_levels(image, path), scale
    except FileNotFoundError:
        raise
    except Image.DecompressionBombError as exc:
        # Pillow's own guard, at twice its MAX_IMAGE_PIXELS
        raise ValueError(
            f"{path}: beyond the limit of {max_pixels:,} pixels ({exc})."
        ) from exc
    except ValueError as exc:
        if str(path) in str(exc):
            raise  # ours, naming the file
        # e.g. Pillow's "Decompressed Data Too Large" for a PNG text-chunk bomb
        raise ValueError(f"{path}: not a readable image ({exc}).") from exc
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        # SyntaxError: Pillow's word for some damaged PNG chunks
        raise ValueError(f"{path}: not a readable image ({exc}).") from exc
