"""Grading a class: stock ``nbgrader autograde`` vs the trusted ``python -m cnnlab.course grade --jobs N``.

Builds a temporary course with N simulated submissions of assignment 1 (a mix of the reference
solution, the untouched release notebook and answers with one mistake), grades them once with
stock nbgrader (one process, one submission after the other) and once with the trusted grader
(all protections on: the assignment's grading environment, a control group per sandbox, speed
timed in CPU time), prints ``ratio stock/protected: N.NNx`` first, then both wall-clock times,
the CPU time of all of each side's processes (from a control group around each run, as root; less
sensitive than wall-clock time to other work on the machine), the load average around the run,
and checks that every student's per-question scores are identical.

    python benchmarks/grade_bench.py [--students 40] [--jobs 2]
"""
from __future__ import annotations

import argparse
import copy
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _util import blas_report  # noqa: E402

import nbformat  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
A = "a1_conv_from_scratch"
MISTAKE = "def output_size(n, f, p=0, s=1):\n    return (n + 2 * p - f) // s\n"


def _env(root: Path) -> dict:
    return {**os.environ, "CNNLAB_COURSE_CONFIG": str(REPO / "course_config.py"),
            "CNNLAB_COURSE_ROOT": str(root / "course"), "CNNLAB_EXCHANGE": str(root / "exchange"),
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}


def _course(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cnnlab.course", *args], env=_env(root), text=True,
                          capture_output=True, check=True)


def _submissions(root: Path, n: int) -> None:
    course = root / "course"
    source = nbformat.read(str(REPO / "notebooks" / "assignments" / A / f"{A}.ipynb"), as_version=4)
    release = nbformat.read(str(course / "release" / A / f"{A}.ipynb"), as_version=4)
    solutions = {c.metadata["nbgrader"]["grade_id"]: "\n".join(
        line for line in c.source.splitlines() if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line)
        for c in source.cells if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code"}
    for k in range(n):
        nb = copy.deepcopy(release)
        if k % 4 != 3:  # every fourth student hands in the untouched release notebook
            for cell in nb.cells:
                gid = cell.metadata.get("nbgrader", {}).get("grade_id")
                if gid in solutions:
                    cell.source = MISTAKE if (k % 4 == 2 and gid == "output_size") else solutions[gid]
        folder = course / "submitted" / f"student{k:02d}" / A
        folder.mkdir(parents=True)
        (folder / "timestamp.txt").write_text("2026-11-22 04:00:00.000000 UTC")
        nbformat.write(nb, str(folder / f"{A}.ipynb"))


def _scores(root: Path) -> dict:
    from cnnlab.course.grader.report import gradebook_scores

    return gradebook_scores(f"sqlite:///{root / 'course' / 'gradebook.db'}", A)[2]


def _timed(argv: list[str], **kwargs) -> tuple[subprocess.CompletedProcess, float, float | None]:
    """Run ``argv``; (its result, wall-clock seconds, CPU seconds of every process it started).

    The CPU time is read from a control group around the run (:mod:`cnnlab.course.grader.cgroups`,
    as root; every sandbox's own group is created inside it): processes a sandbox kills are counted
    too. None where control groups are unavailable.
    """
    from cnnlab.course.grader import cgroups

    group = None
    if cgroups.available():
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")  # no limit of its own
        group = cgroups.SandboxCgroup.create("bench", memory_bytes=ram, pids=4_194_304, cpus=float(os.cpu_count() or 1))
    start = time.perf_counter()
    try:
        result = subprocess.run(group.wrap(argv) if group else argv, capture_output=True, text=True, check=False,
                                **kwargs)
        wall = time.perf_counter() - start
        cpu = group.cpu_seconds() if group else None
    finally:
        if group is not None:
            group.kill_all()
            for folder in dict.fromkeys(group.dirs.values()):  # the last stock kernel's group is still inside
                for inner in sorted((p for p in folder.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
                    try:
                        inner.rmdir()
                    except OSError:
                        pass
            group.remove()
    return result, wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    load_before = os.getloadavg()
    base = Path(tempfile.mkdtemp(prefix="cnnlab-grade-bench-"))
    try:
        seq, par = base / "stock", base / "protected"
        for root in (seq, par):
            _course(root, "init")
            _course(root, "nbgrader", "generate_assignment", A)
            _submissions(root, args.students)
        _, t_seq, cpu_seq = _timed([str(Path(sys.executable).parent / "nbgrader"), "autograde", A,
                                    f"--NbGrader.config_file={REPO / 'course_config.py'}"], env=_env(seq),
                                   cwd=seq / "course")
        graded, t_par, cpu_par = _timed([sys.executable, "-m", "cnnlab.course", "grade", A, "--jobs", str(args.jobs)],
                                        env=_env(par))
        stock_scores, protected_scores = _scores(seq), _scores(par)
        same = stock_scores == protected_scores
        print(f"ratio stock/protected: {t_seq / t_par:.2f}x")
        print(f"{args.students} submissions of {A} (wall-clock; a loaded machine makes both slower)")
        print(f"  stock nbgrader autograde:                 {t_seq:7.1f} s  ({t_seq / args.students:.2f} s each)")
        print(f"  cnnlab.course grade --jobs {args.jobs} (protected): {t_par:7.1f} s  "
              f"({t_par / args.students:.2f} s each; exit status {graded.returncode})")
        if cpu_seq is not None and cpu_par is not None:
            print(f"  CPU time of all their processes: stock {cpu_seq:.1f} s, protected {cpu_par:.1f} s "
                  f"({cpu_seq / max(cpu_par, 1e-9):.2f}x; other work on the machine changes it less)")
        print(f"  identical per-question scores: {same}")
        print(f"  load average (1, 5, 15 min) before: {load_before}, after: {os.getloadavg()}")
        print(blas_report())
        for student in sorted(set(stock_scores) | set(protected_scores)):
            a, b = stock_scores.get(student, {}), protected_scores.get(student, {})
            for key in sorted(set(a) | set(b)):
                if a.get(key) != b.get(key):
                    print(f"    {student} {key[1]}: stock {a.get(key)}, protected {b.get(key)}")
        if not same:
            print((par / "course" / "verification" / A / "student00.json").read_text()[:3000])
            sys.exit(1)
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
