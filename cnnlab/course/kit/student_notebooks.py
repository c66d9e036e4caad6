"""The student version of a lecture notebook: solution cells removed, outputs cleared.

A lecture exercise is three cells (answer, solution, check); the solution cell carries the
tag ``solution``. The student version drops every such cell and clears all outputs and
execution counts; everything else (cell ids, metadata, other tags, notebook metadata) is kept.
"""
from __future__ import annotations

import copy
from pathlib import Path

import nbformat

SOLUTION_TAG = "solution"


def is_solution(cell: dict) -> bool:
    """True for a cell tagged ``solution`` (a lecture exercise's worked answer)."""
    return SOLUTION_TAG in (cell.get("metadata", {}).get("tags") or [])


def student_version(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Return a copy of ``nb`` without the cells tagged ``solution`` and without outputs."""
    if not isinstance(nb, dict) or "cells" not in nb:
        raise TypeError(f"student_version() needs a notebook (nbformat.NotebookNode), got {type(nb).__name__}")
    out = copy.deepcopy(nb)
    cells = []
    for cell in out.cells:
        if is_solution(cell):
            continue
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
        cells.append(cell)
    out.cells = cells
    return out


def write_student_version(src: str | Path, dst: str | Path) -> Path:
    """Read the notebook ``src`` (.ipynb), write its student version to ``dst``; return ``dst``.

    The jupytext pairing is dropped (students get the notebook, not its text source). ``dst`` may be a directory, in which case the file keeps its name. Parent directories are
    created. Writing onto ``src`` itself is refused (it would destroy the solutions).
    """
    src, dst = Path(src), Path(dst)
    if not src.is_file():
        raise FileNotFoundError(f"no notebook at {src}")
    if dst.is_dir():
        dst = dst / src.name
    if dst.resolve() == src.resolve():
        raise ValueError(f"refusing to overwrite the source notebook {src} with its student version")
    nb = nbformat.read(src, as_version=4)
    nb.metadata.pop("jupytext", None)
    dst.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(student_version(nb), dst)
    return dst
