"""The lectures as a student receives them: solution cells removed, every self-check "not attempted yet".

The solutions run (nbval over notebooks/*.ipynb in strict mode) proves every exercise's check passes
with its solution. This module checks the other half of the contract:

* the exercise format: each solution cell (tagged ``solution``, collapsed) sits between an answer cell
  that leaves the answer ``None`` and a check cell that calls ``exercises.check_...``; 01-07 end with
  4-6 exercises (fast);
* the student version of each lecture (``cnnlab.course.kit.student_notebooks.student_version``) runs top
  to bottom with nbclient, strict mode off, with no error, and each check cell prints
  "not attempted yet" (slow: lectures 04-08 train their models again).

The student runs stay in this one file on purpose: ``make test`` runs ``--dist loadfile``, and pytest-xdist
hands out the files with the most tests first, so one file per lecture (one test each) would be handed
out last, behind the hub and nbgrader tests, where a 90 s lecture on one worker makes the other wait.
"""
from __future__ import annotations

import os
import re
import time
from pathlib import Path

import nbformat
import pytest

from cnnlab.course.kit.student_notebooks import SOLUTION_TAG, student_version
from cnnlab.exercises import STRICT_ENV

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
LECTURES = sorted(NOTEBOOKS.glob("[0-9][0-9]*.ipynb"))
CHECK_CALL = re.compile(r"\bexercises\.check_\w+\(")
# Lectures whose exercises come at the end ("## Exercises"); lecture 00 only demonstrates one.
WITH_EXERCISES = [p for p in LECTURES if re.match(r"0[1-7]_", p.name)]


def _tags(cell) -> list[str]:
    return list(cell.metadata.get("tags", []))


def _exercises(nb) -> list[tuple[int, int, int]]:
    """(answer, solution, check) cell indices of each exercise."""
    found = []
    for i, cell in enumerate(nb.cells):
        if SOLUTION_TAG in _tags(cell):
            found.append((i - 1, i, i + 1))
    return found


def _lecture_ids(paths):
    return [p.stem for p in paths]


@pytest.mark.parametrize("path", LECTURES, ids=_lecture_ids(LECTURES))
def test_exercise_format(path):
    nb = nbformat.read(path, as_version=4)
    md = path.with_suffix(".md").name
    for answer, solution, check in _exercises(nb):
        sol = nb.cells[solution]
        where = f"{md}: the solution cell {sol.source.splitlines()[0][:60]!r}"
        assert sol.cell_type == "code", f"{where} is not a code cell"
        assert sol.metadata.get("jupyter", {}).get("source_hidden") is True, (
            f"{where} is not collapsed: add `:jupyter: {{source_hidden: true}}` to it")
        assert answer >= 0 and nb.cells[answer].cell_type == "code", f"{where} has no answer cell before it"
        ans = nb.cells[answer].source
        assert re.search(r"=\s*None\b|return None\b", ans), (
            f"{where}: the answer cell before it must leave the answer None (`x = None  # YOUR ANSWER`) or be a "
            f"function stub that returns None; it is {ans[:80]!r}")
        assert check < len(nb.cells) and CHECK_CALL.search(nb.cells[check].source), (
            f"{where} must be followed by its check cell calling exercises.check_...(...)")
        assert not any(SOLUTION_TAG in _tags(nb.cells[i]) for i in (answer, check)), f"{where}: two solutions in a row"


@pytest.mark.parametrize("path", WITH_EXERCISES, ids=_lecture_ids(WITH_EXERCISES))
def test_lecture_ends_with_exercises(path):
    nb = nbformat.read(path, as_version=4)
    heading = next((i for i, c in enumerate(nb.cells) if c.cell_type == "markdown"
                    and re.search(r"^## Exercises", c.source, re.M)), None)
    assert heading is not None, f"{path.name} has no '## Exercises' section"
    assert not any(c.cell_type == "markdown" and re.search(r"^#{1,2} ", c.source, re.M)
                   for c in nb.cells[heading + 1:]), f"{path.name}: the Exercises section must be the last one"
    count = sum(1 for _, s, _ in _exercises(nb) if s > heading)
    assert 4 <= count <= 6, f"{path.name} ends with {count} exercises, expected 4-6"


def test_student_version_has_no_solutions():
    for path in LECTURES:
        student = student_version(nbformat.read(path, as_version=4))
        assert not any(SOLUTION_TAG in _tags(c) for c in student.cells), path.name


@pytest.mark.slow
@pytest.mark.notebook
@pytest.mark.parametrize("path", LECTURES, ids=_lecture_ids(LECTURES))
def test_student_version_runs(path, monkeypatch):
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    checks = [nb.cells[c].id for _, _, c in _exercises(nb)]
    student = student_version(nb)
    monkeypatch.delenv(STRICT_ENV, raising=False)  # the kernel inherits this environment: a student's, not CI's
    monkeypatch.setenv("MPLBACKEND", "Agg")
    start = time.perf_counter()
    NotebookClient(student, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    elapsed = time.perf_counter() - start
    by_id = {c.id: c for c in student.cells}
    for cell_id in checks:
        text = "".join(o.get("text", "") for o in by_id[cell_id].outputs if o.get("output_type") == "stream")
        assert "not attempted yet" in text, (
            f"{path.name}: the check cell {by_id[cell_id].source!r} printed {text!r} in the student version, "
            f"expected 'not attempted yet' (does an earlier cell define the answer?)")
    print(f"{path.name}: student version ran in {elapsed:.0f} s, {len(checks)} checks not attempted")
    assert os.environ.get(STRICT_ENV) is None
