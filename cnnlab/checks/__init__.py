"""Answer checks shared by the lecture self-checks and the assignments' visible tests.

``GradingError`` is the AssertionError every check raises, with a message written for the
student; ``check_array`` compares one answer with the expected array and says precisely how
it differs (shape, dtype, non-finite values, which cells). Nothing here knows a hidden case.
"""
from __future__ import annotations

from .arrays import check_array, shape_hint, to_numpy
from .errors import GradingError, ReferenceUsedError

__all__ = ["GradingError", "ReferenceUsedError", "check_array", "shape_hint", "to_numpy"]
