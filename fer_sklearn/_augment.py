"""Batched image augmentation in torch, for training-time use.

One random affine transform per image (shift, rotation, zoom, aspect,
horizontal flip), applied to the whole batch by a single ``grid_sample``
call, and photo shifts (blur, JPEG, light, noise, resolution) applied to a
random part of the batch: cheap next to the network's own cost, and they
keep the batch on its device.
"""

import math

import torch
import torch.nn.functional as F

__all__ = ["PHOTO_SHIFTS", "flip_horizontal", "random_affine", "random_photo"]


def random_affine(
    X,
    *,
    shift=0.0,
    rotation=0.0,
    zoom=0.0,
    aspect=0.0,
    flip=False,
    generator=None,
):
    """Randomly shift, rotate, zoom and flip each image of a batch.

    Parameters
    ----------
    X : torch.Tensor of shape (batch, channels, height, width)
        Float images.
    shift : float, default=0.0
        Largest shift, as a fraction of the image size (0.1 = 4.8 px at 48).
    rotation : float, default=0.0
        Largest rotation, in degrees either way.
    zoom : float, default=0.0
        Largest relative change of scale either way (0.1 = 90%..110%).
    aspect : float, default=0.0
        Largest change of the width against the height, drawn on a log
        scale: 0.4 makes faces from 1/1.4 (squashed) to 1.4 (stretched)
        times as wide as they were, the height unchanged.
    flip : bool, default=False
        Flip each image left-right with probability 0.5.
    generator : torch.Generator, default=None
        Source of randomness, for reproducible training.

    Returns
    -------
    torch.Tensor
        The transformed batch, same shape and memory format; pixels moved in
        from outside the image repeat the border.
    """
    if not (shift or rotation or zoom or aspect or flip):
        return X
    n = X.shape[0]

    def uniform(low, high):
        values = torch.rand(n, generator=generator, dtype=torch.float32)
        return (low + (high - low) * values).to(X.device)

    angle = uniform(-rotation, rotation) * (math.pi / 180.0)
    scale = 1.0 + uniform(-zoom, zoom)
    # the face's width times `widen`: the grid reads 1/widen as far across
    # (drawn only when asked, so that other settings keep their draws)
    widen = torch.exp(uniform(-math.log1p(aspect), math.log1p(aspect))) if aspect else 1.0
    sign = torch.ones(n, device=X.device)
    if flip:
        flips = torch.rand(n, generator=generator) < 0.5
        sign = torch.where(flips.to(X.device), -sign, sign)
    # affine_grid maps output coordinates to input ones, in [-1, 1]
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack(
        [
            torch.stack([cos * sign / widen, -sin / widen, uniform(-2 * shift, 2 * shift)],
                        dim=1),
            torch.stack([sin * sign, cos, uniform(-2 * shift, 2 * shift)], dim=1),
        ],
        dim=1,
    ).to(X.dtype)
    grid = F.affine_grid(theta, list(X.shape), align_corners=False)
    out = F.grid_sample(
        X.contiguous(), grid, mode="bilinear", padding_mode="border", align_corners=False
    )
    if X.is_contiguous(memory_format=torch.channels_last):
        out = out.contiguous(memory_format=torch.channels_last)
    return out


def flip_horizontal(X):
    """Mirror a batch of images left-right."""
    return torch.flip(X, dims=[-1])


# -- photo shifts ------------------------------------------------------------
#
# The ways a face cut from a photo differs from a FER2013 face, as batched
# torch operations on grey levels 0..255, each with its strength drawn per
# image in a range that reaches past the strongest severity of
# benchmarks/bench_robustness.py (which makes its shifts with OpenCV and
# PIL, not with these functions).

#: The photo shifts that :func:`random_photo` draws from, in order.
PHOTO_SHIFTS = ("blur", "motion_blur", "jpeg", "low_light", "gamma", "side_light",
                "noise", "resolution")

# JPEG's luminance quantisation table (ITU-T T.81, Annex K), quality 50
_JPEG_LUMA = torch.tensor([
    [16, 11, 10, 16, 24, 40, 51, 61], [12, 12, 14, 19, 26, 58, 60, 55],
    [14, 13, 16, 24, 40, 57, 69, 56], [14, 17, 22, 29, 51, 87, 80, 62],
    [18, 22, 37, 56, 68, 109, 103, 77], [24, 35, 55, 64, 81, 104, 113, 92],
    [49, 64, 78, 87, 103, 121, 120, 101], [72, 92, 95, 98, 112, 100, 103, 99],
], dtype=torch.float32)


def _dct_matrix(n=8):
    k = torch.arange(n, dtype=torch.float32)
    matrix = torch.cos(math.pi * (2 * k[None, :] + 1) * k[:, None] / (2 * n))
    matrix[0] /= math.sqrt(2.0)
    return matrix * math.sqrt(2.0 / n)


def _depthwise(X, kernels):
    """Each image of ``X`` (m, 1, h, w) convolved with its own kernel
    (m, k, k), the border repeated."""
    m, size = X.shape[0], kernels.shape[-1]
    padded = F.pad(X.reshape(1, m, *X.shape[-2:]), [size // 2] * 4, mode="replicate")
    return F.conv2d(padded, kernels[:, None].to(X.dtype), groups=m).reshape(X.shape)


def gaussian_blur(X, sigma):
    """Blur each image by a Gaussian of its own ``sigma`` (pixels)."""
    radius = int(math.ceil(3 * float(sigma.max())))
    offsets = torch.arange(-radius, radius + 1, dtype=torch.float32, device=X.device)
    line = torch.exp(-offsets[None, :] ** 2 / (2 * sigma[:, None] ** 2))
    line = line / line.sum(1, keepdim=True)
    return _depthwise(X, line[:, :, None] * line[:, None, :])


def motion_blur(X, length, angle):
    """Smear each image along a line of ``length`` pixels at ``angle`` radians."""
    radius = int(math.ceil(float(length.max()) / 2)) + 1
    offsets = torch.arange(-radius, radius + 1, dtype=torch.float32, device=X.device)
    ys, xs = torch.meshgrid(offsets, offsets, indexing="ij")
    cos, sin = torch.cos(angle)[:, None, None], torch.sin(angle)[:, None, None]
    along = xs * cos + ys * sin
    across = -xs * sin + ys * cos
    kernel = (1 - across.abs()).clamp_min(0) * (
        (length[:, None, None] / 2 + 0.5 - along.abs()).clamp(0, 1))
    return _depthwise(X, kernel / kernel.sum((1, 2), keepdim=True))


def jpeg(X, quality):
    """JPEG's lossy step on grey images: each 8x8 block's DCT rounded to the
    luminance table scaled for ``quality`` (1..100), as libjpeg scales it;
    sides not a multiple of 8 are padded by the border and cut back."""
    m, _, h, w = X.shape
    pad_h, pad_w = -h % 8, -w % 8
    padded = F.pad(X, [0, pad_w, 0, pad_h], mode="replicate") - 128
    scale = torch.where(quality < 50, 5000 / quality, 200 - 2 * quality)
    table = ((_JPEG_LUMA.to(X.device)[None] * scale[:, None, None] + 50) / 100).floor()
    table = table.clamp(1, 255)[:, None, None, None]  # (m, 1, 1, 1, 8, 8)
    D = _dct_matrix().to(X.device)
    blocks = padded.reshape(m, 1, (h + pad_h) // 8, 8, (w + pad_w) // 8, 8).transpose(3, 4)
    coefficients = D @ blocks @ D.T
    restored = D.T @ (torch.round(coefficients / table) * table) @ D
    out = restored.transpose(3, 4).reshape(padded.shape) + 128
    return out[..., :h, :w].clamp(0, 255).round()


def side_light(X, strength, angle):
    """Darken each image towards one side: a linear ramp from 1 on the lit
    side to ``1 - strength`` on the other, across the direction ``angle``."""
    h, w = X.shape[-2:]
    ys = torch.linspace(-1, 1, h, device=X.device)[:, None]
    xs = torch.linspace(-1, 1, w, device=X.device)[None, :]
    cos, sin = torch.cos(angle)[:, None, None], torch.sin(angle)[:, None, None]
    position = ((xs * cos + ys * sin) / math.sqrt(2) + 1) / 2  # 0..1 across the face
    return X * (1 - strength[:, None, None] * position)[:, None]


def resolution(X, size):
    """Each image shrunk to ``size`` pixels a side (area mean) and enlarged
    back (bilinear), as a small face in a photo comes."""
    shrunk = F.interpolate(X, size=(int(size),) * 2, mode="area")
    return F.interpolate(shrunk, size=X.shape[-2:], mode="bilinear", align_corners=False)


def random_photo(X, probability, *, generator=None):
    """Give each image, with ``probability``, one photo shift of random strength.

    The shift is one of :data:`PHOTO_SHIFTS`, drawn uniformly: a Gaussian
    blur (sigma 0.3 to 2 pixels at 48x48), a motion blur (2 to 8 pixels, any
    direction), JPEG compression (quality 5 to 50), low light (grey levels
    times 0.1 to 0.6, rounded), a gamma curve (0.25 to 3, either way), light
    from one side (the far side 30% to 85% darker, any direction), Gaussian
    noise (4 to 32 grey levels) or a lower resolution (10 to 32 pixels a
    side, then back to the image's size).

    Parameters
    ----------
    X : torch.Tensor of shape (batch, 1, height, width)
        Grey levels 0..255, float.
    probability : float
        Chance that an image is shifted (0 returns ``X`` itself).
    generator : torch.Generator, default=None
        Source of randomness.

    Returns
    -------
    torch.Tensor
        The batch, grey levels clipped to 0..255, same shape and memory format.
    """
    if not probability:
        return X
    n = X.shape[0]

    def uniform(count, low, high):
        return (low + (high - low) * torch.rand(count, generator=generator)).to(X.device)

    chosen = torch.rand(n, generator=generator) < float(probability)
    kinds = torch.randint(len(PHOTO_SHIFTS), (n,), generator=generator)
    out = X.float().contiguous().clone()
    for kind, name in enumerate(PHOTO_SHIFTS):
        index = torch.nonzero(chosen & (kinds == kind)).flatten().to(X.device)
        m = len(index)
        if m == 0:
            continue
        part = out[index]
        if name == "blur":
            part = gaussian_blur(part, uniform(m, 0.3, 2.0))
        elif name == "motion_blur":
            part = motion_blur(part, uniform(m, 2.0, 8.0), uniform(m, 0, math.pi))
        elif name == "jpeg":
            part = jpeg(part, uniform(m, 5.0, 50.0).round())
        elif name == "low_light":
            part = (part * uniform(m, 0.1, 0.6)[:, None, None, None]).round()
        elif name == "gamma":
            gamma = torch.exp(uniform(m, math.log(0.25), math.log(3.0)))
            part = 255 * (part / 255).clamp(0, 1) ** gamma[:, None, None, None]
        elif name == "side_light":
            part = side_light(part, uniform(m, 0.3, 0.85), uniform(m, 0, 2 * math.pi))
        elif name == "noise":
            sigma = uniform(m, 4.0, 32.0)[:, None, None, None]
            noise = torch.randn(part.shape, generator=generator).to(X.device)
            part = part + sigma * noise
        else:  # resolution: one size for the images that drew this shift
            size = int(torch.randint(10, 33, (1,), generator=generator))
            part = resolution(part, size)
        out[index] = part
    out = out.clamp(0, 255).to(X.dtype)
    if X.is_contiguous(memory_format=torch.channels_last):
        out = out.contiguous(memory_format=torch.channels_last)
    return out
