"""How a lecture self-check behaves: quiet on "not attempted", kind on a wrong answer, a hint ladder.

A check is a function that raises ``GradingError`` with a student-facing message when the
answer is wrong. ``@self_check`` (bare, or ``@self_check(hints=(...), answer="...")``) wraps it
so that in a student's notebook

* an answer left as ``None`` (or ``...``), or a function whose body is still ``return None``,
  prints "not attempted yet" and returns False,
* a wrong answer prints the check's message (which never states the expected value) and how to
  get a hint, ``exercises.hint('NAME')``, and returns False,
* a right answer prints the check's confirmation and returns True; once the student has looked
  at the worked answer (``exercises.show_answer('NAME')``) it says so: "✓ Correct (you viewed
  the answer)",

and nothing raises, so "Run All" goes on to the next cell. ``NAME`` is the check's name without
``check_``. ``hints`` are progressively more revealing and never state the expected value;
``answer`` is the worked answer and may. With the environment variable
``CNNLAB_EXERCISES_STRICT=1`` (set by the test suite when it runs the lectures with their
solutions filled in) anything but a right answer raises instead.
"""
from __future__ import annotations

import contextvars
import functools
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, overload

from cnnlab.checks import GradingError

STRICT_ENV = "CNNLAB_EXERCISES_STRICT"

F = TypeVar("F", bound=Callable[..., Any])


class NotAttempted(GradingError):
    """Raised (in strict mode only) for an answer still left as None."""

    def __init__(self, message: str) -> None:
        super().__init__(message, kind="none")


@dataclass
class _Ladder:
    """One exercise's hints and worked answer, and how far this student has climbed."""

    name: str
    owner: str  # module.qualname of the check, so reloading a module may re-register it
    hints: tuple[str, ...]
    answer: str | None
    shown: int = 0  # hints shown so far
    answer_viewed: bool = False


_LADDERS: dict[str, _Ladder] = {}
_running: contextvars.ContextVar[_Ladder | None] = contextvars.ContextVar("cnnlab_running_check", default=None)


def strict() -> bool:
    """True when checks must raise instead of printing (the solutions run of the test suite)."""
    return os.environ.get(STRICT_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def _unanswered(value: Any) -> bool:
    return value is None or value is Ellipsis


def _exercise_name(check: Callable[..., Any]) -> str:
    return check.__name__.removeprefix("check_")


def _register(check: Callable[..., Any], hints: Sequence[str], answer: str | None) -> _Ladder:
    if isinstance(hints, str):
        raise TypeError(f"{check.__name__}: hints must be a tuple of strings, e.g. hints=({hints[:30]!r}, ...), "
                        "not one string")
    hints = tuple(hints)
    if not all(isinstance(h, str) and h.strip() for h in hints):
        raise TypeError(f"{check.__name__}: every hint must be a non-empty string, got {hints!r}")
    if answer is not None and (not isinstance(answer, str) or not answer.strip()):
        raise TypeError(f"{check.__name__}: answer must be a non-empty string or None, got {answer!r}")
    name = _exercise_name(check)
    owner = f"{check.__module__}.{check.__qualname__}"
    old = _LADDERS.get(name)
    if old is not None and old.owner != owner:
        raise ValueError(f"two self-checks are named {check.__name__!r} ({old.owner} and {owner}): "
                         "exercises.hint() needs each name once; rename one")
    ladder = _Ladder(name, owner, hints, answer)
    _LADDERS[name] = ladder
    return ladder


def _how_to_get_help(ladder: _Ladder) -> str | None:
    if ladder.hints:
        return f"Type exercises.hint('{ladder.name}') for a hint."
    if ladder.answer:
        return f"Type exercises.show_answer('{ladder.name}') to see the worked answer."
    return None


def _wrap(check: F, hints: Sequence[str], answer: str | None) -> F:
    ladder = _register(check, hints, answer)
    name = ladder.name

    @functools.wraps(check)
    def run(*answers: Any, **kwargs: Any) -> bool:
        if not answers and not kwargs:
            raise TypeError(f"{check.__name__}() needs your answer as its argument")
        if any(_unanswered(a) for a in (*answers, *kwargs.values())):
            text = f"… {name}: not attempted yet — replace None with your answer."
            if strict():
                raise NotAttempted(text)
            print(text)
            return False
        token = _running.set(ladder)
        try:
            check(*answers, **kwargs)
        except NotAttempted as exc:  # a function stub that still returns None
            if strict():
                raise
            print(f"… {name}: {exc}")
            return False
        except GradingError as exc:
            if strict():
                raise
            print(f"✗ Not yet: {exc}")
            help_line = _how_to_get_help(ladder)
            if help_line:
                print(help_line)
            return False
        finally:
            _running.reset(token)
        return True

    run.exercise_name = name  # type: ignore[attr-defined]
    return run  # type: ignore[return-value]


@overload
def self_check(check: F) -> F: ...
@overload
def self_check(*, hints: Sequence[str] = (), answer: str | None = None) -> Callable[[F], F]: ...


def self_check(check: F | None = None, *, hints: Sequence[str] = (), answer: str | None = None) -> Any:
    """Wrap ``check(*answers)`` with the student-friendly behaviour described in the module.

    Use it bare (``@self_check``) or with a hint ladder,
    ``@self_check(hints=("a nudge", "a bigger nudge"), answer="the worked answer")``.

    Args:
        check (callable): the check; it raises ``GradingError`` for a wrong answer and calls ``ok``.
        hints (sequence of str): progressively more revealing hints; none states the expected value.
        answer (str, optional): the worked answer, shown only by ``show_answer``.
    """
    if check is not None:
        if not callable(check):
            raise TypeError(f"self_check wraps a function, got {type(check).__name__}: write @self_check or "
                            "@self_check(hints=(...), answer='...')")
        return _wrap(check, hints, answer)
    return lambda fn: _wrap(fn, hints, answer)


def _ladder(name: Any) -> _Ladder:
    key = getattr(name, "exercise_name", name)
    if not isinstance(key, str):
        raise TypeError(f"give the exercise's name as a string, e.g. exercises.hint('pixel_count'), got {name!r}")
    key = key.strip().removeprefix("exercises.").removeprefix("check_").removesuffix("()")
    if key not in _LADDERS:
        known = ", ".join(sorted(n for n, ld in _LADDERS.items() if ld.hints or ld.answer))
        raise ValueError(f"there is no exercise named {key!r}. The name is the check's name without 'check_' "
                         f"(exercises.check_pixel_count -> 'pixel_count'). Exercises with hints: {known}")
    return _LADDERS[key]


def hint(name: str, n: int | None = None) -> None:
    """Print the next hint of exercise ``name`` (or hint ``n``, counting from 1) and how many remain.

    Args:
        name (str): the check's name without ``check_``, e.g. ``'pixel_count'``.
        n (int, optional): which hint to show again; by default the next one not seen yet.
    """
    ladder = _ladder(name)
    total = len(ladder.hints)
    if total == 0:
        extra = f" exercises.show_answer('{ladder.name}') shows the worked answer." if ladder.answer else ""
        print(f"'{ladder.name}' has no hints.{extra}")
        return
    if n is None:
        if ladder.shown >= total:
            print(f"You have seen all {total} hints for '{ladder.name}' (exercises.hint('{ladder.name}', n) shows "
                  f"hint n again). exercises.show_answer('{ladder.name}') shows the worked answer.")
            return
        n = ladder.shown + 1
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= total:
        raise ValueError(f"'{ladder.name}' has hints 1 to {total}; got n={n!r}")
    ladder.shown = max(ladder.shown, n)
    left = total - ladder.shown
    print(f"Hint {n} of {total} for '{ladder.name}': {ladder.hints[n - 1]}")
    if left:
        print(f"({left} more: exercises.hint('{ladder.name}'))")
    else:
        print(f"(that was the last hint; exercises.show_answer('{ladder.name}') shows the worked answer)")


def show_answer(name: str) -> None:
    """Print the worked answer of exercise ``name``; its check then says you viewed it.

    Args:
        name (str): the check's name without ``check_``, e.g. ``'pixel_count'``.
    """
    ladder = _ladder(name)
    if not ladder.answer:
        print(f"'{ladder.name}' has no written answer; the hints (exercises.hint('{ladder.name}')) are all there is.")
        return
    ladder.answer_viewed = True
    print(f"Answer for '{ladder.name}': {ladder.answer}")


def reset_progress() -> None:
    """Forget which hints and answers were shown (a fresh start, as in a new kernel)."""
    for ladder in _LADDERS.values():
        ladder.shown, ladder.answer_viewed = 0, False


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
    if isinstance(value, bool):
        raise GradingError(f"{what} should be a number, got {value!r}", kind="type")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise GradingError(f"{what} should be a number, got {value!r}", kind="type") from None


def ok(text: str) -> None:
    """Print the confirmation of a right answer (noting it when the student viewed the answer first)."""
    ladder = _running.get()
    viewed = " (you viewed the answer)" if ladder is not None and ladder.answer_viewed else ""
    print(f"✓ Correct{viewed}: {text}")
