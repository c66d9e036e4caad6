"""Real photographs that installed packages ship (scikit-learn's and matplotlib's samples)."""
from __future__ import annotations

import numpy as np

__all__ = ["PHOTOS", "load_photo", "to_gray"]

# name -> where it comes from
PHOTOS = {
    "china": "scikit-learn sample image china.jpg (427x640, a temple)",
    "flower": "scikit-learn sample image flower.jpg (427x640, a dahlia)",
    "grace_hopper": "matplotlib sample image grace_hopper.jpg (600x512, a portrait)",
}


def to_gray(image: np.ndarray) -> np.ndarray:
    """Luma (ITU-R BT.601 weights) of an HxWx3 image, keeping its value range."""
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"to_gray expects an HxWx3 RGB image, got shape {image.shape}")
    return image[..., :3].astype(np.float64) @ np.array([0.299, 0.587, 0.114])


def _raw(name: str) -> np.ndarray:
    if name in ("china", "flower"):
        from sklearn.datasets import load_sample_image

        return load_sample_image(f"{name}.jpg")
    if name == "grace_hopper":
        import matplotlib.cbook as cbook
        import matplotlib.image as mpimg

        with cbook.get_sample_data("grace_hopper.jpg") as fh:
            return mpimg.imread(fh, format="jpg")
    raise ValueError(f"unknown photo {name!r}; choose one of {sorted(PHOTOS)}")


def load_photo(name: str = "china", size: int | tuple[int, int] | None = None, gray: bool = False) -> np.ndarray:
    """A shipped photo as float64 in [0, 1], HxWx3 (or HxW with ``gray=True``).

    ``size`` (an int for a square, or (height, width)) centre-crops to the target
    aspect ratio and resizes by area averaging, so small sizes stay faithful.
    """
    img = _raw(name).astype(np.float64) / 255.0
    if size is not None:
        h, w = (size, size) if isinstance(size, int) else tuple(size)
        if h <= 0 or w <= 0:
            raise ValueError(f"size must be positive, got {size!r}")
        img = _crop_resize(img, h, w)
    return to_gray(img) if gray else img


def _crop_resize(img: np.ndarray, h: int, w: int) -> np.ndarray:
    import torch
    import torch.nn.functional as F

    H, W = img.shape[:2]
    target = h / w
    if H / W > target:  # too tall: crop rows
        new_h = int(round(W * target))
        top = (H - new_h) // 2
        img = img[top:top + new_h]
    else:  # too wide: crop columns
        new_w = int(round(H / target))
        left = (W - new_w) // 2
        img = img[:, left:left + new_w]
    t = torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1)[None]
    out = F.interpolate(t, size=(h, w), mode="area")
    return out[0].permute(1, 2, 0).numpy()
