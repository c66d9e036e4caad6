"""The lecture's worked example: a small CNN for 10 classes of 32×32×3 images.

conv 32@3×3 "same" (896 params) → max-pool 2 → conv 64@3×3 "valid" (18,496) → max-pool 2
→ conv 64@3×3 "valid" (36,928) → flatten (1,600 values) → dense 64 (102,464) → dense 10 (650):
159,434 parameters in all.
"""
from __future__ import annotations

from torch import nn

__all__ = ["lecture_cnn"]


def lecture_cnn(num_classes: int = 10, in_channels: int = 3, input_size: int = 32) -> nn.Sequential:
    """The example network; ``input_size`` other than 32 changes the flattened size accordingly."""
    s = input_size // 2  # after the first pool ("same" conv keeps the size)
    s = (s - 2) // 2  # valid conv, pool
    s = s - 2  # valid conv
    if s < 1:
        raise ValueError(f"input_size={input_size} is too small for this network: it needs at least 10 pixels")
    return nn.Sequential(
        nn.Conv2d(in_channels, 32, 3, padding="same"), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 64, 3), nn.ReLU(),
        nn.Flatten(),
        nn.Linear(64 * s * s, 64), nn.ReLU(),
        nn.Linear(64, num_classes),
    )
