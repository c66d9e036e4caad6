"""cnnlab: the helper package behind the course's notebooks, widgets and graded assignments.

Start every notebook with ``cnnlab.hello()``: it seeds every random generator,
prints the versions that matter and returns the device to compute on.
"""
from __future__ import annotations

__version__ = "0.1.0"

from .devices import available_devices, device
from .session import hello, seed_everything, setup, versions

__all__ = [
    "__version__",
    "available_devices",
    "device",
    "hello",
    "seed_everything",
    "setup",
    "versions",
]
