"""``python -m cnnlab.course``: the instructor's commands.

  init                          create COURSE_ROOT (source linked to the repo), the exchange, the sandbox kernel
  nbgrader CMD [ARGS...]        run any nbgrader command with the course's config
  grade ASSIGNMENT [--jobs N]   autograde every submission in parallel, then verify out of band
  verify ASSIGNMENT STUDENT     only the out-of-band checks of one submission (prints the verdicts)
  report ASSIGNMENT [--out DIR] CSV of scores per student and question + PNG of their distributions
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["nbgrader"]:
        from .workflow import run_nbgrader

        return run_nbgrader(argv[1:]).returncode
    parser = argparse.ArgumentParser(prog="python -m cnnlab.course", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p_init = sub.add_parser("init", help="set up the course directory")
    p_init.add_argument("--force", action="store_true")
    p_grade = sub.add_parser("grade", help="autograde a class in parallel, with out-of-band verification")
    p_grade.add_argument("assignment")
    p_grade.add_argument("--jobs", "-j", type=int, default=2)
    p_grade.add_argument("--student", action="append", help="only these students (repeatable)")
    p_grade.add_argument("--no-verify", action="store_true", help="plain nbgrader scores, no re-verification")
    p_grade.add_argument("--force", action="store_true", help="regrade submissions already autograded")
    p_verify = sub.add_parser("verify", help="out-of-band checks of one submission")
    p_verify.add_argument("assignment")
    p_verify.add_argument("student")
    p_report = sub.add_parser("report", help="CSV + PNG of the scores")
    p_report.add_argument("assignment")
    p_report.add_argument("--out", type=Path)
    sub.add_parser("nbgrader", help="nbgrader CMD ... with the course's config")
    args = parser.parse_args(argv)

    if args.command == "init":
        from .workflow import init

        print(f"course directory ready: {init(force=args.force)}")
        return 0
    if args.command == "grade":
        from .grade import grade

        results = grade(args.assignment, jobs=args.jobs, students=args.student, verify=not args.no_verify,
                        force=args.force)
        failed = 0
        for r in results:
            status = "ok" if r.autograded else "FAILED (needs manual grading, see the log)"
            failed += not r.autograded
            score = "-" if r.score is None else f"{r.score:g}/{r.max_score:g}"
            extra = f"  verification changed: {'; '.join(r.changed)}" if r.changed else ""
            print(f"{r.student:>20}  {score:>10}  {status}{extra}")
        print(f"{len(results)} submissions graded, {failed} failed")
        return 0
    if args.command == "verify":
        from . import config
        from .grade import verify_student

        cfg = config.load()
        for notebook, verdicts in verify_student(Path(cfg.COURSE_ROOT), args.assignment, args.student,
                                                 float(cfg.CELL_TIMEOUT_S)).items():
            for gid, v in verdicts.items():
                print(f"{notebook}/{gid}: {'PASS' if v.passed else 'FAIL'} {v.message}")
        return 0
    if args.command == "report":
        from .report import write_report

        csv_path, png_path = write_report(args.assignment, args.out)
        print(f"wrote {csv_path}\nwrote {png_path}")
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
