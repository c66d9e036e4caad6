"""Catch an in-process answer that calls the reference (``check_function`` on a local function).

``forbid(refs)`` makes every listed reference raise (and records the call) while the answer
runs: Python functions have their code object swapped, so a reference captured earlier under
another name is caught too; module attributes such as ``"torch.nn.functional.conv2d"`` are
replaced for the duration. For submissions the trusted grader relies on the static analysis
of :mod:`.static` instead (a student's own process cannot be trusted to apply a ban).
"""
from __future__ import annotations

import contextlib
import importlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from cnnlab.checks.errors import ReferenceUsedError

Ref = Callable[..., Any] | str


def _resolve(ref: Ref) -> tuple[Any, str, Any, str]:
    """(owner, attribute, object, display name) of a reference given as callable or dotted path."""
    if isinstance(ref, str):
        module_name, _, attr = ref.rpartition(".")
        module = importlib.import_module(module_name)
        return module, attr, getattr(module, attr), ref
    owner = importlib.import_module(ref.__module__) if getattr(ref, "__module__", None) else None
    name = f"{getattr(ref, '__module__', '?')}.{getattr(ref, '__qualname__', getattr(ref, '__name__', '?'))}"
    return owner, getattr(ref, "__name__", ""), ref, name


class _CallLog:
    def __init__(self) -> None:
        self.called: list[str] = []


def _stub_for(name: str, log: _CallLog) -> Callable[..., Any]:
    def _forbidden(*args: Any, **kwargs: Any) -> Any:
        log.called.append(name)
        raise ReferenceUsedError(
            f"your answer calls {name}, the reference this exercise asks you to write yourself: "
            "implement it with numpy loops or array operations instead"
        )

    return _forbidden


@contextlib.contextmanager
def forbid(refs: Sequence[Ref]) -> Iterator[_CallLog]:
    """Within the block, each reference raises ReferenceUsedError; the log lists the calls made."""
    log = _CallLog()
    restores: list[Callable[[], None]] = []
    try:
        for ref in refs:
            try:
                owner, attr, obj, name = _resolve(ref)
            except (ImportError, AttributeError):
                continue
            stub = _stub_for(name, log)
            code = getattr(obj, "__code__", None)
            if code is not None and not code.co_freevars and hasattr(obj, "__globals__"):
                # Swap the code object: catches the function however it was imported or renamed.
                # The new code runs with the reference's own globals, where the stub is parked.
                registry = obj.__globals__.setdefault(_REGISTRY, {})
                registry[name] = stub
                obj.__code__ = _trampoline_code(name)
                restores.append(lambda obj=obj, code=code: setattr(obj, "__code__", code))
                restores.append(lambda registry=registry, name=name: registry.pop(name, None))
            elif owner is not None and attr and getattr(owner, attr, None) is obj:
                setattr(owner, attr, stub)
                restores.append(lambda owner=owner, attr=attr, obj=obj: setattr(owner, attr, obj))
        yield log
    finally:
        for undo in reversed(restores):
            undo()


_REGISTRY = "__cnnlab_forbidden_stubs__"


def _trampoline_code(name: str) -> Any:
    source = f"def _forbidden_reference(*args, **kwargs):\n    return {_REGISTRY}[{name!r}](*args, **kwargs)\n"
    namespace: dict[str, Any] = {}
    exec(compile(source, "<cnnlab.course.questions.forbid>", "exec"), namespace)
    return namespace["_forbidden_reference"].__code__
