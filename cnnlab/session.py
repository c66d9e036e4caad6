"""The set-up cell of every notebook: seed every random generator and report the environment."""
from __future__ import annotations

import os
import platform
import random

import numpy as np
import torch

from .devices import device as _device

DEFAULT_SEED = 0


def seed_everything(seed: int = DEFAULT_SEED) -> int:
    """Seed Python's, NumPy's and PyTorch's generators (CPU and all GPUs); return the seed.

    It also sets ``PYTHONHASHSEED``, which only Python processes started afterwards read (for
    instance DataLoader workers under the "spawn" start method, the default on macOS and
    Windows): their string hashes, and so the order of their sets, repeat from run to run.
    The running interpreter fixed its own hashing when it started and is not affected.
    """
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)  # for child processes only (see the docstring)
    return seed


def versions() -> dict[str, str]:
    """Versions of the pieces of the stack a bug report needs."""
    import matplotlib

    from . import __version__

    info = {
        "cnnlab": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__,
        "matplotlib": matplotlib.__version__,
    }
    try:
        import ipywidgets

        info["ipywidgets"] = ipywidgets.__version__
    except ImportError:  # pragma: no cover - ipywidgets is a dependency
        pass
    return info


def hello(seed: int = DEFAULT_SEED, verbose: bool = True) -> torch.device:
    """Seed everything, print versions and the device, and return that device."""
    seed_everything(seed)
    dev = _device()
    if verbose:
        for name, ver in versions().items():
            print(f"{name:>10}: {ver}")
        extra = ""
        if dev.type == "cuda":
            extra = f" ({torch.cuda.get_device_name(dev)})"
        print(f"{'device':>10}: {dev}{extra}")
        print(f"{'seed':>10}: {seed}")
    return dev


setup = hello
