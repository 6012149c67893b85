"""Batched image augmentation in torch, for training-time use.

One random affine transform per image (shift, rotation, zoom, horizontal
flip), applied to the whole batch by a single ``grid_sample`` call: cheap
next to the network's own cost, and it keeps the batch on its device.
"""

import math

import torch
import torch.nn.functional as F

__all__ = ["random_affine", "flip_horizontal"]


def random_affine(
    X,
    *,
    shift=0.0,
    rotation=0.0,
    zoom=0.0,
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
    if not (shift or rotation or zoom or flip):
        return X
    n = X.shape[0]

    def uniform(low, high):
        values = torch.rand(n, generator=generator, dtype=torch.float32)
        return (low + (high - low) * values).to(X.device)

    angle = uniform(-rotation, rotation) * (math.pi / 180.0)
    scale = 1.0 + uniform(-zoom, zoom)
    sign = torch.ones(n, device=X.device)
    if flip:
        flips = torch.rand(n, generator=generator) < 0.5
        sign = torch.where(flips.to(X.device), -sign, sign)
    # affine_grid maps output coordinates to input ones, in [-1, 1]
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack(
        [
            torch.stack([cos * sign, -sin, uniform(-2 * shift, 2 * shift)], dim=1),
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
