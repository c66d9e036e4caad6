"""How a lecture self-check behaves: quiet on "not attempted", kind on a wrong answer.

A check is a function that raises ``GradingError`` with a student-facing message when the
answer is wrong. ``@self_check`` wraps it so that in a student's notebook

* an answer left as ``None`` (or ``...``), or a function whose body is still ``return None``,
  prints "not attempted yet" and returns False,
* a wrong answer prints the check's message and returns False,
* a right answer prints the check's confirmation and returns True,

and nothing raises, so "Run All" goes on to the next cell. With the environment variable
``CNNLAB_EXERCISES_STRICT=1`` (set by the test suite when it runs the lectures with their
solutions filled in) anything but a right answer raises instead.
"""
from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any, TypeVar

from cnnlab.checks import GradingError

STRICT_ENV = "CNNLAB_EXERCISES_STRICT"

F = TypeVar("F", bound=Callable[..., Any])


class NotAttempted(GradingError):
    """Raised (in strict mode only) for an answer still left as None."""

    def __init__(self, message: str) -> None:
        super().__init__(message, kind="none")


def strict() -> bool:
    """True when checks must raise instead of printing (the solutions run of the test suite)."""
    return os.environ.get(STRICT_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def _unanswered(value: Any) -> bool:
    return value is None or value is Ellipsis


def self_check(check: F) -> F:
    """Wrap ``check(*answers)`` with the student-friendly behaviour described in the module."""

    @functools.wraps(check)
    def run(*answers: Any, **kwargs: Any) -> bool:
        if not answers and not kwargs:
            raise TypeError(f"{check.__name__}() needs your answer as its argument")
        if any(_unanswered(a) for a in (*answers, *kwargs.values())):
            text = f"… {check.__name__.removeprefix('check_')}: not attempted yet — replace None with your answer."
            if strict():
                raise NotAttempted(text)
            print(text)
            return False
        try:
            check(*answers, **kwargs)
        except NotAttempted as exc:  # a function stub that still returns None
            if strict():
                raise
            print(f"… {check.__name__.removeprefix('check_')}: {exc}")
            return False
        except GradingError as exc:
            if strict():
                raise
            print(f"✗ Not yet: {exc}")
            return False
        return True

    return run  # type: ignore[return-value]


def call_answer(fn: Callable[..., Any], *args: Any, what: str) -> Any:
    """Call a student's function on ``args``; its exceptions become kind messages naming the input.

    A result of None means the stub was not filled in yet (or lacks its ``return``): that raises
    ``NotAttempted``, which ``@self_check`` reports as "not attempted yet".
    """
    if not callable(fn):
        raise GradingError(f"expected a function, got {type(fn).__name__}: pass the function itself, without ()",
                           kind="type")
    try:
        result = fn(*args)
    except Exception as exc:  # noqa: BLE001 - any student error becomes a message
        raise GradingError(f"your function raised {type(exc).__name__}: {exc} (on {what})", kind="error") from exc
    if result is None:
        raise NotAttempted("not attempted yet — your function returns None: write its body and `return` the result.")
    return result


def number(value: Any, what: str) -> float:
    """``value`` as a float, or a kind message saying a number was expected for ``what``."""
    try:
        return float(value)
    except (TypeError, ValueError):
        raise GradingError(f"{what} should be a number, got {value!r}", kind="type") from None


def ok(text: str) -> None:
    """Print the confirmation of a right answer."""
    print(f"✓ Correct: {text}")
