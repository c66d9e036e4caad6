"""The similarity report (cnnlab.course.grader.similarity): copies flagged, independent solutions not.

Measured on tests/course/similarity_corpus (assignment 3's four answers; see its README): three
independently written correct solutions, three disguised copies of them (renamed variables,
reordered functions, changed comments) and one copy of the kit's IoU code.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from itertools import combinations
from pathlib import Path

import nbformat
import pytest

from cnnlab.course.grader import similarity as sim

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "course" / "similarity_corpus"
A3 = "a3_detection"
SOURCE = ROOT / "notebooks" / "assignments" / A3 / f"{A3}.ipynb"
ORIGINALS = ("alice", "bob", "carol")
COPIES = {"eve": "alice", "frank": "bob", "gina": "carol"}
KIT_COPIES = {("hank", "box_giou"): "kit:cnnlab/detection/iou.py"}


def corpus() -> dict[str, dict[str, str]]:
    return {d.name: {f.stem: f.read_text() for f in sorted(d.glob("*.py"))}
            for d in sorted(CORPUS.iterdir()) if d.is_dir()}


def boilerplate() -> dict[str, str]:
    return {q: sim.release_text(t) for q, t in sim.answer_cells(SOURCE).items()}


def test_release_text_is_the_stub_nbgrader_releases():
    cells = boilerplate()
    assert set(cells) == {"box_giou", "soft_nms", "decode_anchors", "coco_ap"}
    assert "raise NotImplementedError()" in cells["box_giou"] and "torch.maximum" not in cells["box_giou"]
    assert cells["box_giou"].startswith("def box_giou(a, b):")


def test_answer_cells_read_hostile_notebooks_without_failing(tmp_path):
    (tmp_path / "garbage.ipynb").write_text("{not json")
    (tmp_path / "deep.ipynb").write_text("[" * 100_000 + "]" * 100_000)
    (tmp_path / "odd.ipynb").write_text(json.dumps({"cells": [1, {"cell_type": "code", "metadata": []},
                                                              {"cell_type": "code", "source": ["x = 1"],
                                                               "metadata": {"nbgrader": {"solution": True,
                                                                                         "grade_id": "q"}}}]}))
    os.symlink(SOURCE, tmp_path / "link.ipynb")
    assert sim.answer_cells(tmp_path / "garbage.ipynb") == {}
    assert sim.answer_cells(tmp_path / "deep.ipynb") == {}
    assert sim.answer_cells(tmp_path / "link.ipynb") == {}  # a student's symlink is not followed
    assert sim.answer_cells(tmp_path / "odd.ipynb") == {"q": "x = 1"}


def test_report_escapes_student_text_and_highlights_the_overlap(tmp_path):
    code = ('def f(x):\n    """<script>alert("hi")</script>"""\n    total = 0\n    for i in range(len(x)):\n'
            '        total = total + x[i] * x[i] - 3 * x[i] + 7\n    return total / (len(x) + 1) & 0xff <b>\n')
    renamed = code.replace("total", "acc").replace("x", "values")
    report = sim.compare({"s1": {"q": code}, "s2": {"q": renamed}, "s3": {"q": "def f(x):\n    return sorted(x)[::-1]\n"}})
    assert [(p.a.owner, p.b.owner) for p in report.flagged] == [("s1", "s2")]
    page = sim.write_html(report, tmp_path / "r.html", "t <i>").read_text()
    assert "<script>" not in page and "&lt;script&gt;" in page and "<b>" not in page and "<i>" not in page
    assert "<mark>" in page
    rows = (sim.write_csv(report, tmp_path / "p.csv")).read_text().splitlines()
    assert rows[0].startswith("question,a,a_kind,b,b_kind") and rows[1].startswith("q,s1,submission,s2,submission")


@pytest.mark.slow
def test_copies_are_flagged_and_independent_solutions_are_not():
    """Rates on the corpus: every disguised copy flagged, no pair of independent solutions flagged."""
    from cnnlab.course.config import load

    cfg = load()
    references = sim.kit_documents(ROOT / "cnnlab") + sim.lecture_documents(ROOT / p for p in cfg.LECTURES)
    report = sim.compare(corpus(), references=references, boilerplate=boilerplate())
    flagged = {(p.question, p.a.owner, p.b.owner) for p in report.flagged}
    questions = ("box_giou", "coco_ap", "decode_anchors", "soft_nms")
    should = {(q, *sorted((copy, source))) for copy, source in COPIES.items() for q in questions}
    should |= {(q, who, kit) for (who, q), kit in KIT_COPIES.items()}
    innocent = {(q, a, b) for q in questions for a, b in combinations(ORIGINALS, 2)}
    innocent |= {(p.question, p.a.owner, p.b.owner) for p in report.pairs
                 if p.a.owner in ORIGINALS and p.b.kind in ("kit", "lecture")}
    caught = should & flagged
    false_alarms = innocent & flagged
    print(f"copies flagged: {len(caught)}/{len(should)}; independent pairs flagged: {len(false_alarms)}/{len(innocent)}"
          f"; highest independent score {max(p.score for p in report.pairs if (p.question, p.a.owner, p.b.owner) in innocent):.2f}"
          f"; lowest copy score {min(p.score for p in report.pairs if (p.question, p.a.owner, p.b.owner) in should):.2f}")
    assert caught == should, sorted(should - caught)
    assert not false_alarms, sorted(false_alarms)


@pytest.mark.slow
def test_command_writes_the_report_and_review_notes_without_touching_scores(tmp_path):
    root = tmp_path / "course"
    texts = corpus()
    for student in ("alice", "bob", "eve"):
        nb = nbformat.read(str(SOURCE), as_version=4)
        for cell in nb.cells:
            gid = cell.metadata.get("nbgrader", {}).get("grade_id")
            if cell.metadata.get("nbgrader", {}).get("solution") and gid in texts[student]:
                cell.source = texts[student][gid]
        folder = root / "submitted" / student / A3
        folder.mkdir(parents=True)
        nbformat.write(nb, str(folder / f"{A3}.ipynb"))
    past = tmp_path / "past" / "2025" / "submitted" / "old_carol" / A3
    past.mkdir(parents=True)
    nb = nbformat.read(str(SOURCE), as_version=4)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if cell.metadata.get("nbgrader", {}).get("solution") and gid in texts["carol"]:
            cell.source = texts["carol"][gid]
    nbformat.write(nb, str(past / f"{A3}.ipynb"))
    gina = root / "submitted" / "gina" / A3
    gina.mkdir(parents=True)
    nb = nbformat.read(str(SOURCE), as_version=4)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if cell.metadata.get("nbgrader", {}).get("solution") and gid in texts["gina"]:
            cell.source = texts["gina"][gid]
    nbformat.write(nb, str(gina / f"{A3}.ipynb"))
    verification = root / "verification" / A3
    verification.mkdir(parents=True)
    before = {"verdicts": {A3: {"test_box_giou": {"passed": True}}}, "status": "ok", "score": 12}
    (verification / "eve.json").write_text(json.dumps(before))
    (verification / "bob.json").write_text(json.dumps(before))
    env = {**os.environ, "CNNLAB_COURSE_CONFIG": str(ROOT / "course_config.py"), "CNNLAB_COURSE_ROOT": str(root)}
    proc = subprocess.run([sys.executable, "-m", "cnnlab.course", "similarity", A3, "--past", str(tmp_path / "past")],
                          env=env, capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "review notes added for: alice, eve, gina" in proc.stdout
    eve = json.loads((verification / "eve.json").read_text())
    assert {k: eve[k] for k in before} == before  # verdicts and score untouched
    assert any("overlaps alice" in n for n in eve["similarity_review"]["notes"])
    gina_notes = json.loads((verification / "gina.json").read_text())["similarity_review"]["notes"]
    assert any("past:2025/old_carol" in n for n in gina_notes)  # an earlier year's submission
    assert json.loads((verification / "bob.json").read_text()) == before  # not flagged: no note
    page = (root / "similarity" / A3 / "report.html").read_text()
    assert "eve" in page and "<mark>" in page
    rows = (root / "similarity" / A3 / "pairs.csv").read_text().splitlines()
    assert any(r.startswith("box_giou,alice,submission,eve,submission") for r in rows)
