"""Shared helpers for the benchmark scripts: timing and a report of the BLAS in use.

Benchmarks are scripts, not tests: each prints times and ratios against a
reference run in the same process. Import as ``from _util import ...`` (the
scripts run from this folder's parent with ``python benchmarks/x_bench.py``).
"""
from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable


def median_time(fn: Callable[[], object], repeat: int = 7, warmup: int = 1) -> float:
    """Median wall time of ``fn()`` in seconds over ``repeat`` runs after ``warmup`` runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def blas_report() -> str:
    """Which BLAS libraries and kernels numpy/torch will use, and the thread settings."""
    from threadpoolctl import threadpool_info

    import torch

    lines = []
    for pool in threadpool_info():
        lines.append(
            f"{pool.get('internal_api')} {pool.get('version')} kernel={pool.get('architecture')} "
            f"threads={pool.get('num_threads')} ({os.path.basename(pool.get('filepath', ''))})"
        )
    lines.append(f"torch threads={torch.get_num_threads()}")
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OMP_NUM_THREADS"):
        lines.append(f"{var}={os.environ.get(var, '<unset>')}")
    return "\n".join(lines)
