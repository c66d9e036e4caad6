"""The course's own nbgrader preprocessors: what runs a student's notebook under ``grade``.

``python -m cnnlab.course grade`` runs ``nbgrader autograde`` with :class:`TrustedExecute` in
place of nbgrader's ``Execute`` step (the list is nbgrader's own with the steps substituted:
:func:`cnnlab.course.grader.nbgrader_overrides.autograde_steps`). For each notebook it runs the
student's cells once in the sandbox (:mod:`.recheck`), copies their outputs into the notebook,
and writes each test cell's output from the trusted verdict (:mod:`.verdicts`); the verdicts go
to ``COURSE_ROOT/verification/<assignment>/.verdicts/<student>/<notebook>.json`` for ``grade``,
and ``SaveGradesInOneCommit`` (in ``nbgrader_overrides``) records exactly those verdicts.
Where the sandbox is missing, stock ``nbgrader autograde`` gets :class:`RefuseUnsandboxed`.
"""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor

from .. import config
from . import student_process as remote
from .recheck import grade_notebook
from .verdicts import recorded_path, verdicts_path, write_into_cells, write_json

ENV_FLAG = "CNNLAB_TRUSTED_AUTOGRADE"
VERDICTS_KEY = "cnnlab_trusted_verdicts"  # where TrustedExecute leaves the verdicts in nbconvert's resources


class DropJupytextPairing(NbGraderPreprocessor):
    """Remove the jupytext pairing from a released notebook: the instructor's source is paired with
    its text file (which holds the solutions), and a student's JupyterLab would write a
    ``<id>.pct.py`` beside their notebook on every save, and submit it."""

    def preprocess(self, nb: Any, resources: dict) -> tuple[Any, dict]:
        nb.metadata.pop("jupytext", None)
        return nb, resources


class RefuseUnsandboxed(NbGraderPreprocessor):
    """nbgrader's Execute where the sandbox is missing: refuse to run any student's code."""

    def preprocess(self, nb: Any, resources: dict) -> tuple[Any, dict]:
        from .sandbox import INSTALL_HINT

        raise RuntimeError("cnnlab: autograding runs student code only in the bubblewrap sandbox, and bwrap is "
                           f"not installed: {INSTALL_HINT}; then run `python -m cnnlab.course grade <assignment>`. "
                           "For a class you trust, CNNLAB_SANDBOX=off runs it unsandboxed.")


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
        write_into_cells(nb, result.verdicts)
        path = verdicts_path(root, assignment, student, notebook)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_json(path, {gid: asdict(v) for gid, v in result.verdicts.items()})
        # for SaveGradesInOneCommit, a few steps later: the verdicts, and where to leave its note
        resources[VERDICTS_KEY] = {"verdicts": result.verdicts,
                                   "note": recorded_path(root, assignment, student, notebook)}
        return nb, resources
