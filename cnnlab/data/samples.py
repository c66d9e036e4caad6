"""Sample images and classic 3x3 kernels for the convolution and pooling lectures, widgets and exercises."""
from __future__ import annotations

from functools import lru_cache

import numpy as np

__all__ = ["IMAGES", "KERNELS", "edges_6x6", "kernel", "sample_image", "shift_image", "stripes_for_pooling"]

KERNELS: dict[str, np.ndarray] = {
    "vertical edge": np.array([[1, 0, -1], [1, 0, -1], [1, 0, -1]], dtype=np.float64),
    "horizontal edge": np.array([[1, 1, 1], [0, 0, 0], [-1, -1, -1]], dtype=np.float64),
    "Sobel x": np.array([[1, 0, -1], [2, 0, -2], [1, 0, -1]], dtype=np.float64),
    "Sobel y": np.array([[1, 2, 1], [0, 0, 0], [-1, -2, -1]], dtype=np.float64),
    "blur": np.full((3, 3), 1.0 / 9.0),
    "sharpen": np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], dtype=np.float64),
    "identity": np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]], dtype=np.float64),
    "Laplacian": np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=np.float64),
}
for _k in KERNELS.values():
    _k.setflags(write=False)

IMAGES = {
    "edges 6x6": "the classic 6x6 example: bright (10) left half, dark (0) right half",
    "square": "a bright square on a dark background (synthetic edges in both directions)",
    "digit": "a hand-written 3 from scikit-learn's 8x8 digits, upsampled",
    "photo (gray)": "scikit-learn's temple photo, grayscale",
    "photo (RGB)": "scikit-learn's temple photo, in colour (3 channels)",
}


def kernel(name: str) -> np.ndarray:
    """A copy of one of the preset kernels in ``KERNELS``."""
    if name not in KERNELS:
        raise ValueError(f"unknown kernel {name!r}; choose one of {sorted(KERNELS)}")
    return KERNELS[name].copy()


def edges_6x6() -> np.ndarray:
    """The 6x6 image whose vertical-edge response is a 4x4 map with columns 0, 30, 30, 0."""
    img = np.zeros((6, 6))
    img[:, :3] = 10.0
    return img


def _square(size: int) -> np.ndarray:
    img = np.zeros((size, size))
    a, b = size // 4, size - size // 4
    img[a:b, a:b] = 1.0
    return img


@lru_cache(maxsize=8)
def _digit(size: int) -> np.ndarray:
    from sklearn.datasets import load_digits

    digits = load_digits()
    three = int(np.flatnonzero(digits.target == 3)[0])
    small = digits.images[three] / 16.0
    return _resize(small, size)


def _resize(img: np.ndarray, size: int) -> np.ndarray:
    import torch
    import torch.nn.functional as F

    t = torch.from_numpy(np.ascontiguousarray(img, dtype=np.float64))[None, None]
    mode = "bilinear" if size > img.shape[0] else "area"
    kwargs = {"align_corners": False} if mode == "bilinear" else {}
    out = F.interpolate(t, size=(size, size), mode=mode, **kwargs)[0, 0].numpy()
    return np.clip(out, 0.0, 1.0)


@lru_cache(maxsize=8)
def _photo(size: int, gray: bool) -> np.ndarray:
    from cnnlab.data.photos import load_photo

    return load_photo("china", size=size, gray=gray)


def sample_image(name: str, size: int | None = None) -> np.ndarray:
    """One of ``IMAGES`` as float64: HxW for gray images, HxWx3 for "photo (RGB)".

    ``size`` is the side in pixels (ignored by "edges 6x6"); defaults: square 12,
    digit 16, photos 32.
    """
    if name == "edges 6x6":
        return edges_6x6()
    if size is not None and (not isinstance(size, (int, np.integer)) or size < 2):
        raise ValueError(f"size must be an int of at least 2 pixels, got {size!r}")
    if name == "square":
        return _square(size or 12)
    if name == "digit":
        return _digit(size or 16).copy()
    if name == "photo (gray)":
        return _photo(size or 32, True).copy()
    if name == "photo (RGB)":
        return _photo(size or 32, False).copy()
    raise ValueError(f"unknown image {name!r}; choose one of {list(IMAGES)} or pass a numpy array")


def stripes_for_pooling(size: int = 8, seed: int = 0) -> np.ndarray:
    """An image whose odd columns are 0 and whose even columns hold random values in [0.2, 1].

    With 2x2 max pooling (stride 2) a shift of one column to the right keeps every
    window's maximum (each bright value only moves into the right half of its own
    window), while a shift of two columns moves values into the next window.
    """
    rng = np.random.default_rng(seed)
    img = np.zeros((size, size))
    img[:, 0::2] = rng.uniform(0.2, 1.0, size=(size, (size + 1) // 2))
    return img


def shift_image(img: np.ndarray, dx: int = 0, dy: int = 0) -> np.ndarray:
    """Translate an HxW (or HxWxC) image by ``dx`` columns right and ``dy`` rows down, filling with zeros."""
    img = np.asarray(img)
    out = np.zeros_like(img)
    h, w = img.shape[:2]
    if abs(dx) >= w or abs(dy) >= h:
        return out
    src_y = slice(max(-dy, 0), h - max(dy, 0))
    dst_y = slice(max(dy, 0), h - max(-dy, 0))
    src_x = slice(max(-dx, 0), w - max(dx, 0))
    dst_x = slice(max(dx, 0), w - max(-dx, 0))
    out[dst_y, dst_x] = img[src_y, src_x]
    return out
