"""cnnlab.course.kit.student_notebooks: solution cells go, everything else stays."""
from __future__ import annotations

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from cnnlab.course.kit.student_notebooks import student_version, write_student_version


def _lecture() -> nbformat.NotebookNode:
    nb = new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    intro = new_markdown_cell("# Exercises", id="intro")
    answer = new_code_cell("answer = None  # YOUR ANSWER", id="answer", metadata={"tags": ["exercise"]})
    answer.outputs = [new_output("stream", name="stdout", text="hi\n")]
    answer.execution_count = 3
    solution = new_code_cell("answer = 42", id="sol",
                             metadata={"tags": ["solution"], "jupyter": {"source_hidden": True}})
    check = new_code_cell("exercises.check(answer)", id="check",
                          metadata={"nbgrader": {"grade": False}, "tags": ["check", "other"]})
    check.outputs = [new_output("execute_result", data={"text/plain": "True"}, execution_count=4)]
    check.execution_count = 4
    untagged = new_code_cell("x = 1", id="plain")
    nb.cells = [intro, answer, solution, check, untagged]
    return nb


def test_solution_cells_dropped_rest_kept():
    nb = _lecture()
    student = student_version(nb)
    assert [c.id for c in student.cells] == ["intro", "answer", "check", "plain"]
    assert [c.source for c in student.cells] == [nb.cells[i].source for i in (0, 1, 3, 4)]
    assert student.cells[1].metadata == {"tags": ["exercise"]}
    assert student.cells[2].metadata == {"nbgrader": {"grade": False}, "tags": ["check", "other"]}
    assert student.metadata == nb.metadata
    nbformat.validate(student)


def test_outputs_cleared_and_input_untouched():
    nb = _lecture()
    before = nbformat.writes(nb)
    student = student_version(nb)
    for cell in student.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
    assert nbformat.writes(nb) == before  # the original keeps its solution and outputs


def test_tag_must_match_exactly():
    nb = new_notebook(cells=[new_code_cell("a", metadata={"tags": ["solutions", "my-solution"]}),
                             new_code_cell("b", metadata={"tags": []}), new_code_cell("c")])
    assert len(student_version(nb).cells) == 3


def test_not_a_notebook():
    with pytest.raises(TypeError, match="needs a notebook"):
        student_version("notebook.ipynb")  # type: ignore[arg-type]


def test_write_student_version(tmp_path):
    src = tmp_path / "lecture.ipynb"
    nbformat.write(_lecture(), src)
    dst = write_student_version(src, tmp_path / "student" / "sub")
    assert dst == tmp_path / "student" / "sub"
    out = nbformat.read(dst, as_version=4)
    assert "answer = 42" not in nbformat.writes(out) and len(out.cells) == 4
    (tmp_path / "dir").mkdir()
    assert write_student_version(src, tmp_path / "dir") == tmp_path / "dir" / "lecture.ipynb"
    with pytest.raises(ValueError, match="refusing"):
        write_student_version(src, src)
    with pytest.raises(FileNotFoundError):
        write_student_version(tmp_path / "missing.ipynb", tmp_path / "x.ipynb")
