"""Seeded synthetic shapes: small images with squares, circles, triangles and crosses.

Nothing is downloaded: every image is drawn from a seed, so the same call gives the same
pixels on every machine. Two flavours:

* detection (``ShapesDetection``): a 64x64 image with 1-4 non-overlapping shapes of several
  colours on a noisy background; each object has a class, a tight xyxy box and a mask;
* classification (``ShapesClassification``): one shape per 32x32 image and its label,
  optionally with a "background" class (an image without any shape).

``ShapesLocalization`` is the one-object case used for classification + box regression.
Splits "train", "val" and "test" use independent random streams derived from ``seed``.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from ._streams import SPLITS, split_rng

SHAPE_CLASSES = ("square", "circle", "triangle", "cross")
COLOURS = {
    "red": (0.90, 0.20, 0.20), "green": (0.25, 0.80, 0.30), "blue": (0.25, 0.45, 0.95),
    "yellow": (0.95, 0.85, 0.20), "magenta": (0.85, 0.30, 0.85), "cyan": (0.25, 0.85, 0.90),
}
DEFAULT_SIZES = {"train": 2000, "val": 300, "test": 300}

__all__ = ["COLOURS", "SHAPE_CLASSES", "ShapesClassification", "ShapesDetection", "ShapesLocalization",
           "detection_collate", "make_scene", "shape_mask"]


def shape_mask(kind: str, cx: float, cy: float, size: float, height: int, width: int | None = None) -> np.ndarray:
    """Boolean ``(height, width)`` mask of one shape of side ``size`` centred at ``(cx, cy)`` (pixels)."""
    if kind not in SHAPE_CLASSES:
        raise ValueError(f"unknown shape {kind!r}; expected one of {SHAPE_CLASSES}")
    width = height if width is None else width
    r = size / 2
    # Only the pixels around the shape are evaluated; the rest of the mask stays False.
    x0, x1 = max(int(np.floor(cx - r)) - 1, 0), min(int(np.ceil(cx + r)) + 1, width)
    y0, y1 = max(int(np.floor(cy - r)) - 1, 0), min(int(np.ceil(cy + r)) + 1, height)
    mask = np.zeros((height, width), dtype=bool)
    if x0 >= x1 or y0 >= y1:
        return mask
    y, x = np.mgrid[y0:y1, x0:x1] + 0.5                # pixel centres
    dx, dy = x - cx, y - cy
    if kind == "square":
        local = (np.abs(dx) <= r) & (np.abs(dy) <= r)
    elif kind == "circle":
        local = dx ** 2 + dy ** 2 <= r ** 2
    elif kind == "triangle":                          # apex up, base at the bottom
        depth = (dy + r) / (2 * r)                    # 0 at the apex, 1 at the base
        local = (depth >= 0) & (depth <= 1) & (np.abs(dx) <= depth * r)
    else:                                             # cross: two bars a third as thick as the shape
        bar = size / 6
        local = ((np.abs(dx) <= r) & (np.abs(dy) <= bar)) | ((np.abs(dy) <= r) & (np.abs(dx) <= bar))
    mask[y0:y1, x0:x1] = local
    return mask


def _tight_box(mask: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(mask)
    return np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], dtype=np.float32)


def _near(a, b, gap: float = 2.0) -> bool:
    return a[0] < b[2] + gap and b[0] < a[2] + gap and a[1] < b[3] + gap and b[1] < a[3] + gap


def _background(rng: np.random.Generator, size: int, noise: float) -> np.ndarray:
    base = rng.uniform(0.0, 0.3) + rng.uniform(-0.05, 0.05, 3)
    ramp = np.linspace(-1, 1, size)[None, :, None] * rng.uniform(-0.08, 0.08, 3)
    img = base + ramp + rng.normal(0, noise, (size, size, 3))
    return np.broadcast_to(img, (size, size, 3)).copy()


def make_scene(rng: np.random.Generator, image_size: int = 64, min_objects: int = 1, max_objects: int = 4,
               min_size: float = 10, max_size: float = 26, noise: float = 0.04) -> dict[str, np.ndarray]:
    """Draw one image; return ``{"image" (H,W,3) float32 in [0,1], "boxes" (K,4) xyxy, "labels" (K,), "masks" (K,H,W)}``.

    Shapes never overlap (their boxes keep a 2-pixel gap), so each has a whole mask and a tight box.
    """
    if not 0 <= min_objects <= max_objects:
        raise ValueError(f"need 0 <= min_objects <= max_objects, got {min_objects} and {max_objects}")
    if max_size > image_size - 2:
        raise ValueError(f"max_size={max_size} does not fit in an image of {image_size} pixels")
    image = _background(rng, image_size, noise)
    wanted = int(rng.integers(min_objects, max_objects + 1))
    boxes, labels, masks = [], [], []
    colours = list(COLOURS.values())
    for _ in range(60 * max(wanted, 1)):
        if len(boxes) == wanted:
            break
        size = rng.uniform(min_size, max_size)
        cx, cy = rng.uniform(size / 2 + 1, image_size - size / 2 - 1, 2)
        label = int(rng.integers(len(SHAPE_CLASSES)))
        outer = (cx - size / 2 - 1, cy - size / 2 - 1, cx + size / 2 + 1, cy + size / 2 + 1)  # holds the shape
        if any(_near(outer, b) for b in boxes):
            continue
        mask = shape_mask(SHAPE_CLASSES[label], cx, cy, size, image_size)
        if not mask.any():
            continue
        box = _tight_box(mask)
        colour = np.array(colours[int(rng.integers(len(colours)))]) + rng.uniform(-0.08, 0.08, 3)
        image[mask] = colour + rng.normal(0, noise, (int(mask.sum()), 3))
        boxes.append(box)
        labels.append(label)
        masks.append(mask)
    if len(boxes) < min_objects:
        raise RuntimeError("could not place the shapes without overlap; use fewer or smaller shapes")
    return {
        "image": np.clip(image, 0, 1).astype(np.float32),
        "boxes": np.array(boxes, dtype=np.float32).reshape(-1, 4),
        "labels": np.array(labels, dtype=np.int64),
        "masks": np.array(masks, dtype=bool).reshape(-1, image_size, image_size),
    }


def _count(split: str, size: int | None) -> int:
    n = DEFAULT_SIZES[split] if size is None else int(size)
    if n < 1:
        raise ValueError(f"size must be at least 1, got {size}")
    return n


class ShapesDetection(Dataset):
    """Detection images: ``dataset[i] -> (image (3,H,W) float32, {"boxes", "labels", "masks"})``.

    ``images`` holds all images as one ``(N, 3, H, W)`` tensor and ``targets`` the list of
    dicts (tensors), handy for fast training without a DataLoader.
    """

    def __init__(self, split: str = "train", size: int | None = None, image_size: int = 64, seed: int = 0,
                 min_objects: int = 1, max_objects: int = 4, min_size: float = 10, max_size: float = 26):
        rng = split_rng(seed, split, 7)
        scenes = [make_scene(rng, image_size, min_objects, max_objects, min_size, max_size)
                  for _ in range(_count(split, size))]
        self.split, self.image_size, self.classes = split, image_size, SHAPE_CLASSES
        self.images = torch.from_numpy(np.stack([s["image"] for s in scenes])).permute(0, 3, 1, 2).contiguous()
        self.targets = [{"boxes": torch.from_numpy(s["boxes"]), "labels": torch.from_numpy(s["labels"]),
                         "masks": torch.from_numpy(s["masks"])} for s in scenes]

    def __len__(self) -> int:
        return self.images.shape[0]

    def __getitem__(self, i: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        return self.images[i], self.targets[i]


class ShapesLocalization(ShapesDetection):
    """Exactly one shape per image: ``dataset[i] -> (image, label, box (4,) xyxy in pixels)``."""

    def __init__(self, split: str = "train", size: int | None = None, image_size: int = 64, seed: int = 0,
                 min_size: float = 10, max_size: float = 40):
        super().__init__(split, size, image_size, seed + 1000, 1, 1, min_size, max_size)
        self.labels = torch.stack([t["labels"][0] for t in self.targets])
        self.boxes = torch.stack([t["boxes"][0] for t in self.targets])

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int, torch.Tensor]:
        return self.images[i], int(self.labels[i]), self.boxes[i]


class ShapesClassification(Dataset):
    """One shape per image: ``dataset[i] -> (image (3,H,W) float32, label)``.

    With ``background=True`` a fifth class ``"background"`` (label 4) holds images with no
    shape, which a sliding-window detector needs to say "nothing here".
    """

    def __init__(self, split: str = "train", size: int | None = None, image_size: int = 32, seed: int = 0,
                 background: bool = False, min_size: float | None = None, max_size: float | None = None):
        rng = split_rng(seed + 2000, split, 7)
        lo = image_size * 0.4 if min_size is None else min_size
        hi = image_size * 0.85 if max_size is None else max_size
        self.classes = SHAPE_CLASSES + (("background",) if background else ())
        images, labels = [], []
        for _ in range(_count(split, size)):
            empty = background and rng.random() < 1 / len(self.classes)
            scene = make_scene(rng, image_size, 0 if empty else 1, 0 if empty else 1, lo, hi)
            images.append(scene["image"])
            labels.append(len(SHAPE_CLASSES) if empty else int(scene["labels"][0]))
        self.images = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous()
        self.labels = torch.tensor(labels, dtype=torch.long)

    def __len__(self) -> int:
        return self.images.shape[0]

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self.images[i], int(self.labels[i])


def detection_collate(batch: list[tuple[torch.Tensor, Any]]) -> tuple[torch.Tensor, list]:
    """Collate for a DataLoader over a detection set: stacked images and the list of targets."""
    images, targets = zip(*batch)
    return torch.stack(images), list(targets)
