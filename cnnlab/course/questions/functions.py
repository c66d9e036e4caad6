"""check_function: compare a student's function with the reference on many seeded cases.

Every case runs in float64 on the CPU; when CUDA is available and a case has torch tensors,
it runs again with the tensors on the GPU and the results are brought back and compared.
"""
from __future__ import annotations

import copy
import inspect
import os
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cnnlab.checks import check_array, to_numpy
from cnnlab.checks.errors import GradingError, ReferenceUsedError
from cnnlab.session import seed_everything

from .forbidden import Ref, forbid


@dataclass
class Case:
    """One call: positional and keyword arguments, and an optional label shown in messages."""

    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    label: str = ""


SEED_ENV = "CNNLAB_GRADING_SEED"


def hidden_seed() -> int:
    """The grading run's secret seed for the hidden cases.

    ``CNNLAB_GRADING_SEED`` when set (``grade`` sets it for the nbgrader processes it starts and
    records it per student, so a recorded value reproduces that student's cases). Otherwise it is
    drawn here once and put in this process's environment, so every later call of the same
    process, and every process it starts, uses the same seed. The sandbox's environment is
    built from scratch: no student process sees it.
    """
    seed = os.environ.get(SEED_ENV)
    if not seed:
        seed = os.environ[SEED_ENV] = str(secrets.randbits(63))
    return int(seed)


def random_cases(generator: Callable[[np.random.Generator], Any], n: int, seed: int | None = None) -> list[Case]:
    """``n`` cases from ``generator(rng)`` (returning a Case, a tuple of args or a dict of kwargs).

    Without ``seed`` the cases come from :func:`hidden_seed` (the grading run's seed).
    """
    rng = np.random.default_rng(hidden_seed() if seed is None else seed)
    cases = []
    for _ in range(n):
        made = generator(rng)
        if isinstance(made, Case):
            cases.append(made)
        elif isinstance(made, dict):
            cases.append(Case(kwargs=made))
        else:
            cases.append(Case(args=tuple(made)))
    return cases


def _describe_value(value: Any) -> str:
    value = to_numpy(value) if not isinstance(value, np.ndarray) else value
    if isinstance(value, np.ndarray):
        return f"shape {tuple(value.shape)}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {v!r}" for k, v in value.items()) + "}"
    return repr(value)


def describe_case(fn: Callable[..., Any], case: Case) -> str:
    """'x shape (2, 3, 7, 5), w shape (4, 3, 3, 3), stride=2': what the student needs to reproduce it."""
    try:
        bound = inspect.signature(fn).bind_partial(*case.args, **case.kwargs)
        items = list(bound.arguments.items())
    except (TypeError, ValueError):
        items = [(f"arg{i}", a) for i, a in enumerate(case.args)] + list(case.kwargs.items())
    return ", ".join(f"{k} {_describe_value(v)}" if hasattr(to_numpy(v), "shape") else f"{k}={_describe_value(v)}"
                     for k, v in items)


def _to_device(value: Any, device: str) -> Any:
    module = type(value).__module__ or ""
    if module.startswith("torch") and hasattr(value, "to"):
        return value.to(device)
    if isinstance(value, (list, tuple)):
        return type(value)(_to_device(v, device) for v in value)
    if isinstance(value, dict):
        return {k: _to_device(v, device) for k, v in value.items()}
    return value


def _has_tensor(value: Any) -> bool:
    if (type(value).__module__ or "").startswith("torch"):
        return True
    if isinstance(value, (list, tuple)):
        return any(_has_tensor(v) for v in value)
    if isinstance(value, dict):
        return any(_has_tensor(v) for v in value.values())
    return False


def _devices(devices: str | Sequence[str], cases: Sequence[Case]) -> list[str]:
    if devices != "auto":
        return [devices] if isinstance(devices, str) else list(devices)
    found = ["cpu"]
    if any(_has_tensor(c.args) or _has_tensor(c.kwargs) for c in cases):
        try:
            import torch

            if torch.cuda.is_available():
                found.append("cuda")
        except ImportError:  # pragma: no cover - torch is a dependency
            pass
    return found


def _same_inputs(before: Any, after: Any) -> bool:
    b, a = to_numpy(before), to_numpy(after)
    if isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and b.shape == a.shape and bool(((b == a) | ((b != b) & (a != a))).all())
    if isinstance(b, (list, tuple)):
        return len(b) == len(a) and all(_same_inputs(x, y) for x, y in zip(b, a))
    return True


def check_function(
    student_fn: Callable[..., Any],
    reference_fn: Callable[..., Any],
    cases: Iterable[Case],
    devices: str | Sequence[str] = "auto",
    *,
    rtol: float = 1e-6,
    atol: float = 1e-8,
    name: str | None = None,
    output_names: Sequence[str] | None = None,
    forbidden: Sequence[Ref] = (),
    hint: str | None = None,
    compare: Callable[[Any, Any, str], None] | None = None,
) -> int:
    """Raise GradingError at the first case where ``student_fn`` disagrees with ``reference_fn``.

    ``forbidden`` lists references an in-process answer must not call (callables or dotted paths
    such as ``"torch.nn.functional.conv2d"``; for a remote answer the grader's static analysis
    decides this before calling). ``compare(got, expected, what)`` replaces check_array for
    outputs that are not arrays. The expected values are computed here; for a remote answer the
    in-place check compares what was sent with the arguments as the student process left them.
    Returns the number of (case, device) pairs checked.
    """
    if student_fn is None or not callable(student_fn):
        raise GradingError(f"expected a function, got {type(student_fn).__name__}: did you run the cell that defines it?",
                           kind="type")
    fname = name or getattr(student_fn, "__name__", "your function")
    cases = list(cases)
    remote = getattr(student_fn, "is_remote", False)
    checked = 0
    for device in _devices(devices, cases):
        for index, case in enumerate(cases):
            where = f"case {index + 1} of {len(cases)} ({describe_case(reference_fn, case)})"
            if device != "cpu":
                where += f" on {device}"
            expected = reference_fn(*copy.deepcopy(case.args), **copy.deepcopy(case.kwargs))
            args = _to_device(copy.deepcopy(case.args), device)
            kwargs = _to_device(copy.deepcopy(case.kwargs), device)
            saved = (copy.deepcopy(args), copy.deepcopy(kwargs))
            try:
                if remote:  # patching here would be process-wide and catch other grading threads
                    got = student_fn(*args, **kwargs)
                    after = student_fn.last_args_after
                    if not isinstance(after, list) or len(after) != 2:
                        after = ([], {})
                    args_after, kwargs_after = tuple(after[0]), after[1]
                    log = None
                else:
                    seed_everything(0, with_torch=False)  # as the sandbox's worker does before each call
                    with forbid(forbidden) as log:
                        got = student_fn(*args, **kwargs)
                    args_after, kwargs_after = args, kwargs
            except GradingError as exc:
                raise type(exc)(f"{where}: {exc.message}") if isinstance(exc, ReferenceUsedError) else GradingError(
                    f"{where}: {exc.message}", kind=exc.kind) from None
            except NotImplementedError:
                raise GradingError(f"{fname} is not implemented yet (it raised NotImplementedError)",
                                   kind="exception") from None
            except Exception as exc:  # noqa: BLE001 - any crash of the answer is a failed check
                if getattr(exc, "fail_closed", False):
                    raise  # the grader could not decide (the student's process died or timed out)
                kind_name = getattr(exc, "remote_type", type(exc).__name__)
                raise GradingError(f"{where}: {fname} raised {kind_name}: {exc}", kind="exception") from None
            if log is not None and log.called:
                raise ReferenceUsedError(
                    f"{where}: {fname} calls {log.called[0]}, the reference this exercise asks you to write yourself"
                )
            if not _same_inputs(saved, (args_after, kwargs_after)):
                raise GradingError(f"{where}: {fname} changed its input arrays in place; work on a copy instead",
                                   kind="inplace")
            _compare_outputs(got, expected, where, fname, rtol, atol, output_names, hint, compare)
            checked += 1
    return checked


def _compare_outputs(got: Any, expected: Any, where: str, fname: str, rtol: float, atol: float,
                     output_names: Sequence[str] | None, hint: str | None,
                     compare: Callable[[Any, Any, str], None] | None) -> None:
    if isinstance(expected, tuple):
        if got is None:
            raise GradingError(f"{where}: {fname} returned None: did you forget `return`?", kind="none")
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            got_desc = f"{len(got)} values" if isinstance(got, (tuple, list)) else f"a {type(got).__name__}"
            raise GradingError(f"{where}: {fname} should return {len(expected)} values, it returned {got_desc}",
                               kind="type")
        names = list(output_names or [f"output {k + 1}" for k in range(len(expected))])
        for g, e, n in zip(got, expected, names):
            _compare_one(g, e, f"{where}: {n}", rtol, atol, hint, compare)
    else:
        label = f"{where}: " + (output_names[0] if output_names else "your output")
        _compare_one(got, expected, label, rtol, atol, hint, compare)


def _compare_one(got: Any, expected: Any, what: str, rtol: float, atol: float, hint: str | None,
                 compare: Callable[[Any, Any, str], None] | None) -> None:
    if compare is not None:
        compare(got, expected, what)
    else:
        check_array(got, expected, what=what, rtol=rtol, atol=atol, hint=hint, reveal=False)  # feedback never shows a hidden case's answer
