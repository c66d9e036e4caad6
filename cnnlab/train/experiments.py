"""Honest comparisons: train the same recipe over several seeds and report mean ± spread.

One training run says little: a different seed (initial weights, batch order) can move the
result by more than the effect being measured. :func:`repeat_runs` trains a fresh model per seed,
:func:`final_stats` summarises one metric at the last epoch, :func:`describe` writes it as
"mean ± std (min–max, n runs)" (``cnnlab.plots.plot_runs``
draws each group's mean curve with its min–max band).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from .loop import History, fit

__all__ = ["RunStats", "curves", "describe", "final_stats", "repeat_runs"]

METRICS = ("train_loss", "train_acc", "val_loss", "val_acc")


@dataclass(frozen=True)
class RunStats:
    """One metric over several runs: mean, sample standard deviation, min, max and the number of runs."""

    mean: float
    std: float
    min: float
    max: float
    n: int


def repeat_runs(make_model: Callable[[], "object"], train_loader, val_loader=None, *,
                seeds: Iterable[int] = (0, 1, 2), **fit_kwargs) -> list[History]:
    """Seed torch, build ``make_model()`` and ``fit`` it, once per seed; the list of histories.

    ``fit_kwargs`` go to :func:`cnnlab.train.fit` (``epochs``, ``lr``, ``augment``, ...); ``seed``
    is set per run and the progress bar is off unless asked for.
    """
    return [history for _, history in fit_per_seed(make_model, train_loader, val_loader, seeds=seeds, **fit_kwargs)]


def fit_per_seed(make_model: Callable[[], "object"], train_loader, val_loader=None, *,
                 seeds: Iterable[int] = (0, 1, 2), **fit_kwargs) -> Iterator[tuple["object", History]]:
    """For each seed: seed torch, build ``make_model()``, ``fit`` it; yields ``(model, history)``
    (the one multi-seed loop: :func:`repeat_runs` keeps the histories, ``practice.seed_runs``
    also evaluates each trained model)."""
    import torch

    seeds = list(seeds)
    if not seeds:
        raise ValueError("seeds is empty: give at least one seed (three or more to see the spread)")
    if "seed" in fit_kwargs:
        raise ValueError("pass the seeds as seeds=[...], not seed=...")
    fit_kwargs.setdefault("progress", False)
    for seed in seeds:
        torch.manual_seed(seed)
        model = make_model()
        yield model, fit(model, train_loader, val_loader, seed=seed, **fit_kwargs)


def _metric(histories: Sequence[History], metric: str) -> list[list[float]]:
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
    if not histories:
        raise ValueError("no runs to summarise")
    values = [list(getattr(h, metric)) for h in histories]
    if any(not v for v in values):
        raise ValueError(f"a run has no {metric!r} values (was a validation loader given?)")
    return values


def curves(histories: Sequence[History], metric: str = "val_acc") -> np.ndarray:
    """A (runs, epochs) array of one metric; runs that stopped early are cut to the shortest."""
    values = _metric(histories, metric)
    n = min(len(v) for v in values)
    return np.array([v[:n] for v in values], dtype=float)


def final_stats(histories: Sequence[History], metric: str = "val_acc") -> RunStats:
    """Statistics of ``metric`` at each run's last epoch."""
    last = np.array([v[-1] for v in _metric(histories, metric)], dtype=float)
    std = float(last.std(ddof=1)) if last.size > 1 else 0.0
    return RunStats(float(last.mean()), std, float(last.min()), float(last.max()), int(last.size))


def describe(stats: RunStats, percent: bool = False) -> str:
    """``"0.912 ± 0.013 (0.899–0.925, 3 runs)"``; with ``percent`` in percentage points."""
    k, unit, fmt = (100.0, " %", "{:.1f}") if percent else (1.0, "", "{:.3f}")
    f = fmt.format
    return (f"{f(stats.mean * k)} ± {f(stats.std * k)}{unit} ({f(stats.min * k)}–{f(stats.max * k)}, "
            f"{stats.n} run{'s' if stats.n != 1 else ''})")
