"""Each assignment's import rules in your own kernel, and a check of a notebook before you hand it in.

The grader runs every assignment in a sandbox that holds only what the assignment allows (e.g.
assignment 1: numpy, matplotlib, IPython and cnnlab's set-up helpers; no PyTorch, SciPy or
``cnnlab.ops``). So that you learn the rules before your grade does, each assignment's set-up cell
calls :func:`use_rules`: an import of a module the grader lacks then fails in your kernel too, with
the grader's message. It is advice, not a boundary. Before submitting, check a notebook with::

    python -m cnnlab.assignment_rules check a1_conv_from_scratch.ipynb

The rules below are plain data, and the one declaration of them: the grader's course_config.py
and its sandbox builder read them from here.
"""
from __future__ import annotations

import argparse
import ast
import json
import os
import re
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

# Distributions and cnnlab modules every grading environment holds (the grader's own list).
ALWAYS_PACKAGES = ("numpy", "ipython", "ipykernel", "cnnlab")
ALWAYS_CNNLAB = ("__init__", "devices", "session", "checks", "gradcheck", "assignment_rules")

_NO_TORCH = "assignment 1 is written with numpy alone: PyTorch (and its autograd) is not available"

# Per assignment: the distributions its grader holds ("packages", with what they require), the parts
# of cnnlab it shows ("cnnlab"), why a named module is absent ("rules") and what it holds ("summary").
ASSIGNMENTS: dict[str, dict[str, Any]] = {
    "a1_conv_from_scratch": {
        "packages": ["numpy", "matplotlib", "ipython"],
        "cnnlab": [],
        "rules": {"torch": _NO_TORCH, "scipy": "assignment 1 asks for your own convolution: SciPy is not available",
                  "cnnlab.ops": "cnnlab.ops holds the answer key of assignment 1: it is not available"},
        "summary": "assignment 1's grading environment holds only numpy, matplotlib, IPython and cnnlab's "
                   "set-up helpers (cnnlab.hello, cnnlab.checks, cnnlab.gradcheck)",
    },
    "a2_blocks_and_budget": {
        "packages": ["numpy", "matplotlib", "ipython", "torch", "scikit-learn"],
        "cnnlab": ["data", "train", "augment"],
        "rules": {"cnnlab.models": "assignment 2 asks for your own blocks: cnnlab.models is not available",
                  "cnnlab.plots": "cnnlab.plots is not available in assignment 2 (it imports cnnlab.models)"},
        "summary": "assignment 2's grading environment holds numpy, matplotlib, IPython, PyTorch, scikit-learn "
                   "and cnnlab's set-up helpers, cnnlab.data, cnnlab.train and cnnlab.augment",
    },
    "a3_detection": {
        "packages": ["numpy", "matplotlib", "ipython", "torch"],
        "cnnlab": ["data", "train", "augment", "models"],
        "rules": {"cnnlab.detection": "assignment 3 asks for your own detection functions: cnnlab.detection "
                                      "is not available",
                  "cnnlab.widgets": "cnnlab.widgets is not available in assignment 3 (it uses cnnlab.detection)"},
        "summary": "assignment 3's grading environment holds numpy, matplotlib, IPython, PyTorch and cnnlab's "
                   "set-up helpers, cnnlab.data, cnnlab.train, cnnlab.augment and cnnlab.models",
    },
}

# Set inside the grader's sandbox (which enforces the rules itself): use_rules then steps aside.
GRADER_ENV_VAR = "CNNLAB_IMPORT_RULES"


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requires(dist: metadata.Distribution) -> list[str]:
    """The names ``dist`` requires on this platform, without extras (as the grader counts them)."""
    try:
        from packaging.requirements import Requirement
    except ImportError:  # without packaging: read the names, keep every marker but extras (advice may over-allow)
        Requirement = None  # type: ignore[assignment,misc]  # noqa: N806
    names = []
    for line in dist.requires or []:
        if Requirement is not None:
            try:
                req = Requirement(line)
                if req.marker is None or req.marker.evaluate({"extra": ""}):
                    names.append(_normal(req.name))
            except Exception:  # noqa: BLE001 - an invalid requirement or unusual marker: leave it out
                pass
            continue
        if "extra" in line.partition(";")[2]:
            continue
        match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", line)
        if match:
            names.append(_normal(match.group(1)))
    return names


_TOP_LEVELS: dict[str, list[str]] | None = None


def _top_levels() -> dict[str, list[str]]:
    """Installed top-level module names -> the normalised distributions that provide them (cached)."""
    global _TOP_LEVELS
    if _TOP_LEVELS is None:
        _TOP_LEVELS = {top: [_normal(d) for d in dists] for top, dists in metadata.packages_distributions().items()}
    return _TOP_LEVELS


@dataclass(frozen=True)
class Rules:
    """One assignment's import rules (see :data:`ASSIGNMENTS`)."""

    assignment: str
    packages: tuple[str, ...]
    cnnlab: tuple[str, ...]
    rules: tuple[tuple[str, str], ...]
    summary: str

    def allowed_distributions(self) -> set[str]:
        """The distributions the grader holds: the declared ones and everything they require."""
        installed = {_normal(d.metadata["Name"] or ""): d for d in metadata.distributions()}
        seen: set[str] = set()
        stack = [_normal(p) for p in (*ALWAYS_PACKAGES, *self.packages)]
        while stack:
            name = stack.pop()
            if name in seen:
                continue
            seen.add(name)
            if name in installed and name != "cnnlab":  # the student package, not what it requires
                stack.extend(_requires(installed[name]))
        return seen

    def reason(self, module: str) -> str | None:
        """Why ``module`` cannot be imported in this assignment's grader, or None if it can."""
        for prefix, why in self.rules:
            if module == prefix or module.startswith(prefix + "."):
                return f"{why} (a rule of {self.assignment}'s grading environment)"
        top, _, rest = module.partition(".")
        if top == "cnnlab":
            part = rest.partition(".")[0]
            if not part or part == "course" or part in ALWAYS_CNNLAB or part in self.cnnlab:
                return None
            return self.summary
        if top in sys.stdlib_module_names or top in sys.builtin_module_names:
            return None
        providers = _top_levels().get(top)
        if not providers:
            return None  # not an installed package: your own helper file, or a module nobody has
        if set(providers) & _allowed(self):
            return None
        return self.summary

    def message(self, module: str) -> str | None:
        """The grader's message for an import of ``module``, or None if it is allowed."""
        why = self.reason(module)
        return None if why is None else f"No module named {module!r}: {why}"


_ALLOWED: dict[str, set[str]] = {}


def _allowed(rules: Rules) -> set[str]:
    if rules.assignment not in _ALLOWED:
        _ALLOWED[rules.assignment] = rules.allowed_distributions()
    return _ALLOWED[rules.assignment]


def rules_for(assignment: str) -> Rules:
    """The import rules of ``assignment`` (e.g. ``"a1_conv_from_scratch"``)."""
    spec = ASSIGNMENTS.get(assignment)
    if spec is None:
        raise ValueError(f"no import rules for assignment {assignment!r}: expected one of {', '.join(ASSIGNMENTS)}")
    return Rules(assignment, tuple(spec["packages"]), tuple(spec["cnnlab"]),
                 tuple(spec["rules"].items()), spec["summary"])


def _probing() -> bool:
    """True when ``importlib.util.find_spec`` asks (a library probing for an optional package): that
    question is answered as without the rules, and only an actual import is refused."""
    frame = sys._getframe(2)
    for _ in range(3):
        if frame is None or frame.f_code.co_name in ("_find_and_load_unlocked", "_find_and_load"):
            return False
        if frame.f_code.co_name == "find_spec" and frame.f_code.co_filename.endswith("importlib.util>"):
            return True
        frame = frame.f_back
    return False


class RulesFinder:
    """A ``sys.meta_path`` finder that refuses the modules an assignment's grader lacks."""

    def __init__(self, rules: Rules) -> None:
        self.rules = rules
        self._busy = False  # finding the installed packages imports modules itself

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> None:
        if self._busy or _probing():
            return None
        self._busy = True
        try:
            message = self.rules.message(fullname)
        finally:
            self._busy = False
        if message is not None:
            raise ModuleNotFoundError(message, name=fullname)
        return None

    def remove(self) -> None:
        """Stop applying the rules in this kernel."""
        while self in sys.meta_path:
            sys.meta_path.remove(self)


def use_rules(assignment: str, quiet: bool = False) -> RulesFinder | None:
    """Apply ``assignment``'s import rules in this kernel (advice: the grader's sandbox is the boundary).

    Afterwards, importing a module the grader lacks raises ``ModuleNotFoundError`` with the
    grader's message. Modules imported before the call stay importable (restart the kernel to
    start clean). Inside the grader, which enforces the rules itself, it does nothing and returns None.

    Args:
        assignment (str): the assignment's id, e.g. ``"a1_conv_from_scratch"``.
        quiet (bool): do not print the one-line summary of the rules.

    Returns:
        RulesFinder: the installed finder (``.remove()`` undoes it), or None inside the grader.
    """
    rules = rules_for(assignment)
    if os.environ.get(GRADER_ENV_VAR):
        return None
    for old in [f for f in sys.meta_path if isinstance(f, RulesFinder)]:
        old.remove()
    finder = RulesFinder(rules)
    sys.meta_path.insert(0, finder)
    if not quiet:
        named = ", ".join(prefix for prefix, _ in rules.rules)
        print(f"{assignment}: imports follow the grader's rules here ({named} and what the grader does not hold "
              f"cannot be imported); check the notebook with: python -m cnnlab.assignment_rules check NOTEBOOK")
        loaded = [prefix for prefix, _ in rules.rules if prefix in sys.modules]
        if loaded:
            verb = "was" if len(loaded) == 1 else "were"
            print(f"note: {', '.join(loaded)} {verb} imported before the rules applied; restart the kernel "
                  f"to check that your notebook runs without it")
    return finder


@dataclass(frozen=True)
class Finding:
    """An import of a module the assignment's grader lacks."""

    cell: int  # 1-based position of the cell in the notebook (markdown cells count)
    line: int  # 1-based line in the cell
    module: str
    code: str  # the line as written
    message: str

    def __str__(self) -> str:
        return f"cell {self.cell}, line {self.line}: {self.code.strip()}\n    {self.message}"


# Magics whose argument or body is Python that runs (or a file that may be imported).
_PYTHON_LINE_MAGICS = {"time", "timeit", "prun", "debug", "capture"}
_PYTHON_CELL_MAGICS = {"time", "timeit", "prun", "debug", "capture", "writefile", "file"}
_MAGIC_OPTIONS = re.compile(r"^(?:\s*-[A-Za-z]\S*(?:\s+\d\S*)?)*\s*")


def _as_python(source: str) -> tuple[list[str], int]:
    """The cell as Python lines (magic and shell lines blanked or unwrapped), and the line offset."""
    lines = source.splitlines()
    offset = 0
    if lines and lines[0].lstrip().startswith("%%"):
        magic = lines[0].lstrip()[2:].split(maxsplit=1)[0] if lines[0].strip() != "%%" else ""
        if magic not in _PYTHON_CELL_MAGICS:
            return [], 0
        if magic == "timeit" and lines[0].lstrip()[2 + len(magic):].strip():
            setup = _MAGIC_OPTIONS.sub("", lines[0].lstrip()[2 + len(magic):], count=1)
            lines = [setup, *lines[1:]]  # the set-up statement of %%timeit runs too
        else:
            lines, offset = lines[1:], 1
    out = []
    for line in lines:
        stripped = line.lstrip()
        indent = line[: len(line) - len(stripped)]
        if stripped.startswith("%") and not stripped.startswith("%%"):
            name, _, rest = stripped[1:].partition(" ")
            if name in _PYTHON_LINE_MAGICS:
                rest = _MAGIC_OPTIONS.sub("", rest, count=1) if name in ("timeit", "prun", "time") else rest
                out.append(indent + (rest if rest.strip() else "pass"))
            else:
                out.append(indent + "pass")
        elif stripped.startswith("!") or re.fullmatch(r"\??[\w.]+\??\?\s*", stripped):  # shell, `obj?` help
            out.append(indent + "pass")
        else:
            out.append(line)
    return out, offset


def _imports(lines: list[str]) -> list[tuple[int, str]]:
    """(line, module) of every import in ``lines``; a line-wise reading where the cell does not parse."""
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError:
        found = []
        for number, line in enumerate(lines, 1):
            match = re.match(r"\s*(?:from\s+([\w.]+)\s+import|import\s+([\w., ]+))", line)
            if match and match.group(1):
                found.append((number, match.group(1)))
            elif match:
                found += [(number, part.split()[0]) for part in match.group(2).split(",") if part.strip()]
        return found
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names if alias.name != "*"]
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if name in ("__import__", "import_module"):
                found.append((node.lineno, node.args[0].value))
    return sorted(found)


def check_notebook(path: str | os.PathLike, assignment: str) -> list[Finding]:
    """Every import in the notebook at ``path`` of a module ``assignment``'s grader lacks.

    A static reading (advice only): plain imports, ``from x import y``, aliases, imports inside
    ``%time``/``%timeit``/``%%time``/``%%capture`` and ``%%writefile`` cells, ``__import__("x")``.

    Args:
        path (str or Path): the ``.ipynb`` file.
        assignment (str): the assignment's id, e.g. ``"a1_conv_from_scratch"``.

    Returns:
        list[Finding]: one per forbidden import, in notebook order (empty for an honest notebook).
    """
    rules = rules_for(assignment)
    path = Path(path)
    try:
        notebook = json.loads(path.read_text(encoding="utf-8"))
        cells = notebook["cells"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{path} is not a readable Jupyter notebook (.ipynb): {exc}") from None
    findings = []
    for index, cell in enumerate(cells, 1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        lines, offset = _as_python(source)
        original = source.splitlines()
        reported: set[tuple[int, str]] = set()
        for number, module in _imports(lines):
            parts = module.split(".")
            if any((number, ".".join(parts[:k])) in reported for k in range(1, len(parts))):
                continue  # `from torch import nn` names torch once, not torch and torch.nn
            message = rules.message(module)
            if message is None:
                continue
            reported.add((number, module))
            line = number + offset
            findings.append(Finding(index, line, module, original[line - 1] if line <= len(original) else "", message))
    return findings


def assignment_of(path: str | os.PathLike) -> str:
    """The assignment a notebook belongs to, from its file name or a folder above it."""
    path = Path(path).resolve()
    for part in (path.stem, *(p.name for p in path.parents)):
        if part in ASSIGNMENTS:
            return part
    raise ValueError(f"cannot tell which assignment {path.name} belongs to: name it with --assignment "
                     f"(one of {', '.join(ASSIGNMENTS)})")


def main(argv: list[str] | None = None) -> int:
    """``python -m cnnlab.assignment_rules check NOTEBOOK [--assignment ID]``: 0 clean, 1 findings, 2 bad input."""
    parser = argparse.ArgumentParser(prog="python -m cnnlab.assignment_rules",
                                     description="Check a notebook against an assignment's import rules.")
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="list every import of a module the assignment's grader lacks")
    check.add_argument("notebook")
    check.add_argument("--assignment", choices=list(ASSIGNMENTS), help="default: from the notebook's name")
    args = parser.parse_args(argv)
    try:
        assignment = args.assignment or assignment_of(args.notebook)
        findings = check_notebook(args.notebook, assignment)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not findings:
        print(f"{args.notebook}: no import breaks {assignment}'s rules (a static check: the grader has the last word)")
        return 0
    print(f"{args.notebook}: {len(findings)} import(s) the grader of {assignment} cannot run:")
    for finding in findings:
        print(finding)
    return 1


if __name__ == "__main__":
    sys.exit(main())
