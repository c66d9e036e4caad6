"""Accept numpy arrays or torch tensors, compute in torch, hand back the kind the caller gave."""
from __future__ import annotations

from typing import Any

import numpy as np
import torch


def to_tensor(x: Any, name: str, dtype: torch.dtype | None = None) -> tuple[torch.Tensor, bool]:
    """Return ``(tensor, was_numpy)``; lists and numpy arrays become tensors (no copy when possible)."""
    if isinstance(x, torch.Tensor):
        t = x
        was_numpy = False
    elif isinstance(x, (np.ndarray, list, tuple, np.generic, float, int)):
        arr = np.asarray(x)
        if arr.dtype == object:
            raise ValueError(f"{name} must be a numeric array or tensor, got an object array")
        t = torch.from_numpy(np.ascontiguousarray(arr))
        was_numpy = True
    else:
        raise ValueError(f"{name} must be a torch tensor or a numpy array, got {type(x).__name__}")
    if dtype is not None:
        t = t.to(dtype)
    elif not (t.is_floating_point()):
        t = t.to(torch.get_default_dtype())
    return t, was_numpy


def back(t: torch.Tensor, was_numpy: bool) -> Any:
    """Give ``t`` back as numpy when the input was numpy, otherwise as the tensor."""
    return t.detach().cpu().numpy() if was_numpy else t
