"""Copying the student kit or a lecture answers no graded question (issue 22).

``kit_copies/<assignment>/<answer cell>__<source>.py`` holds, for every graded function, the
closest helper(s) of the same topic in the student package and in the lectures' student versions,
copied with a minimal adaptation (see kit_copies/README.md). One course grades them with the real
grader (nbgrader, the sandbox, the hidden cases): one submission per variant, every answer cell
replaced by its copy, beside an honest submission of the reference solutions. Each copied question
scores 0; the honest one scores full marks on every graded function in the same run.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from _course import Course

COPIES = Path(__file__).resolve().parent / "kit_copies"
ASSIGNMENTS = {"a1": "a1_conv_from_scratch", "a2": "a2_blocks_and_budget", "a3": "a3_detection"}
# assignment 2's budgeted model is not a copy question: a small untrained one keeps the run short
CHEAP_MODEL = "torch.manual_seed(0)\nmodel = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))\n"


def corpus() -> dict[str, dict[str, list[Path]]]:
    """{assignment: {answer cell's grade_id: [copy files]}}."""
    found: dict[str, dict[str, list[Path]]] = {}
    for short, assignment in ASSIGNMENTS.items():
        for path in sorted((COPIES / short).glob("*.py")):
            found.setdefault(assignment, {}).setdefault(path.name.split("__")[0], []).append(path)
    return found


def test_the_corpus_covers_every_graded_function():
    """Every graded function of course_config.GRADED_FUNCTIONS has at least one copy in the corpus."""
    from cnnlab.course.config import load
    from cnnlab.course.questions.spec import graded_cells

    cfg, copies = load(), corpus()
    for assignment, names in cfg.GRADED_FUNCTIONS.items():
        cells = graded_cells(assignment)
        for name in names:
            graded = [gid for gid, check in cells.items() if check.names == (name,)]
            assert graded, f"{assignment}: no graded cell checks {name}"
            assert graded[0].removeprefix("test_") in copies.get(assignment, {}), \
                f"{assignment}: kit_copies has no copy for {name} ({graded[0]})"


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """One course: per assignment the honest submission and one submission per copy variant, one grade run each."""
    c = Course(tmp_path_factory.mktemp("kitcopies"), cell_timeout=120)
    c.course("init")
    students: dict[str, dict[str, dict[str, Path]]] = {}
    for assignment, by_cell in corpus().items():
        c.nbgrader("generate_assignment", assignment)
        cheap = {"budget_model": CHEAP_MODEL} if assignment == ASSIGNMENTS["a2"] else {}
        c.submit(assignment, "honest", c.answered(assignment, **cheap))
        variants = max(len(paths) for paths in by_cell.values())
        students[assignment] = {}
        for k in range(variants):
            chosen = {cell: paths[min(k, len(paths) - 1)] for cell, paths in by_cell.items()}
            c.submit(assignment, f"copy{k}", c.answered(assignment, **cheap,
                                                        **{cell: p.read_text() for cell, p in chosen.items()}))
            students[assignment][f"copy{k}"] = chosen
        c.course("grade", assignment, "--jobs", "2", check=False)
    return c, students


@pytest.mark.parametrize("assignment", sorted(ASSIGNMENTS.values()))
def test_every_copy_scores_zero_and_the_honest_solution_full_marks(graded, assignment):
    course, students = graded
    scores = course.scores(assignment)
    points = {c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"]["points"]
              for c in course.source(assignment).cells
              if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"}
    copied = {f"test_{cell}" for chosen in students[assignment].values() for cell in chosen}
    assert {gid: scores["honest"][gid] for gid in copied} == {gid: points[gid] for gid in copied}
    scored = {f"{student}: {path.name}": scores[student][f"test_{cell}"]
              for student, chosen in students[assignment].items() for cell, path in chosen.items()}
    assert scored == {name: 0 for name in scored}, "copies of the kit or a lecture that earned points"
