"""Out-of-band re-grading of one submitted notebook.

The student's code cells run in a sandboxed process (:mod:`cnnlab.course.remote`); the
checks of each graded test cell run here, in the grader's own process, against the
references here, calling the student's functions through pipes. Nothing the notebook does
to its own kernel (rebinding ``numpy.allclose`` or a grading helper, blanking later cells
with an input transformer, printing fake results) reaches this process.

Which cells run: every code cell of the submission except the test cells; cells nbgrader
locks (read-only set-up cells) are taken from the instructor's source, as nbgrader does.
"""
from __future__ import annotations

import ast
import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

from cnnlab.checks.errors import GradingError
from cnnlab.course.grading.spec import GradedCheck, graded_cells

from .remote import RemoteFunction, StudentCrashed, StudentProcess


@dataclass
class Verdict:
    grade_id: str
    passed: bool
    message: str = ""


def _nbgrader_meta(cell: Any) -> dict:
    return dict(cell.get("metadata", {}).get("nbgrader", {}) or {})


def cells_to_run(submitted: Any, source: Any) -> tuple[list[str], list[str]]:
    """(code of every cell to execute, code of the student's solution cells)."""
    locked_source = {}
    for cell in source.cells:
        meta = _nbgrader_meta(cell)
        if cell.cell_type == "code" and meta.get("grade_id") and meta.get("locked") and not meta.get("solution"):
            locked_source[meta["grade_id"]] = cell.source
    run, solutions = [], []
    for cell in submitted.cells:
        if cell.cell_type != "code":
            continue
        meta = _nbgrader_meta(cell)
        if meta.get("grade") and not meta.get("solution"):
            continue  # a test cell: its checks run here, never in the student's process
        grade_id = meta.get("grade_id")
        if grade_id in locked_source:
            run.append(locked_source[grade_id])
            continue
        run.append(str(cell.source))
        solutions.append(str(cell.source))
    return run, solutions


def _transform(source: str) -> str:
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        return TransformerManager().transform_cell(source)
    except Exception:  # noqa: BLE001
        return source


def _resolve_dotted(dotted: str) -> Any:
    parts = dotted.split(".")
    if parts[0] not in {"cnnlab", "torch", "numpy", "scipy"}:
        return None
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for attr in parts[cut:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return None
        return obj
    return None


def static_forbidden(solutions: list[str], refs: set[str]) -> dict[str, list[str]]:
    """For each function the student defines: the forbidden references its body (or a helper it calls) uses."""
    aliases: dict[str, str] = {}
    functions: dict[str, ast.AST] = {}
    for source in solutions:
        try:
            tree = ast.parse(_transform(source))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        aliases[alias.asname] = alias.name
                    else:
                        aliases[alias.name.split(".")[0]] = alias.name.split(".")[0]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
            elif isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name not in functions:
                functions[node.name] = node
    targets = {}
    for ref in refs:
        obj = _resolve_dotted(ref)
        if obj is not None:
            targets[id(obj)] = ref

    def dotted(node: ast.AST) -> str | None:
        if isinstance(node, ast.Name):
            return aliases.get(node.id)
        if isinstance(node, ast.Attribute):
            base = dotted(node.value)
            return f"{base}.{node.attr}" if base else None
        return None

    direct: dict[str, set[str]] = {}
    calls: dict[str, set[str]] = {}
    for name, fn in functions.items():
        found, used = set(), set()
        for node in ast.walk(fn):
            if isinstance(node, ast.Name) and node.id in functions:
                used.add(node.id)
            if isinstance(node, (ast.Name, ast.Attribute)):
                path = dotted(node)
                if path:
                    obj = _resolve_dotted(path)
                    if obj is not None and id(obj) in targets:
                        found.add(targets[id(obj)])
        direct[name], calls[name] = found, used - {name}
    result: dict[str, list[str]] = {}
    for name in functions:
        seen, stack, found = {name}, [name], set()
        while stack:
            current = stack.pop()
            found |= direct[current]
            for other in calls[current]:
                if other not in seen:
                    seen.add(other)
                    stack.append(other)
        result[name] = sorted(found)
    return result


def _all_forbidden(module_checks: dict[str, GradedCheck], assignment: str) -> set[str]:
    from cnnlab.course.grading.spec import ASSIGNMENT_MODULES

    module = importlib.import_module(ASSIGNMENT_MODULES[assignment])
    refs: set[str] = set()
    for name in dir(module):
        if name.endswith("_REFERENCES"):
            refs |= set(getattr(module, name))
    return refs


def verify_notebook(assignment: str, source_path: Path, submitted_path: Path | None, *, cell_timeout: float,
                    submission_dir: Path | None = None) -> dict[str, Verdict]:
    """Run every graded check of ``assignment`` against the submitted notebook; one verdict per grade_id."""
    checks = graded_cells(assignment)
    source = nbformat.read(str(source_path), as_version=4)
    present = {_nbgrader_meta(c).get("grade_id") for c in source.cells}
    checks = {gid: chk for gid, chk in checks.items() if gid in present}
    try:
        if submitted_path is None or not Path(submitted_path).exists():
            raise FileNotFoundError("the notebook was not submitted")
        submitted = nbformat.read(str(submitted_path), as_version=4)
    except Exception as exc:  # noqa: BLE001 - corrupted JSON, missing file, wrong format
        return {gid: Verdict(gid, False, f"the notebook could not be read: {exc}"[:300]) for gid in checks}
    run, solutions = cells_to_run(submitted, source)
    flagged = static_forbidden(solutions, _all_forbidden(checks, assignment)) if checks else {}
    verdicts: dict[str, Verdict] = {}
    session: StudentProcess | None = None
    restarts = 0
    try:
        for gid, chk in checks.items():
            if session is None or not session.alive:
                if session is not None:
                    session.close()
                    restarts += 1
                if restarts > 2:
                    verdicts[gid] = Verdict(gid, False, "the notebook's process kept crashing")
                    continue
                session = StudentProcess(run, submission_dir, cell_timeout)
                try:
                    session.start()
                except StudentCrashed as exc:
                    verdicts[gid] = Verdict(gid, False, f"running the notebook failed: {exc}")
                    session.close()
                    session = None
                    restarts += 1
                    continue
            remote = [RemoteFunction(session, name, static_forbidden=flagged.get(name, []), timeout=chk.timeout_s)
                      for name in chk.names]
            try:
                chk.check(*remote, hidden=True)
                verdicts[gid] = Verdict(gid, True)
            except GradingError as exc:
                verdicts[gid] = Verdict(gid, False, str(exc)[:1000])
            except StudentCrashed as exc:
                verdicts[gid] = Verdict(gid, False, f"the notebook's process failed: {exc}")
                session.close()
            except Exception as exc:  # noqa: BLE001 - any other failure of the answer
                verdicts[gid] = Verdict(gid, False, f"{type(exc).__name__}: {exc}"[:1000])
    finally:
        if session is not None:
            session.close()
    return verdicts
