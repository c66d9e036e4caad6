"""``python -m cnnlab.course``: the instructor's commands.

  init                          create COURSE_ROOT (source linked to the repo), the exchange, the sandbox kernel
  nbgrader CMD [ARGS...]        run any nbgrader command with the course's config
  grade ASSIGNMENT [--jobs N]   autograde in parallel; every verdict decided by the trusted grader
                                (exit status 1 when a submission needs review, 2 without a sandbox)
  verify ASSIGNMENT STUDENT     only the out-of-band checks of one submission (prints the verdicts)
  report ASSIGNMENT [--out DIR] CSV of scores per student and question + PNG of their distributions
  similarity ASSIGNMENT [--past DIR] [--threshold T] [--out DIR]
                                answer cells that look copied (classmates, the kit, the lectures, earlier
                                years): HTML report + CSV, review notes; scores unchanged
  export-grades --lms canvas|moodle --out FILE.csv [--assignment ID ...] [--lms-gradebook FILE]
                                assignment totals as the CSV that Canvas's or Moodle's grade import reads
                                (only final scores; exit status 1 when some were held back or unmatched)
  student-kit --out DIR         build what students receive (wheel without cnnlab.course, student lectures,
                                released assignments) and check that it holds no answer
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .grader.nbgrader_overrides import skip_iri_grammars


def _take_config(argv: list[str]) -> list[str]:
    """Apply and remove a leading ``--config PATH`` (it must come before the command)."""
    if argv[:1] == ["--config"] and len(argv) > 1:
        from . import config

        config.use(argv[1])
        return argv[2:]
    if argv[:1] and argv[0].startswith("--config="):
        from . import config

        config.use(argv[0].partition("=")[2])
        return argv[1:]
    return argv


def main(argv: list[str] | None = None) -> int:
    skip_iri_grammars()
    try:
        argv = _take_config(list(sys.argv[1:] if argv is None else argv))
    except FileNotFoundError as exc:
        print(f"python -m cnnlab.course: {exc}", file=sys.stderr)
        return 2
    if argv[:1] == ["nbgrader"]:
        from .grader.nbgrader_cli import run_nbgrader

        return run_nbgrader(argv[1:]).returncode
    parser = argparse.ArgumentParser(prog="python -m cnnlab.course", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", metavar="PATH", help="the course_config.py to use (before the command; default: "
                        "$CNNLAB_COURSE_CONFIG, else the nearest course_config.py from the working directory up)")
    sub = parser.add_subparsers(dest="command", required=True)
    p_init = sub.add_parser("init", help="set up the course directory")
    p_init.add_argument("--force", action="store_true")
    p_grade = sub.add_parser("grade", help="autograde a class in parallel, with out-of-band verification")
    p_grade.add_argument("assignment")
    p_grade.add_argument("--jobs", "-j", type=int, default=2)
    p_grade.add_argument("--student", action="append", help="only these students (repeatable)")
    p_grade.add_argument("--force", action="store_true", help="regrade submissions already autograded")
    p_verify = sub.add_parser("verify", help="out-of-band checks of one submission")
    p_verify.add_argument("assignment")
    p_verify.add_argument("student")
    p_report = sub.add_parser("report", help="CSV + PNG of the scores")
    p_report.add_argument("assignment")
    p_report.add_argument("--out", type=Path)
    p_sim = sub.add_parser("similarity", help="similarity report of the answer cells (never changes a score)")
    p_sim.add_argument("assignment")
    p_sim.add_argument("--past", type=Path, help="earlier submissions: DIR/<student>/<assignment>/ or "
                       "DIR/<year>/[submitted/]<student>/<assignment>/")
    p_sim.add_argument("--threshold", type=float, default=None, help="flag pairs sharing at least this share "
                       "of their tokens (default 0.6)")
    p_sim.add_argument("--out", type=Path, help="where to write report.html and pairs.csv")
    p_kit = sub.add_parser("student-kit", help="build the student kit into a folder and check it holds no answer")
    p_kit.add_argument("--out", type=Path, required=True)
    p_kit.add_argument("--no-check", action="store_true", help="skip the boundary check (not for release)")
    p_lms = sub.add_parser("export-grades", help="assignment totals as a Canvas or Moodle grade-import CSV")
    p_lms.add_argument("--lms", choices=("canvas", "moodle"), required=True)
    p_lms.add_argument("--out", type=Path, required=True, metavar="FILE.csv", help="the CSV to write")
    p_lms.add_argument("--assignment", action="extend", nargs="+", metavar="ID",
                       help="only these assignments (default: every assignment in the gradebook)")
    p_lms.add_argument("--lms-gradebook", type=Path, metavar="FILE", help="Canvas: the gradebook CSV that Canvas "
                       "exported; its assignment columns are filled in or added, every other cell kept")
    p_lms.add_argument("--match", default="SIS Login ID", metavar="COLUMN", help="Canvas: the column of "
                       "--lms-gradebook holding each student's nbgrader id (or e-mail with --student-key email); "
                       "default 'SIS Login ID'")
    p_lms.add_argument("--student-key", choices=("id", "email"), default="id",
                       help="what --match holds: the nbgrader student id (default) or e-mail address")
    p_lms.add_argument("--title", action="append", default=[], metavar="ASSIGNMENT=TITLE",
                       help="the LMS column of an assignment (Canvas: 'Title (1234)' for assignment 1234)")
    p_lms.add_argument("--allow-needs-review", action="store_true",
                       help="also export provisional totals of submissions that still need manual grading")
    p_lms.add_argument("--force", action="store_true", help="allow --out to be the --lms-gradebook file")
    sub.add_parser("nbgrader", help="nbgrader CMD ... with the course's config")
    args = parser.parse_args(argv)

    if args.command == "init":
        from .grader.nbgrader_cli import init

        print(f"course directory ready: {init(force=args.force)}")
        return 0
    if args.command == "grade":
        return _grade(args)
    if args.command == "verify":
        from . import config
        from .grader.grade import verify_student

        cfg = config.load()
        for notebook, verdicts in verify_student(Path(cfg.COURSE_ROOT), args.assignment, args.student,
                                                 float(cfg.CELL_TIMEOUT_S)).items():
            for gid, v in verdicts.items():
                print(f"{notebook}/{gid}: {v.status.upper()} {v.message}")
        return 0
    if args.command == "student-kit":
        from .kit.build import main as kit_main

        return kit_main(args.out, check=not args.no_check)
    if args.command == "similarity":
        from .grader.similarity import THRESHOLD, run

        report, html_path, csv_path, noted = run(args.assignment, args.past,
                                                  THRESHOLD if args.threshold is None else args.threshold, args.out)
        print(f"{len(report.flagged)} pair(s) flagged; review notes added for: {', '.join(noted) or 'nobody'}")
        print(f"wrote {html_path}\nwrote {csv_path}")
        return 0
    if args.command == "export-grades":
        return _export_grades(args)
    if args.command == "report":
        from .grader.report import write_report

        csv_path, png_path = write_report(args.assignment, args.out)
        print(f"wrote {csv_path}\nwrote {png_path}")
        return 0
    return 2


def _export_grades(args: argparse.Namespace) -> int:
    from . import config
    from .grader.lms_export import ExportError, export_grades

    titles = {}
    for item in args.title:
        assignment, sep, title = item.partition("=")
        if not sep or not assignment or not title.strip():
            print(f"--title {item!r}: expected ASSIGNMENT=TITLE, e.g. a1=\"Assignment 1 (1234)\"", file=sys.stderr)
            return 2
        titles[assignment] = title.strip()
    try:
        cfg = config.load()
        result = export_grades(args.lms, args.out, config.gradebook_url(), args.assignment, args.lms_gradebook,
                               args.match, args.student_key, titles, getattr(cfg, "COURSE_ID", None),
                               args.allow_needs_review, args.force)
    except (ExportError, FileNotFoundError) as exc:
        print(f"export-grades: {exc}", file=sys.stderr)
        return 2
    for note in result.notes:
        print(note)
    for assignment, students in result.held_back.items():
        print(f"{assignment}: not exported, still needs manual grading in formgrader (--allow-needs-review "
              f"exports the provisional total): {', '.join(students)}", file=sys.stderr)
    if result.unmatched:
        print(f"in the gradebook but in no row of {args.lms_gradebook} (column {args.match!r}); their scores are "
              "NOT in the file, enter them in the LMS by hand:", file=sys.stderr)
        for student, scores in result.unmatched.items():
            print(f"  {student}: {scores}", file=sys.stderr)
    print(f"wrote {result.path} ({result.rows} rows)")
    return 1 if result.held_back or result.unmatched else 0


def _grade(args: argparse.Namespace) -> int:
    from .grader.grade import grade
    from .grader.sandbox import SandboxUnavailable, opted_out

    if opted_out():
        print("WARNING: CNNLAB_SANDBOX=off: student code runs WITHOUT the sandbox (no isolation from the course "
              "directory, the gradebook or other students). Only do this for a class you trust.", file=sys.stderr)
    try:
        results = grade(args.assignment, jobs=args.jobs, students=args.student, force=args.force)
    except SandboxUnavailable as exc:
        print(f"refusing to grade: {exc}", file=sys.stderr)
        return 2
    review = [r for r in results if r.status != "ok"]
    for r in results:
        score = "-" if r.score is None else f"{r.score:g}/{r.max_score:g}"
        print(f"{r.student:>20}  {score:>10}  {r.status}")
    print(f"{len(results)} submissions graded, {len(review)} need review")
    if review:
        print("\nNeeds review (0 automatic points for these cells until an instructor overrides them in formgrader):")
        for r in review:
            for reason in r.review_reasons()[:8]:
                print(f"  {r.student}: {reason}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
