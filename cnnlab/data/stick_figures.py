"""Seeded stick figures with keypoints, for pose estimation.

A figure has 11 joints (head, neck, elbows, hands, pelvis, knees, feet) whose limb angles are
random; it is drawn with the left limbs in one color and the right limbs in another (as pose
renderings do), so "left" and "right" can be told apart. The keypoints are exact, the images
noisy. Nothing is downloaded.
"""
from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from ._streams import split_rng

__all__ = ["KEYPOINTS", "SKELETON", "StickFigures", "draw_stick_figure", "random_pose"]

KEYPOINTS = ("head", "neck", "left_elbow", "left_hand", "right_elbow", "right_hand",
             "pelvis", "left_knee", "left_foot", "right_knee", "right_foot")
SKELETON = ((0, 1), (1, 2), (2, 3), (1, 4), (4, 5), (1, 6), (6, 7), (7, 8), (6, 9), (9, 10))
_LIMB_SIDE = ("center", "left", "left", "right", "right", "center", "left", "left", "right", "right")


def _polar(origin: np.ndarray, angle: float, length: float) -> np.ndarray:
    return origin + length * np.array([np.sin(angle), np.cos(angle)])  # angle 0 points down (+y)


def random_pose(rng: np.random.Generator) -> np.ndarray:
    """(11, 2) joint positions (x, y) of a figure in its own units (torso length 1, y down)."""
    neck = np.zeros(2)
    pelvis = _polar(neck, rng.uniform(-0.25, 0.25), 1.0)
    head = _polar(neck, np.pi + rng.uniform(-0.3, 0.3), 0.45)
    joints = {"head": head, "neck": neck, "pelvis": pelvis}
    for side, sign in (("left", 1), ("right", -1)):
        upper = sign * rng.uniform(0.3, 2.6)                       # from hanging down to raised
        elbow = _polar(neck, upper, 0.6)
        joints[f"{side}_elbow"], joints[f"{side}_hand"] = elbow, _polar(elbow, upper + sign * rng.uniform(0, 1.5), 0.55)
        thigh = sign * rng.uniform(0.1, 0.9)
        knee = _polar(pelvis, thigh, 0.65)
        joints[f"{side}_knee"], joints[f"{side}_foot"] = knee, _polar(knee, thigh - sign * rng.uniform(0, 0.8), 0.6)
    return np.stack([joints[k] for k in KEYPOINTS])


def _segment_distance(px: np.ndarray, py: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ab = b - a
    t = np.clip(((px - a[0]) * ab[0] + (py - a[1]) * ab[1]) / max(float(ab @ ab), 1e-9), 0, 1)
    return np.hypot(px - a[0] - t * ab[0], py - a[1] - t * ab[1])


def draw_stick_figure(rng: np.random.Generator, size: int = 32, min_extent: float = 0.6,
                      max_extent: float = 0.85) -> tuple[np.ndarray, np.ndarray]:
    """One image (size, size, 3) float32 and its keypoints (11, 2) in pixels (x, y)."""
    pose = random_pose(rng)
    lo, hi = pose.min(0), pose.max(0)
    extent = rng.uniform(min_extent, max_extent) * size
    scale = extent / (hi - lo).max()
    pts = (pose - lo) * scale
    room = size - 2 - (hi - lo) * scale
    pts = pts + 1 + rng.uniform(0, 1, 2) * room
    colors = {"center": np.array([0.95, 0.95, 0.9]), "left": np.array([0.95, 0.35, 0.2]),
               "right": np.array([0.2, 0.55, 0.95])}
    n = 2 * size
    py, px = (np.mgrid[0:n, 0:n] + 0.5) / 2
    image = np.broadcast_to(rng.uniform(0.0, 0.3, 3), (n, n, 3)).copy()
    width = 0.8 * scale / 12 + 0.4
    for (i, j), side in zip(SKELETON, _LIMB_SIDE):
        image[_segment_distance(px, py, pts[i], pts[j]) <= width] = colors[side]
    head = np.hypot(px - pts[0, 0], py - pts[0, 1]) <= max(0.18 * scale, 1.5)
    image[head] = colors["center"]
    image = image.reshape(size, 2, size, 2, 3).mean(axis=(1, 3)) + rng.normal(0, 0.04, (size, size, 3))
    return np.clip(image, 0, 1).astype(np.float32), pts.astype(np.float32)


class StickFigures(Dataset):
    """``dataset[i] -> (image (3,H,W) float32, keypoints (11, 2) float32 pixels (x, y))``.

    ``scales`` holds each figure's size (the longer side of its keypoints' box), the length
    PCK measures errors against. Splits use independent seeded streams.
    """

    def __init__(self, split: str = "train", size: int = 1000, image_size: int = 32, seed: int = 0):
        rng = split_rng(seed, split, 31)  # checks the split first
        if size < 1:
            raise ValueError(f"size must be at least 1, got {size}")
        pairs = [draw_stick_figure(rng, image_size) for _ in range(size)]
        self.image_size, self.keypoint_names = image_size, KEYPOINTS
        self.images = torch.from_numpy(np.stack([p[0] for p in pairs])).permute(0, 3, 1, 2).contiguous()
        self.keypoints = torch.from_numpy(np.stack([p[1] for p in pairs]))
        span = self.keypoints.amax(1) - self.keypoints.amin(1)
        self.scales = span.amax(1)

    def __len__(self) -> int:
        return len(self.keypoints)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.images[i], self.keypoints[i]
