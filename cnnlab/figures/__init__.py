"""Registry of the course figures in ``img/``; ``python -m cnnlab.figures`` rebuilds them.

Each topic module in this package (``basics``, ``architectures``, ``detection``, ...)
decorates functions that return a matplotlib Figure with ``@figure("name")``; the
figure is written to ``img/<name>.png``. Modules are discovered automatically.
"""
from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable
from pathlib import Path

import matplotlib

IMG_DIR = Path(__file__).resolve().parents[2] / "img"
REGISTRY: dict[str, Callable[[], "matplotlib.figure.Figure"]] = {}


def figure(name: str) -> Callable:
    """Register a function returning a Figure as ``img/<name>.png``."""
    if not name or "/" in name or name.endswith(".png"):
        raise ValueError(f"figure names are bare file stems such as 'receptive_field', got {name!r}")

    def register(fn: Callable) -> Callable:
        if name in REGISTRY and REGISTRY[name] is not fn:
            raise ValueError(f"figure {name!r} is registered twice ({REGISTRY[name].__module__} and {fn.__module__})")
        REGISTRY[name] = fn
        return fn

    return register


def load_all() -> dict[str, Callable]:
    """Import every topic module of this package so that all figures are registered."""
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")
    return REGISTRY


def build(names: Iterable[str] | None = None, out_dir: Path | str = IMG_DIR, dpi: int = 110) -> list[Path]:
    """Render the named figures (all when ``names`` is None) into ``out_dir``; return the paths written."""
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    registry = load_all()
    wanted = sorted(registry) if names is None else list(names)
    unknown = [n for n in wanted if n not in registry]
    if unknown:
        raise KeyError(f"unknown figure(s) {unknown}; known: {sorted(registry)}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name in wanted:
        fig = registry[name]()
        path = out / f"{name}.png"
        # A fixed metadata set keeps the PNG bytes stable across rebuilds.
        fig.savefig(path, dpi=dpi, bbox_inches="tight", metadata={"Software": None})
        plt.close(fig)
        written.append(path)
    return written
