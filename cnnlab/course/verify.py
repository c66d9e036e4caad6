"""Out-of-band re-grading of one submitted notebook.

The student's code cells run in a sandboxed process (:mod:`cnnlab.course.remote`); the
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
from cnnlab.course.grading.spec import GradedCheck, graded_cells
from cnnlab.course.grading.static import analyse

from .remote import RemoteFunction, StudentCrashed, StudentProcess


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

    def __post_init__(self) -> None:
        if not self.status:
            self.status = PASSED if self.passed else FAILED
        self.passed = self.status == PASSED

    @property
    def needs_review(self) -> bool:
        return self.status in (FLAGGED, ERROR)


def _nbgrader_meta(cell: Any) -> dict:
    return dict(cell.get("metadata", {}).get("nbgrader", {}) or {})


def cells_to_run(submitted: Any, source: Any) -> tuple[list[str], list[str]]:
    """(code of every cell to execute, code of the student's solution cells)."""
    locked_source = {}
    for cell in source.cells:
        meta = _nbgrader_meta(cell)
        if cell.cell_type == "code" and meta.get("grade_id") and meta.get("locked") and not meta.get("solution"):
            locked_source[meta["grade_id"]] = cell.source
    run, solutions = [], []
    for cell in submitted.cells:
        if cell.cell_type != "code":
            continue
        meta = _nbgrader_meta(cell)
        if meta.get("grade") and not meta.get("solution"):
            continue  # a test cell: its checks run here, never in the student's process
        grade_id = meta.get("grade_id")
        if grade_id in locked_source:
            run.append(locked_source[grade_id])
            continue
        run.append(str(cell.source))
        solutions.append(str(cell.source))
    return run, solutions


def verify_notebook(assignment: str, source_path: Path, submitted_path: Path | None, *, cell_timeout: float,
                    submission_dir: Path | None = None) -> dict[str, Verdict]:
    """Decide every graded test cell of the source notebook for this submission; one verdict per grade_id.

    Fails closed: a graded cell without a trusted check, an unreadable notebook, a crash of the
    analysis or of the student's process gives 0 with status "error" (needs review).
    """
    checks = graded_cells(assignment)
    source = nbformat.read(str(source_path), as_version=4)
    graded_ids = [m["grade_id"] for m in (_nbgrader_meta(c) for c in source.cells)
                  if m.get("grade") and not m.get("solution") and m.get("grade_id")]
    verdicts: dict[str, Verdict] = {}
    for gid in graded_ids:
        if gid not in checks:
            verdicts[gid] = Verdict(gid, False, "no trusted check exists for this cell: grade it by hand", ERROR)
    checks = {gid: chk for gid, chk in checks.items() if gid in graded_ids}
    if not checks:
        return verdicts
    try:
        if submitted_path is None or not Path(submitted_path).is_file() or Path(submitted_path).is_symlink():
            raise FileNotFoundError("the notebook was not submitted (or is not a regular file)")
        if Path(submitted_path).stat().st_size > 50 * 1024**2:
            raise ValueError("the notebook is larger than 50 MB")
        submitted = nbformat.read(str(submitted_path), as_version=4)
        run, solutions = cells_to_run(submitted, source)
    except Exception as exc:  # noqa: BLE001 - corrupted JSON, missing file, wrong format
        verdicts.update({gid: Verdict(gid, False, f"the notebook could not be read: {exc}"[:300], ERROR)
                         for gid in checks})
        return verdicts
    try:
        analysis = analyse(solutions, {name: chk.forbidden for chk in checks.values() for name in chk.names})
    except Exception as exc:  # noqa: BLE001 - fail closed on any analysis failure
        verdicts.update({gid: Verdict(gid, False, f"flagged for review: the code could not be analysed "
                                      f"({type(exc).__name__})", FLAGGED) for gid in checks})
        return verdicts
    to_run: dict[str, GradedCheck] = {}
    for gid, chk in checks.items():
        forbidden = [m for m in (analysis.forbidden_message(n) for n in chk.names) if m]
        flagged = [m for m in (analysis.flagged_message(n) for n in chk.names) if m]
        if forbidden:
            verdicts[gid] = Verdict(gid, False, forbidden[0][:1000], FAILED)
        elif flagged:
            verdicts[gid] = Verdict(gid, False, flagged[0][:1000], FLAGGED)
        else:
            to_run[gid] = chk
    if to_run:
        verdicts.update(_run_checks(to_run, run, submission_dir, cell_timeout))
    return verdicts


def _run_checks(checks: dict[str, GradedCheck], run: list[str], submission_dir: Path | None,
                cell_timeout: float) -> dict[str, Verdict]:
    verdicts: dict[str, Verdict] = {}
    session: StudentProcess | None = None
    restarts = 0
    try:
        for gid, chk in checks.items():
            if session is None or not session.alive:
                if session is not None:
                    session.close()
                    restarts += 1
                if restarts > 3:
                    verdicts[gid] = Verdict(gid, False, "the notebook's process kept crashing", ERROR)
                    continue
                session = StudentProcess(run, submission_dir, cell_timeout)
                try:
                    session.start()
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
    return verdicts
