"""cnnlab.course.grader.report: the one reader of scores, checked on a gradebook built here."""
from __future__ import annotations

import math

import pytest


@pytest.mark.slow  # imports nbgrader
def test_gradebook_scores_reads_every_question_of_every_submitted_student(tmp_path):
    from _helpers import gradebook_with_scores

    from cnnlab.course.grader.report import gradebook_scores

    url = gradebook_with_scores(tmp_path / "gradebook.db", {"ann": (2, 0), "bob": (1, 3), "cid": None})  # cid: none
    columns, maxima, scores = gradebook_scores(url, "a1")
    assert columns == ["q1", "q2"] and maxima == [2.0, 3.0]
    assert scores == {"ann": {"q1": 2.0, "q2": 0.0}, "bob": {"q1": 1.0, "q2": 3.0}}
    assert not any(math.isnan(v) for row in scores.values() for v in row.values())
