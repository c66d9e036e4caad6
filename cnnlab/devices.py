"""Pick the torch device every notebook and training loop uses (one place to decide).

torch is imported when a device is first asked for, not with ``cnnlab``: a numpy-only notebook
(assignment 1) never pays for loading it (about a second of CPU).
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

ENV_VAR = "CNNLAB_DEVICE"
_VALID = ("cpu", "cuda", "mps")


def _mps_available() -> bool:
    import torch

    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def device(prefer: str | None = None) -> torch.device:
    """Return the device to compute on: CUDA, then Apple MPS, then CPU.

    ``prefer`` (or the environment variable ``CNNLAB_DEVICE``) forces one of
    ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"mps"``; asking for a device that
    is not available raises ``RuntimeError`` instead of silently falling back.
    """
    import torch

    wanted = prefer if prefer is not None else os.environ.get(ENV_VAR, "").strip()
    if wanted:
        kind = wanted.split(":", 1)[0].lower()
        if kind not in _VALID:
            raise ValueError(
                f"unknown device {wanted!r} (from {'argument' if prefer else ENV_VAR}); "
                f"expected one of 'cpu', 'cuda', 'cuda:N' or 'mps'"
            )
        if kind == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(f"device {wanted!r} was requested but CUDA is not available on this machine")
        if kind == "mps" and not _mps_available():
            raise RuntimeError(f"device {wanted!r} was requested but Apple MPS is not available on this machine")
        return torch.device(wanted.lower())
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def available_devices() -> list[torch.device]:
    """Every device this machine can run on, CPU first (used by tests and grading)."""
    import torch

    found = [torch.device("cpu")]
    if torch.cuda.is_available():
        found.append(torch.device("cuda"))
    if _mps_available():
        found.append(torch.device("mps"))
    return found
