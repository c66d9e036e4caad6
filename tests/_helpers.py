"""Reference helpers that several test modules share (test modules never import each other)."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
from pathlib import Path

import nbformat
import numpy as np

REPO = Path(__file__).resolve().parents[1]


def iou_by_definition(a, b) -> float:
    """IoU of two xyxy boxes from the definition: intersection area over union area (0 for empty unions)."""
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def random_boxes(rng, n, span=50.0):
    """``n`` random xyxy boxes in a ``span`` square, about one in ten of zero area."""
    xy = rng.uniform(0, span, (n, 2))
    wh = rng.uniform(0, span / 2, (n, 2))
    wh[rng.random(n) < 0.1] = 0.0           # a few zero-area boxes
    return np.concatenate([xy, xy + wh], axis=1)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (for a server a test starts)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_process_group(proc: subprocess.Popen, grace: float = 20) -> None:
    """End a server started with ``start_new_session=True`` and everything it started: SIGTERM to
    its process group, SIGKILL if it is still there after ``grace`` seconds."""
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def answer_key_lines(assignment: str, min_chars: int = 12) -> list[str]:
    """The lines inside the source's ``### BEGIN/END SOLUTION`` regions (stripped, at least ``min_chars``
    long) that occur nowhere else in the source: pieces of the answer key no release may hold."""
    source = REPO / "notebooks" / "assignments" / assignment / f"{assignment}.ipynb"
    inside, outside = [], []
    for cell in nbformat.read(str(source), as_version=4).cells:
        region = False
        for line in cell.source.splitlines():
            if "BEGIN SOLUTION" in line or "END SOLUTION" in line:
                region = "BEGIN SOLUTION" in line
                continue
            (inside if region else outside).append(line.strip())
    rest = "\n".join(outside)
    return [line for line in dict.fromkeys(inside) if len(line) >= min_chars and line not in rest]


def gradebook_with_scores(path: Path, scores: dict, max_scores: dict | None = None, assignment: str = "a1") -> str:
    """An nbgrader gradebook (SQLite at ``path``) with one notebook of code questions and automatic scores.

    ``scores`` maps a student to their scores in the order of ``max_scores`` (default q1: 2, q2: 3
    points), or to None for a student who submitted nothing; a score of None marks that cell
    "needs manual grade", as the grader marks "needs review". Returns the gradebook's URL.
    """
    from nbgrader.api import Gradebook

    from cnnlab.course.grader.nbgrader_overrides import alembic_head_in_process

    alembic_head_in_process()  # as the course's nbgrader processes: no `alembic heads` subprocess
    max_scores = max_scores or {"q1": 2, "q2": 3}
    url = f"sqlite:///{path}"
    with Gradebook(url) as gb:
        gb.add_assignment(assignment)
        gb.add_notebook(assignment, assignment)
        for name, points in max_scores.items():
            gb.add_grade_cell(name, assignment, assignment, max_score=points, cell_type="code")
        for student, row in scores.items():
            gb.add_student(student)
            if row is None:
                continue
            gb.add_submission(assignment, student)
            for name, score in zip(max_scores, row):
                grade = gb.find_grade(name, assignment, assignment, student)
                grade.auto_score = 0 if score is None else score
                grade.needs_manual_grade = score is None
        gb.db.commit()
    return url
