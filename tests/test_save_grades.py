"""cnnlab.course.grader.nbgrader_overrides.SaveGradesInOneCommit records exactly what nbgrader's SaveAutoGrades records,
in one transaction per notebook."""
from __future__ import annotations

import shutil
import sqlite3

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

pytestmark = [pytest.mark.course,  # imports nbgrader
              pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")]  # nbgrader adding the submission


def _cell(source, grade_id, *, grade=False, solution=False, points=None, outputs=()):
    meta = {"grade": grade, "solution": solution, "locked": not solution, "grade_id": grade_id,
            "schema_version": 3}
    if points is not None:
        meta["points"] = points
    cell = new_code_cell(source, metadata={"nbgrader": meta})
    cell.outputs = list(outputs)
    return cell


def _notebook():
    error = new_output("error", ename="GradingError", evalue="failed", traceback=["failed"])
    passed = new_output("stream", name="stdout", text="passed\n")
    return new_notebook(cells=[
        new_markdown_cell("# a1"),
        _cell("def f(x):\n    return x\n", "answer_f", solution=True),
        _cell("assert f(1) == 1\n", "test_f", grade=True, points=2, outputs=[passed]),
        _cell("def g(x):\n    raise NotImplementedError()\n", "answer_g", solution=True),
        _cell("assert g(1) == 2\n", "test_g", grade=True, points=3, outputs=[error]),
    ])


def _gradebook(tmp_path, name):
    """A gradebook holding the assignment's cells (as generate_assignment saves them) and a submission."""
    from nbgrader.api import Gradebook
    from nbgrader.preprocessors import ComputeChecksums, SaveCells

    db = tmp_path / f"{name}.db"
    url = f"sqlite:///{db}"
    resources = {"nbgrader": {"db_url": url, "assignment": "a1", "notebook": "nb", "student": "ada"}}
    source = _notebook()
    source, _ = ComputeChecksums().preprocess(source, resources)
    with Gradebook(url) as gb:
        gb.add_assignment("a1")
        gb.add_student("ada")
    SaveCells().preprocess(source, resources)
    with Gradebook(url) as gb:
        gb.add_submission("a1", "ada")
    return db, url, resources, source


def _rows(db):
    with sqlite3.connect(db) as con:
        grades = con.execute("select base_cell.name, grade.auto_score, grade.needs_manual_grade from grade "
                             "join base_cell on grade.cell_id = base_cell.id order by base_cell.name").fetchall()
        comments = con.execute("select base_cell.name, comment.auto_comment from comment join base_cell on "
                               "comment.cell_id = base_cell.id order by base_cell.name").fetchall()
    return grades, comments


def test_one_commit_saves_what_nbgrader_saves(tmp_path, monkeypatch):
    from nbgrader.preprocessors import SaveAutoGrades

    from cnnlab.course.grader.nbgrader_overrides import SaveGradesInOneCommit

    monkeypatch.setenv("PATH", f"{shutil.os.path.dirname(shutil.sys.executable)}:{shutil.os.environ['PATH']}")
    db, url, resources, source = _gradebook(tmp_path, "gradebook")
    shutil.copy(db, tmp_path / "stock.db")
    stock_resources = {"nbgrader": {**resources["nbgrader"], "db_url": f"sqlite:///{tmp_path / 'stock.db'}"}}
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    def commits_of(step, res):
        commits = []

        def count(conn):
            commits.append(conn)

        event.listen(Engine, "commit", count)
        try:
            step.preprocess(nbformat.from_dict(source), res)
        finally:
            event.remove(Engine, "commit", count)
        return len(commits)

    stock_commits = commits_of(SaveAutoGrades(), stock_resources)
    our_commits = commits_of(SaveGradesInOneCommit(), resources)
    assert _rows(db) == _rows(tmp_path / "stock.db")
    grades, comments = _rows(db)
    assert grades == [("test_f", 2.0, 0), ("test_g", 0.0, 0)]
    assert ("answer_g", "No response.") in comments  # the untouched answer, as nbgrader comments it
    # nbgrader commits after each of the 2 scores and 2 answer comments; here once for all four,
    # beside the commits that opening the gradebook makes in both
    assert stock_commits - our_commits == 4 - 1


def test_a_failure_half_way_keeps_none_of_the_notebooks_grades(tmp_path, monkeypatch):
    from cnnlab.course.grader.nbgrader_overrides import SaveGradesInOneCommit

    monkeypatch.setenv("PATH", f"{shutil.os.path.dirname(shutil.sys.executable)}:{shutil.os.environ['PATH']}")
    db, url, resources, source = _gradebook(tmp_path, "gradebook")
    before = _rows(db)
    calls = []

    def add_score_then_fail(self, cell, res):
        calls.append(cell.metadata.nbgrader.grade_id)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return original(self, cell, res)

    original = SaveGradesInOneCommit._add_score
    monkeypatch.setattr(SaveGradesInOneCommit, "_add_score", add_score_then_fail)
    with pytest.raises(RuntimeError, match="disk full"):
        SaveGradesInOneCommit().preprocess(nbformat.from_dict(source), resources)
    assert calls == ["test_f", "test_g"]
    assert _rows(db) == before  # test_f's score was flushed, never committed


def test_trusted_verdicts_are_recorded_in_the_same_commit_with_a_note_for_grade(tmp_path, monkeypatch):
    """The verdicts TrustedExecute leaves in the resources win over what the notebook's outputs say:
    test_f's output says passed but its verdict failed (0 points); test_g has no verdict (0 points,
    needs review). grade reads the note instead of opening the gradebook again."""
    import json

    from cnnlab.course.grader.verdicts import recorded_path
    from cnnlab.course.grader.nbgrader_overrides import SaveGradesInOneCommit
    from cnnlab.course.grader.nbgrader_steps import VERDICTS_KEY
    from cnnlab.course.grader.verdicts import Verdict

    monkeypatch.setenv("PATH", f"{shutil.os.path.dirname(shutil.sys.executable)}:{shutil.os.environ['PATH']}")
    db, url, resources, source = _gradebook(tmp_path, "gradebook")
    resources[VERDICTS_KEY] = {"verdicts": {"test_f": Verdict("test_f", False, "conv_forward is wrong at 3 of 9 elements")},
                               "note": recorded_path(tmp_path, "a1", "ada", "nb")}
    recorded_path(tmp_path, "a1", "ada", "nb").parent.mkdir(parents=True)
    SaveGradesInOneCommit().preprocess(nbformat.from_dict(source), resources)

    grades, _ = _rows(db)
    assert grades == [("test_f", 0.0, 0), ("test_g", 0.0, 1)]
    note = json.loads(recorded_path(tmp_path, "a1", "ada", "nb").read_text())
    assert (note["score"], note["max_score"]) == (0.0, 5.0)
    assert note["changed"] == ["nb/test_f: 2.0 -> 0.0"]  # test_g's in-kernel score was already 0
    assert note["verdicts"]["test_f"]["passed"] is False
    assert note["verdicts"]["test_g"]["message"] == "not verified"
