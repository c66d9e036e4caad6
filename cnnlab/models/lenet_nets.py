"""LeNet-5 (LeCun et al., 1998): the first convolutional network put to work on digits.

32×32 gray input → conv 6@5×5 → pool 2 → conv 16@5×5 → pool 2 → conv 120@5×5 (a 1×1
map, so effectively dense) → dense 84 → dense 10. The modern rendering used here
connects every C3 map to every S2 map and uses parameter-free pooling, which gives
61,706 parameters (the 1998 paper's sparse C3 table and trainable pooling gave ~60k).
"""
from __future__ import annotations

from torch import nn

__all__ = ["LeNet5", "lenet5"]

_ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU}
_POOLS = {"avg": nn.AvgPool2d, "max": nn.MaxPool2d}


class LeNet5(nn.Module):
    """LeNet-5 for 32×32 inputs (``input_size=28`` pads the first conv by 2, as for MNIST)."""

    def __init__(self, num_classes: int = 10, in_channels: int = 1, activation: str = "tanh",
                 pool: str = "avg", input_size: int = 32):
        super().__init__()
        if activation not in _ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)}, got {activation!r}")
        if pool not in _POOLS:
            raise ValueError(f"pool must be one of {sorted(_POOLS)}, got {pool!r}")
        if input_size not in (28, 32):
            raise ValueError(f"LeNet-5 expects 32x32 inputs (or 28x28, padded by 2), got input_size={input_size}")
        act, pool_cls = _ACTIVATIONS[activation], _POOLS[pool]
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, 5, padding=2 if input_size == 28 else 0), act(), pool_cls(2),  # C1, S2
            nn.Conv2d(6, 16, 5), act(), pool_cls(2),  # C3, S4
            nn.Conv2d(16, 120, 5), act(),  # C5: 5x5 input -> 1x1 output
        )
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(120, 84), act(), nn.Linear(84, num_classes))

    def forward(self, x):
        return self.classifier(self.features(x))


def lenet5(num_classes: int = 10, in_channels: int = 1, small: bool = True, **kwargs) -> LeNet5:
    """LeNet-5 (already small enough for a CPU; ``small`` is accepted for a uniform zoo API)."""
    return LeNet5(num_classes=num_classes, in_channels=in_channels, **kwargs)
