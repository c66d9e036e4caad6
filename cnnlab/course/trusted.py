"""nbgrader's Execute step replaced by the trusted grader: one sandboxed run per submission.

``python -m cnnlab.course grade`` runs ``nbgrader autograde`` with :class:`TrustedExecute` in
place of nbgrader's ``Execute`` preprocessor (see :func:`cnnlab.course.kernel.configure`). For
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
from nbgrader.preprocessors import NbGraderPreprocessor

from . import config, remote
from .grade import verdicts_path
from .verify import ERROR, FLAGGED, Verdict, grade_notebook

ENV_FLAG = "CNNLAB_TRUSTED_AUTOGRADE"


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
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({gid: asdict(v) for gid, v in result.verdicts.items()}))
        os.replace(tmp, path)
        return nb, resources
