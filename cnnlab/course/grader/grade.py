"""Grade a whole class with the trusted grader: one sandboxed run per submission, every verdict decided outside it.

``nbgrader autograde`` still records each submission in the gradebook and renders the
autograded notebook (the student's feedback), but its Execute step is replaced by
:class:`~cnnlab.course.grader.nbgrader_steps.TrustedExecute`: the notebook runs once, in the sandbox, and
:mod:`.recheck` decides every graded cell outside the student's process. :func:`apply_verdicts`
then writes that decision over each automatic score (full marks for "passed", 0 otherwise;
flagged and undecided cells are also marked "needs manual grade" in formgrader). It fails
closed: any error (nbgrader's, the verifier's, an unreadable notebook, a crash or a timeout of
the student's code) gives 0 for the affected cells and the status "needs review". The
gradebook is opened with nbgrader's API at the course's ``db_url``.
"""
from __future__ import annotations

import json
import os
import random
import shutil
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from .. import config
from . import turns
from .recheck import verify_notebook
from .verdicts import (ERROR, Verdict, clear_trusted_verdicts, read_recorded, read_trusted_verdicts,  # noqa: F401
                       record_verdicts, recorded_path, source_notebooks, verdicts_path, write_into_cells)
from .nbgrader_cli import run_nbgrader
from .submission_files import remove_links
from ..questions.functions import SEED_ENV, hidden_seed

LOCKED = "database is locked"
NBGRADER_ERROR = "There was an error processing assignment"
OK, NEEDS_REVIEW = "ok", "needs review"


@dataclass
class StudentResult:
    student: str
    autograded: bool
    log_tail: str = ""
    verdicts: dict[str, dict[str, Verdict]] = field(default_factory=dict)  # notebook -> grade_id -> verdict
    changed: list[str] = field(default_factory=list)  # grade cells whose in-kernel score the grader overrode
    score: float | None = None
    max_score: float | None = None
    problems: list[str] = field(default_factory=list)  # why this submission needs review
    feedback_written: bool = False  # TrustedExecute put the verdicts into the autograded notebook itself
    recorded: dict[str, dict] | None = None  # per notebook, what SaveGradesInOneCommit recorded (not reported)

    @property
    def status(self) -> str:
        return NEEDS_REVIEW if self.review_reasons() else OK

    def review_reasons(self) -> list[str]:
        reasons = list(self.problems)
        for notebook, verdicts in self.verdicts.items():
            for gid, v in verdicts.items():
                if v.needs_review:
                    reasons.append(f"{notebook}/{gid}: {v.message}"[:1200])
        return reasons


def submitted_students(course_root: Path, assignment: str) -> list[str]:
    submitted = Path(course_root) / "submitted"
    if not submitted.is_dir():
        return []
    return sorted(d.name for d in submitted.iterdir()
                  if not d.is_symlink() and (d / assignment).is_dir() and not (d / assignment).is_symlink())


def autograde_one(assignment: str, student: str, *, force: bool = False, attempts: int = 6) -> tuple[bool, str]:
    """``nbgrader autograde`` (trusted) for one student, retried while SQLite reports the gradebook locked."""
    args = ["autograde", assignment, "--student", student]
    if force:
        args.append("--force")
    output = ""
    for attempt in range(attempts):
        proc = run_nbgrader(args, capture=True, env=_trusted_env(assignment))
        output = (proc.stdout or "") + (proc.stderr or "")
        if proc.returncode == 0 and NBGRADER_ERROR not in output:
            return True, output[-4000:]
        if LOCKED not in output:
            break
        time.sleep(0.5 + random.random() * (attempt + 1))
    return False, output[-4000:]


def sanitize_submission(folder: Path) -> list[str]:
    """Remove symlinks and special files from a submitted folder (nbgrader would follow them); list what was refused.

    Oversized files are listed (the submission then needs review) but kept
    (:func:`cnnlab.course.grader.submission_files.remove_links`).
    """
    return remove_links(folder)


def verify_student(course_root: Path, assignment: str, student: str, cell_timeout: float) -> dict[str, dict]:
    result = {}
    for source in source_notebooks(course_root, assignment):
        submitted_dir = Path(course_root) / "submitted" / student / assignment
        result[source.stem] = verify_notebook(assignment, source, submitted_dir / source.name,
                                              cell_timeout=cell_timeout, submission_dir=submitted_dir)
    return result


def _with_retry(fn: Callable[[], Any], attempts: int = 10, on_error: Callable[[], Any] | None = None) -> Any:
    from sqlalchemy.exc import OperationalError

    for attempt in range(attempts):
        try:
            return fn()
        except OperationalError as exc:
            if on_error is not None:
                on_error()  # e.g. roll the session back before trying again
            if LOCKED not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.2 + random.random() * (attempt + 1) * 0.3)
    return None


def apply_verdicts(gb: Any, assignment: str, result: StudentResult) -> None:
    """:func:`record_verdicts` for every notebook of a submission nbgrader graded without recording
    the verdicts itself, through ``gb``, an open nbgrader ``Gradebook``."""
    from nbgrader.api import MissingEntry

    def work() -> None:
        changed: list[str] = []
        try:
            submission = gb.find_submission(assignment, result.student)
        except MissingEntry:
            result.problems.append("nbgrader recorded no submission: grade it by hand")
            return
        for nb in submission.notebooks:
            verdicts = result.verdicts.setdefault(nb.name, {})
            changed += record_verdicts(nb, verdicts)
        gb.db.commit()
        result.score, result.max_score = float(submission.score), float(submission.max_score)
        result.changed = changed

    _with_retry(work, on_error=gb.db.rollback)


def annotate_feedback(course_root: Path, assignment: str, result: StudentResult) -> None:
    """Show the trusted verdict in each test cell of the autograded notebook (what feedback renders)."""
    import nbformat

    folder = Path(course_root) / "autograded" / result.student / assignment
    for notebook, verdicts in result.verdicts.items():
        path = folder / f"{notebook}.ipynb"
        if path.is_symlink() or not path.is_file():
            continue
        nb = nbformat.read(str(path), as_version=4)
        write_into_cells(nb, verdicts)
        nbformat.write(nb, str(path))


def _take_recorded(res: StudentResult) -> None:
    """The verdicts, changes and score of a submission whose verdicts nbgrader's process recorded."""
    assert res.recorded is not None
    res.verdicts = {nb: rec["verdicts"] for nb, rec in res.recorded.items()}
    res.changed = [c for rec in res.recorded.values() for c in rec["changed"]]
    res.score = sum(rec["score"] for rec in res.recorded.values())
    res.max_score = sum(rec["max_score"] for rec in res.recorded.values())


class _LazyGradebook:
    """An nbgrader ``Gradebook`` opened on first use (importing nbgrader costs half a second, and
    most runs never need it here), closed on exit; a failure to open it is raised at every use."""

    def __init__(self, db_url: str, course_id: str) -> None:
        self.db_url, self.course_id = db_url, course_id
        self._gradebook: Any = None
        self._error: Exception | None = None

    def open(self) -> Any:
        if self._error is not None:
            raise self._error
        if self._gradebook is None:
            try:
                from nbgrader.api import Gradebook

                self._gradebook = Gradebook(self.db_url, course_id=self.course_id)
            except Exception as exc:  # noqa: BLE001 - fail closed: whoever needs it needs review
                self._error = exc
                raise
        return self._gradebook

    def __enter__(self) -> _LazyGradebook:
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._gradebook is not None:
            self._gradebook.close()


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity): ``grade --jobs`` never starts more sandboxes."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def retry_timed_out(root: Path, assignment: str, students: Sequence[str]) -> list[str]:
    """Grade once more, alone and after the class (the machine is then idle), every submission with
    a cell or call that timed out (load can cause it); returns those retried."""
    retried = []
    for student in students:
        verdicts = read_trusted_verdicts(root, assignment, student) or {}
        if any(v.status == ERROR and "timed out" in v.message for nb in verdicts.values() for v in nb.values()):
            autograde_one(assignment, student, force=True)
            retried.append(student)
    return retried


def _run_batch(assignment: str, batch: list[str], everyone: list[str], force: bool, claims: Path) -> str:
    """One nbgrader process autogrades the students of ``batch`` that it claims before the other
    processes of the run (:mod:`cnnlab.course.grader.turns`); the trusted grader replaces its Execute."""
    others = sorted(set(everyone) - set(batch))
    args = ["autograde", assignment]
    if len(batch) == 1:
        args += ["--student", batch[0]]
    elif others:
        args.append(f"--CourseDirectory.student_id_exclude={','.join(others)}")
    if force:
        args.append("--force")
    proc = run_nbgrader(args, capture=True, env={**_trusted_env(assignment), turns.ENV_VAR: str(claims)})
    return (proc.stdout or "") + (proc.stderr or "")


def _trusted_env(assignment: str) -> dict[str, str]:
    """nbgrader's environment under ``grade``: TrustedExecute, the assignment (so that its first
    sandbox starts before nbgrader loads: cnnlab.course.grader.nbgrader_overrides), and one secret seed for the whole run."""
    return {"CNNLAB_TRUSTED_AUTOGRADE": "1", "CNNLAB_TRUSTED_ASSIGNMENT": assignment, SEED_ENV: str(hidden_seed())}


def grade(assignment: str, *, jobs: int = 1, students: Sequence[str] | None = None, force: bool = False,
          progress: bool = True) -> list[StudentResult]:
    """Autograde every submission of ``assignment``, each graded cell decided by the trusted grader.

    ``jobs`` nbgrader processes share the students, each taking the next one nobody has taken
    (:mod:`cnnlab.course.grader.turns`; nbgrader's imports are paid once per process), and each notebook runs once, in the sandbox, under
    :class:`~cnnlab.course.grader.nbgrader_steps.TrustedExecute`. A student left without trusted verdicts
    (nbgrader failed, the gradebook was locked) is retried alone, then verified on its own;
    whatever stays undecided scores 0 and needs review. Raises
    :class:`~cnnlab.course.grader.sandbox.SandboxUnavailable` when bubblewrap is missing (unless
    ``CNNLAB_SANDBOX=off``).
    """
    from .sandbox import mode

    mode()  # refuse before touching anything when the sandbox is required but missing
    hidden_seed()  # this run's secret seed, drawn once here: the nbgrader processes and the fallback use it
    cfg = config.load()
    root = Path(cfg.COURSE_ROOT)
    everyone = submitted_students(root, assignment)
    students = list(everyone if students is None else students)
    timeout = float(cfg.CELL_TIMEOUT_S)
    db_url = config.gradebook_url(root)
    results = {s: StudentResult(s, True) for s in students}
    for student in students:
        results[student].problems += sanitize_submission(root / "submitted" / student / assignment)
        clear_trusted_verdicts(root, assignment, student)
    claims = root / "verification" / assignment / ".claims"  # instructor-only, out of every sandbox's reach
    shutil.rmtree(claims, ignore_errors=True)
    claims.mkdir(parents=True)
    jobs = min(max(1, jobs), usable_cores())  # one sandbox per core at most: --jobs never oversubscribes
    processes = min(jobs, len(students))  # each is given everyone and grades whom it claims first
    with ThreadPoolExecutor(max_workers=max(1, processes)) as pool:
        running = [pool.submit(_run_batch, assignment, students, everyone + students, force, claims)
                   for _ in range(processes)]
        logs = [r.result() for r in running]
    retry_timed_out(root, assignment, students)
    failed_in_batch = {s for s in students for log in logs
                       if f"There was an error processing assignment '{assignment}' for student '{s}'" in log}

    def finish(student: str) -> StudentResult:
        res = results[student]
        verdicts = None if student in failed_in_batch else read_trusted_verdicts(root, assignment, student)
        res.feedback_written = verdicts is not None
        if verdicts is not None:
            res.recorded = read_recorded(root, assignment, student)
        if verdicts is None:  # alone, with retries while the gradebook is locked
            ok, log = autograde_one(assignment, student, force=True)
            res.log_tail = log
            verdicts = read_trusted_verdicts(root, assignment, student) if ok else None
            if not ok:
                res.autograded = False
                res.problems.append("nbgrader could not autograde this submission (see the log)")
        if verdicts is None:
            try:
                verdicts = verify_student(root, assignment, student, timeout)
            except Exception as exc:  # noqa: BLE001 - fail closed: every cell scores 0, needs review
                res.problems.append(f"verification failed: {type(exc).__name__}: {exc}"[:300])
                verdicts = {}
        res.verdicts = verdicts
        return res

    report_dir = root / "verification" / assignment
    report_dir.mkdir(parents=True, exist_ok=True)
    finished: list[StudentResult] = []
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool, _LazyGradebook(db_url, cfg.COURSE_ID) as gradebook:
        futures = {pool.submit(finish, s): s for s in students}
        for future in tqdm(as_completed(futures), total=len(futures), desc=f"recording {assignment}",
                           unit="student", disable=not progress):
            student = futures[future]
            try:
                res = future.result()
            except Exception as exc:  # noqa: BLE001
                res = StudentResult(student, False, f"{type(exc).__name__}: {exc}",
                                    problems=[f"grading failed: {type(exc).__name__}"])
            try:
                if res.recorded is not None:  # nbgrader's process recorded the verdicts with its scores
                    _take_recorded(res)
                else:
                    apply_verdicts(gradebook.open(), assignment, res)
            except Exception as exc:  # noqa: BLE001
                res.problems.append(f"updating the gradebook failed: {type(exc).__name__}: {exc}"[:300])
            try:
                if not res.feedback_written:  # TrustedExecute wrote the verdicts into the notebook itself
                    annotate_feedback(root, assignment, res)
            except Exception as exc:  # noqa: BLE001
                res.problems.append(f"writing the feedback notebook failed: {type(exc).__name__}"[:300])
            (report_dir / f"{student}.json").write_text(
                json.dumps({**{k: v for k, v in asdict(res).items() if k != "recorded"}, "status": res.status,
                            "needs_review": res.review_reasons(),
                            "hidden_case_seed": str(hidden_seed())}, indent=1,
                           default=str))
            finished.append(res)
    return sorted(finished, key=lambda r: r.student)
