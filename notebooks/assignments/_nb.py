"""Helpers for the scripts that write the nbgrader source notebooks (cells with nbgrader metadata)."""
from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent


def _meta(grade_id: str, *, grade: bool, solution: bool, locked: bool, points: float = 0) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3, "solution": solution,
            "task": False}
    if grade:
        meta["points"] = points
    return {"nbgrader": meta}


def md(text: str, grade_id: str | None = None):
    cell = new_markdown_cell(dedent(text).strip())
    if grade_id:
        cell.metadata.update(_meta(grade_id, grade=False, solution=False, locked=True))
    return cell


def setup(code: str, grade_id: str = "setup"):
    """A read-only code cell (nbgrader restores it from the source when grading)."""
    return new_code_cell(dedent(code).strip(), metadata=_meta(grade_id, grade=False, solution=False, locked=True))


def code(text: str):
    """A plain code cell the student may run or change."""
    return new_code_cell(dedent(text).strip())


def solution(code_text: str, grade_id: str):
    return new_code_cell(dedent(code_text).strip(), metadata=_meta(grade_id, grade=False, solution=True, locked=False))


def tests(code_text: str, grade_id: str, points: float):
    return new_code_cell(dedent(code_text).strip(), metadata=_meta(grade_id, grade=True, solution=False, locked=True,
                                                                   points=points))


def written(text: str, grade_id: str, points: float):
    """A manually graded answer cell (markdown)."""
    return new_markdown_cell(dedent(text).strip(), metadata=_meta(grade_id, grade=True, solution=True, locked=False,
                                                                  points=points))


def write(assignment: str, cells: list) -> Path:
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    path = HERE / assignment / f"{assignment}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.validate(nb)
    nbformat.write(nb, str(path))
    return path
