"""cnnlab.course.grader.turns: grade's nbgrader processes share the class, each student graded by exactly one."""
from __future__ import annotations

import subprocess
import sys
from types import SimpleNamespace

import pytest

from cnnlab.course.grader import turns

STUDENTS = [f"student{k:02d}" for k in range(30)]

CLAIMER = """
import sys, time
from pathlib import Path
from cnnlab.course.grader.turns import claim
claims, names = Path(sys.argv[1]), sys.argv[2:]
while not (claims.parent / "go").exists():  # both processes start claiming together
    time.sleep(0.001)
print(" ".join(name for name in names if claim(claims, name)))
"""


def test_each_student_is_claimed_by_exactly_one_of_two_racing_processes(tmp_path):
    claims = tmp_path / "claims"
    claims.mkdir()
    racers = [subprocess.Popen([sys.executable, "-c", CLAIMER, str(claims), *STUDENTS], stdout=subprocess.PIPE,
                               text=True) for _ in range(2)]
    (tmp_path / "go").touch()
    won = [set(p.communicate(timeout=60)[0].split()) for p in racers]
    assert won[0].isdisjoint(won[1])
    assert won[0] | won[1] == set(STUDENTS)
    assert sorted(p.name for p in claims.iterdir()) == STUDENTS


@pytest.mark.parametrize("bad", ["", ".", "..", "a/b", "x\0y"])
def test_a_student_id_that_cannot_name_a_file_is_refused(tmp_path, bad):
    with pytest.raises(ValueError, match="not a student id"):
        turns.claim(tmp_path, bad)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.course  # imports nbgrader
def test_nbgrader_skips_students_claimed_elsewhere_before_touching_them(tmp_path, monkeypatch):
    from nbgrader.converters.autograde import Autograde

    asked = []
    monkeypatch.setattr(Autograde, "init_destination", lambda self, a, s: asked.append(s) or True)
    turns.take_turns(tmp_path)
    turns.take_turns(tmp_path)  # a second call does not wrap twice
    me = SimpleNamespace(coursedir=SimpleNamespace(student_id_exclude="carol"))
    turns.claim(tmp_path, "bob")  # another process took bob
    assert [Autograde.init_destination(me, "a1", s) for s in ("ann", "bob", "carol", "ann")] == [True, False, False, False]
    assert asked == ["ann"]  # nbgrader's own step ran for ann only, once
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ann", "bob"]  # excluded carol was never claimed
