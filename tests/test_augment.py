"""Geometry of the training-time augmentation."""

import numpy as np
import pytest
import torch

from fer_sklearn._augment import PHOTO_SHIFTS, flip_horizontal, jpeg, random_affine, random_photo


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


def test_aspect_makes_faces_wider_or_narrower():
    # a bright vertical bar: its width changes, its height does not
    image = torch.zeros(1, 1, 48, 48)
    image[..., 8:40, 20:28] = 255.0
    batch = image.expand(64, 1, 48, 48).clone()
    out = random_affine(batch, aspect=0.5, generator=draws(4))
    widths = (out[:, 0, 24] > 128).sum(1).float()
    heights = (out[:, 0, :, 24] > 128).sum(1).float()
    assert widths.min() < 7 and widths.max() > 9  # 1/1.5 .. 1.5 times 8 pixels
    assert (heights == 32).float().mean() > 0.9
    # aspect=0 draws nothing: the other settings keep their draws
    plain = random_affine(batch, rotation=10.0, generator=draws(5))
    again = random_affine(batch, rotation=10.0, aspect=0.0, generator=draws(5))
    assert torch.equal(plain, again)


def test_jpeg_quantisation_is_libjpegs():
    cv2 = pytest.importorskip("cv2")
    faces = np.random.default_rng(1).integers(0, 256, (4, 48, 48), dtype=np.uint8)
    faces = np.stack([cv2.GaussianBlur(f, (0, 0), 1.5) for f in faces])  # photo-like
    for quality in (50, 20, 8):
        ours = jpeg(torch.from_numpy(faces.astype(np.float32))[:, None],
                    torch.full((4,), float(quality)))[:, 0].numpy()
        theirs = np.stack([cv2.imdecode(cv2.imencode(
            ".jpg", f, [cv2.IMWRITE_JPEG_QUALITY, quality])[1], cv2.IMREAD_GRAYSCALE)
            for f in faces])
        change = np.abs(theirs.astype(float) - faces).mean()
        assert np.abs(ours - theirs).mean() < 0.1 * change  # the same loss, not another


def test_photo_shifts_keep_the_batch_and_its_range(batch):
    X = (batch * 255).contiguous(memory_format=torch.channels_last)
    assert random_photo(X, 0.0) is X
    out = random_photo(X, 1.0, generator=draws(6))
    assert out.shape == X.shape and out.is_contiguous(memory_format=torch.channels_last)
    assert out.min() >= 0 and out.max() <= 255
    changed = ~torch.isclose(out, X).flatten(1).all(1)
    assert changed.float().mean() > 0.9  # every image got a shift (a few barely change)
    half = random_photo(X, 0.5, generator=draws(7))
    assert 10 < int((~torch.isclose(half, X).flatten(1).all(1)).sum()) < 54
    assert torch.equal(random_photo(X, 0.5, generator=draws(7)), half)  # reproducible


@pytest.mark.parametrize("shift", PHOTO_SHIFTS)
def test_each_photo_shift_changes_a_face(shift, monkeypatch):
    from fer_sklearn import _augment

    # one shift at a time: every image draws it
    monkeypatch.setattr(_augment, "PHOTO_SHIFTS", (shift,))
    face = torch.from_numpy(np.random.default_rng(2).integers(
        30, 220, (8, 1, 48, 48)).astype(np.float32))
    out = _augment.random_photo(face, 1.0, generator=draws(8))
    assert (out - face).abs().mean() > 0.5
