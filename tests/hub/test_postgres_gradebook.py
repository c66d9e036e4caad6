"""The gradebook on PostgreSQL: a real server (Debian's postgresql), the parallel grader, nbgrader's Gradebook API.

The server comes from the ``postgres_url`` fixture (conftest.py). Skipped with the reason when PostgreSQL
or psycopg is missing.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from _hubclass import ROOT

sys.path.insert(0, str(ROOT / "tests" / "course"))
from _course import Course  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.course]

A = "a1_conv_from_scratch"
WRONG_SAME_PADDING = ("def same_padding(n, f, s=1):\n    out = -(-n // s)\n    total = max((out - 1) * s + f - n, 0)\n"
                      "    return total - total // 2, total // 2\n")


def test_grade_on_postgresql(postgres_url: str, tmp_path: Path):
    from nbgrader.api import Gradebook

    course = Course(tmp_path, cell_timeout=60)
    course.env["CNNLAB_DB_URL"] = postgres_url
    course.course("init")
    course.nbgrader("generate_assignment", A)
    students = {"pgref": course.answered(A), "pgblank": course.release(A),
                "pgwrong": course.answered(A, same_padding=WRONG_SAME_PADDING)}
    for student, nb in students.items():
        course.submit(A, student, nb)
    proc = course.course("grade", A, "--jobs", "2", check=False)
    # Exit status 1 ("needs review") is expected only for the written answer, graded by hand: every
    # line of the "Needs review" section (a submission's problems included) must name a written cell.
    _, header, section = proc.stdout.partition("\nNeeds review")
    review = [line for line in section.splitlines()[1:] if line.startswith("  ")]
    assert proc.returncode == 0 or (proc.returncode == 1 and header and review
                                    and all(f"{A}/written_" in r for r in review)), \
        f"grade failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    # two graders at once on one server: PostgreSQL's own conflict errors
    for conflict in ("deadlock detected", "could not serialize access"):
        assert conflict not in proc.stdout + proc.stderr

    with Gradebook(postgres_url, course_id="cnnlab") as gb:
        assignment = gb.find_assignment(A)
        points = {gc.name: float(gc.max_score) for nb in assignment.notebooks for gc in nb.grade_cells
                  if gc.cell_type == "code"}
        scores = {}
        for student in students:
            sub = gb.find_submission_notebook(A, A, student)
            scores[student] = {g.name: float(g.score) for g in sub.grades if g.name in points}
    assert scores["pgref"] == points, proc.stdout
    assert scores["pgblank"] == {name: 0.0 for name in points}, proc.stdout
    assert scores["pgwrong"] == {**points, "test_same_padding": 0.0}, proc.stdout
    # Everything went to the server: no SQLite gradebook appeared beside the course.
    assert not (course.root / "gradebook.db").exists(), "some step of the workflow ignored CNNLAB_DB_URL"
