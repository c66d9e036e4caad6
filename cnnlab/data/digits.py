"""scikit-learn's hand-written digits (1797 images, 8×8, embedded) as torch datasets.

The split into train/validation/test is stratified and seeded once for the whole
data set, so the test images are the same on every call and every machine, whatever
subset of classes or training budget a notebook asks for.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

__all__ = ["SPLITS", "DigitsDataset", "digits_split_indices", "load_digits_tensors", "digits_loaders"]

SPLITS = ("train", "val", "test")
DEFAULT_FRACTIONS = (0.6, 0.2, 0.2)
N_DIGITS = 1797


@lru_cache(maxsize=1)
def _raw() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = bunch.images.astype(np.float32) / 16.0  # pixel values are 0..16
    return images, bunch.target.astype(np.int64)


def digits_split_indices(seed: int = 0, fractions: tuple[float, float, float] = DEFAULT_FRACTIONS) -> dict[str, np.ndarray]:
    """Sorted indices of each split, stratified by class and fixed by ``seed``."""
    from sklearn.model_selection import train_test_split

    fr = tuple(float(f) for f in fractions)
    if len(fr) != 3 or min(fr) <= 0 or abs(sum(fr) - 1.0) > 1e-6:
        raise ValueError(f"fractions must be three positive numbers summing to 1 (train, val, test), got {fractions!r}")
    _, labels = _raw()
    idx = np.arange(len(labels))
    rest, test = train_test_split(idx, test_size=fr[2], stratify=labels, random_state=seed)
    train, val = train_test_split(rest, test_size=fr[1] / (fr[0] + fr[1]), stratify=labels[rest], random_state=seed)
    return {"train": np.sort(train), "val": np.sort(val), "test": np.sort(test)}


def _select(split: str, seed: int, classes, per_class: int | None) -> np.ndarray:
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
    _, labels = _raw()
    idx = digits_split_indices(seed)[split]
    if classes is not None:
        bad = [c for c in classes if c not in range(10)]
        if bad or len(set(classes)) != len(classes) or not classes:
            raise ValueError(f"classes must be distinct digits 0..9, got {classes!r}")
        idx = idx[np.isin(labels[idx], list(classes))]
    if per_class is not None:
        if per_class < 1:
            raise ValueError(f"per_class must be a positive int, got {per_class!r}")
        rng = np.random.default_rng(seed + 1)
        keep = []
        for c in np.unique(labels[idx]):
            members = idx[labels[idx] == c]
            keep.append(rng.permutation(members)[:per_class])
        idx = np.sort(np.concatenate(keep))
    return idx


def load_digits_tensors(
    split: str = "train",
    size: int = 8,
    seed: int = 0,
    classes: list[int] | tuple[int, ...] | None = None,
    per_class: int | None = None,
    relabel: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Images (N, 1, size, size) float32 in [0, 1] and labels (N,) int64 of one split.

    ``size`` 8 keeps the originals; 28 or 32 (any size ≥ 8) resizes bilinearly, e.g. for
    LeNet-5's 32×32 input. ``classes`` keeps only those digits (labels become 0..k-1 in
    the given order when ``relabel``); ``per_class`` keeps at most that many images of
    each class (a seeded choice), to study training with few labels.
    """
    if not isinstance(size, int) or size < 8:
        raise ValueError(f"size must be an int >= 8 (8 = original digits, 28 or 32 for LeNet-style nets), got {size!r}")
    images, labels = _raw()
    idx = _select(split, seed, classes, per_class)
    x = torch.from_numpy(images[idx]).unsqueeze(1)
    if size != 8:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False).clamp_(0.0, 1.0)
    y = torch.from_numpy(labels[idx])
    if classes is not None and relabel:
        lookup = torch.full((10,), -1, dtype=torch.int64)
        lookup[list(classes)] = torch.arange(len(classes))
        y = lookup[y]
    return x.contiguous(), y


class DigitsDataset(Dataset):
    """One split of the digits as a map-style Dataset of ``(image, label)`` pairs.

    ``transform`` (optional) is applied to each image tensor (1, H, W) on access.
    """

    def __init__(
        self,
        split: str = "train",
        size: int = 8,
        seed: int = 0,
        classes: list[int] | tuple[int, ...] | None = None,
        per_class: int | None = None,
        transform=None,
    ):
        self.split, self.size = split, size
        self.images, self.labels = load_digits_tensors(split, size, seed, classes, per_class)
        self.classes = list(classes) if classes is not None else list(range(10))
        self.transform = transform

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.images[i]
        if self.transform is not None:
            x = self.transform(x)
        return x, self.labels[i]

    def __repr__(self) -> str:
        return f"DigitsDataset(split={self.split!r}, size={self.size}, n={len(self)}, classes={self.classes})"


def digits_loaders(
    batch_size: int = 64,
    size: int = 8,
    seed: int = 0,
    classes: list[int] | tuple[int, ...] | None = None,
    per_class: int | None = None,
    num_workers: int = 0,
) -> tuple[DataLoader, DataLoader, DataLoader]:
    """(train, val, test) DataLoaders; the training loader shuffles with a seeded generator.

    ``per_class`` limits only the training split; validation and test stay whole.
    """
    train = DigitsDataset("train", size, seed, classes, per_class)
    val = DigitsDataset("val", size, seed, classes)
    test = DigitsDataset("test", size, seed, classes)
    gen = torch.Generator().manual_seed(seed)
    return (
        DataLoader(train, batch_size=batch_size, shuffle=True, generator=gen, num_workers=num_workers),
        DataLoader(val, batch_size=batch_size, shuffle=False, num_workers=num_workers),
        DataLoader(test, batch_size=batch_size, shuffle=False, num_workers=num_workers),
    )
