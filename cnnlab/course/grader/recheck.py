"""Out-of-band re-grading of one submitted notebook.

The student's code cells run in a sandboxed process (:mod:`cnnlab.course.grader.student_process`); the
checks of each graded test cell run here, in the grader's own process, against the
references here, calling the student's functions through pipes. Nothing the notebook does
to its own kernel (rebinding ``numpy.allclose`` or a grading helper, blanking later cells
with an input transformer, printing fake results) reaches this process.

Which cells run: every code cell of the submission except the test cells; cells nbgrader
locks (read-only set-up cells) are taken from the instructor's source, as nbgrader does.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

from cnnlab.checks.errors import GradingError
from cnnlab.course.questions.spec import GradedCheck, graded_cells, uses_torch
from cnnlab.course.questions.static import analyse

from .submission_files import MAX_FILE_BYTES
from .verdicts import ERROR, FAILED, FLAGGED, PASSED, Verdict  # noqa: F401 - PASSED, FAILED re-exported
from .student_process import RemoteFunction, StudentCrashed, StudentProcess


def _nbgrader_meta(cell: Any) -> dict:
    return dict(cell.get("metadata", {}).get("nbgrader", {}) or {})


def cells_to_run(submitted: Any, source: Any) -> tuple[list[str], list[str]]:
    """(code of every cell to execute, code of the student's solution cells)."""
    run, solutions, _ = _cells(submitted, source)
    return run, solutions


def _cells(submitted: Any, source: Any) -> tuple[list[str], list[str], list[int]]:
    """(cells to execute, the student's own cells, the index in ``submitted`` of each executed cell)."""
    locked_source = {}
    for cell in source.cells:
        meta = _nbgrader_meta(cell)
        if cell.cell_type == "code" and meta.get("grade_id") and meta.get("locked") and not meta.get("solution"):
            locked_source[meta["grade_id"]] = cell.source
    run, solutions, where = [], [], []
    for index, cell in enumerate(submitted.cells):
        if cell.cell_type != "code":
            continue
        meta = _nbgrader_meta(cell)
        if meta.get("grade") and not meta.get("solution"):
            continue  # a test cell: its checks run here, never in the student's process
        grade_id = meta.get("grade_id")
        where.append(index)
        if grade_id in locked_source:
            run.append(locked_source[grade_id])
            continue
        run.append(str(cell.source))
        solutions.append(str(cell.source))
    return run, solutions, where


@dataclass
class NotebookRun:
    """The trusted grader's result for one notebook: verdicts, and each executed cell's outputs (for feedback)."""

    verdicts: dict[str, Verdict]
    outputs: dict[int, list[dict]]


def verify_notebook(assignment: str, source_path: Path, submitted_path: Path | None, *, cell_timeout: float,
                    submission_dir: Path | None = None) -> dict[str, Verdict]:
    """Decide every graded test cell of the source notebook for this submission; one verdict per grade_id.

    Fails closed: a graded cell without a trusted check, an unreadable notebook, a crash of the
    analysis or of the student's process gives 0 with status "error" (needs review).
    """
    source = nbformat.read(str(source_path), as_version=4)
    try:
        if submitted_path is None or not Path(submitted_path).is_file() or Path(submitted_path).is_symlink():
            raise FileNotFoundError("the notebook was not submitted (or is not a regular file)")
        if Path(submitted_path).stat().st_size > MAX_FILE_BYTES:
            raise ValueError(f"the notebook is larger than {MAX_FILE_BYTES // 1024**2} MB")
        submitted = nbformat.read(str(submitted_path), as_version=4)
    except Exception as exc:  # noqa: BLE001 - corrupted JSON, missing file, wrong format
        submitted = exc
    return grade_notebook(assignment, source, submitted, cell_timeout=cell_timeout,
                          submission_dir=submission_dir).verdicts


def grade_notebook(assignment: str, source: Any, submitted: Any, *, cell_timeout: float,
                   submission_dir: Path | None = None, run_always: bool = False) -> NotebookRun:
    """Verdicts for every graded cell of ``source`` on the ``submitted`` notebook (or the exception reading it).

    With ``run_always`` the notebook runs once even when no check needs it (for the feedback's outputs).
    """
    checks = graded_cells(assignment)
    graded_ids = [m["grade_id"] for m in (_nbgrader_meta(c) for c in source.cells)
                  if m.get("grade") and not m.get("solution") and m.get("grade_id")]
    verdicts: dict[str, Verdict] = {}
    for gid in graded_ids:
        if gid not in checks:
            verdicts[gid] = Verdict(gid, False, "no trusted check exists for this cell: grade it by hand", ERROR)
    checks = {gid: chk for gid, chk in checks.items() if gid in graded_ids}
    if isinstance(submitted, BaseException):
        verdicts.update({gid: Verdict(gid, False, f"the notebook could not be read: {submitted}"[:300], ERROR)
                         for gid in checks})
        return NotebookRun(verdicts, {})
    try:
        run, solutions, where = _cells(submitted, source)
    except Exception as exc:  # noqa: BLE001 - malformed cells
        verdicts.update({gid: Verdict(gid, False, f"the notebook could not be read: {exc}"[:300], ERROR)
                         for gid in checks})
        return NotebookRun(verdicts, {})
    # What an answer may use is decided by the assignment's grading environment (the sandbox holds
    # nothing else); the static analysis only adds review notes, never a score on its own.
    try:
        # every cell that runs (the locked set-up cell too: its `np` and `cnnlab` are the answers' names)
        analysis = analyse(run, {name: chk.forbidden for chk in checks.values() for name in chk.names})
        notes = {gid: [n for name in chk.names for n in analysis.notes(name)] for gid, chk in checks.items()}
        notebook_notes = analysis.notebook_notes()
    except Exception as exc:  # noqa: BLE001 - an analysis failure is a note for the reviewer
        notes = {gid: [f"the code could not be analysed ({type(exc).__name__})"] for gid in checks}
        notebook_notes = []
    outputs: list[list[dict]] = []
    if checks or run_always:
        found, outputs = _run_checks(checks, run, submission_dir, cell_timeout, uses_torch(assignment),
                                     assignment=assignment)
        verdicts.update(found)
    for gid, own in notes.items():
        verdict = verdicts.get(gid)
        if verdict is None:
            continue
        verdict.notes = own + [f"notebook: {n}" for n in notebook_notes]
        verdict.review = verdict.review or (verdict.passed and bool(own))
    return NotebookRun(verdicts, {where[i]: o for i, o in enumerate(outputs) if i < len(where)})


def _run_checks(checks: dict[str, GradedCheck], run: list[str], submission_dir: Path | None,
                cell_timeout: float, with_torch: bool = True,
                assignment: str | None = None) -> tuple[dict[str, Verdict], list[list[dict]]]:
    """Run the notebook in a sandbox and every check against it; (verdicts, outputs of the first run)."""
    verdicts: dict[str, Verdict] = {}
    outputs: list[list[dict]] = []
    session: StudentProcess | None = None
    restarts = 0
    timed_out: set[str] = set()  # cells stopped at their timeout: load can cause it, so no plain failure
    try:
        if not checks:  # the notebook still runs once, for its outputs
            session = StudentProcess.take(run, submission_dir, cell_timeout, with_torch, assignment)
            try:
                session.start()
                outputs = session.cell_outputs
            except StudentCrashed:
                pass
            timed_out = set(session.cell_timeouts)
        for gid, chk in checks.items():
            if session is None or not session.alive:
                if session is not None:
                    session.close()
                    restarts += 1
                if restarts > 3:
                    verdicts[gid] = Verdict(gid, False, "the notebook's process kept crashing", ERROR)
                    continue
                session = StudentProcess.take(run, submission_dir, cell_timeout, with_torch, assignment)
                try:
                    session.start()
                    outputs = outputs or session.cell_outputs
                    timed_out.update(session.cell_timeouts)
                except StudentCrashed as exc:
                    verdicts[gid] = Verdict(gid, False, f"running the notebook failed: {exc}", ERROR)
                    session.close()
                    session = None
                    restarts += 1
                    continue
            remote = [RemoteFunction(session, name, timeout=chk.timeout_s) for name in chk.names]
            try:
                chk.check(*remote, hidden=True)
                verdicts[gid] = Verdict(gid, True)
            except GradingError as exc:
                verdicts[gid] = Verdict(gid, False, str(exc)[:1000])
            except StudentCrashed as exc:
                verdicts[gid] = Verdict(gid, False, f"the notebook's process failed (timed out or crashed): {exc}",
                                        ERROR)
                if not session.alive:
                    session.close()
            except Exception as exc:  # noqa: BLE001 - the grader could not decide: fail closed, needs review
                verdicts[gid] = Verdict(gid, False, f"verification error: {type(exc).__name__}: {exc}"[:1000], ERROR)
    finally:
        if session is not None:
            session.close()
    if timed_out:
        for gid, v in verdicts.items():
            if not v.passed and v.status != ERROR:
                verdicts[gid] = Verdict(gid, False, f"{', '.join(sorted(timed_out))} timed out (a busy grading "
                                        f"machine can cause it), so this answer could not be decided: {v.message}"[:1000],
                                        ERROR)
    return verdicts, outputs
