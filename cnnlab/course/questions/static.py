"""Static analysis of a submission's code: advice for the instructor, never a score on its own.

What an answer may use is decided by its grading environment (the sandbox holds only what the
assignment allows: :mod:`cnnlab.course.grader.environments`); this reading of the code only
points a reviewer at lines worth a look. The analysis reads source text only (it never imports what a student names), walks every
syntax tree without recursion and with a depth limit, and caps the size it accepts, so a
hostile cell cannot crash it. For each graded name (``conv_forward``, ``SEBlock`` ...) it
follows the module-level definitions it reaches (functions, classes, lambdas, assignments,
import aliases, ``importlib``/``getattr`` calls with literal strings) and reports:

* **forbidden**: a dotted path it uses matches the question's curated list (e.g.
  ``cnnlab.ops``, ``torch.ops``, ``scipy.ndimage``);
* **flagged**: something the analysis cannot decide (``exec``, ``getattr`` with a computed
  name, ``subprocess``, ``ctypes``, ``types.FunctionType``, dunder attributes,
  ``get_ipython()`` beyond magics and shell lines, a tree too deep or a cell too large).

The grader turns both into review notes (cell, line, reason) on that question; a question whose
answer passes keeps its points. Module-level code that is not a definition and that no graded
name reaches gives notebook notes (:attr:`Analysis.notebook`), never a flag on every question.
Every IPython magic and shell line is allowed (they run in the same sandbox), and so is
``functools.partial``.
"""
from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

MAX_CELL_CHARS = 200_000
MAX_TOTAL_CHARS = 2_000_000
MAX_DEPTH = 60
MAX_NODES = 400_000

# Dotted prefixes whose use cannot be analysed statically (looked up after alias resolution).
DYNAMIC_PREFIXES = (
    "subprocess", "os.system", "os.popen", "os.exec", "os.spawn", "os.fork", "os.posix_spawn", "pty",
    "ctypes", "cffi", "types.FunctionType", "types.LambdaType", "types.CodeType", "types.MethodType",
    "types.ModuleType", "inspect.getsource", "inspect.getsourcelines", "inspect.getmodule", "importlib",
    "sys.modules", "sys._getframe", "multiprocessing", "concurrent.futures.ProcessPoolExecutor", "pickle",
    "marshal", "dill", "runpy", "code.InteractiveInterpreter", "builtins", "gc.get_referents",
    "gc.get_objects",
)
GRADER = ("cnnlab.course",)
DYNAMIC_BUILTINS = {"exec", "eval", "compile", "__import__", "globals", "locals", "vars", "setattr", "delattr",
                    "breakpoint"}
ALLOWED_DUNDERS = {"__init__", "__name__", "__doc__", "__len__", "__call__", "__repr__", "__str__", "__main__",
                   "__getitem__", "__setitem__", "__iter__", "__next__", "__enter__", "__exit__", "__eq__",
                   "__hash__", "__contains__", "__file__", "__version__"}
# What IPython turns magics and shell lines into: every one is allowed (the sandbox bounds what they reach).
ALLOWED_IPYTHON_METHODS = {"run_line_magic", "run_cell_magic", "system", "getoutput"}


@dataclass
class Finding:
    """One reason a graded name cannot be trusted: a forbidden use or something flagged for review."""

    name: str  # the graded name ("" for the whole notebook)
    line: int
    reason: str
    cell: int = -1

    def where(self) -> str:
        return f"cell {self.cell + 1}, line {self.line}" if self.cell >= 0 else f"line {self.line}"


@dataclass
class Analysis:
    forbidden: dict[str, list[Finding]] = field(default_factory=dict)
    flagged: dict[str, list[Finding]] = field(default_factory=dict)
    notebook: list[Finding] = field(default_factory=list)  # module-level findings no graded name reaches

    def notes(self, name: str) -> list[str]:
        """Review notes on graded ``name`` (forbidden uses and what could not be decided), with cell and line."""
        found = sorted(self.forbidden.get(name, []) + self.flagged.get(name, []), key=lambda f: (f.cell, f.line))
        return [f"{f.where()}: {'uses ' + f.reason if f in self.forbidden.get(name, []) else f.reason}"
                for f in _dedupe(found)][:10]

    def notebook_notes(self) -> list[str]:
        """Notes on module-level code no graded name reaches (advice only, on the whole notebook)."""
        return [f"{f.where()}: {f.reason}" for f in _dedupe(self.notebook)][:10]

    def forbidden_message(self, name: str) -> str | None:
        found = self.forbidden.get(name)
        if not found:
            return None
        reasons = {f.reason for f in found}
        uses = ", ".join(sorted(r for r in reasons if not any(o.startswith(r + ".") for o in reasons)))
        return (f"{name} uses {uses} ({found[0].where()}), the reference this exercise asks you to write "
                "yourself: implement it without it (no points for calling the answer key)")

    def flagged_message(self, name: str) -> str | None:
        found = self.flagged.get(name)
        if not found:
            return None
        reasons = {(f.cell, f.line, f.reason) for f in found}
        kept = [f for f in found if not any(c == f.cell and ln == f.line and r.startswith(f.reason + ".")
                                            for c, ln, r in reasons)]
        return "flagged for review: " + "; ".join(f"{f.where()}: {f.reason}" for f in kept[:10])


def _dotted(node: ast.AST, aliases: Mapping[str, str], budget: int = 8) -> str | None:
    """'numpy.linalg.norm' for ``np.linalg.norm`` (None if the chain is not names/attributes/literal imports)."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute) and len(parts) < 200:
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        base = aliases.get(node.id)
        if base is None:
            return None
        return ".".join([base, *reversed(parts)])
    if isinstance(node, ast.Call) and len(node.args) >= 1 and budget > 0:
        literal = _literal_import(node, aliases, budget - 1)
        if literal:
            return ".".join([literal, *reversed(parts)])
    return None


def _literal_import(call: ast.Call, aliases: Mapping[str, str], budget: int = 8) -> str | None:
    """``importlib.import_module("x.y")`` / ``__import__("x")`` / ``getattr(mod, "attr")`` with literals."""
    func = call.func
    fname = func.id if isinstance(func, ast.Name) and func.id not in aliases else None
    path = _dotted(func, aliases, budget) if fname is None else None
    args = call.args
    if (path == "importlib.import_module" or fname == "__import__") and args and \
            isinstance(args[0], ast.Constant) and isinstance(args[0].value, str):
        return args[0].value
    if fname == "getattr" and len(args) >= 2 and isinstance(args[1], ast.Constant) and \
            isinstance(args[1].value, str):
        base = _dotted(args[0], aliases, budget)
        return f"{base}.{args[1].value}" if base else None
    return None


def _matches(path: str, prefixes: Iterable[str]) -> str | None:
    for prefix in prefixes:
        if path == prefix or path.startswith(prefix + ".") or (prefix.endswith("*") and path.startswith(prefix[:-1])):
            return path
    return None


def _walk_limited(root: ast.AST) -> Iterable[tuple[ast.AST, int]]:
    """Every node under ``root`` with its depth, iteratively; raises ValueError past the limits."""
    stack = [(root, 0)]
    count = 0
    while stack:
        node, depth = stack.pop()
        count += 1
        if depth > MAX_DEPTH:
            raise ValueError(f"the code is nested more than {MAX_DEPTH} levels deep (line "
                             f"{getattr(node, 'lineno', '?')})")
        if count > MAX_NODES:
            raise ValueError("the code is too large to analyse")
        yield node, depth
        for child in ast.iter_child_nodes(node):
            stack.append((child, depth + 1))


# Magics that run their Python in the notebook's namespace: read as the code they run.
PYTHON_CELL_MAGICS = {"time", "timeit", "capture", "prun"}
_LINE_MAGIC = re.compile(r"^(\s*)%(?:time|timeit|prun)\s+(?:-[nrp]\s*\d+\s+|-[tcqo]\s+|-[so]\s*\S+\s+)*(.*)$")


def _unwrap_magics(source: str) -> str:
    """``source`` with the code of ``%%time``/``%%timeit``/``%%capture``/``%%prun`` cells and of
    ``%time``/``%timeit``/``%prun`` lines as plain Python (line numbers kept): the definitions and
    imports inside are read like any other."""
    lines = source.split("\n")
    words = lines[0].strip()[2:].split() if lines and lines[0].lstrip().startswith("%%") else []
    if words and words[0] in PYTHON_CELL_MAGICS:
        lines[0] = ""
    return "\n".join(_LINE_MAGIC.sub(r"\1\2", line) for line in lines)


def _transform(source: str) -> str:
    """IPython's own translation of magics and shell escapes into Python (what the kernel runs), after
    the magics that run Python are unwrapped (:func:`_unwrap_magics`)."""
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(_unwrap_magics(source))


@dataclass
class _Definition:
    node: ast.AST
    cell: int


def _parse_cells(cells: Sequence[str], whole: list[Finding]) -> list[tuple[int, ast.Module]]:
    trees = []
    total = 0
    for index, source in enumerate(cells):
        total += len(source)
        if len(source) > MAX_CELL_CHARS or total > MAX_TOTAL_CHARS:
            whole.append(Finding("", 1, f"the cell is too large to analyse ({len(source):,} characters)", index))
            continue
        try:
            tree = ast.parse(_transform(source))
        except SyntaxError:
            continue  # it cannot run either: the answers it defines are simply missing
        except (RecursionError, MemoryError, ValueError, TypeError) as exc:
            whole.append(Finding("", 1, f"the cell could not be analysed ({type(exc).__name__})", index))
            continue
        except Exception as exc:  # noqa: BLE001 - IPython's transformer on hostile text
            whole.append(Finding("", 1, f"the cell could not be analysed ({type(exc).__name__})", index))
            continue
        trees.append((index, tree))
    return trees


def analyse(cells: Sequence[str], graded: Mapping[str, Sequence[str]]) -> Analysis:
    """Analyse the student's cells; ``graded`` maps each graded name to its forbidden dotted prefixes."""
    whole: list[Finding] = []
    trees = _parse_cells(cells, whole)
    aliases: dict[str, str] = {}
    definitions: dict[str, list[_Definition]] = {}
    top_level: list[tuple[int, ast.AST]] = []  # statements that run at import time (not definitions)
    forbidden_any: set[str] = {p for prefixes in graded.values() for p in prefixes}
    star_imports: list[tuple[int, int, str]] = []
    # Pass 1: aliases and definitions (module level, in order; later ones win for aliases).
    for index, tree in trees:
        for stmt in tree.body:
            if isinstance(stmt, ast.Import):
                for alias in stmt.names:
                    if alias.asname:
                        aliases[alias.asname] = alias.name
                    else:
                        aliases[alias.name.split(".")[0]] = alias.name.split(".")[0]
            elif isinstance(stmt, ast.ImportFrom):
                module = ("." * stmt.level) + (stmt.module or "")
                for alias in stmt.names:
                    if alias.name == "*":
                        star_imports.append((index, stmt.lineno, module))
                    else:
                        aliases[alias.asname or alias.name] = f"{module}.{alias.name}"
            elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                definitions.setdefault(stmt.name, []).append(_Definition(stmt, index))
            elif isinstance(stmt, (ast.Assign, ast.AnnAssign)) and stmt.value is not None:
                targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
                for target in targets:
                    for name_node in ([target] if isinstance(target, ast.Name) else
                                      [e for e in getattr(target, "elts", []) if isinstance(e, ast.Name)]):
                        definitions.setdefault(name_node.id, []).append(_Definition(stmt, index))
                top_level.append((index, stmt))
            else:
                top_level.append((index, stmt))
    # Assignments of a plain dotted path or a literal import make aliases too (``f = nd.correlate``).
    for _ in range(3):
        for name, defs in definitions.items():
            for d in defs:
                value = getattr(d.node, "value", None)
                if isinstance(d.node, (ast.Assign, ast.AnnAssign)) and value is not None:
                    path = _dotted(value, aliases)
                    if path and name not in aliases:
                        aliases[name] = path

    def scan(node: ast.AST, cell: int) -> tuple[list[Finding], list[Finding], set[str]]:
        """(forbidden uses, flagged constructs, module-level names referenced) inside ``node``."""
        forbidden: list[Finding] = []
        flagged: list[Finding] = []
        names: set[str] = set()
        allowed_ipython: set[int] = set()  # the get_ipython names of `get_ipython().run_line_magic(...)`
        try:
            for sub, _ in _walk_limited(node):
                if isinstance(sub, ast.Attribute) and sub.attr in ALLOWED_IPYTHON_METHODS and \
                        isinstance(sub.value, ast.Call) and isinstance(sub.value.func, ast.Name):
                    allowed_ipython.add(id(sub.value.func))
            for sub, _ in _walk_limited(node):
                line = getattr(sub, "lineno", getattr(node, "lineno", 1))
                if isinstance(sub, ast.Name):
                    names.add(sub.id)
                    if sub.id == "get_ipython" and id(sub) not in allowed_ipython:
                        flagged.append(Finding("", line, "uses get_ipython() beyond magics and shell lines", cell))
                    if sub.id in DYNAMIC_BUILTINS and sub.id not in aliases:
                        flagged.append(Finding("", line, f"uses {sub.id}()", cell))
                    path = aliases.get(sub.id)
                    if path:
                        _classify(path, forbidden, flagged, line, cell)
                elif isinstance(sub, ast.Attribute):
                    if sub.attr.startswith("__") and sub.attr.endswith("__") and sub.attr not in ALLOWED_DUNDERS:
                        flagged.append(Finding("", line, f"uses the attribute {sub.attr}", cell))
                    path = _dotted(sub, aliases)
                    if path:
                        _classify(path, forbidden, flagged, line, cell)
                elif isinstance(sub, ast.Call):
                    func = sub.func
                    if isinstance(func, ast.Name) and func.id in {"getattr", "hasattr"} and func.id not in aliases:
                        if len(sub.args) < 2 or not (isinstance(sub.args[1], ast.Constant)
                                                     and isinstance(sub.args[1].value, str)):
                            flagged.append(Finding("", line, "getattr with a computed attribute name", cell))
                        elif sub.args[1].value.startswith("__"):
                            flagged.append(Finding("", line, f"getattr(..., {sub.args[1].value!r})", cell))
                    literal = _literal_import(sub, aliases)
                    if literal:
                        _classify(literal, forbidden, flagged, line, cell)
                    elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Call) and \
                            isinstance(func.value.func, ast.Name) and func.value.func.id == "get_ipython":
                        _classify_ipython(sub, flagged, line, cell)
                    if isinstance(func, ast.Attribute) and func.attr == "import_module":
                        if not (sub.args and isinstance(sub.args[0], ast.Constant)):
                            flagged.append(Finding("", line, "imports a module by a computed name", cell))
                elif isinstance(sub, (ast.Import, ast.ImportFrom)):
                    module = getattr(sub, "module", None) or ""
                    for alias in sub.names:
                        full = f"{module}.{alias.name}" if module else alias.name
                        _classify(full, forbidden, flagged, line, cell)
        except ValueError as exc:
            flagged.append(Finding("", getattr(node, "lineno", 1), str(exc), cell))
        except (RecursionError, MemoryError) as exc:
            flagged.append(Finding("", getattr(node, "lineno", 1), f"the code could not be analysed "
                                   f"({type(exc).__name__})", cell))
        return forbidden, flagged, names

    def _classify(path: str, forbidden: list[Finding], flagged: list[Finding], line: int, cell: int) -> None:
        if _matches(path, forbidden_any):
            forbidden.append(Finding("", line, path, cell))
        elif _matches(path, DYNAMIC_PREFIXES):
            flagged.append(Finding("", line, f"uses {path}", cell))

    def _classify_ipython(call: ast.Call, flagged: list[Finding], line: int, cell: int) -> None:
        method = call.func.attr  # type: ignore[attr-defined]
        if method in ALLOWED_IPYTHON_METHODS:
            return
        flagged.append(Finding("", line, f"uses get_ipython().{method}", cell))

    scanned: dict[int, tuple[list[Finding], list[Finding], set[str]]] = {}

    def scan_cached(node: ast.AST, cell: int):
        key = id(node)
        if key not in scanned:
            scanned[key] = scan(node, cell)
        return scanned[key]

    # Module-level statements that no graded name reaches become notebook notes (advice, never a
    # flag on every question); their forbidden uses matter through the names they define (reachability).
    global_flags: list[Finding] = []
    for index, stmt in top_level:  # (assignments too: their right-hand side runs when the notebook runs)
        forb, flags, _ = scan_cached(stmt, index)
        global_flags += flags
        # touching the grader's own code (the worker that answers the grader) is never a plain answer
        global_flags += [Finding("", f.line, f"uses {f.reason}", f.cell) for f in forb if _matches(f.reason, GRADER)]
    for cell, line, module in star_imports:
        if _matches(module, forbidden_any) or _matches(module, DYNAMIC_PREFIXES):
            global_flags.append(Finding("", line, f"imports everything from {module}", cell))

    result = Analysis(notebook=_dedupe(global_flags))
    for gname, prefixes in graded.items():
        seen: set[str] = set()
        stack = [gname]
        forb: list[Finding] = []
        flags: list[Finding] = []
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            for d in definitions.get(current, []):
                f, fl, names = scan_cached(d.node, d.cell)
                forb += f
                flags += fl
                stack.extend(n for n in names if n in definitions and n not in seen)
        forb = [Finding(gname, f.line, f.reason, f.cell) for f in forb if _matches(f.reason, prefixes)]
        flags = [Finding(gname, f.line, f.reason, f.cell) for f in flags + whole]
        if forb:
            result.forbidden[gname] = forb
        if flags:
            result.flagged[gname] = _dedupe(flags)
    return result


def _dedupe(findings: list[Finding]) -> list[Finding]:
    seen, out = set(), []
    for f in findings:
        key = (f.cell, f.line, f.reason)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return sorted(out, key=lambda f: (f.cell, f.line))
