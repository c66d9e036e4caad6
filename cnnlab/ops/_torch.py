"""numpy <-> torch for the operators that PyTorch computes (CPU, the array's own float dtype)."""
from __future__ import annotations

import numpy as np


def to_torch(a: np.ndarray):
    """A CPU tensor sharing memory with the (float) array where possible."""
    import torch

    return torch.from_numpy(np.ascontiguousarray(a))


def from_torch(t, dtype: np.dtype) -> np.ndarray:
    """The tensor as a numpy array of ``dtype``."""
    return t.detach().cpu().numpy().astype(dtype, copy=False)
