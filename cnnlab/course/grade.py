"""Grade a whole class in parallel: nbgrader autograde per student, then out-of-band verification.

``nbgrader autograde`` has no parallel mode; here N worker threads each run
``nbgrader autograde <assignment> --student <id>`` as its own process (one SQLite gradebook,
retried when it is locked), then re-run every graded check outside the student's kernel
(:mod:`cnnlab.course.verify`) and set the gradebook's automatic scores from that verdict.
One failing submission never stops the run.
"""
from __future__ import annotations

import json
import random
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

from . import config
from .verify import Verdict, verify_notebook
from .workflow import run_nbgrader

LOCKED = "database is locked"


@dataclass
class StudentResult:
    student: str
    autograded: bool
    log_tail: str = ""
    verdicts: dict[str, dict[str, Verdict]] = field(default_factory=dict)  # notebook -> grade_id -> verdict
    changed: list[str] = field(default_factory=list)  # grade cells whose score the verification changed
    score: float | None = None
    max_score: float | None = None


def submitted_students(course_root: Path, assignment: str) -> list[str]:
    submitted = Path(course_root) / "submitted"
    if not submitted.is_dir():
        return []
    return sorted(d.name for d in submitted.iterdir() if (d / assignment).is_dir())


def autograde_one(assignment: str, student: str, *, force: bool = False, attempts: int = 6) -> tuple[bool, str]:
    """``nbgrader autograde`` for one student, retried while SQLite reports the gradebook locked."""
    args = ["autograde", assignment, "--student", student]
    if force:
        args.append("--force")
    output = ""
    for attempt in range(attempts):
        proc = run_nbgrader(args, capture=True)
        output = (proc.stdout or "") + (proc.stderr or "")
        if proc.returncode == 0 and "There was an error processing assignment" not in output:
            return True, output[-4000:]
        if LOCKED not in output:
            break
        time.sleep(0.5 + random.random() * (attempt + 1))
    return False, output[-4000:]


def _source_notebooks(course_root: Path, assignment: str) -> list[Path]:
    return sorted((Path(course_root) / "source" / assignment).glob("*.ipynb"))


def verify_student(course_root: Path, assignment: str, student: str, cell_timeout: float) -> dict[str, dict]:
    result = {}
    for source in _source_notebooks(course_root, assignment):
        submitted_dir = Path(course_root) / "submitted" / student / assignment
        result[source.stem] = verify_notebook(assignment, source, submitted_dir / source.name,
                                              cell_timeout=cell_timeout, submission_dir=submitted_dir)
    return result


def _with_retry(fn, attempts: int = 10):
    from sqlalchemy.exc import OperationalError

    for attempt in range(attempts):
        try:
            return fn()
        except OperationalError as exc:
            if LOCKED not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.2 + random.random() * (attempt + 1) * 0.3)
    return None


def apply_verdicts(course_root: Path, course_id: str, assignment: str, result: StudentResult) -> None:
    """Set each verified grade cell's auto_score to full or zero; record totals on ``result``."""
    from nbgrader.api import Gradebook, MissingEntry

    def work() -> None:
        changed = []
        with Gradebook(config.gradebook_url(course_root), course_id=course_id) as gb:
            for notebook, verdicts in result.verdicts.items():
                for gid, verdict in verdicts.items():
                    try:
                        grade = gb.find_grade(gid, notebook, assignment, result.student)
                    except MissingEntry:
                        continue
                    if grade.auto_score is None:
                        continue
                    new = float(grade.max_score) if verdict.passed else 0.0
                    if float(grade.auto_score) != new:
                        changed.append(f"{notebook}/{gid}: {grade.auto_score} -> {new}")
                        grade.auto_score = new
            gb.db.commit()
            try:
                sub = gb.find_submission(assignment, result.student)
                result.score, result.max_score = float(sub.score), float(sub.max_score)
            except MissingEntry:
                pass
        result.changed = changed

    _with_retry(work)


def _read_totals(course_root: Path, course_id: str, assignment: str, result: StudentResult) -> None:
    from nbgrader.api import Gradebook, MissingEntry

    def work() -> None:
        with Gradebook(config.gradebook_url(course_root), course_id=course_id) as gb:
            try:
                sub = gb.find_submission(assignment, result.student)
                result.score, result.max_score = float(sub.score), float(sub.max_score)
            except MissingEntry:
                pass

    _with_retry(work)


def grade(assignment: str, *, jobs: int = 1, students: Sequence[str] | None = None, verify: bool = True,
          force: bool = False, progress: bool = True) -> list[StudentResult]:
    """Autograde (and verify) every submission of ``assignment``; returns one result per student."""
    cfg = config.load()
    root = Path(cfg.COURSE_ROOT)
    if students is None:
        students = submitted_students(root, assignment)
    students = list(students)
    timeout = float(cfg.CELL_TIMEOUT_S)

    def one(student: str) -> StudentResult:
        ok, log = autograde_one(assignment, student, force=force)
        res = StudentResult(student, ok, log)
        if verify and ok:
            try:
                res.verdicts = verify_student(root, assignment, student, timeout)
            except Exception as exc:  # noqa: BLE001 - never stop the class's run
                res.log_tail += f"\nverification failed: {type(exc).__name__}: {exc}"
        return res

    results: list[StudentResult] = []
    report_dir = root / "verification" / assignment
    report_dir.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {pool.submit(one, s): s for s in students}
        for future in tqdm(as_completed(futures), total=len(futures), desc=f"grading {assignment}",
                           unit="student", disable=not progress):
            student = futures[future]
            try:
                res = future.result()
            except Exception as exc:  # noqa: BLE001
                res = StudentResult(student, False, f"{type(exc).__name__}: {exc}")
            try:
                if res.verdicts:
                    apply_verdicts(root, cfg.COURSE_ID, assignment, res)
                else:
                    _read_totals(root, cfg.COURSE_ID, assignment, res)
            except Exception as exc:  # noqa: BLE001
                res.log_tail += f"\nupdating the gradebook failed: {type(exc).__name__}: {exc}"
            (report_dir / f"{student}.json").write_text(json.dumps(asdict(res), indent=1, default=str))
            results.append(res)
    return sorted(results, key=lambda r: r.student)
