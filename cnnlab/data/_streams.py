"""Seeded random streams for the splits of the synthetic datasets (shapes, stick figures, captioned scenes).

Each (seed, split, dataset) pair gets its own independent generator, so the train, val and test
splits never share an image and one dataset's images do not repeat another's.
"""
from __future__ import annotations

import numpy as np

SPLITS = ("train", "val", "test")


def split_rng(seed: int, split: str, stream: int) -> np.random.Generator:
    """The generator of ``split`` for ``seed``; ``stream`` is a number that tells the datasets apart."""
    if split not in SPLITS:
        raise ValueError(f"split={split!r}; expected one of {SPLITS}")
    return np.random.default_rng(np.random.SeedSequence([seed, SPLITS.index(split), stream]))
