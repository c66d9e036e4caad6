"""The student kit and the student/instructor boundary.

Fast checks scan the student package and the lectures' student versions straight from the
tree; the slow ones build the kit with ``python -m cnnlab.course student-kit``, install its wheel
into a fresh virtual environment (third-party packages borrowed from this one, the editable
instructor install left out) and run a lecture and an assignment's setup there.
"""
from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from pathlib import Path

import nbformat
import pytest
from _helpers import answer_key_lines

from cnnlab.course.kit import build as kit
from cnnlab.course.config import load
from cnnlab.course.kit.student_notebooks import student_version

ROOT = Path(__file__).resolve().parent.parent
CFG = load()
FORBIDDEN = kit.graded_names(CFG) | kit.reference_names()


# --- the list of graded functions -----------------------------------------------------------------

def test_every_assignment_lists_its_graded_functions():
    assert set(CFG.GRADED_FUNCTIONS) == set(CFG.ASSIGNMENTS)
    for assignment, names in CFG.GRADED_FUNCTIONS.items():
        source = ROOT / "notebooks" / "assignments" / assignment / f"{assignment}.pct.py"
        defined = {node.name for node in ast.walk(ast.parse(source.read_text()))
                   if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
        assert set(names) <= defined, f"{assignment} lists {sorted(set(names) - defined)}, which its source never defines"


def test_every_graded_function_has_an_instructor_reference():
    """Each graded name has its answer in cnnlab.course.reference (sizes by counting for the first two)."""
    from cnnlab.course import reference

    by_other_name = {"output_size": "count_window_positions", "same_padding": "same_padding_by_search",
                     "conv_forward": "conv2d_naive_forward", "conv_backward": "conv2d_naive_backward",
                     "conv_forward_fast": "conv2d_fast_forward"}
    for name in kit.graded_names(CFG):
        assert hasattr(reference, by_other_name.get(name, name)), f"no reference for the graded {name!r}"


# --- the scanner itself ---------------------------------------------------------------------------

def test_scanner_flags_definitions_markers_and_solution_cells():
    answer = "def conv_forward(x, w, b):\n    return x\n"
    assert [f.what for f in kit.scan_source(answer, "x.py", {"conv_forward"})] == [
        "defines the graded function 'conv_forward' (line 1)"]
    assert kit.scan_source("class SEBlock:\n    def forward(self, x):\n        return x * 2\n", "x.py", {"SEBlock"},
                           allow_stubs=True)
    assert kit.scan_source("from .iou import pairwise_iou as box_iou\n", "x.py", {"box_iou"})
    assert kit.scan_source("nms = lambda b, s, t: b\n", "x.py", {"nms"})
    assert kit.scan_source("x = 1  ### BEGIN SOLUTION\n", "x.py", set())
    assert kit.scan_source("check(f, hidden=True)\n", "x.py", set())
    assert kit.scan_source("from cnnlab.course.questions import a1\n", "x.py", set())
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("y = 2", metadata={"tags": ["solution"]})])
    assert [f.what for f in kit.scan_notebook(nb, "n.ipynb", set())] == ["is tagged 'solution'"]


def test_scanner_lets_empty_exercises_through():
    stubs = textwrap.dedent('''
        def conv_forward(x, w, b, stride=1, padding=0):
            """Your docstring."""
            # YOUR CODE HERE
            raise NotImplementedError()

        class SEBlock(nn.Module):
            def __init__(self, channels, reduction=16):
                super().__init__()
                # YOUR CODE HERE
                raise NotImplementedError()

            def forward(self, x):
                return None
        %matplotlib inline
    ''')
    assert kit.scan_source(stubs, "cell", {"conv_forward", "SEBlock"}, allow_stubs=True) == []
    assert len(kit.scan_source(stubs, "cell", {"conv_forward", "SEBlock"})) == 2  # never in package code


# --- the student side, straight from the tree ----------------------------------------------------

def test_student_package_defines_no_graded_function_and_no_reference():
    findings = []
    for path in sorted((ROOT / "cnnlab").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith("cnnlab/course/"):
            continue
        findings += kit.scan_source(path.read_text(), rel, FORBIDDEN)
    assert not findings, "the student package crosses the boundary:\n" + "\n".join(map(str, findings))


@pytest.mark.parametrize("lecture", CFG.LECTURES, ids=lambda p: Path(p).stem)
def test_lecture_student_version_has_no_solution_and_no_graded_function(lecture):
    nb = student_version(nbformat.read(ROOT / lecture, as_version=4))
    assert not [c for c in nb.cells if "solution" in (c.metadata.get("tags") or [])]
    findings = kit.scan_notebook(nb, lecture, FORBIDDEN, allow_stubs=True)
    assert not findings, "\n".join(map(str, findings))


# --- the built kit ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def built_kit(tmp_path_factory):
    out = tmp_path_factory.mktemp("kit") / "student-kit"
    proc = subprocess.run([sys.executable, "-m", "cnnlab.course", "student-kit", "--out", str(out)],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, f"student-kit failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return out


@pytest.mark.slow
@pytest.mark.kit
def test_kit_holds_exactly_what_students_receive(built_kit):
    wheels = list(built_kit.glob("cnnlab-*.whl"))
    assert len(wheels) == 1
    names = zipfile.ZipFile(wheels[0]).namelist()
    assert not [n for n in names if n.startswith("cnnlab/course")]
    assert "cnnlab/pretrained/digits04_resnet.pt" in names and "cnnlab/ops/conv.py" in names
    assert sorted(p.name for p in (built_kit / "lectures").iterdir()) == sorted(Path(p).name for p in CFG.LECTURES)
    for a in CFG.ASSIGNMENTS:
        files = [p.name for p in (built_kit / "assignments" / a).rglob("*") if p.is_file()]
        assert f"{a}.ipynb" in files and not [f for f in files if f.endswith(".py")], files
    assert "pip install cnnlab-" in (built_kit / "README.md").read_text()
    assert "JUPYTER_CONFIG_PATH=jupyter-config jupyter lab" in (built_kit / "README.md").read_text()
    assert f"./{wheels[0].name}" in (built_kit / "environment.yml").read_text()
    metadata = zipfile.ZipFile(wheels[0]).read(f"cnnlab-{wheels[0].name.split('-')[1]}.dist-info/METADATA").decode()
    assert "Requires-Dist: nbgrader" in metadata and "Requires-Dist: jupytext" in metadata
    assert "threadpoolctl" not in metadata


@pytest.mark.slow
@pytest.mark.kit
def test_kit_crosses_no_boundary(built_kit):
    findings = kit.scan_kit(built_kit)
    assert not findings, "\n".join(map(str, findings))


@pytest.mark.slow
@pytest.mark.kit
def test_released_assignments_hold_no_solution_and_no_hidden_test(built_kit):
    for a in CFG.ASSIGNMENTS:
        nb = json.loads((built_kit / "assignments" / a / f"{a}.ipynb").read_text())
        assert "jupytext" not in nb["metadata"], f"{a} keeps its jupytext pairing: Lab would write {a}.pct.py"
        text = json.dumps(nb)
        for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "hidden=True", "cnnlab.course"):
            assert marker not in text, f"{a} contains {marker!r}"
        sources = "\n".join("".join(cell["source"]) for cell in nb["cells"])
        key = answer_key_lines(a)  # the source's solution lines, as they are now
        assert len(key) >= 40 and not [line for line in key if line in sources], a
        for name in CFG.GRADED_FUNCTIONS[a]:
            defs = [n for cell in nb["cells"] if cell["cell_type"] == "code"
                    for n in ast.walk(ast.parse(kit_cell_source(cell)))
                    if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n.name == name]
            assert defs and all(kit.is_stub(d) for d in defs), f"{a}: {name} should be an empty exercise"


def kit_cell_source(cell: dict) -> str:
    source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())


@pytest.fixture(scope="module")
def student_python(built_kit, tmp_path_factory):
    """A fresh venv with the kit's wheel installed; third-party packages come from this venv by a .pth file."""
    venv = tmp_path_factory.mktemp("venv") / "student"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    # A plain path entry: the directory is importable, but its own .pth files (the editable
    # instructor install of cnnlab among them) are not processed.
    (site / "borrowed_site_packages.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    wheel = next(built_kit.glob("cnnlab-*.whl"))
    proc = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps",
                           "--no-index", "--ignore-installed", str(wheel)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return python


def _run(python: Path, code: str, cwd: Path, timeout: int = 600,
         args: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "CNNLAB_EXERCISES_STRICT")}
    return subprocess.run([str(python), "-c", code, *args], capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=timeout)


@pytest.mark.slow
@pytest.mark.kit
def test_student_venv_has_the_package_without_the_instructor_side(student_python, tmp_path):
    """Every module of the installed wheel imports without cnnlab.course, and none of them has an
    attribute named like a graded function or an instructor reference (FORBIDDEN, from the config)."""
    proc = _run(student_python, textwrap.dedent("""
        import importlib, importlib.util, pkgutil, sys, cnnlab
        from cnnlab import ops
        print(cnnlab.__file__)
        print(importlib.util.find_spec("cnnlab.course"))
        names = sys.argv[1].split(",")
        modules = [cnnlab] + [importlib.import_module(m.name) for m in pkgutil.walk_packages(cnnlab.__path__, "cnnlab.")]
        print(len(modules), sorted(f"{m.__name__}.{n}" for m in modules for n in names if hasattr(m, n)))
        print(ops.conv2d([[[[1.0, 2.0], [3.0, 4.0]]]], [[[[1.0]]]]).sum())
    """), tmp_path, args=(",".join(sorted(FORBIDDEN)),))
    assert proc.returncode == 0, proc.stderr[-3000:]
    location, course, found, total = proc.stdout.split("\n")[:4]
    assert str(student_python.parent.parent) in location and str(ROOT / "cnnlab") not in location
    assert course == "None", "cnnlab.course is importable in the student's environment"
    count, exposed = found.split(" ", 1)
    assert int(count) >= 50 and exposed == "[]", found  # e.g. ['cnnlab.detection.soft_nms'] would be the answer key
    assert float(total) == 10.0
    proc = _run(student_python, "import cnnlab.course", tmp_path)
    assert proc.returncode != 0 and "ModuleNotFoundError" in proc.stderr


RUN_NOTEBOOK = """
import json, sys, nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
allow = sys.argv[2] == "allow-errors"
NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=allow,
               resources={"metadata": {"path": sys.argv[3]}}).execute()
errors = {i: o["ename"] for i, c in enumerate(nb.cells) if c.cell_type == "code"
          for o in c.get("outputs", []) if o.get("output_type") == "error"}
texts = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
print("ERRORS", json.dumps(errors))
print("NOT_ATTEMPTED", texts.count("not attempted yet"))
"""


@pytest.mark.slow
@pytest.mark.kit
@pytest.mark.parametrize("lecture", ["02_padding_and_stride", "03_pooling"])
def test_lecture_student_version_runs_in_the_student_venv(built_kit, student_python, lecture):
    """Top to bottom with no error, exercises unanswered: the checks say "not attempted yet"."""
    path = built_kit / "lectures" / f"{lecture}.ipynb"
    proc = subprocess.run([str(student_python), "-c", RUN_NOTEBOOK, str(path), "strict", str(path.parent)],
                          capture_output=True, text=True, cwd=path.parent, timeout=900,
                          env={k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "CNNLAB_EXERCISES_STRICT")})
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "ERRORS {}" in proc.stdout, proc.stdout
    assert int(proc.stdout.split("NOT_ATTEMPTED")[1].split()[0]) >= 1


@pytest.mark.slow
@pytest.mark.kit
def test_released_assignment_setup_runs_in_the_student_venv(built_kit, student_python):
    """The released a1 runs in the kit alone: only the empty exercises (and their test cells) fail."""
    a = "a1_conv_from_scratch"
    path = built_kit / "assignments" / a / f"{a}.ipynb"
    proc = subprocess.run([str(student_python), "-c", RUN_NOTEBOOK, str(path), "allow-errors", str(path.parent)],
                          capture_output=True, text=True, cwd=path.parent, timeout=900,
                          env={k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "CNNLAB_EXERCISES_STRICT")})
    assert proc.returncode == 0, proc.stderr[-4000:]
    errors = {int(i): name for i, name in json.loads(proc.stdout.split("ERRORS")[1].split("\n")[0]).items()}
    nb = nbformat.read(path, as_version=4)
    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    assert code[0] not in errors, f"the setup cell fails with the kit alone: {errors[code[0]]}"
    assert errors, "the empty exercises should make their test cells fail"
    graded = {i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade")}
    unexpected = {i: name for i, name in errors.items() if i not in graded and name != "NotImplementedError"}
    assert not unexpected, f"cells fail for another reason than an unanswered exercise: {unexpected}"
    assert not [name for name in errors.values() if name in ("ModuleNotFoundError", "ImportError", "NameError")]


@pytest.mark.slow
@pytest.mark.kit
def test_students_jupyter_shows_no_instructor_tool_and_no_assignment_list(built_kit):
    """Jupyter's own config loader, pointed at the kit's jupyter-config/ as the README says, switches
    off formgrader, the course and assignment lists and jupytext's pairing, and JupyterLab's page
    config disables the matching front-end plugins."""
    import os
    import subprocess
    import sys

    code = ("from jupyter_server.serverapp import ServerApp\n"
            "from jupyterlab_server.config import get_page_config\n"
            "from jupyter_core.paths import jupyter_config_path\n"
            "import json\n"
            "app = ServerApp(); app.load_config_file()\n"
            "exts = dict(app.jpserver_extensions)\n"
            "page = get_page_config([p + '/labconfig' for p in jupyter_config_path()], 'lab')\n"
            "print(json.dumps({'server': exts, 'disabled': page.get('disabledExtensions', {})}))")
    env = {**os.environ, "JUPYTER_CONFIG_PATH": str(built_kit / "jupyter-config")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120,
                         cwd=built_kit)
    assert out.returncode == 0, out.stderr[-2000:]
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    for name in kit.STUDENT_SERVER_EXTENSIONS_OFF:
        assert seen["server"].get(name) is False, name
    disabled = seen["disabled"]
    disabled = set(disabled) if isinstance(disabled, list) else {k for k, v in disabled.items() if v}
    assert set(kit.STUDENT_LAB_PLUGINS_OFF) <= disabled
