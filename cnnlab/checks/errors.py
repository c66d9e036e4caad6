"""The exception every check raises: an AssertionError with a kind and a student-facing message."""
from __future__ import annotations


class GradingError(AssertionError):
    """A check failed; ``kind`` says how ("none", "type", "shape", "nonfinite", "values", "reference", ...).

    It subclasses AssertionError so that nbgrader counts a failing test cell as failed,
    and the message is written for the student, not for the instructor.
    """

    def __init__(self, message: str, *, kind: str = "values") -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message

    def __str__(self) -> str:  # keep the message even if args were tampered with
        return self.message


class ReferenceUsedError(GradingError):
    """A from-scratch answer called the course's reference (or PyTorch's operator) instead."""

    def __init__(self, message: str) -> None:
        super().__init__(message, kind="reference")
