"""Per-student, per-question scores of an assignment: a CSV and a PNG of the score distributions."""
from __future__ import annotations

import csv
from pathlib import Path

from .. import config


def gradebook_scores(db_url: str, assignment: str, course_id: str | None = None
                     ) -> tuple[list[str], list[float], dict[str, dict[str, float]]]:
    """Every submitted student's score per question of ``assignment``, read with nbgrader's API: the
    one reader of scores (the report, the course tests and the grading benchmark use it).

    Returns:
        (question columns, their max scores, {student: {column: score}}); a column is the cell's
        ``grade_id`` (``notebook/grade_id`` when the assignment has several notebooks); a grade the
        gradebook lacks is NaN.
    """
    from nbgrader.api import Gradebook, MissingEntry

    kwargs = {"course_id": course_id} if course_id else {}
    with Gradebook(db_url, **kwargs) as gb:
        a = gb.find_assignment(assignment)
        columns, maxima, cells = [], [], []
        for nb in a.notebooks:
            for gc in nb.grade_cells:
                columns.append(gc.name if len(a.notebooks) == 1 else f"{nb.name}/{gc.name}")
                maxima.append(float(gc.max_score))
                cells.append((nb.name, gc.name))
        scores: dict[str, dict[str, float]] = {}
        for student in sorted(gb.students, key=lambda s: s.id):
            try:
                gb.find_submission(assignment, student.id)
            except MissingEntry:
                continue
            row = {}
            for column, (nb_name, gid) in zip(columns, cells):
                try:
                    row[column] = float(gb.find_grade(gid, nb_name, assignment, student.id).score)
                except MissingEntry:
                    row[column] = float("nan")
            scores[student.id] = row
    return columns, maxima, scores


def scores_table(course_root: Path, course_id: str, assignment: str) -> tuple[list[str], list[float], list[list]]:
    """(question columns, their max scores, rows [student, score per question..., total])."""
    columns, maxima, scores = gradebook_scores(config.gradebook_url(course_root), assignment, course_id)
    rows = []
    for student, row in scores.items():
        values = [row[c] for c in columns]
        rows.append([student, *values, sum(v for v in values if v == v)])
    return columns, maxima, rows


def write_report(assignment: str, out_dir: Path | None = None) -> tuple[Path, Path]:
    """Write ``<assignment>_scores.csv`` and ``<assignment>_scores.png``; return both paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cfg = config.load()
    root = Path(cfg.COURSE_ROOT)
    out_dir = Path(out_dir or root / "reports")
    out_dir.mkdir(parents=True, exist_ok=True)
    columns, maxima, rows = scores_table(root, cfg.COURSE_ID, assignment)
    csv_path = out_dir / f"{assignment}_scores.csv"
    with csv_path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["student", *columns, "total"])
        writer.writerow(["(max)", *maxima, sum(maxima)])
        writer.writerows(rows)
    n = len(columns) + 1
    ncols = min(4, n)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.2 * ncols, 2.4 * nrows), squeeze=False)
    for k, ax in enumerate(axes.flat):
        if k >= n:
            ax.axis("off")
            continue
        top = maxima[k] if k < len(columns) else sum(maxima)
        values = [r[k + 1] for r in rows if r[k + 1] == r[k + 1]]
        ax.hist(values, bins=min(10, max(int(top), 1) + 1), range=(0, max(top, 1e-9)), color="tab:blue")
        ax.set_title(columns[k] if k < len(columns) else "total", fontsize=9)
        ax.set_xlim(0, max(top, 1e-9))
        ax.set_xlabel("score")
    fig.suptitle(f"{assignment}: score distributions ({len(rows)} students)")
    fig.tight_layout()
    png_path = out_dir / f"{assignment}_scores.png"
    fig.savefig(png_path, dpi=100)
    plt.close(fig)
    return csv_path, png_path
