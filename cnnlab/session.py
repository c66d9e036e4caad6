"""The set-up cell of every notebook: seed every random generator and report the environment.

A numpy-only notebook (assignment 1) calls ``hello(with_torch=False)`` and never loads torch,
which takes about a second of CPU: its kernel starts faster, and so does grading it.
"""
from __future__ import annotations

import os
import platform
import random
import sys
from importlib import metadata
from typing import TYPE_CHECKING

import numpy as np

from .devices import device as _device

if TYPE_CHECKING:
    import torch

DEFAULT_SEED = 0


def seed_everything(seed: int = DEFAULT_SEED, with_torch: bool = True) -> int:
    """Seed Python's, NumPy's and PyTorch's generators (CPU and all GPUs); return the seed.

    With ``with_torch=False`` PyTorch's generators are seeded only if torch is already loaded
    (it is not imported for them).

    It also sets ``PYTHONHASHSEED``, which only Python processes started afterwards read (for
    instance DataLoader workers under the "spawn" start method, the default on macOS and
    Windows): their string hashes, and so the order of their sets, repeat from run to run.
    The running interpreter fixed its own hashing when it started and is not affected.
    """
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed)
    if with_torch or "torch" in sys.modules:
        import torch

        torch.manual_seed(seed)
        if torch.cuda.is_available():
            torch.cuda.manual_seed_all(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)  # for child processes only (see the docstring)
    return seed


def versions() -> dict[str, str]:
    """Versions of the pieces of the stack a bug report needs (read from the installed packages'
    metadata, so that nothing is imported just to be reported)."""
    from . import __version__

    info = {"cnnlab": __version__, "python": platform.python_version(), "numpy": np.__version__}
    for package in ("torch", "matplotlib", "ipywidgets"):
        try:
            info[package] = metadata.version(package)
        except metadata.PackageNotFoundError:  # pragma: no cover - all are dependencies
            info[package] = "not installed"
    return info


def hello(seed: int = DEFAULT_SEED, verbose: bool = True, with_torch: bool = True) -> torch.device | None:
    """Seed everything, print versions and the device, and return that device.

    ``with_torch=False`` is for numpy-only notebooks: torch is neither loaded nor seeded (unless
    something loaded it already), no device is chosen, and None is returned.
    """
    seed_everything(seed, with_torch=with_torch)
    dev = _device() if with_torch else None
    if verbose:
        for name, ver in versions().items():
            print(f"{name:>10}: {ver}")
        if dev is None:
            where = "numpy on the CPU (this notebook does not use PyTorch)"
        elif dev.type == "cuda":
            import torch

            where = f"{dev} ({torch.cuda.get_device_name(dev)})"
        else:
            where = str(dev)
        print(f"{'device':>10}: {where}")
        print(f"{'seed':>10}: {seed}")
    return dev


setup = hello
