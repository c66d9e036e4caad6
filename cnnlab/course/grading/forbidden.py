"""Catch a from-scratch answer that only calls the reference.

Two independent checks:
- at run time, ``forbid(refs)`` makes every listed reference raise (and records the call)
  while the student's function runs: Python functions have their code object swapped, so a
  reference captured earlier under another name is caught too; module attributes such as
  ``"torch.nn.functional.conv2d"`` are replaced for the duration;
- statically, ``referenced_forbidden(fn, refs)`` walks the AST of the function's source and
  resolves each name and attribute chain against the function's globals, flagging the ones
  that *are* a forbidden object (no false positives for a student's own helper of the same name).
"""
from __future__ import annotations

import ast
import contextlib
import importlib
import inspect
import textwrap
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
    exec(compile(source, "<cnnlab.course.grading.forbid>", "exec"), namespace)
    return namespace["_forbidden_reference"].__code__


def referenced_forbidden(fn: Callable[..., Any], refs: Sequence[Ref]) -> list[str]:
    """Names of forbidden references that ``fn``'s source mentions (resolved through its globals)."""
    try:
        source = textwrap.dedent(inspect.getsource(fn))
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError, IndentationError):
        return []
    targets: dict[int, str] = {}
    for ref in refs:
        try:
            _, _, obj, name = _resolve(ref)
        except (ImportError, AttributeError):
            continue
        targets[id(obj)] = name
    namespace = dict(getattr(fn, "__globals__", {}))
    found: list[str] = []

    def lookup(node: ast.AST) -> Any:
        if isinstance(node, ast.Name):
            if node.id in namespace:
                return namespace[node.id]
            import builtins

            return getattr(builtins, node.id, _MISSING)
        if isinstance(node, ast.Attribute):
            base = lookup(node.value)
            if base is _MISSING or not (inspect.ismodule(base) or inspect.isclass(base)):
                return _MISSING
            return getattr(base, node.attr, _MISSING)
        return _MISSING

    for node in ast.walk(tree):
        if isinstance(node, (ast.Name, ast.Attribute)):
            obj = lookup(node)
            if obj is not _MISSING and id(obj) in targets and targets[id(obj)] not in found:
                found.append(targets[id(obj)])
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            module = getattr(node, "module", None) or ""
            for alias in node.names:
                full = f"{module}.{alias.name}" if module else alias.name
                for name in targets.values():
                    if (full == name or name.startswith(full + ".")) and name not in found and module:
                        found.append(name)
    return found


_MISSING = object()
