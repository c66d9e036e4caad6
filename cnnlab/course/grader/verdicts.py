"""What the trusted grader decides about a graded cell, and every place that decision is kept.

A :class:`Verdict` per graded test cell; :func:`verdict_outputs` and :func:`write_into_cells` show
it in the notebook the student gets back (the same way whether nbgrader's process or ``grade``
writes it); :func:`record_verdicts` writes it over nbgrader's score in the gradebook; the files
under ``COURSE_ROOT/verification/<assignment>/.verdicts/`` carry it from nbgrader's processes to
``grade`` (:func:`verdicts_path`, :func:`recorded_path`, :func:`read_trusted_verdicts`,
:func:`read_recorded`), each written whole or not at all (:func:`write_json`).
"""
from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

PASSED, FAILED, FLAGGED, ERROR = "passed", "failed", "flagged", "error"


@dataclass
class Verdict:
    """The trusted grader's decision on one graded test cell.

    ``status``: passed, failed (a wrong answer: 0), flagged (the static analysis could not
    decide: 0 until an instructor reviews it) or error (the grader could not decide: 0, needs
    review). Only ``passed`` earns the cell's points.
    """

    grade_id: str
    passed: bool
    message: str = ""
    status: str = ""
    # the static analysis's advice for the instructor (cell, line, reason): never a score on its own
    notes: list[str] = field(default_factory=list)
    review: bool = False  # a passed answer whose own code the analysis could not clear: points kept, reviewed

    def __post_init__(self) -> None:
        if not self.status:
            self.status = PASSED if self.passed else FAILED
        self.passed = self.status == PASSED

    @property
    def needs_review(self) -> bool:
        return self.status in (FLAGGED, ERROR) or self.review


def verdict_outputs(v: Verdict) -> list[Any]:
    """What a test cell shows: a passed line, or an error output (nbgrader then scores it 0)."""
    if v.passed:
        return [nbformat.v4.new_output("stream", name="stdout",
                                       text="Trusted grader: passed (visible and hidden cases).\n")]
    if v.status == FLAGGED:
        text = f"Trusted grader: 0 points, {v.message}"
    elif v.status == ERROR:
        text = f"Trusted grader: 0 points for now, needs review by an instructor: {v.message}"
    else:
        text = f"Trusted grader: failed. {v.message}"
    return [nbformat.v4.new_output("error", ename="GradingError", evalue=text, traceback=[text])]


def write_into_cells(nb: Any, verdicts: dict[str, Verdict]) -> None:
    """Replace the outputs of each graded test cell of ``nb`` that has a verdict with that verdict."""
    for cell in nb.cells:
        gid = (cell.get("metadata", {}).get("nbgrader", {}) or {}).get("grade_id")
        if cell.cell_type == "code" and gid in verdicts:
            cell.outputs = verdict_outputs(verdicts[gid])
            cell.execution_count = None


def verdicts_path(course_root: Path, assignment: str, student: str, notebook: str) -> Path:
    """Where :class:`~cnnlab.course.grader.nbgrader_steps.TrustedExecute` leaves one notebook's verdicts for ``grade``."""
    return Path(course_root) / "verification" / assignment / ".verdicts" / student / f"{notebook}.json"


def recorded_path(course_root: Path, assignment: str, student: str, notebook: str) -> Path:
    """Where :class:`~cnnlab.course.grader.nbgrader_steps.SaveGradesInOneCommit` says that it recorded one notebook's
    verdicts in the gradebook (with the final verdicts, the changed cells and the notebook's score)."""
    return verdicts_path(course_root, assignment, student, notebook).with_suffix(".recorded")


def record_verdicts(notebook: Any, verdicts: dict[str, Verdict]) -> list[str]:
    """Write the trusted verdict over every automatically graded cell of ``notebook``, an nbgrader
    ``SubmittedNotebook`` in an open gradebook session (the caller commits); ``verdicts`` gains an
    error verdict for any such cell that has none. Returns the cells whose score changed.

    A cell without a verdict scores 0 and needs review; nothing nbgrader's kernel computed is kept.
    """
    changed = []
    for grade in notebook.grades:
        if grade.cell.cell_type != "code" or (grade.auto_score is None and grade.name not in verdicts):
            continue  # a written answer (or a code answer graded by hand) in formgrader
        verdict = verdicts.setdefault(grade.name, Verdict(grade.name, False, "not verified", ERROR))
        new = float(grade.max_score) if verdict.passed else 0.0
        if grade.auto_score is None or float(grade.auto_score) != new:
            changed.append(f"{notebook.name}/{grade.name}: {grade.auto_score} -> {new}")
        grade.auto_score = new
        grade.needs_manual_grade = verdict.needs_review
    return changed


def source_notebooks(course_root: Path, assignment: str) -> list[Path]:
    return sorted((Path(course_root) / "source" / assignment).glob("*.ipynb"))


def _read_each_notebook(root: Path, assignment: str, student: str, path_of: Callable[..., Path],
                        parse: Callable[[Any], Any]) -> dict[str, Any] | None:
    """``parse`` of the JSON file ``path_of(root, assignment, student, notebook)`` for every source
    notebook, by notebook name; None if any is missing or unreadable."""
    found: dict[str, Any] = {}
    for source in source_notebooks(root, assignment):
        try:
            found[source.stem] = parse(json.loads(path_of(root, assignment, student, source.stem).read_text()))
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            return None
    return found


def _verdicts_from(raw: dict) -> dict[str, Verdict]:
    return {gid: Verdict(**v) for gid, v in raw.items()}


def read_trusted_verdicts(root: Path, assignment: str, student: str) -> dict[str, dict[str, Verdict]] | None:
    """The verdicts TrustedExecute wrote for every source notebook, or None if any is missing."""
    return _read_each_notebook(root, assignment, student, verdicts_path, _verdicts_from)


def read_recorded(root: Path, assignment: str, student: str) -> dict[str, dict] | None:
    """What SaveGradesInOneCommit recorded for every source notebook, or None if any is missing or unreadable."""
    return _read_each_notebook(root, assignment, student, recorded_path, lambda raw: {
        "verdicts": _verdicts_from(raw["verdicts"]), "changed": [str(c) for c in raw["changed"]],
        "score": float(raw["score"]), "max_score": float(raw["max_score"])})


def clear_trusted_verdicts(root: Path, assignment: str, student: str) -> None:
    shutil.rmtree(verdicts_path(root, assignment, student, "x").parent, ignore_errors=True)


def write_json(path: Path, value: Any) -> None:
    """Write ``value`` as JSON to ``path`` whole or not at all (a reader never sees half a file)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(value))
    os.replace(tmp, path)
