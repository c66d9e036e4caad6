"""Checks for the graded assignments: precise, kind messages for students, hard to fool.

``check_array`` compares one answer with the expected array; ``check_function`` compares a
student's function with the reference on many seeded cases (CPU float64, and CUDA when
present) and refuses answers that only call the reference. The per-assignment checks used
by the notebooks' test cells live in ``cnnlab.course.questions.a1`` ... and are re-run out of band
by ``python -m cnnlab.course grade``.
"""
from __future__ import annotations

from cnnlab.checks.arrays import check_array, shape_hint
from cnnlab.checks.errors import GradingError, ReferenceUsedError
from .forbidden import forbid
from .functions import Case, check_function, describe_case, hidden_seed, random_cases
from .static import Analysis, analyse

__all__ = [
    "Case",
    "GradingError",
    "ReferenceUsedError",
    "check_array",
    "check_function",
    "describe_case",
    "forbid",
    "random_cases",
    "analyse",
    "Analysis",
    "hidden_seed",
    "shape_hint",
]
