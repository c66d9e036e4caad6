"""nbgrader's Execute step replaced by the trusted grader: one sandboxed run per submission.

``python -m cnnlab.course grade`` runs ``nbgrader autograde`` with :class:`TrustedExecute` in
place of nbgrader's ``Execute`` preprocessor (see :func:`cnnlab.course.grader.sandbox_kernel.configure`). For
each notebook it runs the student's cells once in the sandbox (:mod:`.verify`), copies their
outputs into the notebook, and writes each test cell's output from the trusted verdict: a
``passed`` line, or an error (``failed``, ``flagged for review``, ``needs review``). nbgrader's
own SaveAutoGrades then records exactly those verdicts, the autograded notebook (the
student's feedback) shows them, and the verdicts go to
``COURSE_ROOT/verification/<assignment>/.verdicts/<student>/<notebook>.json`` for ``grade``.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

import nbformat
from nbgrader.api import Gradebook
from nbgrader.preprocessors import NbGraderPreprocessor, SaveAutoGrades

from .. import config
from . import student_process as remote
from .grade import record_verdicts, recorded_path, verdicts_path
from .recheck import ERROR, FLAGGED, Verdict, grade_notebook

ENV_FLAG = "CNNLAB_TRUSTED_AUTOGRADE"
VERDICTS_KEY = "cnnlab_trusted_verdicts"  # where TrustedExecute leaves the verdicts in nbconvert's resources


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


class TrustedExecute(NbGraderPreprocessor):
    """Run the notebook once in the sandbox and decide every graded cell outside it."""

    def preprocess(self, nb: Any, resources: dict) -> tuple[Any, dict]:
        info = resources.get("nbgrader", {})
        assignment, student, notebook = info["assignment"], info["student"], info["notebook"]
        remote.PRESTART = True  # one nbgrader process grades a batch: start the next sandbox ahead
        cfg = config.load()
        root = Path(cfg.COURSE_ROOT)
        source = nbformat.read(str(root / "source" / assignment / f"{notebook}.ipynb"), as_version=4)
        workdir = resources.get("metadata", {}).get("path") or str(root / "autograded" / student / assignment)
        result = grade_notebook(assignment, source, nb, cell_timeout=float(cfg.CELL_TIMEOUT_S),
                                submission_dir=Path(workdir), run_always=True)
        for index, outputs in result.outputs.items():
            nb.cells[index].outputs = [nbformat.from_dict(o) for o in outputs]
            nb.cells[index].execution_count = None
        for cell in nb.cells:
            gid = (cell.get("metadata", {}).get("nbgrader", {}) or {}).get("grade_id")
            if cell.cell_type == "code" and gid in result.verdicts:
                cell.outputs = verdict_outputs(result.verdicts[gid])
                cell.execution_count = None
        path = verdicts_path(root, assignment, student, notebook)
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_json(path, {gid: asdict(v) for gid, v in result.verdicts.items()})
        # for SaveGradesInOneCommit, a few steps later: the verdicts, and where to leave its note
        resources[VERDICTS_KEY] = {"verdicts": result.verdicts,
                                   "note": recorded_path(root, assignment, student, notebook)}
        return nb, resources


class SaveGradesInOneCommit(SaveAutoGrades):
    """nbgrader's SaveAutoGrades, writing a notebook's grades, comments and trusted verdicts in one
    transaction.

    SaveAutoGrades commits twice per graded cell, and each commit of the SQLite gradebook waits
    for the disk: a quarter of an autograding process's time under ``grade`` (measured). Here
    the per-cell commits only flush (so later queries see the rows); then the verdicts that
    :class:`TrustedExecute` left in the resources are written over the scores
    (:func:`~cnnlab.course.grader.grade.record_verdicts`: a graded cell without a verdict scores 0 and
    needs review), and everything is committed once. If anything fails on the way, nothing of
    the notebook is kept and nbgrader reports the submission as failed, which ``grade`` turns
    into "needs review". After the commit, a note for ``grade`` says what was recorded
    (:func:`~cnnlab.course.grader.grade.recorded_path`); without it, ``grade`` records the verdicts itself.
    """

    def preprocess(self, nb: Any, resources: dict) -> tuple[Any, dict]:
        info = resources["nbgrader"]
        self.notebook_id, self.assignment_id = info["notebook"], info["assignment"]
        self.student_id, self.db_url = info["student"], info["db_url"]
        trusted = resources.get(VERDICTS_KEY)
        verdicts = None if trusted is None else trusted["verdicts"]
        self.gradebook = Gradebook(self.db_url)
        with self.gradebook:
            session = self.gradebook.db
            session.commit = session.flush  # what _add_score and _add_comment call after each cell
            try:
                nb, resources = super(SaveAutoGrades, self).preprocess(nb, resources)  # the cells, as nbgrader
                if verdicts is not None:
                    submitted = self.gradebook.find_submission_notebook(
                        self.notebook_id, self.assignment_id, self.student_id)
                    changed = record_verdicts(submitted, verdicts)
            finally:
                del session.commit
            session.commit()
            if verdicts is not None:
                note = {"verdicts": {gid: asdict(v) for gid, v in verdicts.items()}, "changed": changed,
                        "score": float(submitted.score), "max_score": float(submitted.max_score)}
        if verdicts is not None:
            _write_json(trusted["note"], note)
        return nb, resources


def _write_json(path: Path, value: Any) -> None:
    """Write ``value`` as JSON to ``path`` whole or not at all (a reader never sees half a file)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(value))
    os.replace(tmp, path)
