"""Similarity report: answer cells that look copied, from a classmate, the student kit, a lecture or an earlier year.

``python -m cnnlab.course similarity <assignment> [--past DIR] [--threshold T]`` fingerprints every
submission's answer cells (the code cells nbgrader marks ``solution``) with ``copydetect``
(winnowing over normalised tokens, the technique of MOSS: variable, function and class names become
placeholders, comments and whitespace are dropped, so renaming, re-commenting and reordering
functions change nothing). For each question it compares every submission with every other one,
with every module of the student kit (``cnnlab`` without ``cnnlab/course``), with the code of the
lectures' student versions and, with ``--past``, with earlier submissions. The release notebook's
own text of each answer cell (signature, docstring, stub) is boilerplate and never counts.

A pair's score is the larger of the two shares of overlapping tokens (for the kit and the lectures,
the share of the student's answer only, since a module is far longer than an answer). It writes
``COURSE_ROOT/similarity/<assignment>/report.html`` (the flagged pairs, the overlapping code
highlighted side by side, every student text HTML-escaped) and ``pairs.csv`` (every pair scoring
at least half the threshold), and adds a ``similarity_review`` note to each flagged student's
``verification/<assignment>/<student>.json``. It never changes a score: a flag asks a person to read.
"""
from __future__ import annotations

import csv
import html
import io
import json
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np

NOISE_TOKENS = 20       # k-grams shorter than this are ignored (copydetect's noise threshold)
GUARANTEE_TOKENS = 26   # a common run this long is always found (winnowing window = 26 - 20 + 1)
THRESHOLD = 0.6         # a pair at or above this share of overlapping tokens is flagged
MAX_NOTEBOOK_BYTES = 20_000_000
MAX_CELL_CHARS = 200_000

__all__ = ["Document", "Pair", "SimilarityReport", "answer_cells", "compare", "kit_documents",
           "lecture_documents", "run"]


@dataclass
class Document:
    """One piece of code: a submission's answer cell (``question`` set) or a reference text (kit, lecture)."""

    owner: str                 # student id, "kit:cnnlab/ops/padding.py", "lecture:01_convolution", "past:2025/bob"
    kind: str                  # "submission", "past", "kit" or "lecture"
    text: str
    question: str | None = None


@dataclass
class Pair:
    question: str
    a: Document
    b: Document
    share_a: float             # share of a's tokens found in b
    share_b: float
    score: float
    slices_a: np.ndarray = field(repr=False, default_factory=lambda: np.zeros((2, 0), dtype=int))
    slices_b: np.ndarray = field(repr=False, default_factory=lambda: np.zeros((2, 0), dtype=int))


@dataclass
class SimilarityReport:
    pairs: list[Pair]          # every compared pair with some overlap, best first
    threshold: float

    @property
    def flagged(self) -> list[Pair]:
        return [p for p in self.pairs if p.score >= self.threshold]

    def flagged_students(self) -> dict[str, list[Pair]]:
        out: dict[str, list[Pair]] = {}
        for p in self.flagged:
            for doc in (p.a, p.b):
                if doc.kind == "submission":
                    out.setdefault(doc.owner, []).append(p)
        return out


# --- reading ------------------------------------------------------------------------------------

def _cell_text(cell: Mapping[str, Any]) -> str:
    source = cell.get("source", "")
    text = "".join(s for s in source if isinstance(s, str)) if isinstance(source, list) else str(source)
    return text[:MAX_CELL_CHARS]


def answer_cells(notebook: Path | Mapping[str, Any]) -> dict[str, str]:
    """{grade_id: code} of the code cells nbgrader marks ``solution`` (read as plain JSON, never run).

    A notebook that cannot be read gives {} (its student is then compared on nothing)."""
    try:
        if isinstance(notebook, Mapping):
            nb = notebook
        else:
            path = Path(notebook)
            if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_NOTEBOOK_BYTES:
                return {}
            nb = json.loads(path.read_text(encoding="utf-8", errors="replace"))
        cells = nb.get("cells", []) if isinstance(nb, Mapping) else []
    except (OSError, ValueError, RecursionError):
        return {}
    found: dict[str, str] = {}
    for cell in cells if isinstance(cells, list) else []:
        if not isinstance(cell, Mapping) or cell.get("cell_type") != "code":
            continue
        meta = cell.get("metadata", {})
        grading = meta.get("nbgrader", {}) if isinstance(meta, Mapping) else {}
        if isinstance(grading, Mapping) and grading.get("solution") and isinstance(grading.get("grade_id"), str):
            found[grading["grade_id"]] = _cell_text(cell)
    return found


def kit_documents(package: Path) -> list[Document]:
    """Every module of the student kit: ``cnnlab`` without ``cnnlab/course``."""
    docs = []
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package.parent).as_posix()
        if rel.startswith("cnnlab/course/"):
            continue
        docs.append(Document(f"kit:{rel}", "kit", path.read_text(encoding="utf-8", errors="replace")))
    return docs


def lecture_documents(lectures: Iterable[Path]) -> list[Document]:
    """The code of each lecture's student version (solution cells removed), one document per lecture."""
    import nbformat

    from cnnlab.course.kit.student_notebooks import student_version

    docs = []
    for path in lectures:
        path = Path(path)
        if not path.is_file():
            continue
        nb = student_version(nbformat.read(str(path), as_version=4))
        code = "\n\n".join(c.source for c in nb.cells if c.cell_type == "code")
        docs.append(Document(f"lecture:{path.stem}", "lecture", code))
    return docs


def release_text(text: str) -> str:
    """An answer cell as released: each ``### BEGIN SOLUTION`` ... ``### END SOLUTION`` region becomes
    nbgrader's stub (``# YOUR CODE HERE`` / ``raise NotImplementedError()``)."""
    return re.sub(r"^([ \t]*)### BEGIN SOLUTION.*?### END SOLUTION[^\n]*",
                  lambda m: f"{m.group(1)}# YOUR CODE HERE\n{m.group(1)}raise NotImplementedError()",
                  text, flags=re.S | re.M)


# --- comparing ------------------------------------------------------------------------------------

def _fingerprint(doc: Document, boilerplate: Iterable[int] = ()):
    from copydetect import CodeFingerprint

    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)  # copydetect logs a warning for every answer too short to fingerprint
    try:
        return CodeFingerprint(f"{doc.owner}.py", NOISE_TOKENS, GUARANTEE_TOKENS - NOISE_TOKENS + 1,
                               boilerplate=list(boilerplate), fp=io.StringIO(doc.text))
    finally:
        logging.disable(previous)


def compare(submissions: Mapping[str, Mapping[str, str]], *, references: Iterable[Document] = (),
            past: Mapping[str, Mapping[str, str]] | None = None, boilerplate: Mapping[str, str] | None = None,
            threshold: float = THRESHOLD) -> SimilarityReport:
    """Compare every pair of submissions question by question, and each answer with every reference
    document (kit modules, lectures) and earlier submissions (``past``: {owner: {question: code}}).

    ``boilerplate`` maps a question to the release's text of its answer cell, whose fingerprints are
    ignored. Pairs without any overlap are left out.
    """
    from copydetect import compare_files

    boilerplate = boilerplate or {}
    questions = sorted({q for cells in submissions.values() for q in cells})
    pairs: list[Pair] = []
    # a reference is fingerprinted once: the answers' fingerprints leave the boilerplate out, so it never overlaps
    refs = [(d, _fingerprint(d)) for d in references]
    for question in questions:
        skip: set[int] = set()
        if question in boilerplate:
            skip = set(_fingerprint(Document("release", "release", boilerplate[question])).hashes)
        current = [Document(s, "submission", cells[question], question)
                   for s, cells in sorted(submissions.items()) if cells.get(question, "").strip()]
        earlier = [Document(f"past:{s}", "past", cells[question], question)
                   for s, cells in sorted((past or {}).items()) if cells.get(question, "").strip()]
        prints = {id(d): _fingerprint(d, skip) for d in current + earlier}
        others = [(d, prints[id(d)]) for d in earlier] + refs
        candidates = list(combinations(current, 2)) + [(a, b) for a in current for b, _ in others]
        lookup = {id(d): fp for d, fp in others} | prints
        for a, b in candidates:
            fa, fb = lookup[id(a)], lookup[id(b)]
            if not fa.hashes or not fb.hashes or fa.hashes.isdisjoint(fb.hashes):
                continue
            overlap, (share_a, share_b), (slices_a, slices_b) = compare_files(fa, fb)
            if overlap == 0:
                continue
            score = float(share_a) if b.kind in ("kit", "lecture") else float(max(share_a, share_b))
            pairs.append(Pair(question, a, b, float(share_a), float(share_b), score,
                              np.asarray(slices_a, dtype=int), np.asarray(slices_b, dtype=int)))
    pairs.sort(key=lambda p: (-p.score, p.question, p.a.owner, p.b.owner))
    return SimilarityReport(pairs, threshold)


# --- writing --------------------------------------------------------------------------------------

def _highlighted(doc: Document, slices: np.ndarray) -> str:
    """The document as HTML, its overlapping parts in <mark>; every character of it escaped."""
    text, out, at = doc.text, [], 0
    if slices.size:
        for start, end in sorted(zip(slices[0].tolist(), slices[1].tolist())):
            start, end = max(start, at), min(max(end, start), len(text))
            if start >= end:
                continue
            out.append(html.escape(text[at:start]))
            out.append(f"<mark>{html.escape(text[start:end])}</mark>")
            at = end
    out.append(html.escape(text[at:]))
    return "".join(out)


_STYLE = ("body{font-family:sans-serif;margin:1.5em} table.pair{width:100%;border-collapse:collapse;margin-bottom:2em}"
          " td{vertical-align:top;width:50%;border:1px solid #ccc;padding:.4em}"
          " pre{white-space:pre-wrap;font-size:12px;margin:0} mark{background:#ffd54f}"
          " th{text-align:left;background:#eee;padding:.4em}")


def write_html(report: SimilarityReport, path: Path, title: str) -> Path:
    """The flagged pairs, overlapping code highlighted side by side (all student text escaped)."""
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
             f"<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>",
             f"<p>{len(report.flagged)} pair(s) at or above {report.threshold:.0%} overlapping tokens "
             "(names, comments and layout ignored). A flag asks for a reading, not a verdict: short answers "
             "to the same question can look alike, and scores are unchanged.</p>"]
    for p in report.flagged:
        parts.append(
            "<table class='pair'><tr>"
            f"<th>{html.escape(p.question)}: {html.escape(p.a.owner)} ({p.share_a:.0%} shared)</th>"
            f"<th>{html.escape(p.b.owner)} ({p.share_b:.0%} shared)</th></tr><tr>"
            f"<td><pre>{_highlighted(p.a, p.slices_a)}</pre></td>"
            f"<td><pre>{_highlighted(p.b, p.slices_b)}</pre></td></tr></table>")
    parts.append("</body></html>")
    path.write_text("".join(parts), encoding="utf-8")
    return path


def write_csv(report: SimilarityReport, path: Path) -> Path:
    """Every pair scoring at least half the threshold: question, both owners and kinds, shares, score, flagged."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["question", "a", "a_kind", "b", "b_kind", "share_a", "share_b", "score", "flagged"])
        for p in report.pairs:
            if p.score >= report.threshold / 2:
                out.writerow([p.question, p.a.owner, p.a.kind, p.b.owner, p.b.kind, f"{p.share_a:.3f}",
                              f"{p.share_b:.3f}", f"{p.score:.3f}", int(p.score >= report.threshold)])
    return path


def add_review_notes(report: SimilarityReport, verification_dir: Path, html_path: Path) -> list[str]:
    """Add ``similarity_review`` to each flagged student's verification JSON (created if absent); scores untouched."""
    noted = []
    verification_dir.mkdir(parents=True, exist_ok=True)
    for student, pairs in sorted(report.flagged_students().items()):
        path = verification_dir / f"{student}.json"
        try:
            data = json.loads(path.read_text()) if path.is_file() else {}
        except (OSError, ValueError):
            data = {}
        notes = []
        for p in pairs:
            other = p.b if p.a.owner == student else p.a
            notes.append(f"{p.question}: {p.score:.0%} of the answer overlaps {other.owner} (similarity report, "
                         "for review; the score is unchanged)")
        data["similarity_review"] = {"notes": notes, "report": str(html_path)}
        path.write_text(json.dumps(data, indent=1, default=str))
        noted.append(student)
    return noted


# --- the command ------------------------------------------------------------------------------------

def _submissions(folder: Path, assignment: str) -> dict[str, dict[str, str]]:
    """{student: {question: code}} from ``folder/<student>/<assignment>/*.ipynb`` (symlinks skipped)."""
    found: dict[str, dict[str, str]] = {}
    if not folder.is_dir():
        return found
    for student_dir in sorted(folder.iterdir()):
        where = student_dir / assignment
        if student_dir.is_symlink() or not where.is_dir() or where.is_symlink():
            continue
        cells: dict[str, str] = {}
        for nb in sorted(where.glob("*.ipynb")):
            cells.update(answer_cells(nb))
        found[student_dir.name] = cells
    return found


def run(assignment: str, past: Path | None = None, threshold: float = THRESHOLD,
        out: Path | None = None) -> tuple[SimilarityReport, Path, Path, list[str]]:
    """Compare the class's submissions of ``assignment`` (the course config's COURSE_ROOT/submitted)
    with each other, the kit, the lectures and ``past``; write the report and the review notes."""
    from cnnlab.course import config

    cfg = config.load()
    root = Path(cfg.COURSE_ROOT)
    submissions = _submissions(root / "submitted", assignment)
    source = Path(cfg.ASSIGNMENTS_SOURCE) / assignment / f"{assignment}.ipynb"
    release = root / "release" / assignment / f"{assignment}.ipynb"
    boilerplate = {q: release_text(t) for q, t in answer_cells(release if release.is_file() else source).items()}
    repo = Path(cfg.REPO_ROOT) if hasattr(cfg, "REPO_ROOT") else Path(__file__).resolve().parents[3]
    references = kit_documents(repo / "cnnlab") + lecture_documents(repo / p for p in cfg.LECTURES)
    earlier = None
    if past is not None:
        earlier = {s: c for s, c in _submissions(Path(past), assignment).items() if c}
        for year in sorted(Path(past).iterdir()) if Path(past).is_dir() else []:
            if year.is_symlink() or not year.is_dir():
                continue
            for folder_ in (year, year / "submitted"):
                for student, cells in _submissions(folder_, assignment).items():
                    if cells:
                        earlier[f"{year.name}/{student}"] = cells
    report = compare(submissions, references=references, past=earlier, boilerplate=boilerplate, threshold=threshold)
    folder = Path(out) if out is not None else root / "similarity" / assignment
    folder.mkdir(parents=True, exist_ok=True)
    html_path = write_html(report, folder / "report.html", f"Similarity report: {assignment}")
    csv_path = write_csv(report, folder / "pairs.csv")
    noted = add_review_notes(report, root / "verification" / assignment, html_path)
    return report, html_path, csv_path, noted
