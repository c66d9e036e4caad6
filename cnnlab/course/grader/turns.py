"""Sharing one class among ``grade``'s nbgrader processes: each takes the next submission nobody has taken.

Submissions take very different times to grade (a blank notebook fails fast, a correct one runs
every check and the speed test), so a fixed split of the class leaves one process idle while
the other finishes: a second in ten for 40 submissions on 2 cores (measured). Instead every
process is given the whole class and, before grading a student, claims it by creating a file
named after the student in a folder of claims: ``O_CREAT | O_EXCL`` succeeds in exactly one
process, and the others skip that student. The claims folder belongs to the instructor's
verification folder, which no sandbox can reach.
"""
from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "CNNLAB_GRADING_CLAIMS"
"""The claims folder of the current ``grade`` run, set in the environment of its nbgrader processes."""


def claim(claims: Path, student: str) -> bool:
    """True in the one process that claims ``student`` first; False in every other."""
    if not student or student in {".", ".."} or "/" in student or "\0" in student:
        raise ValueError(f"not a student id that can name a file: {student!r}")
    try:
        fd = os.open(claims / student, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return False
    os.close(fd)
    return True


def take_turns(claims: Path) -> None:
    """Make nbgrader's autograde in this process grade only the students it claims first.

    nbgrader asks ``init_destination`` whether to grade a submission before it touches it, so a
    submission claimed elsewhere is skipped before nbgrader removes or writes anything of it.
    Students excluded with ``--CourseDirectory.student_id_exclude`` are never claimed.
    """
    from nbgrader.converters.autograde import Autograde

    original = Autograde.init_destination
    if getattr(original, "takes_turns", False):
        return

    def init_destination(self: Autograde, assignment_id: str, student_id: str) -> bool:
        excluded = (self.coursedir.student_id_exclude or "").split(",")
        if student_id in excluded or not claim(claims, student_id):
            return False
        return original(self, assignment_id, student_id)

    init_destination.takes_turns = True  # type: ignore[attr-defined]
    Autograde.init_destination = init_destination  # type: ignore[method-assign]


def take_turns_if_asked() -> None:
    """:func:`take_turns` when ``grade`` named a claims folder in the environment (:data:`ENV_VAR`)."""
    claims = os.environ.get(ENV_VAR)
    if claims:
        take_turns(Path(claims))
