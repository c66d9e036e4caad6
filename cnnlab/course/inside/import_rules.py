"""Say which rule an import broke when the grading environment lacks a module (inside the sandbox).

The sandbox holds only what the assignment allows (``GRADING_ENVIRONMENTS`` in course_config.py):
that absence is the boundary. This only makes the error kind and precise: an import that fails
because a module is missing raises ``ModuleNotFoundError`` naming the rule (or what the
environment holds). It imports nothing of ``cnnlab.course``.
"""
from __future__ import annotations

import json
import os
from typing import Any

from cnnlab.assignment_rules import GRADER_ENV_VAR as ENV_VAR  # noqa: E402 - set by the grader for the sandbox


class ImportRules:
    """Explains a missing module with the assignment's rules (wraps ``builtins.__import__``)."""

    def __init__(self, assignment: str, rules: list[tuple[str, str]], summary: str) -> None:
        self.assignment = assignment
        self.rules = [(str(p), str(w)) for p, w in rules]
        self.summary = summary

    def message(self, name: str) -> str:
        for prefix, why in self.rules:
            if name == prefix or name.startswith(prefix + "."):
                return f"No module named {name!r}: {why} (a rule of {self.assignment}'s grading environment)"
        return f"No module named {name!r}: {self.summary}"

    def wrap(self, original: Any) -> Any:
        def __import__(name: str, *args: Any, **kwargs: Any) -> Any:  # noqa: N807 - the builtin's name
            try:
                return original(name, *args, **kwargs)
            except ModuleNotFoundError as exc:
                if getattr(exc, "_cnnlab_rule", False) or not exc.name:
                    raise
                better = ModuleNotFoundError(self.message(exc.name), name=exc.name)
                better._cnnlab_rule = True  # type: ignore[attr-defined]
                raise better from None

        __import__._cnnlab_original = original  # type: ignore[attr-defined]
        return __import__


def install(raw: str | None = None) -> ImportRules | None:
    """Explain missing modules with the rules in ``raw`` (JSON; default ``$CNNLAB_IMPORT_RULES``);
    None without rules. Every ``import`` statement (and pickle, which imports through it) then
    raises ``ModuleNotFoundError`` with the rule; ``importlib.util.find_spec`` still answers None."""
    import builtins

    raw = os.environ.get(ENV_VAR) if raw is None else raw
    if not raw:
        return None
    try:
        spec = json.loads(raw)
        rules = ImportRules(str(spec["assignment"]), [tuple(r) for r in spec["rules"]], str(spec["summary"]))
    except (ValueError, KeyError, TypeError):
        return None
    original = getattr(builtins.__import__, "_cnnlab_original", builtins.__import__)
    builtins.__import__ = rules.wrap(original)
    return rules
