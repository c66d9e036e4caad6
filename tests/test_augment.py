"""Augmentations against reference behaviour (roll with zero fill, flip, rot90) and the preview widget."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from cnnlab import augment as A


def zero_filled_roll(x, dx, dy):
    out = torch.roll(x, shifts=(dy, dx), dims=(2, 3))
    if dy > 0:
        out[:, :, :dy] = 0
    elif dy < 0:
        out[:, :, dy:] = 0
    if dx > 0:
        out[:, :, :, :dx] = 0
    elif dx < 0:
        out[:, :, :, dx:] = 0
    return out


@pytest.fixture
def batch():
    torch.manual_seed(0)
    return torch.rand(3, 2, 6, 9, dtype=torch.float64)


@pytest.mark.parametrize("dx,dy", [(2, 1), (-3, 0), (0, -2), (1, 4)])
def test_integer_shift_is_a_zero_filled_roll(batch, dx, dy):
    torch.testing.assert_close(A.shift(batch, dx, dy), zero_filled_roll(batch, dx, dy))


def test_identity_parameters_give_identity(batch):
    torch.testing.assert_close(A.affine(batch), batch)
    torch.testing.assert_close(A.adjust_brightness(batch, 0.0), batch)
    torch.testing.assert_close(A.adjust_contrast(batch, 1.0), batch)
    torch.testing.assert_close(A.hflip(batch, False), batch)
    ident = A.Compose([A.RandomAffine(), A.RandomBrightness(0.0), A.RandomContrast(1.0, 1.0)])
    torch.testing.assert_close(ident(batch), batch)


def test_flip_and_rotations_match_torch(batch):
    torch.testing.assert_close(A.hflip(batch), batch.flip(-1))
    torch.testing.assert_close(A.affine(batch, flip=True), batch.flip(-1))
    square = batch[:, :, :6, :6]
    torch.testing.assert_close(A.rotate(square, 90.0), torch.rot90(square, 1, (2, 3)))  # counter-clockwise
    torch.testing.assert_close(A.rotate(square, -90.0), torch.rot90(square, -1, (2, 3)))
    torch.testing.assert_close(A.rotate(batch, 180.0), batch.flip(-1).flip(-2))  # also non-square


def test_per_image_values_and_photometric(batch):
    out = A.shift(batch, torch.tensor([1.0, 0.0, -1.0]), 0.0)
    torch.testing.assert_close(out[1], batch[1])
    torch.testing.assert_close(out[0:1], zero_filled_roll(batch[0:1], 1, 0))
    flipped = A.hflip(batch, torch.tensor([True, False, True]))
    torch.testing.assert_close(flipped[1], batch[1])
    torch.testing.assert_close(flipped[2], batch[2].flip(-1))
    bright = A.adjust_brightness(batch, 0.1, clamp=False)
    torch.testing.assert_close(bright, batch + 0.1)
    c = A.adjust_contrast(batch, 2.0, clamp=False)
    torch.testing.assert_close(c.mean(dim=(1, 2, 3)), batch.mean(dim=(1, 2, 3)))
    torch.testing.assert_close(c.std(dim=(1, 2, 3)), 2 * batch.std(dim=(1, 2, 3)))


def test_zoom_keeps_the_centre():
    x = torch.zeros(1, 1, 9, 9)
    x[0, 0, 4, 4] = 1.0
    assert A.rescale(x, 2.0)[0, 0, 4, 4] == pytest.approx(1.0)
    small = torch.ones(1, 1, 8, 8)
    assert A.rescale(small, 0.5).sum().item() == pytest.approx(16.0)  # a quarter of the area


def test_random_pipeline_is_seeded_and_stays_on_device(batch):
    pipe = lambda seed: A.Compose([A.RandomShift(0.2), A.RandomRotation(10), A.RandomScale(0.9, 1.1),  # noqa: E731
                                   A.RandomHorizontalFlip(0.5), A.RandomBrightness(0.1), A.RandomContrast()], seed)
    a, b, c = pipe(1)(batch), pipe(1)(batch), pipe(2)(batch)
    torch.testing.assert_close(a, b)
    assert not torch.allclose(a, c)
    assert a.dtype == batch.dtype and a.shape == batch.shape
    p = pipe(3)
    first = p(batch)
    assert not torch.allclose(first, p(batch))  # the generator moves on between batches
    torch.testing.assert_close(p.reseed(3)(batch), first)


def test_bad_input_is_explained():
    with pytest.raises(ValueError, match=r"batch of images \(N, C, H, W\), got \(3, 8, 8\)"):
        A.shift(torch.zeros(3, 8, 8), 1, 0)
    with pytest.raises(ValueError, match="one value or 2 values"):
        A.shift(torch.zeros(2, 1, 4, 4), torch.zeros(3), 0)
    with pytest.raises(ValueError, match="scale must be positive"):
        A.rescale(torch.zeros(1, 1, 4, 4), 0.0)
    with pytest.raises(ValueError, match="floating point"):
        A.hflip(torch.zeros(1, 1, 4, 4, dtype=torch.uint8))
    with pytest.raises(ValueError, match="probability"):
        A.RandomHorizontalFlip(1.5)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_runs_on_gpu(batch):
    x = batch.cuda()
    out = A.Compose([A.RandomAffine(0.1, 10, (0.9, 1.1), True), A.RandomContrast()], seed=0)(x)
    assert out.device.type == "cuda"
    torch.testing.assert_close(out.cpu(), A.Compose([A.RandomAffine(0.1, 10, (0.9, 1.1), True),
                                                     A.RandomContrast()], seed=0)(batch))


def test_augmentation_preview_state():
    from cnnlab.widgets import AugmentationPreview

    w = AugmentationPreview("flower", size=48)
    np.testing.assert_allclose(w.augmented(), w.image, atol=1e-6)  # identity by default
    assert w.warnings() == []
    w.set(flip=True)
    np.testing.assert_allclose(w.augmented(), w.image[:, ::-1], atol=1e-6)
    w.set_image("digit", _refresh=False)
    assert any("never flip text or digits" in m for m in w.warnings())
    w.reset().set(noise=0.1)  # mild noise: a robustness augmentation, no warning
    assert not any("Noise above" in m for m in w.warnings())
    w.reset().set(noise=0.3)
    assert any("Noise above" in m for m in w.warnings())
    s = w.samples(4)
    assert s.shape == (4, 32, 32, 3) and 0 <= s.min() and s.max() <= 1
    view = w.render()
    assert view["augmented"].startswith(b"\x89PNG") and "Noise above" in view["summary"]
    with pytest.raises(ValueError, match="degrees must be between -45.0 and 45.0"):
        w.set(degrees=90)
    with pytest.raises(ValueError, match="unknown parameter 'angle'"):
        w.set(angle=3)
    widget = w.widget  # builds the ipywidgets view without a browser
    assert len(widget.children) == 5
