"""Assignment totals from the nbgrader gradebook as the CSV files that Canvas and Moodle import.

What each LMS reads (checked in their source code, not only their guides):

**Canvas** (gradebook "Import", ``app/models/gradebook_importer.rb`` in instructure/canvas-lms;
guide "How do I import grades in the Gradebook?"):

* header row: ``Student``, ``ID``, then ``SIS Login ID`` alone or ``SIS User ID``, ``SIS Login ID``
  (optionally ``Integration ID``, ``Root Account``), then ``Section``; the header is refused
  ("Invalid header row") unless the column after the identity columns is ``Section``. Every later
  column is an assignment, except the computed ``Current/Final/Override Score|Points|Grade``
  columns, which Canvas ignores, and its custom columns (matched by title);
* an assignment column is ``Title (canvas_id)`` for an existing assignment; a title without an id
  is matched by title, else Canvas creates a new assignment with that title;
* a row whose first cell contains ``Points Possible`` sets each assignment's points possible;
  a row of only ``Muted``/``Manual Posting`` cells is skipped;
* a student row is matched by Canvas's user ``ID``, else ``SIS User ID``, else ``SIS Login ID``,
  else by name; rows it cannot match are shown to the teacher, who matches or ignores them;
* a blank cell means "no score": a blank where Canvas holds a score *removes* that score, so a
  cell this module has no final score for keeps what the instructor's export held.

So the honest workflow is: export Canvas's gradebook (Grades > Export > Export Entire Gradebook),
and :func:`canvas_csv` fills in (or adds) one column per assignment, matching each nbgrader
student against a column of that file (``SIS Login ID`` by default), every other cell and row kept
byte for byte. Without that file it writes ``Student, ID, SIS User ID, SIS Login ID, Section``
with ``SIS Login ID`` = the nbgrader id, which Canvas matches when the university's login ids are
the nbgrader ids.

**Moodle** (Grades > Import > CSV file, ``grade/import/csv/classes/load_data.php`` in
moodle/moodle; MoodleDocs "Grade import"): any columns; in the preview the teacher maps one
column ("Map from") to a user field ("Map to": ``username``, ``useremail``, ``useridnumber`` or
the internal ``userid``) and each grade column to an existing or a new grade item. A row whose
user is not found aborts the whole import; a grade above 100 aborts it unless the site allows
unlimited grades; ``-`` (or a blank for an existing item) means "no grade", but a blank for a new
grade item is stored as a grade, so "no grade" is written ``-``. :func:`moodle_csv` writes the
columns of Moodle's own export (``First name, Last name, ID number, Email address``) plus
``Username`` (= the nbgrader id) and one column per assignment: map ``Username`` to
``username`` (or ``Email address`` to ``useremail``).

**Which scores leave.** A student's total for an assignment is the sum of the question scores
that :func:`cnnlab.course.grader.report.gradebook_scores` reads. Only final totals leave: no
submission gives no score (a blank, never 0), and a submission with any cell still marked "needs
manual grade" (a failed verification, an ungraded written answer) gives no score either and is
listed, unless ``allow_needs_review`` (its provisional total, 0 for the cells under review, then
leaves).
"""
from __future__ import annotations

import csv
import io
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["CANVAS_MATCH_COLUMNS", "LMS_NAMES", "ExportError", "ExportResult", "Grades", "Student",
           "canvas_csv", "export_grades", "format_score", "moodle_csv", "read_grades"]

LMS_NAMES = ("canvas", "moodle")
CANVAS_MATCH_COLUMNS = ("SIS Login ID", "SIS User ID", "ID")
CANVAS_IDENTITY = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
MOODLE_IDENTITY = ["First name", "Last name", "ID number", "Email address", "Username"]
MOODLE_NO_GRADE = "-"
_TITLE_ID = re.compile(r"^(.*\S)\s*\((\d+)\)\s*$")


class ExportError(ValueError):
    """Input that cannot be exported; the message says what was wrong and what was expected."""


@dataclass(frozen=True)
class Student:
    id: str
    first_name: str = ""
    last_name: str = ""
    email: str = ""

    @property
    def display_name(self) -> str:
        """``Last, First`` as Canvas sorts names, else the nbgrader id."""
        if self.first_name and self.last_name:
            return f"{self.last_name}, {self.first_name}"
        return self.first_name or self.last_name or self.id


@dataclass
class Grades:
    """Final totals of some assignments, and who is left out and why."""
    assignments: list[str]
    max_scores: dict[str, float]
    students: dict[str, Student]
    totals: dict[str, dict[str, float]]           # assignment -> student -> total that may leave
    needs_review: dict[str, list[str]] = field(default_factory=dict)  # assignment -> held back


@dataclass
class ExportResult:
    path: Path
    rows: int
    held_back: dict[str, list[str]]       # assignment -> students whose score was not exported
    unmatched: dict[str, str]             # gradebook student with no row in the LMS file -> their scores
    notes: list[str]


def format_score(value: float) -> str:
    """A score as a short decimal, without float noise: 17.5, 17, 0.33 (4 decimals at most)."""
    if not math.isfinite(value):
        raise ValueError(f"not a finite score: {value!r}")
    text = f"{round(value, 4) + 0.0:.4f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def read_grades(db_url: str, assignments: list[str] | None = None, course_id: str | None = None,
                allow_needs_review: bool = False) -> Grades:
    """Totals per student of ``assignments`` (default: every assignment in the gradebook).

    Scores come from :func:`~cnnlab.course.grader.report.gradebook_scores`; the students' names,
    e-mail addresses and the "needs manual grade" flags, which it does not return, from nbgrader's
    ``Gradebook`` on the same database.
    """
    from nbgrader.api import Gradebook

    from .report import gradebook_scores

    if db_url.startswith("sqlite:///") and not Path(db_url[len("sqlite:///"):]).is_file():
        raise ExportError(f"no gradebook at {db_url[len('sqlite:///'):]}: expected the course's gradebook.db "
                          "(run from the course repository, or set CNNLAB_DB_URL / --config)")
    kwargs = {"course_id": course_id} if course_id else {}
    with Gradebook(db_url, **kwargs) as gb:
        known = [a.name for a in gb.assignments]
        if not known:
            raise ExportError(f"the gradebook {_safe_url(db_url)} holds no assignment: generate and grade one "
                              "first (python -m cnnlab.course nbgrader generate_assignment ID, then grade ID)")
        chosen = list(dict.fromkeys(assignments)) if assignments else known
        unknown = [a for a in chosen if a not in known]
        if unknown:
            raise ExportError(f"unknown assignment(s) {', '.join(map(repr, unknown))}: the gradebook has "
                              f"{', '.join(known)} (give --assignment one of these)")
        students = {s.id: Student(s.id, s.first_name or "", s.last_name or "", s.email or "")
                    for s in gb.students}
        flagged = {a: {sub.student.id for sub in gb.find_assignment(a).submissions if sub.needs_manual_grade}
                   for a in chosen}
    if not students:
        raise ExportError(f"the gradebook {_safe_url(db_url)} has no students: add them (nbgrader db student "
                          "import roster.csv) and grade their submissions first")
    grades = Grades(chosen, {}, students, {}, {})
    for a in chosen:
        _, maxima, scores = gradebook_scores(db_url, a, course_id)
        grades.max_scores[a] = sum(maxima)
        totals, held = {}, []
        for student, row in scores.items():
            values = list(row.values())
            incomplete = any(math.isnan(v) for v in values)
            if (student in flagged[a] or incomplete) and not allow_needs_review:
                held.append(student)
                continue
            totals[student] = sum(v for v in values if not math.isnan(v))
        grades.totals[a] = totals
        grades.needs_review[a] = sorted(held)
    if not any(grades.totals[a] or grades.needs_review[a] for a in chosen):
        raise ExportError(f"no graded submission of {', '.join(chosen)} in the gradebook: collect and grade "
                          "them first (python -m cnnlab.course grade ID)")
    return grades


def moodle_csv(grades: Grades, titles: dict[str, str] | None = None) -> str:
    """Moodle's grade-import CSV: one row per gradebook student, one column per assignment."""
    titles = _titles(grades, titles)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(MOODLE_IDENTITY + [titles[a] for a in grades.assignments])
    for sid, s in sorted(grades.students.items()):
        cells = [_score_or(grades, a, sid, MOODLE_NO_GRADE) for a in grades.assignments]
        writer.writerow([s.first_name, s.last_name, "", s.email, s.id, *cells])
    return out.getvalue()


def canvas_csv(grades: Grades, titles: dict[str, str] | None = None, lms_gradebook: str | None = None,
               match: str = "SIS Login ID", key: str = "id") -> tuple[str, list[str], list[str]]:
    """Canvas's gradebook-import CSV: ``lms_gradebook`` (the text of Canvas's export) with the
    assignment columns filled in or added, else a new file.

    Args:
        grades (Grades): what :func:`read_grades` returned.
        titles (dict[str, str]): Canvas column title per nbgrader assignment (default: the id);
            ``Title (1234)`` names Canvas assignment 1234.
        lms_gradebook (str): the instructor's Canvas export, as text.
        match (str): the column of ``lms_gradebook`` that holds each student's ``key``.
        key (str): ``id`` (nbgrader student id) or ``email`` (nbgrader student e-mail).

    Returns:
        (CSV text, gradebook students with a score but no Canvas row, notes for the instructor)
    """
    if key not in ("id", "email"):
        raise ExportError(f"--student-key {key!r}: expected 'id' or 'email'")
    titles = _titles(grades, titles)
    if lms_gradebook is None:
        no_key = sorted(s for s in _scored_students(grades) if key == "email" and not grades.students[s].email)
        return _canvas_new(grades, titles, match, key), no_key, [
            f"new Canvas file: Canvas matches its students by 'SIS Login ID' = the nbgrader student "
            f"{key}; export Canvas's gradebook and pass it as --lms-gradebook when they differ"]
    return _canvas_fill(grades, titles, lms_gradebook, match, key)


def export_grades(lms: str, out: Path, db_url: str, assignments: list[str] | None = None,
                  lms_gradebook: Path | None = None, match: str = "SIS Login ID", key: str = "id",
                  titles: dict[str, str] | None = None, course_id: str | None = None,
                  allow_needs_review: bool = False, force: bool = False) -> ExportResult:
    """Write ``out``, the grade-import CSV of ``lms`` (``canvas`` or ``moodle``)."""
    if lms not in LMS_NAMES:
        raise ExportError(f"--lms {lms!r}: expected one of {', '.join(LMS_NAMES)}")
    out = Path(out)
    text = None
    if lms_gradebook is not None:
        if lms != "canvas":
            raise ExportError("--lms-gradebook is for Canvas only: Moodle's import takes the columns written "
                              "here and lets you map them on its preview page")
        lms_gradebook = Path(lms_gradebook)
        if not lms_gradebook.is_file():
            raise ExportError(f"--lms-gradebook {lms_gradebook}: no such file (expected the CSV that Canvas's "
                              "Grades > Export > Export Entire Gradebook downloads)")
        if out.exists() and out.resolve() == lms_gradebook.resolve() and not force:
            raise ExportError(f"--out {out} is the Canvas export you gave: refusing to overwrite it "
                              "(write to another file, or add --force)")
        try:
            text = lms_gradebook.read_bytes().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ExportError(f"--lms-gradebook {lms_gradebook} is not UTF-8 text ({exc.reason} at byte "
                              f"{exc.start}): expected the CSV file exactly as Canvas exported it") from None
    grades = read_grades(db_url, assignments, course_id, allow_needs_review)
    if lms == "moodle":
        body, unmatched, notes = moodle_csv(grades, titles), [], _moodle_notes(grades)
    else:
        body, unmatched, notes = canvas_csv(grades, titles, text, match, key)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    with tmp.open("w", encoding="utf-8", newline="") as fh:
        fh.write(body)
    os.replace(tmp, out)
    rows = sum(1 for _ in csv.reader(io.StringIO(body.lstrip("\ufeff"), newline="")))
    held = {a: s for a, s in grades.needs_review.items() if s}
    lost = {sid: ", ".join(f"{a} {_score_or(grades, a, sid, '(none)')}" for a in grades.assignments)
            for sid in unmatched}
    return ExportResult(out, rows, held, lost, notes)


# -- helpers -------------------------------------------------------------------------------------

def _safe_url(url: str) -> str:
    """The database URL without its password."""
    return re.sub(r"(//[^:/@]+):[^@]*@", r"\1:***@", url)


def _titles(grades: Grades, titles: dict[str, str] | None) -> dict[str, str]:
    titles = dict(titles or {})
    extra = [a for a in titles if a not in grades.assignments]
    if extra:
        raise ExportError(f"--title for {', '.join(extra)}, which is not exported (exported: "
                          f"{', '.join(grades.assignments)})")
    return {a: titles.get(a) or a for a in grades.assignments}


def _score_or(grades: Grades, assignment: str, student: str, missing: str) -> str:
    total = grades.totals[assignment].get(student)
    return missing if total is None else format_score(total)


def _moodle_notes(grades: Grades) -> list[str]:
    notes = ["Moodle: Grades > Import > CSV file; on the preview map 'Username' to 'username' (or 'Email "
             "address' to 'useremail') and each assignment column to its grade item (or 'new grade item')"]
    no_email = sorted(s.id for s in grades.students.values() if not s.email)
    if no_email:
        notes.append(f"no e-mail address in the gradebook for {', '.join(no_email)}: map 'Username', not "
                     "'Email address' (Moodle aborts the import on a row it cannot match)")
    big = [a for a in grades.assignments if grades.max_scores[a] > 100]
    if big:
        notes.append(f"{', '.join(big)} can score above 100: Moodle refuses such grades unless the site "
                     "allows unlimited grades (Site administration > Grades > General settings)")
    return notes


def _scored_students(grades: Grades) -> set[str]:
    return {s for a in grades.assignments for s in (*grades.totals[a], *grades.needs_review[a])}


def _canvas_new(grades: Grades, titles: dict[str, str], match: str, key: str) -> str:
    if match != "SIS Login ID":
        raise ExportError(f"--match {match!r} needs --lms-gradebook: a new file can only give the nbgrader "
                          "id as 'SIS Login ID' (Canvas's own IDs are in its gradebook export)")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CANVAS_IDENTITY + [titles[a] for a in grades.assignments])
    writer.writerow(["Points Possible", "", "", "", ""] + [format_score(grades.max_scores[a])
                                                             for a in grades.assignments])
    for sid, s in sorted(grades.students.items()):
        login = s.id if key == "id" else s.email
        writer.writerow([s.display_name, "", "", login, "", *(_score_or(grades, a, sid, "")
                                                              for a in grades.assignments)])
    return out.getvalue()


def _raw_records(text: str, delimiter: str) -> list[tuple[list[str], str]]:
    """Split CSV text into records of raw (still quoted) fields and each record's line ending,
    so that a record can be written back exactly as it was read."""
    records: list[tuple[list[str], str]] = []
    fields: list[str] = []
    start = i = 0
    quoted = False
    n = len(text)
    while i < n:
        c = text[i]
        if quoted:
            if c == '"':
                if i + 1 < n and text[i + 1] == '"':
                    i += 1
                else:
                    quoted = False
        elif c == '"':
            quoted = True
        elif c == delimiter:
            fields.append(text[start:i])
            start = i + 1
        elif c in "\r\n":
            fields.append(text[start:i])
            ending = "\r\n" if text.startswith("\r\n", i) else c
            records.append((fields, ending))
            fields = []
            i += len(ending)
            start = i
            continue
        i += 1
    if start < n or fields:
        fields.append(text[start:n])
        records.append((fields, ""))
    return records


def _value(raw: str) -> str:
    """The value of one raw CSV field."""
    if len(raw) >= 2 and raw.startswith('"') and raw.endswith('"'):
        return raw[1:-1].replace('""', '"')
    return raw


def _quote(value: str, delimiter: str) -> str:
    if any(ch in value for ch in (delimiter, '"', "\r", "\n")) or value != value.strip():
        return '"' + value.replace('"', '""') + '"'
    return value


def _canvas_fill(grades: Grades, titles: dict[str, str], text: str, match: str, key: str
                 ) -> tuple[str, list[str], list[str]]:
    bom = "\ufeff" if text.startswith("\ufeff") else ""
    text = text[len(bom):]
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    records = _raw_records(text, delimiter)
    if not records:
        raise ExportError("--lms-gradebook is empty: expected Canvas's gradebook export (a header row "
                          f"{', '.join(CANVAS_IDENTITY)}, ..., then one row per student)")
    header = [_value(f) for f in records[0][0]]
    if len(header) < 3 or "Student" not in header[0] or "ID" not in header[1]:
        raise ExportError(f"--lms-gradebook does not look like Canvas's gradebook export: its header starts "
                          f"{', '.join(header[:5])!r}; expected {', '.join(CANVAS_IDENTITY)}, then the assignments")
    if match not in header:
        raise ExportError(f"--match {match!r}: the Canvas file has no such column (its columns: "
                          f"{', '.join(header[:8])}{', ...' if len(header) > 8 else ''}); use one of "
                          f"{', '.join(c for c in CANVAS_MATCH_COLUMNS if c in header)}")
    match_at = header.index(match)
    notes: list[str] = []

    # the column of each assignment: an existing one (by Canvas id, else by title) or a new one
    column_of: dict[str, int] = {}
    added: list[str] = []
    for a in grades.assignments:
        title = titles[a]
        wanted = _TITLE_ID.match(title)
        found = None
        for k, h in enumerate(header):
            have = _TITLE_ID.match(h)
            if wanted and have and have.group(2) == wanted.group(2):
                found = k
            elif not wanted and (h == title or (have and have.group(1) == title)):
                found = k
            if found is not None:
                break
        if found is None:
            if wanted:
                raise ExportError(f"no column for Canvas assignment id {wanted.group(2)} ({a}) in the Canvas file: "
                                  "export the gradebook again, or give a title without an id to create an assignment")
            column_of[a] = len(header) + len(added)
            added.append(title)
            notes.append(f"{a}: new column {title!r} (Canvas creates an assignment of that title)")
        else:
            column_of[a] = found
            notes.append(f"{a}: column {header[found]!r}")
    width = len(header) + len(added)

    # which row is which student
    wanted_key = {(s.id if key == "id" else s.email).casefold(): sid for sid, s in grades.students.items()
                  if (s.id if key == "id" else s.email)}
    row_of: dict[str, int] = {}
    points_row = None
    for r, (fields, _) in enumerate(records[1:], start=1):
        values = [_value(f) for f in fields]
        if values and "Points Possible" in values[0]:
            points_row = r
            continue
        if match_at >= len(values) or not values[match_at].strip():
            continue
        sid = wanted_key.get(values[match_at].strip().casefold())
        if sid is None:
            continue
        if sid in row_of:
            raise ExportError(f"{match} {values[match_at]!r} is on two rows of the Canvas file "
                              f"({row_of[sid] + 1} and {r + 1}): expected one row per student")
        row_of[sid] = r

    student_at = {r: sid for sid, r in row_of.items()}
    out_parts = [bom]
    for r, (fields, ending) in enumerate(records):
        fields = list(fields)
        changes: dict[int, str] = {}
        if r == 0:
            changes = {column_of[a]: titles[a] for a in grades.assignments if column_of[a] >= len(header)}
        elif r == points_row:
            for a in grades.assignments:
                k, pp = column_of[a], format_score(grades.max_scores[a])
                old = _value(fields[k]) if k < len(fields) else ""
                if "read only" in old:
                    notes.append(f"{a}: Canvas marks column {header[k]!r} read only; it ignores scores there")
                    continue
                if _same_number(old, pp):
                    continue  # as Canvas wrote it (e.g. 17,50 with a decimal comma)
                if old.strip():
                    notes.append(f"{a}: Canvas has {old} points possible, the gradebook's maximum is {pp}; "
                                 f"the import sets it to {pp}")
                changes[k] = pp
        elif all(not f.strip() for f in fields):
            pass  # a blank line: Canvas skips it, and so does this
        else:
            sid = student_at.get(r)
            for a in grades.assignments:
                k = column_of[a]
                total = grades.totals[a].get(sid) if sid is not None else None
                if total is not None:
                    changes[k] = format_score(total)
                elif k >= len(header):
                    changes[k] = ""
        if changes and any(k >= len(fields) for k in changes) and len(fields) < width:
            fields += [""] * (width - len(fields))
        for k, v in changes.items():
            if _value(fields[k]) != v:
                fields[k] = _quote(v, delimiter)
        out_parts.append(delimiter.join(fields) + ending)

    scored = _scored_students(grades)
    unmatched = sorted(s for s in scored if s not in row_of)
    return "".join(out_parts), unmatched, notes


def _same_number(a: str, b: str) -> bool:
    try:
        return math.isclose(float(a.replace(",", ".")), float(b), abs_tol=1e-9)
    except ValueError:
        return False
