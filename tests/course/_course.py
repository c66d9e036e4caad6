"""Helpers for the end-to-end course tests: a temporary course, simulated submissions, gradebook reads."""
from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SOURCES = REPO / "notebooks" / "assignments"


class Course:
    """A course directory under a temp dir; every command runs with its environment."""

    def __init__(self, base: Path, cell_timeout: int = 15) -> None:
        self.base = base
        self.root = base / "course"
        self.exchange = base / "exchange"
        self.env = {**os.environ, "CNNLAB_COURSE_CONFIG": str(REPO / "course_config.py"),
                    "CNNLAB_COURSE_ROOT": str(self.root), "CNNLAB_EXCHANGE": str(self.exchange),
                    "CNNLAB_CELL_TIMEOUT": str(cell_timeout), "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}

    def run(self, *args: str, check: bool = True, cwd: Path | None = None, env: dict | None = None):
        proc = subprocess.run(list(args), cwd=cwd or self.base, env={**self.env, **(env or {})}, text=True,
                              capture_output=True)
        if check and proc.returncode != 0:
            raise AssertionError(f"{args} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}")
        return proc

    def course(self, *args: str, check: bool = True):
        return self.run(sys.executable, "-m", "cnnlab.course", *args, check=check)

    def nbgrader(self, *args: str, check: bool = True):
        return self.course("nbgrader", *args, check=check)

    # -- notebooks ------------------------------------------------------------------------------
    def source(self, assignment: str):
        return nbformat.read(str(SOURCES / assignment / f"{assignment}.ipynb"), as_version=4)

    def release(self, assignment: str):
        return nbformat.read(str(self.root / "release" / assignment / f"{assignment}.ipynb"), as_version=4)

    def answered(self, assignment: str, **replacements: str):
        """The release notebook with the reference solutions filled in, some replaced (by grade_id)."""
        solutions = {c.metadata["nbgrader"]["grade_id"]: c.source for c in self.source(assignment).cells
                     if c.metadata.get("nbgrader", {}).get("solution")}
        nb = copy.deepcopy(self.release(assignment))
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            gid = meta.get("grade_id")
            if meta.get("solution") and cell.cell_type == "code":
                text = replacements.get(gid, solutions[gid])
                cell.source = "\n".join(line for line in text.splitlines()
                                         if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line)
        return nb

    def submit(self, assignment: str, student: str, nb=None, raw: str | None = None) -> Path:
        folder = self.root / "submitted" / student / assignment
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "timestamp.txt").write_text("2026-11-22 04:00:00.000000 UTC")
        path = folder / f"{assignment}.ipynb"
        if raw is not None:
            path.write_text(raw)
        elif nb is not None:
            nbformat.write(nb, str(path))
        return path

    # -- gradebook -------------------------------------------------------------------------------
    def scores(self, assignment: str) -> dict[str, dict[str, float]]:
        from cnnlab.course.grader.report import gradebook_scores

        return gradebook_scores(f"sqlite:///{self.root / 'gradebook.db'}", assignment)[2]


def total(row: dict[str, float]) -> float:
    return sum(v for v in row.values() if v == v)


def verification(course: Course, assignment: str, student: str) -> dict:
    return json.loads((course.root / "verification" / assignment / f"{student}.json").read_text())
