"""Timing for the speed questions, measured by the grader (never reported by the student's process)."""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    """(result of ``fn()``, wall-clock seconds it took)."""
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start
