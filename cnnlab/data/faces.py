"""Seeded synthetic "faces": cartoon heads whose geometry and colors depend on an identity.

Each identity is a vector of parameters (head shape, skin and hair color, eye spacing and
size, eyebrow height, mouth width and smile). Every photo of that identity redraws the face
with nuisances an embedding must ignore: the background color, a small shift and scale, lighting, noise and a slight
change of expression. Identities are drawn from a seed, so held-out people for one-shot
recognition are simply other seeds. Nothing is downloaded.
"""
from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

__all__ = ["SyntheticFaces", "draw_face", "random_identity"]

_SUPERSAMPLE = 2


def random_identity(rng: np.random.Generator) -> dict[str, np.ndarray | float]:
    """Parameters of one person (all in units of the image size, colors in [0, 1])."""
    return {
        "head_w": rng.uniform(0.28, 0.40), "head_h": rng.uniform(0.36, 0.46),
        "skin": rng.uniform([0.45, 0.30, 0.20], [1.0, 0.85, 0.70]),
        "hair": rng.uniform(0.0, 1.0, 3), "hair_len": rng.uniform(0.05, 0.5),
        "eye_dx": rng.uniform(0.09, 0.17), "eye_y": rng.uniform(-0.10, 0.02), "eye_r": rng.uniform(0.03, 0.06),
        "brow": rng.uniform(0.04, 0.10), "mouth_w": rng.uniform(0.06, 0.18), "mouth_y": rng.uniform(0.14, 0.26),
        "smile": rng.uniform(-0.06, 0.08),
    }


def draw_face(identity: dict, rng: np.random.Generator, size: int = 32, nuisance: float = 1.0) -> np.ndarray:
    """One photo (size, size, 3) float32 in [0, 1] of ``identity``; ``nuisance`` scales the variation."""
    n = size * _SUPERSAMPLE
    shift = rng.uniform(-0.05, 0.05, 2) * nuisance
    scale = 1 + rng.uniform(-0.06, 0.06) * nuisance
    y, x = (np.mgrid[0:n, 0:n] + 0.5) / n - 0.5
    x, y = (x - shift[0]) / scale, (y - shift[1]) / scale
    p = identity
    img = np.broadcast_to(rng.uniform(0.1, 0.9, 3), (n, n, 3)).copy()  # the background is not part of a person
    head = (x / p["head_w"]) ** 2 + (y / p["head_h"]) ** 2 <= 1
    hair = ((x / (p["head_w"] + 0.04)) ** 2 + ((y + 0.02) / (p["head_h"] + 0.04)) ** 2 <= 1) & (
        y < -p["head_h"] + 0.12 + p["hair_len"] * 0.5)
    img[hair] = p["hair"]
    img[head & ~hair] = p["skin"]
    smile = p["smile"] + rng.uniform(-0.015, 0.015) * nuisance
    for side in (-1, 1):
        ex, ey = side * p["eye_dx"], p["eye_y"]
        eye = (x - ex) ** 2 + (y - ey) ** 2 <= p["eye_r"] ** 2
        img[eye] = (0.05, 0.05, 0.1)
        brow = (np.abs(x - ex) <= p["eye_r"] * 1.4) & (np.abs(y - (ey - p["eye_r"] - p["brow"])) <= 0.012)
        img[brow] = p["hair"] * 0.6
    mouth_curve = p["mouth_y"] + smile * (1 - (x / max(p["mouth_w"], 1e-3)) ** 2)
    mouth = (np.abs(x) <= p["mouth_w"]) & (np.abs(y - mouth_curve) <= 0.02)
    img[mouth] = (0.6, 0.1, 0.15)
    light = 1 + rng.uniform(-0.15, 0.15) * nuisance + x * rng.uniform(-0.3, 0.3) * nuisance
    img = img * light[..., None]
    img = img.reshape(size, _SUPERSAMPLE, size, _SUPERSAMPLE, 3).mean(axis=(1, 3))
    img = img + rng.normal(0, 0.03 * nuisance, img.shape)
    return np.clip(img, 0, 1).astype(np.float32)


class SyntheticFaces(Dataset):
    """``n_identities`` people with ``per_identity`` photos each: ``dataset[i] -> (image (3,H,W), identity)``.

    Different ``seed`` values give disjoint people (the identities are drawn from the seed),
    so ``SyntheticFaces(seed=1)`` is a set of strangers for a network trained on ``seed=0``.
    """

    def __init__(self, n_identities: int = 40, per_identity: int = 20, size: int = 32, seed: int = 0,
                 nuisance: float = 1.0):
        if n_identities < 2 or per_identity < 1:
            raise ValueError(f"need at least 2 identities and 1 photo each, got {n_identities} and {per_identity}")
        rng = np.random.default_rng(np.random.SeedSequence([seed, 808]))
        self.identities = [random_identity(rng) for _ in range(n_identities)]
        images, labels = [], []
        for label, person in enumerate(self.identities):
            for _ in range(per_identity):
                images.append(draw_face(person, rng, size, nuisance))
                labels.append(label)
        self.images = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous()
        self.labels = torch.tensor(labels, dtype=torch.long)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self.images[i], int(self.labels[i])
