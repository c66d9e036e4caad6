"""cnnlab.course.grader.report: the one reader of scores, checked on a gradebook built here."""
from __future__ import annotations

import math

import pytest


@pytest.mark.slow  # imports nbgrader
def test_gradebook_scores_reads_every_question_of_every_submitted_student(tmp_path):
    from nbgrader.api import Gradebook

    from cnnlab.course.grader.nbgrader_overrides import alembic_head_in_process
    from cnnlab.course.grader.report import gradebook_scores

    alembic_head_in_process()  # as the course's nbgrader processes: no `alembic heads` subprocess
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with Gradebook(url) as gb:
        gb.add_assignment("a1")
        gb.add_notebook("a1", "a1")
        gb.add_grade_cell("q1", "a1", "a1", max_score=2, cell_type="code")
        gb.add_grade_cell("q2", "a1", "a1", max_score=3, cell_type="code")
        for student in ("ann", "bob", "cid"):
            gb.add_student(student)
        for student, (s1, s2) in {"ann": (2, 0), "bob": (1, 3)}.items():  # cid submitted nothing
            gb.add_submission("a1", student)
            for name, score in (("q1", s1), ("q2", s2)):
                grade = gb.find_grade(name, "a1", "a1", student)
                grade.auto_score = score
            gb.db.commit()
    columns, maxima, scores = gradebook_scores(url, "a1")
    assert columns == ["q1", "q2"] and maxima == [2.0, 3.0]
    assert scores == {"ann": {"q1": 2.0, "q2": 0.0}, "bob": {"q1": 1.0, "q2": 3.0}}
    assert not any(math.isnan(v) for row in scores.values() for v in row.values())
