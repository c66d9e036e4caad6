"""Control groups per sandbox (cnnlab.course.grader.cgroups): the caps hold for the whole group,
freeze stops its CPU use, kill-all reaches every process, and grading refuses without them."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cnnlab.course.grader import cgroups, sandbox

needs_cgroups = pytest.mark.skipif(cgroups.check() is not None, reason=f"no cgroup access: {cgroups.check()}")


def _run_in(group: cgroups.SandboxCgroup, code: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(group.wrap([sys.executable, "-c", code]), capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def group():
    made = []

    def make(**limits):
        g = cgroups.SandboxCgroup.create("test", **{"memory_bytes": 512 * 1024**2, "pids": 64, "cpus": 1.0, **limits})
        made.append(g)
        return g

    yield make
    for g in made:
        g.remove()
        assert not any(d.exists() for d in g.dirs.values())


@needs_cgroups
@pytest.mark.slow
def test_the_memory_cap_holds_for_the_whole_group_with_three_processes(group):
    """Three processes of 120 MB each do not fit in a 256 MB group: the kernel kills one, and the
    group never holds more than the cap (a per-process limit would have let all three live)."""
    g = group(memory_bytes=256 * 1024**2)
    code = ("import os, time\n"
            "kids = []\n"
            "for _ in range(3):\n"
            "    pid = os.fork()\n"
            "    if pid == 0:\n"
            "        block = bytearray(120 * 1024**2)\n"
            "        for i in range(0, len(block), 4096):\n            block[i] = 1\n"
            "        time.sleep(3)\n        os._exit(0)\n"
            "    kids.append(pid)\n"
            "print(sorted(os.waitstatus_to_exitcode(os.waitpid(k, 0)[1]) for k in kids))\n")
    out = _run_in(g, code)
    codes = eval(out.stdout.strip().splitlines()[-1])  # noqa: S307 - our own list of ints
    assert -9 in codes, codes  # SIGKILL from the group's OOM killer
    assert g.oom_kills() >= 1
    peak = int((g.dirs["memory"] / "memory.max_usage_in_bytes").read_text()) if g.version == 1 else None
    if peak is not None:
        assert peak <= 256 * 1024**2


@needs_cgroups
def test_the_process_cap_stops_a_fork_burner(group):
    g = group(pids=16)
    code = ("import os\nmade = 0\n"
            "try:\n    for _ in range(100):\n        if os.fork() == 0:\n            import time; time.sleep(5); os._exit(0)\n"
            "        made += 1\nexcept OSError as exc:\n    print('refused', made)\n")
    proc = subprocess.Popen(g.wrap([sys.executable, "-c", code]), stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    assert line.startswith("refused"), line
    assert int(line.split()[1]) < 16
    assert len(g.pids()) <= 16
    assert g.kill_all() and g.pids() == []  # the sleeping children too, though they outlive their parent
    proc.wait(timeout=10)


@needs_cgroups
def test_freeze_stops_the_cpu_use_thaw_resumes_and_usage_is_read_from_outside(group):
    g = group(cpus=1.0)
    proc = subprocess.Popen(g.wrap([sys.executable, "-c", "while True:\n    pass\n"]))
    try:
        deadline = time.monotonic() + 10
        while g.cpu_seconds() < 0.05 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert g.cpu_seconds() >= 0.05
        g.freeze()
        frozen_at = g.cpu_seconds()
        time.sleep(0.4)
        assert g.cpu_seconds() - frozen_at < 0.02
        g.thaw()
        deadline = time.monotonic() + 10  # a loaded machine gives the thawed loop less than a core
        while g.cpu_seconds() - frozen_at < 0.05 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert g.cpu_seconds() - frozen_at >= 0.05
    finally:
        assert g.kill_all()
        proc.wait(timeout=10)


@needs_cgroups
def test_the_cpu_quota_caps_a_group_with_many_busy_processes(group):
    """Two busy processes in a group with a quota of half a core use about half a core in all."""
    g = group(cpus=0.5)
    code = "import os\nos.fork()\nwhile True:\n    pass\n"
    proc = subprocess.Popen(g.wrap([sys.executable, "-c", code]))
    try:
        time.sleep(0.3)
        start, t0 = g.cpu_seconds(), time.monotonic()
        time.sleep(1.5)
        used = (g.cpu_seconds() - start) / (time.monotonic() - t0)
        assert used < 0.65, used
    finally:
        g.kill_all()
        proc.wait(timeout=10)


def test_v2_groups_get_whole_group_limits_in_the_unified_files(tmp_path, monkeypatch):
    """On a unified (v2) host a group is one directory with memory.max, pids.max and cpu.max,
    below <root>/cnnlab with the controllers enabled for it (checked on a stand-in hierarchy)."""
    (tmp_path / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    (tmp_path / "cgroup.subtree_control").write_text("")
    assert cgroups.version(tmp_path) == 2
    (tmp_path / "cnnlab").mkdir()
    (tmp_path / "cnnlab" / "cgroup.subtree_control").write_text("")
    g = cgroups.SandboxCgroup.create("x", memory_bytes=1 << 30, pids=100, cpus=1.5, root=tmp_path)
    folder = g.dirs[""]
    assert folder.parent == tmp_path / "cnnlab"
    assert (folder / "memory.max").read_text() == str(1 << 30)
    assert (folder / "pids.max").read_text() == "100"
    assert (folder / "cpu.max").read_text() == "150000 100000"
    assert (tmp_path / "cnnlab" / "cgroup.subtree_control").read_text() == "+memory +pids +cpu"
    assert g.wrap(["python"])[-1] == "python" and str(folder / "cgroup.procs") in g.wrap(["python"])[2]
    (folder / "cpu.stat").write_text("usage_usec 2500000\nuser_usec 2000000\n")
    assert g.cpu_seconds() == 2.5


def test_no_hierarchy_means_no_version(tmp_path):
    assert cgroups.version(tmp_path) is None
    with pytest.raises(cgroups.CgroupsUnavailable):
        cgroups.SandboxCgroup.create("x", memory_bytes=1, pids=1, cpus=1, root=tmp_path)


def test_grading_refuses_without_control_groups_unless_opted_out_loudly(monkeypatch, capsys):
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: "/usr/bin/" + name)
    monkeypatch.setattr(cgroups, "check", lambda root=None: "grading must run as root")
    monkeypatch.delenv("CNNLAB_SANDBOX", raising=False)
    monkeypatch.delenv(cgroups.ENV_VAR, raising=False)
    with pytest.raises(sandbox.SandboxUnavailable, match="own control group.*must run as root.*CNNLAB_CGROUPS=off"):
        sandbox.mode()
    monkeypatch.setenv(cgroups.ENV_VAR, "off")
    sandbox._say_once.cache_clear()
    assert sandbox.mode() == "bwrap"
    assert "CNNLAB_CGROUPS=off" in capsys.readouterr().err


@needs_cgroups
def test_stale_groups_of_ended_processes_are_removed(group):
    g = group()
    base = next(iter(g.dirs.values())).parent
    stale = base / "sandbox-999999999-0"  # no such process
    stale.mkdir()
    group()
    assert not stale.exists()
    assert Path(f"/proc/{os.getpid()}").exists()


# --- limits of a whole notebook, measured and enforced from outside -------------------------------------------

def test_outputs_are_capped_for_the_whole_notebook_with_a_note():
    from cnnlab.course.grader.student_process import cap_outputs

    out = {"output_type": "stream", "name": "stdout", "text": "x" * 1000}
    capped = cap_outputs([[out, out], [out, out], [out]], limit=3500)
    assert capped[0] == [out, out] and capped[1][0] == out and capped[2] == []
    assert "truncated by the grader" in capped[1][1]["text"] and len(capped[1]) == 2
    assert cap_outputs([[out]], limit=10_000) == [[out]]


def test_the_notebook_timeout_bounds_the_sum_of_cell_timeouts(monkeypatch):
    from cnnlab.course.grader import student_process

    monkeypatch.setattr(student_process, "NOTEBOOK_TIMEOUT_S", 300.0)
    assert student_process._notebook_timeout(120, 14) == 300.0  # 14 cells just under 120 s each: 300 s in all
    assert student_process._notebook_timeout(10, 2) == 80.0
    assert student_process._notebook_timeout(600, 1) == 600.0  # never below one cell's timeout


def test_grade_never_starts_more_sandboxes_than_cores_and_retries_timeouts_once(tmp_path, monkeypatch):
    import json

    from cnnlab.course.grader import grade as grade_module
    from cnnlab.course.grader.recheck import Verdict

    assert 1 <= grade_module.usable_cores() <= (os.cpu_count() or 1)
    for student, message in (("slow", "cell 3 timed out (a busy grading machine can cause it)"),
                             ("fine", "conv_forward returned the wrong shape")):
        path = grade_module.verdicts_path(tmp_path, "a1", student, "a1")
        path.parent.mkdir(parents=True)
        status = "error" if student == "slow" else "failed"
        path.write_text(json.dumps({"test_x": Verdict("test_x", False, message, status).__dict__}))
    (tmp_path / "source" / "a1").mkdir(parents=True)
    (tmp_path / "source" / "a1" / "a1.ipynb").write_text("{}")  # the source notebook the verdicts are read for
    calls = []
    monkeypatch.setattr(grade_module, "autograde_one", lambda a, s, force=False: calls.append((a, s, force)))
    assert grade_module.retry_timed_out(tmp_path, "a1", ["fine", "slow"]) == ["slow"]
    assert calls == [("a1", "slow", True)]


@needs_cgroups
@pytest.mark.slow
def test_a_cell_timeout_is_recorded_and_the_notebook_cap_kills_the_whole_sandbox(monkeypatch):
    from cnnlab.course.grader import student_process
    from cnnlab.course.grader.student_process import StudentCrashed, StudentProcess

    cells = ["import time\nwhile True:\n    pass\n", "x = 1\n"]
    with StudentProcess(cells, None, cell_timeout=2, with_torch=False) as proc:
        assert proc.cell_timeouts == ["cell 1"]
    monkeypatch.setattr(student_process, "NOTEBOOK_TIMEOUT_S", 3.0)
    burner = ("import os, signal, time\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\n"
              "for _ in range(4):\n    if os.fork() == 0:\n        os.setsid()\n        while True:\n            pass\n")
    proc = StudentProcess([burner, "time.sleep(2.5)\n", "time.sleep(2.5)\n"], None, cell_timeout=2.8,
                          with_torch=False)
    start = time.monotonic()
    with pytest.raises(StudentCrashed, match="timed out"):
        proc.start()
    assert time.monotonic() - start < 20
    group = proc.cgroup
    assert group is not None and len(group.pids()) >= 5  # the worker and four detached burners
    proc.close()
    assert group.pids() == [] and not any(d.exists() for d in group.dirs.values())
