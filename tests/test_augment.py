"""Geometry of the training-time augmentation."""

import numpy as np
import pytest
import torch

from fer_sklearn._augment import flip_horizontal, random_affine


@pytest.fixture
def batch():
    # one asymmetric image, repeated: every output differs only by its draws
    image = torch.from_numpy(np.random.default_rng(0).random((48, 48), dtype=np.float32))
    return image.expand(64, 1, 48, 48).clone()


def draws(seed):
    return torch.Generator().manual_seed(seed)


def test_flip_alone_mirrors_about_half_the_images(batch):
    out = random_affine(batch, flip=True, generator=draws(1))
    same = torch.isclose(out, batch, atol=1e-5).flatten(1).all(1)
    mirrored = torch.isclose(out, flip_horizontal(batch), atol=1e-5).flatten(1).all(1)
    assert (same | mirrored).all()
    assert 10 < int(mirrored.sum()) < 54


def test_flip_with_rotation_mirrors_the_rotated_image(batch):
    # Same seed: the same angles and zooms are drawn in both calls. A flipped
    # output must be the mirror image of the rotated one (a rigid map), an
    # unflipped one the image rotated by it; no third kind (e.g. sheared).
    kwargs = dict(rotation=10.0, zoom=0.1)
    out = random_affine(batch, flip=True, generator=draws(2), **kwargs)
    rotated = random_affine(batch, generator=draws(2), **kwargs)
    plain = torch.isclose(out, rotated, atol=1e-4).flatten(1).all(1)
    mirrored = torch.isclose(out, flip_horizontal(rotated), atol=1e-4).flatten(1).all(1)
    assert (plain | mirrored).all()
    assert plain.any() and mirrored.any()


def test_shapes_and_memory_format_are_kept(batch):
    X = batch.contiguous(memory_format=torch.channels_last)
    out = random_affine(X, shift=0.1, rotation=10.0, zoom=0.1, flip=True, generator=draws(3))
    assert out.shape == X.shape
    assert out.is_contiguous(memory_format=torch.channels_last)
    assert random_affine(batch) is batch  # nothing asked, nothing done
