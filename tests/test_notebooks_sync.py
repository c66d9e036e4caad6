"""Every notebook is a jupytext pair (.ipynb + its text source) and the two sides agree.

Lectures ``notebooks/NN_*.ipynb`` pair with MyST Markdown ``NN_*.md``; assignment sources
``notebooks/assignments/<id>/<id>.ipynb`` pair with the percent-format ``<id>.pct.py``, which
holds the solutions and must never be released. A failure names the command that fixes it.
"""
from __future__ import annotations

import fnmatch
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import jupytext
import nbformat
import pytest
from jupytext.cli import jupytext as jupytext_cli

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
ASSIGNMENTS = NOTEBOOKS / "assignments"
# Folders that hold generated notebooks (checkpoints, nbgrader's course folders), never pairs.
SKIP_DIRS = {".ipynb_checkpoints", "release", "submitted", "autograded", "feedback", "source", "__pycache__"}
TEXT_SUFFIXES = {".md": "md:myst", ".pct.py": ".pct.py:percent"}


def _fix(text: Path) -> str:
    return f"`.venv/bin/jupytext --sync {text.relative_to(REPO)}` (it keeps the side you edited last)"


def _walk(pattern: str) -> list[Path]:
    return sorted(p for p in NOTEBOOKS.rglob(pattern)
                  if not any(part in SKIP_DIRS or part.startswith(".") for part in p.relative_to(NOTEBOOKS).parts[:-1]))


def _is_jupytext_md(path: Path) -> bool:
    head = path.read_text(encoding="utf-8")[:400]
    return head.startswith("---") and "jupytext:" in head


def _text_twin(ipynb: Path) -> Path | None:
    stem = ipynb.with_suffix("")
    found = [Path(f"{stem}{suffix}") for suffix in TEXT_SUFFIXES if Path(f"{stem}{suffix}").exists()]
    return found[0] if len(found) == 1 else None


def _suffix(text: Path) -> str:
    return ".pct.py" if text.name.endswith(".pct.py") else text.suffix


IPYNBS = _walk("*.ipynb")
TEXTS = [p for p in _walk("*.md") if _is_jupytext_md(p)] + _walk("*.pct.py")
PAIRS = [(nb, _text_twin(nb)) for nb in IPYNBS]


def _ids(paths) -> list[str]:
    return [str(p.relative_to(NOTEBOOKS)) for p in paths]


def _digest(nb: nbformat.NotebookNode) -> list[tuple]:
    """What must agree between the two sides: type, source, tags and nbgrader metadata of each cell."""
    return [(c.cell_type, c.source, list(c.metadata.get("tags", [])), dict(c.metadata.get("nbgrader", {})))
            for c in nb.cells]


def test_notebooks_found():
    assert len([p for p in IPYNBS if p.parent == NOTEBOOKS]) >= 8, "expected the lecture notebooks under notebooks/"
    assert len([p for p in IPYNBS if ASSIGNMENTS in p.parents]) >= 3, "expected the assignment sources"


@pytest.mark.parametrize("ipynb", IPYNBS, ids=_ids(IPYNBS))
def test_every_ipynb_has_its_text_source(ipynb):
    stem = ipynb.with_suffix("")
    twins = [Path(f"{stem}{s}") for s in TEXT_SUFFIXES if Path(f"{stem}{s}").exists()]
    rel = ipynb.relative_to(REPO)
    expected = f"{stem.relative_to(REPO)}.md" if ASSIGNMENTS not in ipynb.parents else f"{stem.relative_to(REPO)}.pct.py"
    fmt = "md:myst" if expected.endswith(".md") else ".pct.py:percent"
    assert twins, (f"{rel} has no text source; create it with "
                   f"`.venv/bin/jupytext --set-formats ipynb,{fmt} {rel}` (writes {expected})")
    assert len(twins) == 1, f"{rel} has two text sources {[str(t.relative_to(REPO)) for t in twins]}: keep one"
    formats = nbformat.read(ipynb, as_version=4).metadata.get("jupytext", {}).get("formats", "")
    assert TEXT_SUFFIXES[_suffix(twins[0])] in formats.split(","), (
        f"{rel} is not paired with {twins[0].name} (jupytext formats: {formats!r}), so edits in JupyterLab would "
        f"not reach it; run `.venv/bin/jupytext --set-formats ipynb,{TEXT_SUFFIXES[_suffix(twins[0])]} {rel}`")


@pytest.mark.parametrize("text", TEXTS, ids=_ids(TEXTS))
def test_every_text_source_has_its_ipynb(text):
    ipynb = Path(str(text)[: -len(_suffix(text))] + ".ipynb")
    assert ipynb.exists(), (f"{text.relative_to(REPO)} has no notebook beside it; create it with "
                            f"`.venv/bin/jupytext --sync {text.relative_to(REPO)}`")


@pytest.mark.parametrize("ipynb,text", [p for p in PAIRS if p[1]], ids=_ids(nb for nb, t in PAIRS if t))
def test_pair_in_sync(ipynb, text):
    from_text = _digest(jupytext.read(text))
    from_ipynb = _digest(nbformat.read(ipynb, as_version=4))
    if from_text == from_ipynb:
        return
    first = next((i for i, (a, b) in enumerate(zip(from_text, from_ipynb)) if a != b), min(len(from_text),
                                                                                         len(from_ipynb)))
    where = (f"cell {first}: text side {from_text[first][1][:80]!r} vs notebook side {from_ipynb[first][1][:80]!r}"
             if first < min(len(from_text), len(from_ipynb))
             else f"the text side has {len(from_text)} cells, the notebook {len(from_ipynb)}")
    pytest.fail(f"{text.relative_to(REPO)} and {ipynb.name} disagree ({where}); fix with {_fix(text)}",
                pytrace=False)


@pytest.mark.parametrize("ipynb", IPYNBS, ids=_ids(IPYNBS))
def test_ipynb_stored_without_outputs(ipynb):
    nb = nbformat.read(ipynb, as_version=4)
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not dirty, (f"{ipynb.relative_to(REPO)} is stored with outputs in cells {dirty}; clear them with "
                       f"`.venv/bin/jupyter nbconvert --clear-output --inplace {ipynb.relative_to(REPO)}`")


# ------------------------------------------------------------------- round trip through jupytext --sync
def _sync(path: Path) -> None:
    jupytext_cli(["--sync", "--quiet", str(path)])


def _touch_later(path: Path) -> None:
    later = time.time() + 5
    os.utime(path, (later, later))


def _nbgrader_by_id(nb) -> dict[str, tuple[str, dict]]:
    return {c.metadata["nbgrader"]["grade_id"]: (c.id, dict(c.metadata["nbgrader"]))
            for c in nb.cells if "grade_id" in c.metadata.get("nbgrader", {})}


@pytest.mark.parametrize("assignment", sorted(p.name for p in ASSIGNMENTS.iterdir() if p.is_dir()
                                              and not p.name.startswith((".", "_"))))
def test_assignment_metadata_and_ids_survive_a_text_edit(tmp_path, assignment):
    for f in (ASSIGNMENTS / assignment).glob(f"{assignment}.*"):
        shutil.copy2(f, tmp_path / f.name)
    text, ipynb = tmp_path / f"{assignment}.pct.py", tmp_path / f"{assignment}.ipynb"
    before = nbformat.read(ipynb, as_version=4)
    graded = _nbgrader_by_id(before)
    assert graded, f"{assignment} has no nbgrader cells"
    # An instructor edits the text source: rewords the first markdown cell and adds a cell at the top.
    src = text.read_text(encoding="utf-8")
    marker = "# %% [markdown]\n"
    assert marker in src
    head, tail = src.split(marker, 1)
    src = f"{head}# %%\nedited_by_test = 1\n\n{marker}# (edited) {tail}"
    text.write_text(src, encoding="utf-8")
    _touch_later(text)
    _sync(text)
    after = nbformat.read(ipynb, as_version=4)
    assert after.cells[0].source == "edited_by_test = 1"
    assert after.cells[1].source.startswith("(edited) ")
    assert after.cells[1].id == before.cells[0].id, "an edited cell kept its id"
    assert [c.id for c in after.cells[1:]] == [c.id for c in before.cells], "cell ids changed in the round trip"
    assert _nbgrader_by_id(after) == graded, "nbgrader metadata (grade_id, points, flags) changed in the round trip"
    for gid, (_, meta) in graded.items():
        assert {"grade", "solution", "locked"} <= meta.keys(), f"{gid}: nbgrader flags missing"


def test_notebook_edit_reaches_the_text_source(tmp_path):
    """The other direction: an edit saved from JupyterLab (the .ipynb) updates the .pct.py, metadata included."""
    a = "a1_conv_from_scratch"
    for f in (ASSIGNMENTS / a).glob(f"{a}.*"):
        shutil.copy2(f, tmp_path / f.name)
    text, ipynb = tmp_path / f"{a}.pct.py", tmp_path / f"{a}.ipynb"
    nb = nbformat.read(ipynb, as_version=4)
    graded = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("points"))
    graded.metadata["nbgrader"]["points"] = 99
    nbformat.write(nb, ipynb)
    _touch_later(ipynb)
    _sync(ipynb)
    assert '"points": 99' in text.read_text(encoding="utf-8")
    assert _nbgrader_by_id(jupytext.read(text))[graded.metadata["nbgrader"]["grade_id"]][1]["points"] == 99


def test_lecture_ids_and_tags_survive_a_text_edit(tmp_path):
    md = NOTEBOOKS / "01_convolution.md"
    shutil.copy2(md, tmp_path / md.name)
    shutil.copy2(md.with_suffix(".ipynb"), tmp_path / "01_convolution.ipynb")
    text, ipynb = tmp_path / md.name, tmp_path / "01_convolution.ipynb"
    before = nbformat.read(ipynb, as_version=4)
    src = text.read_text(encoding="utf-8")
    title = next(line for line in src.splitlines() if line.startswith("# "))
    text.write_text(src.replace(title, f"{title} (edited)", 1), encoding="utf-8")
    _touch_later(text)
    _sync(text)
    after = nbformat.read(ipynb, as_version=4)
    assert f"{title} (edited)" in after.cells[0].source
    assert [c.id for c in after.cells] == [c.id for c in before.cells]
    assert [c.metadata for c in after.cells] == [c.metadata for c in before.cells]


# ------------------------------------------------------------------- the .pct.py is never released
def test_text_sources_in_nbgrader_ignore_list():
    from traitlets.config import Config

    c = Config()
    namespace = {"get_config": lambda: c, "__file__": str(REPO / "course_config.py"), "__name__": "course_config"}
    code = (REPO / "course_config.py").read_text(encoding="utf-8")
    env = os.environ.get("CNNLAB_SANDBOX")
    os.environ["CNNLAB_SANDBOX"] = "off"  # only the ignore list matters here
    try:
        exec(compile(code, "course_config.py", "exec"), namespace)  # noqa: S102 - our own config file
    finally:
        if env is None:
            os.environ.pop("CNNLAB_SANDBOX", None)
        else:
            os.environ["CNNLAB_SANDBOX"] = env
    ignore = list(c.CourseDirectory.ignore)
    for text in _walk("*.pct.py"):
        assert any(fnmatch.fnmatch(text.name, pat) for pat in ignore), (
            f"{text.name} holds solutions but nbgrader would release it: add '*.pct.py' to "
            f"c.CourseDirectory.ignore in course_config.py (now {ignore})")


@pytest.mark.slow
@pytest.mark.course
def test_released_assignment_has_no_text_source(tmp_path):
    bindir = Path(sys.executable).parent
    env = {**os.environ, "CNNLAB_COURSE_CONFIG": str(REPO / "course_config.py"),
           "CNNLAB_COURSE_ROOT": str(tmp_path / "course"), "CNNLAB_EXCHANGE": str(tmp_path / "x"),
           "CNNLAB_SANDBOX": "off", "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"}

    def run(*args: str) -> None:
        proc = subprocess.run([sys.executable, "-m", "cnnlab.course", *args], cwd=tmp_path, env=env, text=True,
                              capture_output=True)
        assert proc.returncode == 0, f"{args} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"

    run("init")
    a = "a1_conv_from_scratch"
    run("nbgrader", "generate_assignment", a)
    released = sorted(p.name for p in (tmp_path / "course" / "release" / a).rglob("*") if p.is_file())
    assert f"{a}.ipynb" in released
    assert not [n for n in released if n.endswith(".py")], f"the release holds {released}"
