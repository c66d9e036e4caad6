"""How an assignment's graded test cells map onto checks, for the out-of-band grader.

Each assignment module (``cnnlab.course.questions.a1`` ...) exposes ``GRADED_CELLS``: the test
cell's nbgrader ``grade_id`` → a :class:`GradedCheck` naming the check function, the
student objects (by their names in the notebook) it receives, and the curated dotted
prefixes the answer may not use. Every graded test cell of an assignment must be listed:
one that is not scores 0 and is flagged for review.
"""
from __future__ import annotations

import functools
import importlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

def questions_module(assignment: str) -> str | None:
    """The module holding an assignment's ``GRADED_CELLS``, named after its id's prefix
    (``a1_conv_from_scratch`` -> ``cnnlab.course.questions.a1``), or None if there is none:
    adding an assignment is its line in course_config.py, its source notebook and this module."""
    name = f"{__package__}.{assignment.split('_', 1)[0]}"
    return name if assignment and importlib.util.find_spec(name) is not None else None


@dataclass(frozen=True)
class GradedCheck:
    """A graded test cell: the check, the student names it receives, what they may not use."""

    check: Callable[..., Any]
    names: tuple[str, ...]
    forbidden: tuple[str, ...] = ("cnnlab.course",)  # dotted prefixes refused by the static analysis
    timeout_s: float | None = None  # per call in the student process; None = the course's cell timeout


def graded_cells(assignment: str) -> dict[str, GradedCheck]:
    """The out-of-band checks of an assignment ({} for an assignment without a module)."""
    module_name = questions_module(assignment)
    if module_name is None:
        return {}
    return dict(importlib.import_module(module_name).GRADED_CELLS)


def uses_torch(assignment: str) -> bool:
    """Whether the assignment's notebook needs torch (its module's ``USES_TORCH``, True by default):
    a numpy-only assignment's sandbox does not load it."""
    module_name = questions_module(assignment)
    return module_name is None or bool(getattr(importlib.import_module(module_name), "USES_TORCH", True))


def via(student_obj: Any, probe: Callable[..., Any]) -> Callable[..., Any]:
    """``probe(student_obj, *args)`` as a function of the remaining arguments.

    Locally this is a partial; for a remote student object the probe runs inside the
    student's sandboxed process (``probe`` must be a module-level function of cnnlab).
    """
    bind = getattr(student_obj, "bind_via", None)
    if bind is not None:
        return bind(f"{probe.__module__}:{probe.__qualname__}")
    partial = functools.partial(probe, student_obj)
    functools.update_wrapper(partial, probe)
    return partial
