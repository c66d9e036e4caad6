"""export-grades: the gradebook's final totals as Canvas's and Moodle's grade-import CSV files.

A real nbgrader gradebook (SQLite, built with nbgrader's own API) holds four students and two
assignments; every cell of every file written is checked against the scores put in here.
"""
from __future__ import annotations

import csv
import io
import math
import shutil
from pathlib import Path

import pytest
from nbgrader import api as nbgrader_api

from cnnlab.course.grader.nbgrader_overrides import alembic_head_in_process

from cnnlab.course.__main__ import main
from cnnlab.course.grader.lms_export import ExportError, export_grades, format_score

# What the gradebook holds. a1: q1 (code, 2.5 points) + q2 (code, 15) = 17.5;
# a2: q1 (code, 10) + w1 (written answer, 5) = 15.
STUDENTS = {  # id: (first, last, email)
    "ann": ("Ann", "Lee", "ann@uni.edu"),
    "bob": ("Bob", "Ray", ""),
    "cid": ("Cid", "Moe", "cid@uni.edu"),
    "dee": ("Dee", "Fox", "dee@uni.edu"),
}
# final totals (what may leave); cid has no a1 submission, dee no a2 submission
FINAL = {"a1": {"ann": "17.5", "bob": "0.3"}, "a2": {"ann": "14", "cid": "12.5"}}
# still under review: dee's a1 (a failed verification), bob's a2 (written answer ungraded)
PROVISIONAL = {"a1": {"dee": "2"}, "a2": {"bob": "3"}}
MAX = {"a1": "17.5", "a2": "15"}


def _new_gradebook(path: Path) -> str:
    url = f"sqlite:///{path}"
    alembic_head_in_process()  # as the course's nbgrader processes do: no `alembic heads` subprocess (~4 s)
    nbgrader_api.Gradebook(url).close()
    return url


@pytest.fixture(scope="module")
def gradebook_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("gb") / "gradebook.db"
    url = _new_gradebook(path)
    with nbgrader_api.Gradebook(url) as gb:
        for sid, (first, last, email) in STUDENTS.items():
            gb.add_student(sid, first_name=first, last_name=last, email=email or None)
        gb.add_assignment("a1")
        gb.add_notebook("a1", "a1")
        gb.add_grade_cell("q1", "a1", "a1", max_score=2.5, cell_type="code")
        gb.add_grade_cell("q2", "a1", "a1", max_score=15, cell_type="code")
        gb.add_assignment("a2")
        gb.add_notebook("a2", "a2")
        gb.add_grade_cell("q1", "a2", "a2", max_score=10, cell_type="code")
        gb.add_grade_cell("w1", "a2", "a2", max_score=5, cell_type="markdown")

        def grade(assignment, student, cell, auto=None, manual=None, review=False):
            g = gb.find_grade(cell, assignment, assignment, student)
            g.auto_score, g.manual_score, g.needs_manual_grade = auto, manual, review

        for student in ("ann", "bob", "dee"):
            gb.add_submission("a1", student)
        grade("a1", "ann", "q1", auto=2.5)
        grade("a1", "ann", "q2", auto=15.0)
        grade("a1", "bob", "q1", auto=0.1)  # 0.1 + 0.2 = 0.30000000000000004 in floats
        grade("a1", "bob", "q2", auto=0.2)
        grade("a1", "dee", "q1", auto=2.0)
        grade("a1", "dee", "q2", auto=0.0, review=True)
        for student in ("ann", "bob", "cid"):
            gb.add_submission("a2", student)
        grade("a2", "ann", "q1", auto=10.0)
        grade("a2", "ann", "w1", manual=4.0)
        grade("a2", "bob", "q1", auto=3.0)
        grade("a2", "bob", "w1", review=True)  # nobody graded the written answer yet
        grade("a2", "cid", "q1", auto=7.5)
        grade("a2", "cid", "w1", manual=5.0)
        gb.db.commit()
    return path


@pytest.fixture
def db_url(gradebook_file, tmp_path) -> str:
    copy = tmp_path / "gradebook.db"
    shutil.copyfile(gradebook_file, copy)
    return f"sqlite:///{copy}"


@pytest.fixture
def course(db_url, tmp_path, monkeypatch) -> Path:
    """A course_config.py whose gradebook is the one built above (the CLI reads it)."""
    cfg = tmp_path / "course_config.py"
    cfg.write_text(f"COURSE_ID = 'cnnlab'\nCOURSE_ROOT = {str(tmp_path)!r}\nDB_URL = {db_url!r}\n")
    monkeypatch.setenv("CNNLAB_COURSE_CONFIG", str(cfg))
    return tmp_path


def _rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def test_format_score_writes_no_float_noise():
    assert format_score(0.1 + 0.2) == "0.3"
    assert format_score(17.499999999999996) == "17.5"
    assert format_score(17.0) == "17" and format_score(-0.0) == "0" and format_score(0.0) == "0"
    assert format_score(1 / 3) == "0.3333" and format_score(12.25) == "12.25"
    with pytest.raises(ValueError):
        format_score(math.nan)


def test_moodle_file_holds_every_final_score_and_nothing_else(course, capsys):
    out = course / "moodle.csv"
    assert main(["export-grades", "--lms", "moodle", "--out", str(out)]) == 1  # some scores held back
    rows = _rows(out)
    assert rows[0] == ["First name", "Last name", "ID number", "Email address", "Username", "a1", "a2"]
    assert len(rows) == 1 + len(STUDENTS)
    for row, sid in zip(rows[1:], sorted(STUDENTS)):
        first, last, email = STUDENTS[sid]
        assert row[:5] == [first, last, "", email, sid]
        # Moodle's "no grade" is "-" (a blank would be stored as a grade in a new grade item)
        assert row[5:] == [FINAL["a1"].get(sid, "-"), FINAL["a2"].get(sid, "-")], sid
    captured = capsys.readouterr()
    assert "a1: not exported, still needs manual grading" in captured.err and "dee" in captured.err
    assert "a2: not exported" in captured.err and "bob" in captured.err
    assert "map 'Username' to 'username'" in captured.out
    assert "no e-mail address in the gradebook for bob" in captured.out


def test_allow_needs_review_exports_the_provisional_totals(db_url, tmp_path):
    out = tmp_path / "moodle.csv"
    result = export_grades("moodle", out, db_url, allow_needs_review=True)
    assert result.held_back == {}
    got = {row[4]: row[5:] for row in _rows(out)[1:]}
    for sid in STUDENTS:
        want = [{**FINAL[a], **PROVISIONAL[a]}.get(sid, "-") for a in ("a1", "a2")]
        assert got[sid] == want, sid


def test_canvas_new_file_by_email_lists_who_has_no_email(db_url, tmp_path):
    out = tmp_path / "canvas.csv"
    result = export_grades("canvas", out, db_url, key="email")
    assert {row[3]: row[5:] for row in _rows(out)[2:]} == {
        STUDENTS[sid][2]: [FINAL["a1"].get(sid, ""), FINAL["a2"].get(sid, "")] for sid in STUDENTS}
    assert list(result.unmatched) == ["bob"] and result.unmatched["bob"] == "a1 0.3, a2 (none)"


def test_canvas_new_file_gives_the_nbgrader_id_as_sis_login_id(db_url, tmp_path):
    out = tmp_path / "canvas.csv"
    result = export_grades("canvas", out, db_url, assignments=["a2"], titles={"a2": "Blocks and budget"})
    rows = _rows(out)
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Blocks and budget"]
    assert rows[1] == ["Points Possible", "", "", "", "", MAX["a2"]]
    assert len(rows) == 2 + len(STUDENTS)
    for row, sid in zip(rows[2:], sorted(STUDENTS)):
        first, last, _ = STUDENTS[sid]
        assert row == [f"{last}, {first}", "", "", sid, "", FINAL["a2"].get(sid, "")], sid
    assert result.held_back == {"a2": ["bob"]}
    assert any("'SIS Login ID' = the nbgrader student id" in n for n in result.notes)


# The instructor's Canvas export: CRLF endings, a BOM, quoted names, Canvas's computed columns,
# an existing a1 column (Canvas id 202) with 20 points possible, a muted row, a test student,
# a student who is not in the gradebook, cid's a1 score entered in Canvas by hand; dee is missing.
CANVAS_IN = (
    '\ufeffStudent,ID,SIS User ID,SIS Login ID,Section,Quiz 1 (101),a1 (202),Current Score,Final Score\r\n'
    '    Points Possible,,,,,10.00,20.00,(read only),(read only)\r\n'
    ',,,,,,Manual Posting,,\r\n'
    '"Student, Test",9,,,CNN 101,,,0.00,0.00\r\n'
    '"Lee, Ann",11,S-1,ann,CNN 101,8.00,,80.00,40.00\r\n'
    '"Ray, Bob",12,S-2,BOB,"CNN 101, lab ""B""",7.50,1.00,75.00,37.50\r\n'
    '"Moe, Cid",13,S-3,cid,CNN 101,,9.00,,\r\n'
    '"Zed, Zoe",14,S-4,zoe,CNN 101,10.00,,100.00,50.00\r\n'
)
CANVAS_OUT = (
    '\ufeffStudent,ID,SIS User ID,SIS Login ID,Section,Quiz 1 (101),a1 (202),Current Score,Final Score,a2\r\n'
    '    Points Possible,,,,,10.00,17.5,(read only),(read only),15\r\n'
    ',,,,,,Manual Posting,,,\r\n'
    '"Student, Test",9,,,CNN 101,,,0.00,0.00,\r\n'
    '"Lee, Ann",11,S-1,ann,CNN 101,8.00,17.5,80.00,40.00,14\r\n'
    '"Ray, Bob",12,S-2,BOB,"CNN 101, lab ""B""",7.50,0.3,75.00,37.50,\r\n'
    '"Moe, Cid",13,S-3,cid,CNN 101,,9.00,,,12.5\r\n'
    '"Zed, Zoe",14,S-4,zoe,CNN 101,10.00,,100.00,50.00,\r\n'
)


def test_canvas_round_trip_fills_the_columns_and_keeps_every_other_byte(course, capsys):
    src = course / "canvas_export.csv"
    src.write_bytes(CANVAS_IN.encode("utf-8"))
    out = course / "canvas_import.csv"
    rc = main(["export-grades", "--lms", "canvas", "--lms-gradebook", str(src), "--out", str(out)])
    assert out.read_bytes().decode("utf-8") == CANVAS_OUT
    assert src.read_bytes() == CANVAS_IN.encode("utf-8")
    # the same file as Canvas's CSV reader sees it: every cell of the two assignment columns
    rows = list(csv.reader(io.StringIO(CANVAS_OUT.lstrip("\ufeff"), newline="")))
    a1, a2 = rows[0].index("a1 (202)"), rows[0].index("a2")
    assert (rows[1][a1], rows[1][a2]) == (MAX["a1"], MAX["a2"])
    got = {row[3].lower(): (row[a1], row[a2]) for row in rows[3:]}
    assert got == {"": ("", ""), "ann": (FINAL["a1"]["ann"], FINAL["a2"]["ann"]),
                   "bob": (FINAL["a1"]["bob"], ""),          # a2 held back (written answer ungraded)
                   "cid": ("9.00", FINAL["a2"]["cid"]),       # no a1 submission: Canvas's own score kept
                   "zoe": ("", "")}
    captured = capsys.readouterr()
    assert rc == 1
    assert "Canvas has 20.00 points possible, the gradebook's maximum is 17.5" in captured.out
    assert "a2: new column 'a2'" in captured.out
    assert "in no row of" in captured.err and "  dee: a1 (none), a2 (none)" in captured.err
    assert "bob" in captured.err.split("a2: not exported")[1]


def test_canvas_matches_by_email_and_by_canvas_assignment_id(db_url, tmp_path):
    src = tmp_path / "export.csv"
    src.write_text("Student,ID,SIS Login ID,Section,Nets (555)\n"
                   "Ann,11,ann@uni.edu,S,\nCid,13,CID@uni.edu,S,\n", encoding="utf-8")
    out = tmp_path / "import.csv"
    result = export_grades("canvas", out, db_url, assignments=["a2"], lms_gradebook=src, key="email",
                           titles={"a2": "Renamed in Canvas (555)"})
    assert out.read_text(encoding="utf-8") == ("Student,ID,SIS Login ID,Section,Nets (555)\n"
                                               "Ann,11,ann@uni.edu,S,14\nCid,13,CID@uni.edu,S,12.5\n")
    assert set(result.unmatched) == {"bob"}  # no e-mail address in the gradebook


def test_canvas_semicolon_export_keeps_its_delimiter(db_url, tmp_path):
    """Canvas exports with semicolons when the user's setting asks for them, and reads them back."""
    src = tmp_path / "export.csv"
    src.write_text("Student;ID;SIS Login ID;Section;a1 (202)\n"
                   "    Points Possible;;;;17,50\n\"Lee; Ann\";11;ann;S;\n", encoding="utf-8")
    out = tmp_path / "import.csv"
    export_grades("canvas", out, db_url, lms_gradebook=src)
    assert out.read_text(encoding="utf-8") == ("Student;ID;SIS Login ID;Section;a1 (202);a2\n"
                                               "    Points Possible;;;;17,50;15\n\"Lee; Ann\";11;ann;S;17.5;14\n")


def test_the_canvas_export_is_never_overwritten_without_force(db_url, tmp_path):
    src = tmp_path / "canvas.csv"
    src.write_bytes(CANVAS_IN.encode("utf-8"))
    with pytest.raises(ExportError, match="refusing to overwrite it"):
        export_grades("canvas", src, db_url, lms_gradebook=src)
    assert src.read_bytes() == CANVAS_IN.encode("utf-8")
    export_grades("canvas", src, db_url, lms_gradebook=src, force=True)
    assert src.read_bytes().decode("utf-8") == CANVAS_OUT


def test_a_canvas_file_without_the_match_column_is_refused(course, capsys):
    src = course / "export.csv"
    src.write_text("Student,ID,SIS Login ID,Section,a1\nAnn,11,ann,S,\n", encoding="utf-8")
    out = course / "out.csv"
    rc = main(["export-grades", "--lms", "canvas", "--lms-gradebook", str(src), "--match", "SIS User ID",
               "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2 and not out.exists()
    assert "--match 'SIS User ID': the Canvas file has no such column" in err
    assert "its columns: Student, ID, SIS Login ID, Section, a1" in err and "use one of SIS Login ID, ID" in err


@pytest.mark.parametrize("content, message", [
    ("name,score\nann,3\n", "does not look like Canvas's gradebook export"),
    ("", "--lms-gradebook is empty"),
    ("Student,ID,SIS Login ID,Section\nAnn,1,ann,S\nAnn,2,ann,S\n",
     "'ann' is on two rows of the Canvas file (2 and 3)"),
])
def test_bad_canvas_files_are_refused_with_what_was_expected(db_url, tmp_path, content, message):
    src = tmp_path / "export.csv"
    src.write_text(content, encoding="utf-8")
    with pytest.raises(ExportError) as info:
        export_grades("canvas", tmp_path / "out.csv", db_url, lms_gradebook=src)
    assert message in str(info.value)
    assert not (tmp_path / "out.csv").exists()


def test_unknown_assignment_and_unknown_title_are_refused(db_url, tmp_path):
    with pytest.raises(ExportError, match=r"unknown assignment\(s\) 'a9': the gradebook has a1, a2"):
        export_grades("moodle", tmp_path / "m.csv", db_url, assignments=["a1", "a9"])
    with pytest.raises(ExportError, match="--title for a2, which is not exported"):
        export_grades("moodle", tmp_path / "m.csv", db_url, assignments=["a1"], titles={"a2": "x"})
    with pytest.raises(ExportError, match="--lms-gradebook is for Canvas only"):
        export_grades("moodle", tmp_path / "m.csv", db_url, lms_gradebook=tmp_path / "x.csv")
    assert not (tmp_path / "m.csv").exists()


def test_an_empty_or_missing_gradebook_is_refused(tmp_path):
    with pytest.raises(ExportError, match=f"no gradebook at {tmp_path / 'none.db'}: expected the course's"):
        export_grades("canvas", tmp_path / "c.csv", f"sqlite:///{tmp_path / 'none.db'}")
    assert not (tmp_path / "none.db").exists()  # and none was created
    url = _new_gradebook(tmp_path / "empty.db")
    with pytest.raises(ExportError, match="holds no assignment: generate and grade one first"):
        export_grades("canvas", tmp_path / "c.csv", url)
    with nbgrader_api.Gradebook(url) as gb:
        gb.add_assignment("a1")
        gb.add_student("ann")
    with pytest.raises(ExportError, match="no graded submission of a1 in the gradebook"):
        export_grades("canvas", tmp_path / "c.csv", url)
    assert not (tmp_path / "c.csv").exists()
