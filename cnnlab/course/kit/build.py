"""The student kit: exactly what students receive, built from the instructor's repository.

``python -m cnnlab.course student-kit --out DIR`` (or ``make student-kit``) writes::

    DIR/cnnlab-<version>-py3-none-any.whl   the student package: cnnlab without cnnlab.course
    DIR/environment.yml                     conda environment installing that wheel
    DIR/README.md                           how to install and start
    DIR/lectures/NN_name.ipynb              lectures, student version (solution cells removed)
    DIR/img/*.png                           the lectures' figures (linked as ../img/)
    DIR/assignments/<id>/...                assignments as nbgrader releases them

:func:`scan_kit` then checks the boundary: no Python file and no notebook code cell in the
kit defines a graded function (course_config.GRADED_FUNCTIONS) or a reference of
``cnnlab.course.reference`` (a released assignment may only hold the empty stub the student
fills), no solution or hidden-test marker, no cell tagged ``solution`` and no mention of
``cnnlab.course``. :func:`build_student_kit` refuses to finish when the scan finds anything.
"""
from __future__ import annotations

import ast
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .. import config
from . import NOT_IN_THE_WHEEL
from .student_notebooks import is_solution

# Runtime dependencies of the instructor's install that students do not need.
INSTRUCTOR_ONLY_DEPENDENCIES = ("threadpoolctl",)
"""Files and folders of ``cnnlab/`` that :func:`build_wheel` never copies (nor ``cnnlab/course``)."""
# Text that must never reach a student: nbgrader's solution and hidden-test regions, the
# hidden cases' switch, and the instructor package.
FORBIDDEN_TEXT = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS", "hidden=True",
                  "cnnlab.course")
_STUB_CALLS = ("NotImplementedError",)


@dataclass(frozen=True)
class Finding:
    """Something in the kit that crosses the boundary: where, and what."""

    where: str
    what: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"


@dataclass
class Kit:
    """What :func:`build_student_kit` wrote (paths inside ``root``)."""

    root: Path
    wheel: Path
    lectures: list[Path] = field(default_factory=list)
    assignments: dict[str, list[Path]] = field(default_factory=dict)


class BoundaryError(RuntimeError):
    """The kit would give students something of the instructor's side."""


# --- the names the kit must not define --------------------------------------------------------

def graded_names(cfg=None) -> set[str]:
    """Every graded function/class name of every assignment (course_config.GRADED_FUNCTIONS)."""
    cfg = cfg or config.load()
    return {name for names in getattr(cfg, "GRADED_FUNCTIONS", {}).values() for name in names}


def reference_names() -> set[str]:
    """The public names of the instructor's references (``cnnlab.course.reference.__all__``)."""
    from .. import reference

    return set(reference.__all__)


# --- scanning -----------------------------------------------------------------------------------

def _is_stub_statement(node: ast.stmt) -> bool:
    """A statement an empty exercise may hold: docstring, pass, ..., raise NotImplementedError, super().__init__()."""
    if isinstance(node, ast.Pass):
        return True
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
        return isinstance(node.value.value, str) or node.value.value is Ellipsis
    if isinstance(node, ast.Raise):
        exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
        return isinstance(exc, ast.Name) and exc.id in _STUB_CALLS
    if isinstance(node, ast.Return):
        return node.value is None or (isinstance(node.value, ast.Constant) and node.value.value is None)
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        func = node.value.func  # super().__init__(...)
        return (isinstance(func, ast.Attribute) and func.attr == "__init__" and isinstance(func.value, ast.Call)
                and isinstance(func.value.func, ast.Name) and func.value.func.id == "super")
    return False


def is_stub(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> bool:
    """True when a function (or every method of a class) is an empty exercise, not an answer."""
    if isinstance(node, ast.ClassDef):
        for item in node.body:
            if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if not is_stub(item):
                    return False
            elif not _is_stub_statement(item):
                return False
        return True
    return all(_is_stub_statement(item) for item in node.body)


def scan_source(source: str, where: str, forbidden: set[str], *, allow_stubs: bool = False) -> list[Finding]:
    """Definitions of forbidden names and forbidden text in one Python source (a file or a cell)."""
    found = [Finding(where, f"contains {text!r}") for text in FORBIDDEN_TEXT if text in source]
    try:
        tree = ast.parse(source)
    except SyntaxError:
        # IPython magics in a cell: blank the lines that start with % or ! and try again
        cleaned = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())
        try:
            tree = ast.parse(cleaned)
        except SyntaxError as exc:
            return found + [Finding(where, f"cannot be parsed ({exc.msg}, line {exc.lineno}): not checked")]
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name in forbidden:
            if allow_stubs and is_stub(node):
                continue
            kind = "class" if isinstance(node, ast.ClassDef) else "function"
            found.append(Finding(where, f"defines the graded {kind} {node.name!r} (line {node.lineno})"))
        elif not allow_stubs:
            # package code may not bind a graded name any other way either (alias, lambda, import as)
            for name in _bound_names(node):
                if name in forbidden:
                    found.append(Finding(where, f"binds the graded name {name!r} (line {node.lineno})"))
    return found


def _bound_names(node: ast.AST) -> list[str]:
    """Names an assignment or import statement binds (functions and classes are handled apart)."""
    if isinstance(node, ast.Assign):
        return [t.id for target in node.targets for t in ast.walk(target) if isinstance(t, ast.Name)]
    if isinstance(node, (ast.AnnAssign, ast.AugAssign, ast.NamedExpr)) and isinstance(node.target, ast.Name):
        return [node.target.id]
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return [(alias.asname or alias.name).split(".")[0] for alias in node.names]
    return []


def scan_notebook(nb: dict, where: str, forbidden: set[str], *, allow_stubs: bool = False) -> list[Finding]:
    """Every code cell of a notebook (as JSON), every markdown cell's text, and the solution tag."""
    found: list[Finding] = []
    for index, cell in enumerate(nb.get("cells", [])):
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        label = f"{where} cell {index + 1}"
        if is_solution(cell):
            found.append(Finding(label, "is tagged 'solution'"))
        if cell.get("cell_type") == "code":
            found += scan_source(source, label, forbidden, allow_stubs=allow_stubs)
        else:
            found += [Finding(label, f"contains {text!r}") for text in FORBIDDEN_TEXT if text in source]
    return found


def _wheel_members(wheel: Path) -> Iterator[tuple[str, bytes]]:
    with zipfile.ZipFile(wheel) as zf:
        for name in zf.namelist():
            yield name, zf.read(name)


def scan_kit(root: Path, forbidden: set[str] | None = None) -> list[Finding]:
    """Everything in the kit at ``root`` that crosses the student/instructor boundary ([] when clean)."""
    root = Path(root)
    forbidden = forbidden if forbidden is not None else graded_names() | reference_names()
    found: list[Finding] = []
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(root).as_posix()
        if path.suffix == ".whl":
            found += scan_wheel(path, forbidden, rel)
        elif path.suffix == ".py":
            found += scan_source(path.read_text(errors="replace"), rel, forbidden)
        elif path.suffix == ".ipynb":
            found += scan_notebook(json.loads(path.read_text()), rel, forbidden, allow_stubs=True)
        elif path.suffix in (".md", ".yml", ".txt", ".toml", ".cfg"):
            text = path.read_text(errors="replace")
            found += [Finding(rel, f"contains {t!r}") for t in FORBIDDEN_TEXT if t in text]
    return found


def scan_wheel(wheel: Path, forbidden: set[str], where: str | None = None) -> list[Finding]:
    """The wheel holds no cnnlab/course and none of its Python files crosses the boundary."""
    where = where or wheel.name
    found: list[Finding] = []
    for name, data in _wheel_members(wheel):
        if name.startswith("cnnlab/course/") or name == "cnnlab/course.py":
            found.append(Finding(f"{where}:{name}", "is instructor-only (cnnlab/course)"))
        elif name.endswith(".py"):
            found += scan_source(data.decode("utf-8", errors="replace"), f"{where}:{name}", forbidden)
    return found


# --- building -----------------------------------------------------------------------------------

def _student_dependencies(repo_root: Path) -> list[str]:
    project = tomllib.loads((repo_root / "pyproject.toml").read_text())["project"]
    deps = []
    for spec in project["dependencies"]:
        name = re.split(r"[<>=!~\[; ]", spec, maxsplit=1)[0].strip().lower()
        if name not in INSTRUCTOR_ONLY_DEPENDENCIES:
            deps.append(spec)
    return deps


def _student_pyproject(version: str, deps: Iterable[str]) -> str:
    dep_lines = "".join(f'    "{d}",\n' for d in deps)
    return (
        '[build-system]\nrequires = ["setuptools>=64"]\nbuild-backend = "setuptools.build_meta"\n\n'
        f'[project]\nname = "cnnlab"\nversion = "{version}"\n'
        'description = "A course on convolutional neural networks: the student package (lectures\' helpers, widgets, '
        'data, models, self-checked exercises)."\n'
        'requires-python = ">=3.11"\nlicense = { text = "MIT" }\n'
        f"dependencies = [\n{dep_lines}]\n\n"
        '[tool.setuptools.packages.find]\ninclude = ["cnnlab*"]\n\n'
        '[tool.setuptools.package-data]\n"cnnlab.pretrained" = ["*.pt"]\n'
    )


def build_wheel(repo_root: Path, out: Path) -> Path:
    """The student package as a wheel in ``out``: a copy of cnnlab/ without course/, built offline."""
    import cnnlab

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="cnnlab-kit-") as tmp:
        src = Path(tmp) / "src"
        shutil.copytree(repo_root / "cnnlab", src / "cnnlab", ignore=shutil.ignore_patterns(*NOT_IN_THE_WHEEL))
        shutil.rmtree(src / "cnnlab" / "course")
        (src / "pyproject.toml").write_text(_student_pyproject(cnnlab.__version__, _student_dependencies(repo_root)))
        before = set(out.glob("cnnlab-*.whl"))
        for old in before:
            old.unlink()
        proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                               "--no-index", "--quiet", "--wheel-dir", str(out), str(src)],
                              capture_output=True, text=True, cwd=tmp)
        if proc.returncode != 0:
            raise RuntimeError(f"building the student wheel failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
    wheels = sorted(out.glob("cnnlab-*.whl"))
    if len(wheels) != 1:
        raise RuntimeError(f"expected one cnnlab wheel in {out}, found {[w.name for w in wheels]}")
    return wheels[0]


def write_lectures(repo_root: Path, lectures: Iterable[str], out: Path) -> list[Path]:
    """Student versions of the lectures (solution cells dropped, outputs cleared) and their figures."""
    from .student_notebooks import write_student_version

    out.mkdir(parents=True, exist_ok=True)
    written = [write_student_version(repo_root / rel, out) for rel in lectures]
    img = repo_root / "img"
    if img.is_dir():
        shutil.copytree(img, out.parent / "img", dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return written


def release_assignments(repo_root: Path, assignments: Iterable[str], out: Path) -> dict[str, list[Path]]:
    """Run ``nbgrader generate_assignment`` in a throw-away course directory; copy each release to ``out``."""
    released: dict[str, list[Path]] = {}
    with tempfile.TemporaryDirectory(prefix="cnnlab-release-") as tmp:
        root = Path(tmp) / "course"
        (root / "source").mkdir(parents=True)
        for a in assignments:
            shutil.copytree(repo_root / "notebooks" / "assignments" / a, root / "source" / a,
                            ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
        bindir = Path(sys.executable).parent
        env = {**os.environ, "CNNLAB_COURSE_ROOT": str(root), "CNNLAB_EXCHANGE": str(Path(tmp) / "exchange"),
               "CNNLAB_SANDBOX": "off", "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"}
        for a in assignments:
            cmd = [str(bindir / "nbgrader"), "generate_assignment", a, "--force",
                   f"--NbGrader.config_file={config.config_path()}", f"--CourseDirectory.root={root}"]
            proc = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True)
            release = root / "release" / a
            if proc.returncode != 0 or not release.is_dir():
                raise RuntimeError(f"nbgrader generate_assignment {a} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
            dst = out / a
            if dst.exists():
                shutil.rmtree(dst)
            shutil.copytree(release, dst)
            released[a] = sorted(p for p in dst.rglob("*") if p.is_file())
    return released


# What a student's own JupyterLab shows (the kit's jupyter-config/, named by JUPYTER_CONFIG_PATH):
# none of nbgrader's instructor tools, no course or assignment list (a laptop has no exchange), and no
# jupytext pairing (a save would write a text twin beside the notebook). The hub has its own
# per-group settings (deploy/jupyter/).
STUDENT_SERVER_EXTENSIONS_OFF = (
    "nbgrader.server_extensions.formgrader", "nbgrader.server_extensions.course_list",
    "nbgrader.server_extensions.assignment_list", "jupyterlab_jupytext",
)
STUDENT_LAB_PLUGINS_OFF = (
    "@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment", "@jupyter/nbgrader:course-list",
    "@jupyter/nbgrader:assignment-list",
)


def write_student_jupyter_config(folder: Path) -> None:
    """The settings above as Jupyter reads them from a config folder (server and lab)."""
    (folder / "labconfig").mkdir(parents=True, exist_ok=True)
    server = {"ServerApp": {"jpserver_extensions": {name: False for name in STUDENT_SERVER_EXTENSIONS_OFF}}}
    (folder / "jupyter_server_config.json").write_text(json.dumps(server, indent=1) + "\n")
    lab = {"disabledExtensions": {name: True for name in STUDENT_LAB_PLUGINS_OFF}}
    (folder / "labconfig" / "page_config.json").write_text(json.dumps(lab, indent=1) + "\n")


README = """# cnnlab: the student kit

Everything you need for the course: the `cnnlab` Python package (helpers, widgets, data and
models the lectures use), the lecture notebooks and the assignments.

## Install

With pip (Python 3.11 or newer), in a fresh virtual environment:

    python -m venv cnnlab-env
    source cnnlab-env/bin/activate          # Windows: cnnlab-env\\Scripts\\activate
    pip install {wheel}

Or with conda, from this folder:

    conda env create -f environment.yml
    conda activate cnnlab

Then start JupyterLab here, with the kit's settings (they hide the instructors' nbgrader tools):

    JUPYTER_CONFIG_PATH=jupyter-config jupyter lab       # Windows: set JUPYTER_CONFIG_PATH=jupyter-config
                                                         #          then: jupyter lab

## What is inside

- `lectures/`: the lecture notebooks, in order. Each ends with exercises: write your answer in
  the cell that says `# YOUR ANSWER`, then run the check cell below it. A check that says
  "not attempted yet" is waiting for you; a wrong answer gets a hint, never an error.
- `assignments/`: the graded assignments. Fill in every cell marked `YOUR CODE HERE` and run
  the test cells. The tests you see are a sample: the grader checks many more inputs. Before you
  hand one in, `python -m cnnlab.assignment_rules check assignments/<id>/<id>.ipynb` lists every
  import the assignment's grader does not allow (its set-up cell applies the same rules). You hand
  an assignment in on the course's JupyterHub (its Assignments tab fetches and submits); on your
  own computer there is no exchange to submit to, so the kit hides that tab: upload your
  finished notebook to the hub, or hand it in as your instructor says.
- `jupyter-config/`: JupyterLab settings for a student's computer (no grading tools, no
  assignment list without an exchange, notebooks saved without a paired text file).
- `{wheel}`: the `cnnlab` package. It runs on a laptop CPU; it uses a GPU when one is present.

`cnnlab` helps you learn; it does not contain the assignments' answers. Where a lecture needs a
convolution or pooling it calls PyTorch's operator: writing them yourself is the assignment.
"""

ENVIRONMENT = """# Conda environment for the cnnlab student kit: `conda env create -f environment.yml`.
name: cnnlab
channels:
  - conda-forge
dependencies:
  - python=3.11
  - pip
  - pip:
      - ./{wheel}
"""


def build_student_kit(out: Path, *, lectures: Iterable[str] | None = None,
                      assignments: Iterable[str] | None = None, check: bool = True) -> Kit:
    """Build the kit into ``out`` (emptied first); raise BoundaryError if :func:`scan_kit` finds anything."""
    cfg = config.load()
    repo_root = Path(cfg.REPO_ROOT)
    out = Path(out).resolve()
    protected = [repo_root / "cnnlab", repo_root / "notebooks"]
    if out == repo_root or out in repo_root.parents or any(out == d or d in out.parents for d in protected):
        raise ValueError(f"refusing to build the kit into {out}: choose an empty folder outside the sources")
    if out.exists():
        if any(out.iterdir()) and not (out / ".cnnlab-kit").exists():
            raise ValueError(f"{out} is not empty and is not a previous kit: choose an empty folder")
        shutil.rmtree(out)
    out.mkdir(parents=True)
    (out / ".cnnlab-kit").write_text("built by python -m cnnlab.course student-kit\n")
    wheel = build_wheel(repo_root, out)
    kit = Kit(root=out, wheel=wheel)
    kit.lectures = write_lectures(repo_root, list(lectures if lectures is not None else cfg.LECTURES), out / "lectures")
    kit.assignments = release_assignments(repo_root, list(assignments if assignments is not None else cfg.ASSIGNMENTS),
                                          out / "assignments")
    (out / "README.md").write_text(README.format(wheel=wheel.name))
    write_student_jupyter_config(out / "jupyter-config")
    (out / "environment.yml").write_text(ENVIRONMENT.format(wheel=wheel.name))
    if check:
        findings = scan_kit(out)
        if findings:
            shown = "\n".join(f"  - {f}" for f in findings[:40])
            more = f"\n  ... and {len(findings) - 40} more" if len(findings) > 40 else ""
            raise BoundaryError(f"the student kit in {out} crosses the student/instructor boundary:\n{shown}{more}")
    return kit


def main(out: Path, *, check: bool = True) -> int:
    """CLI entry: build, print a summary, exit 1 when the boundary check fails."""
    try:
        kit = build_student_kit(out, check=check)
    except BoundaryError as exc:
        print(exc, file=sys.stderr)
        return 1
    buf = io.StringIO()
    print(f"student kit in {kit.root}", file=buf)
    print(f"  package    {kit.wheel.name}", file=buf)
    print(f"  lectures   {len(kit.lectures)} notebooks (student version)", file=buf)
    for a, files in kit.assignments.items():
        print(f"  assignment {a}: {', '.join(p.name for p in files)}", file=buf)
    print("  boundary   checked: no graded function, solution, hidden test or cnnlab.course" if check
          else "  boundary   NOT checked (--no-check)", file=buf)
    print(buf.getvalue(), end="")
    return 0
