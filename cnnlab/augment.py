"""Data augmentation as batched tensor operations that run wherever the images are (CPU or GPU).

Geometric changes (shift, rotation, rescaling, horizontal flip) go through one
``affine_grid``/``grid_sample`` call; photometric ones (brightness, contrast) are
arithmetic. Every function takes an (N, C, H, W) batch and either one value for the
whole batch or one value per image. The ``Random*`` classes draw their values from a
``torch.Generator`` and compose with ``Compose``, so an augmentation pipeline is
reproducible from a single seed::

    aug = Compose([RandomAffine(shift=0.1, degrees=10, scale=(0.9, 1.1)), RandomContrast(0.8, 1.2)], seed=0)
    x_aug = aug(x)

Augmented images should keep their label: small shifts and rotations of a digit are
fine; a horizontal flip turns a "2" or a letter into something that is not a digit at
all. Mild noise keeps the label too; it is added for robustness to noisy inputs rather
than for accuracy on clean images.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F

__all__ = [
    "affine", "shift", "rotate", "rescale", "hflip", "adjust_brightness", "adjust_contrast",
    "RandomAffine", "RandomShift", "RandomRotation", "RandomScale", "RandomHorizontalFlip",
    "RandomBrightness", "RandomContrast", "Compose",
]

Value = float | torch.Tensor


def _check_batch(x: torch.Tensor) -> None:
    if not isinstance(x, torch.Tensor) or x.ndim != 4:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"augmentations work on a batch of images (N, C, H, W), got {shape}; "
                         f"use x[None] for a single image")
    if not x.is_floating_point():
        raise ValueError(f"images must be floating point (e.g. in [0, 1]), got {x.dtype}")


def _per_image(value: Value, n: int, x: torch.Tensor) -> torch.Tensor:
    t = torch.as_tensor(value, dtype=x.dtype, device=x.device)
    if t.ndim == 0:
        return t.expand(n)
    if t.shape != (n,):
        raise ValueError(f"expected one value or {n} values (one per image), got shape {tuple(t.shape)}")
    return t


def affine(x: torch.Tensor, dx: Value = 0.0, dy: Value = 0.0, degrees: Value = 0.0, scale: Value = 1.0,
           flip: Value = False, mode: str = "bilinear") -> torch.Tensor:
    """Move the content ``dx`` pixels right and ``dy`` down, rotate it by ``degrees``
    (counter-clockwise as displayed) and zoom by ``scale`` about the centre, after an
    optional horizontal ``flip``. Pixels that come from outside the image are zero.
    """
    _check_batch(x)
    n, _, h, w = x.shape
    dx, dy = _per_image(dx, n, x), _per_image(dy, n, x)
    angle = _per_image(degrees, n, x) * (math.pi / 180)
    s = _per_image(scale, n, x)
    if (s <= 0).any():
        raise ValueError("scale must be positive (1 keeps the size, 2 zooms in twice)")
    sign = 1 - 2 * _per_image(flip, n, x).to(x.dtype)
    cos, sin = torch.cos(angle), torch.sin(angle)
    # For each output pixel (in pixel units about the centre) find its source:
    # src = F · R(θ)ᵀ-like inverse rotation · (out - t) / s, with y pointing down on screen.
    half_w, half_h = w / 2, h / 2
    a11, a12 = cos / s, -sin / s * (half_h / half_w)
    a21, a22 = sin / s * (half_w / half_h), cos / s
    b1 = -(cos * dx - sin * dy) / s / half_w
    b2 = -(sin * dx + cos * dy) / s / half_h
    theta = torch.stack([torch.stack([a11 * sign, a12 * sign, b1 * sign], 1),
                         torch.stack([a21, a22, b2], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode=mode, padding_mode="zeros", align_corners=False)


def shift(x: torch.Tensor, dx: Value = 0.0, dy: Value = 0.0) -> torch.Tensor:
    """Translate by ``dx`` pixels right and ``dy`` down (zeros come in)."""
    return affine(x, dx=dx, dy=dy)


def rotate(x: torch.Tensor, degrees: Value) -> torch.Tensor:
    """Rotate about the image centre, counter-clockwise as displayed."""
    return affine(x, degrees=degrees)


def rescale(x: torch.Tensor, factor: Value) -> torch.Tensor:
    """Zoom about the centre: ``factor`` > 1 enlarges the content, < 1 shrinks it (zero border)."""
    return affine(x, scale=factor)


def hflip(x: torch.Tensor, flip: Value = True) -> torch.Tensor:
    """Mirror left-right (per image when ``flip`` is a boolean tensor). Wrong for text and digits!"""
    _check_batch(x)
    mask = _per_image(flip, x.shape[0], x).bool()
    return torch.where(mask[:, None, None, None], x.flip(-1), x)


def adjust_brightness(x: torch.Tensor, delta: Value, clamp: bool = True) -> torch.Tensor:
    """Add ``delta`` to every pixel (lighting); clamped to [0, 1] by default."""
    _check_batch(x)
    out = x + _per_image(delta, x.shape[0], x)[:, None, None, None]
    return out.clamp(0, 1) if clamp else out


def adjust_contrast(x: torch.Tensor, factor: Value, clamp: bool = True) -> torch.Tensor:
    """Scale each image's deviations from its own mean by ``factor`` (1 = unchanged)."""
    _check_batch(x)
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    out = (x - mean) * _per_image(factor, x.shape[0], x)[:, None, None, None] + mean
    return out.clamp(0, 1) if clamp else out


# ---------------------------------------------------------------- random, composable
def _uniform(n: int, lo: float, hi: float, gen: torch.Generator | None) -> torch.Tensor:
    dev = gen.device if gen is not None else "cpu"
    return torch.rand(n, generator=gen, device=dev) * (hi - lo) + lo


def _range(value: float | Sequence[float], name: str, centre: float = 0.0) -> tuple[float, float]:
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError(f"{name} must be non-negative, got {value}")
        return centre - value, centre + value
    lo, hi = value
    if lo > hi:
        raise ValueError(f"{name} range must be (low, high) with low <= high, got {value!r}")
    return float(lo), float(hi)


class _Random:
    """Base: ``params(n, generator)`` draws per-image values, ``apply(x, **params)`` uses them."""

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        _check_batch(x)
        p = {k: v.to(x.device) for k, v in self.params(x.shape[0], generator, x.shape).items()}
        return self.apply(x, **p)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"


class RandomAffine(_Random):
    """Random shift (fraction of the size), rotation (± degrees), zoom range and optional flip, in one resampling."""

    def __init__(self, shift: float = 0.0, degrees: float = 0.0, scale: tuple[float, float] = (1.0, 1.0),
                 flip: bool = False):
        self.shift, self.degrees, self.scale, self.flip = shift, degrees, tuple(scale), flip
        _range(shift, "shift")
        _range(degrees, "degrees")
        _range(self.scale, "scale")

    def params(self, n, gen, shape):
        h, w = shape[-2:]
        p = {"dx": _uniform(n, -self.shift, self.shift, gen) * w, "dy": _uniform(n, -self.shift, self.shift, gen) * h,
             "degrees": _uniform(n, -self.degrees, self.degrees, gen), "scale": _uniform(n, *self.scale, gen)}
        p["flip"] = _uniform(n, 0, 1, gen) < 0.5 if self.flip else torch.zeros(n, dtype=torch.bool)
        return p

    def apply(self, x, dx, dy, degrees, scale, flip):
        return affine(x, dx, dy, degrees, scale, flip)


class RandomShift(RandomAffine):
    """Shift by up to ``fraction`` of the width/height in each direction."""

    def __init__(self, fraction: float = 0.1):
        super().__init__(shift=fraction)


class RandomRotation(RandomAffine):
    """Rotate by a uniform angle in [-degrees, degrees]."""

    def __init__(self, degrees: float = 15.0):
        super().__init__(degrees=degrees)


class RandomScale(RandomAffine):
    """Zoom by a uniform factor in ``(low, high)``."""

    def __init__(self, low: float = 0.9, high: float = 1.1):
        super().__init__(scale=(low, high))


class RandomHorizontalFlip(_Random):
    """Mirror each image with probability ``p`` (fine for photos of objects, wrong for text)."""

    def __init__(self, p: float = 0.5):
        if not 0 <= p <= 1:
            raise ValueError(f"p must be a probability in [0, 1], got {p}")
        self.p = p

    def params(self, n, gen, shape):
        return {"flip": _uniform(n, 0, 1, gen) < self.p}

    def apply(self, x, flip):
        return hflip(x, flip)


class RandomBrightness(_Random):
    """Add a uniform offset in [-delta, delta] to each image."""

    def __init__(self, delta: float = 0.1):
        _range(delta, "delta")
        self.delta = delta

    def params(self, n, gen, shape):
        return {"delta": _uniform(n, -self.delta, self.delta, gen)}

    def apply(self, x, delta):
        return adjust_brightness(x, delta)


class RandomContrast(_Random):
    """Multiply each image's contrast by a uniform factor in [low, high]."""

    def __init__(self, low: float = 0.8, high: float = 1.2):
        _range((low, high), "contrast")
        self.low, self.high = low, high

    def params(self, n, gen, shape):
        return {"factor": _uniform(n, self.low, self.high, gen)}

    def apply(self, x, factor):
        return adjust_contrast(x, factor)


class Compose:
    """Apply several augmentations in order, drawing all random values from one seeded generator."""

    def __init__(self, ops: Sequence, seed: int | None = 0):
        self.ops = list(ops)
        for op in self.ops:
            if not callable(op):
                raise ValueError(f"every augmentation must be callable, got {op!r}")
        self.generator = torch.Generator()
        if seed is not None:
            self.generator.manual_seed(seed)
        else:
            self.generator.seed()

    def reseed(self, seed: int) -> Compose:
        self.generator.manual_seed(seed)
        return self

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        for op in self.ops:
            x = op(x, self.generator) if isinstance(op, _Random) else op(x)
        return x

    def __repr__(self) -> str:
        return f"Compose({self.ops!r})"
