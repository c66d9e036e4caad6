"""One control group per sandbox: a memory cap for the whole sandbox, a process cap, a CPU quota,
freeze and thaw, its CPU usage read from outside, and kill-all.

Works on cgroup v1 (a hierarchy per controller: ``memory``, ``pids``, ``cpu``, ``cpuacct``,
``freezer``) and v2 (one unified hierarchy), whichever the host has, as root. Each sandbox's
group is created below the grading process's own group (v1) or below ``cnnlab`` in the
unified hierarchy (v2), so limits the host already puts on the grader still hold around it.
A process enters its group before it execs the sandbox (:meth:`SandboxCgroup.wrap`), so every
process the student starts, however it forks, is counted, capped and killed with it.

Without cgroup access :func:`check` says why; ``grade`` then refuses unless the instructor
sets ``CNNLAB_CGROUPS=off`` (limits per process only, printed on every run).
"""
from __future__ import annotations

import functools
import itertools
import os
import shlex
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
ENV_VAR = "CNNLAB_CGROUPS"
V1_CONTROLLERS = ("memory", "pids", "cpu", "cpuacct", "freezer")
V2_CONTROLLERS = ("memory", "pids", "cpu")
PERIOD_US = 100_000
_counter = itertools.count()
_lock = threading.Lock()


class CgroupsUnavailable(RuntimeError):
    """No usable cgroup hierarchy (not root, not mounted, or a controller missing)."""


def opted_out() -> bool:
    """True when ``CNNLAB_CGROUPS=off``: the instructor runs sandboxes without their control groups."""
    return os.environ.get(ENV_VAR, "required").lower() == "off"


def version(root: Path = CGROUP_ROOT) -> int | None:
    """2 for a unified-only host, 1 when the v1 controllers are mounted (hybrid hosts included), else None."""
    if (root / "cgroup.controllers").is_file():
        return 2
    if all((root / c).is_dir() for c in ("memory", "pids", "freezer")) and \
            ((root / "cpuacct").is_dir() or (root / "cpu,cpuacct").is_dir()):
        return 1
    return None


def _own_group(controller: str) -> str:
    """This process's group in the v1 hierarchy of ``controller`` (or the v2 one for ``""``), from /proc."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return "/"
    for line in lines:
        _, names, path = line.split(":", 2)
        if controller in names.split(",") or (controller == "" and names == ""):
            return path or "/"
    return "/"


def _base_dirs(root: Path) -> dict[str, Path]:
    """Where new sandbox groups go: per v1 controller, below this process's own group; v2: ``root/cnnlab``."""
    if version(root) == 2:
        return {"": root / "cnnlab"}
    bases = {}
    for controller in V1_CONTROLLERS:
        top = root / controller
        if not top.is_dir():
            top = root / "cpu,cpuacct"
        own = _own_group(controller).lstrip("/")
        bases[controller] = (top / own if own and (top / own).is_dir() else top) / "cnnlab"
    return bases


@functools.cache
def _checked(root: Path) -> str | None:
    if os.geteuid() != 0:
        return "grading must run as root to give each sandbox its own control group"
    v = version(root)
    if v is None:
        return f"no cgroup v1 or v2 hierarchy with memory, pids, cpu and freezer under {root}"
    try:
        probe = SandboxCgroup.create("probe", memory_bytes=64 * 1024**2, pids=8, cpus=1.0, root=root)
    except OSError as exc:
        return f"cannot create a control group under {root} (cgroup v{v}): {exc}"
    probe.remove()
    return None


def check(root: Path = CGROUP_ROOT) -> str | None:
    """None when sandboxes can get control groups here, else the reason they cannot."""
    return _checked(Path(root))


def available(root: Path = CGROUP_ROOT) -> bool:
    return not opted_out() and check(root) is None


def _write(path: Path, value: str) -> None:
    with open(path, "w") as fh:
        fh.write(value)


def _read(path: Path) -> str:
    with open(path) as fh:
        return fh.read()


@dataclass
class SandboxCgroup:
    """One sandbox's control group (v1: one directory per controller; v2: one directory)."""

    name: str
    version: int
    dirs: dict[str, Path]
    frozen: bool = field(default=False)

    @classmethod
    def create(cls, name: str, *, memory_bytes: int, pids: int, cpus: float,
               root: Path = CGROUP_ROOT) -> SandboxCgroup:
        """A new group with the sandbox's whole-memory cap (swap included where the host accounts it),
        process cap and CPU quota (``cpus`` cores' worth of time per period)."""
        root = Path(root)
        v = version(root)
        if v is None:
            raise CgroupsUnavailable(f"no cgroup hierarchy under {root}")
        with _lock:
            unique = f"{name}-{os.getpid()}-{next(_counter)}"
        bases = _base_dirs(root)
        quota = max(int(cpus * PERIOD_US), 1000)
        for base in bases.values():
            _forget_stale(base)
        if v == 2:
            base = bases[""]
            base.mkdir(exist_ok=True)
            _enable_v2_controllers(base)
            group = base / unique
            group.mkdir()
            self = cls(unique, 2, {"": group})
            _write(group / "memory.max", str(int(memory_bytes)))
            if (group / "memory.swap.max").exists():
                _write(group / "memory.swap.max", "0")
            _write(group / "pids.max", str(int(pids)))
            _write(group / "cpu.max", f"{quota} {PERIOD_US}")
            return self
        dirs = {}
        for controller, base in bases.items():
            base.mkdir(exist_ok=True)
            (base / unique).mkdir(exist_ok=True)  # cpu and cpuacct may be one hierarchy
            dirs[controller] = base / unique
        self = cls(unique, 1, dirs)
        memory = dirs["memory"]
        _write(memory / "memory.limit_in_bytes", str(int(memory_bytes)))
        if (memory / "memory.memsw.limit_in_bytes").exists():
            try:
                _write(memory / "memory.memsw.limit_in_bytes", str(int(memory_bytes)))
            except OSError:
                pass  # swap accounting off: the memory cap alone
        _write(dirs["pids"] / "pids.max", str(int(pids)))
        _write(dirs["cpu"] / "cpu.cfs_period_us", str(PERIOD_US))
        _write(dirs["cpu"] / "cpu.cfs_quota_us", str(quota))
        return self

    # -- entering -----------------------------------------------------------------------------
    def procs_files(self) -> list[Path]:
        return [d / "cgroup.procs" for d in dict.fromkeys(self.dirs.values())]

    def wrap(self, argv: list[str]) -> list[str]:
        """``argv`` run by a shell that first moves itself into this group (then every process it
        starts is inside from its first instruction on)."""
        moves = "; ".join(f"echo $$ > {shlex.quote(str(p))}" for p in self.procs_files())
        return ["/bin/sh", "-c", f"{moves} && exec \"$@\"", "cnnlab-sandbox", *argv]

    def add(self, pid: int) -> None:
        for path in self.procs_files():
            _write(path, str(pid))

    # -- reading --------------------------------------------------------------------------------
    def pids(self) -> list[int]:
        path = self.procs_files()[0]
        try:
            return [int(p) for p in _read(path).split()]
        except OSError:
            return []

    def cpu_seconds(self) -> float:
        """CPU time (user + system) every process of the group has used so far."""
        if self.version == 2:
            for line in _read(self.dirs[""] / "cpu.stat").splitlines():
                key, _, value = line.partition(" ")
                if key == "usage_usec":
                    return int(value) / 1e6
            return 0.0
        return int(_read(self.dirs["cpuacct"] / "cpuacct.usage")) / 1e9

    def memory_bytes(self) -> int:
        """Memory the group uses now."""
        if self.version == 2:
            return int(_read(self.dirs[""] / "memory.current"))
        return int(_read(self.dirs["memory"] / "memory.usage_in_bytes"))

    def peak_memory_bytes(self) -> int | None:
        """The most memory the group has held at once since it was made (v1 ``memory.max_usage_in_bytes``,
        v2 ``memory.peak``); None where the kernel does not keep it (v2 before Linux 5.19)."""
        name = "memory.peak" if self.version == 2 else "memory.max_usage_in_bytes"
        try:
            return int(_read(self.dirs["" if self.version == 2 else "memory"] / name))
        except (OSError, ValueError):
            return None

    def oom_kills(self) -> int:
        """How many processes of the group the kernel killed for its memory cap."""
        try:
            if self.version == 2:
                text = _read(self.dirs[""] / "memory.events")
            else:
                text = _read(self.dirs["memory"] / "memory.oom_control")
        except OSError:
            return 0
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
        return 0

    # -- freezing and killing ----------------------------------------------------------------------
    def freeze(self, timeout: float = 5.0) -> None:
        """Stop every process of the group (they use no CPU until :meth:`thaw`)."""
        if self.version == 2:
            _write(self.dirs[""] / "cgroup.freeze", "1")
            done = lambda: "frozen 1" in _read(self.dirs[""] / "cgroup.events")  # noqa: E731
        else:
            _write(self.dirs["freezer"] / "freezer.state", "FROZEN")
            done = lambda: _read(self.dirs["freezer"] / "freezer.state").strip() == "FROZEN"  # noqa: E731
        deadline = time.monotonic() + timeout
        while not done() and time.monotonic() < deadline:
            time.sleep(0.002)
        self.frozen = True

    def thaw(self) -> None:
        if self.version == 2:
            _write(self.dirs[""] / "cgroup.freeze", "0")
        else:
            _write(self.dirs["freezer"] / "freezer.state", "THAWED")
        self.frozen = False

    def kill_all(self, timeout: float = 5.0) -> bool:
        """SIGKILL every process of the group (frozen first, so none can fork away); True once it is empty."""
        if self.version == 2 and (self.dirs[""] / "cgroup.kill").exists():
            try:
                _write(self.dirs[""] / "cgroup.kill", "1")
            except OSError:
                pass
        deadline = time.monotonic() + timeout
        while self.pids() and time.monotonic() < deadline:
            try:
                self.freeze(timeout=0.5)
            except OSError:
                pass
            for pid in self.pids():
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            try:
                self.thaw()  # a killed process dies only once it runs again
            except OSError:
                pass
            time.sleep(0.01)
        return not self.pids()

    def remove(self) -> None:
        """Kill what is left and remove the group's directories."""
        self.kill_all()
        for path in dict.fromkeys(self.dirs.values()):
            for _ in range(50):
                try:
                    path.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)


def _forget_stale(base: Path) -> None:
    """Remove the empty groups of grading processes that have ended (``<name>-<pid>-<n>``)."""
    if not base.is_dir():
        return
    for group in base.iterdir():
        parts = group.name.rsplit("-", 2)
        if len(parts) == 3 and parts[1].isdigit() and not Path(f"/proc/{parts[1]}").exists():
            try:
                group.rmdir()  # fails while a process is still inside: left alone
            except OSError:
                pass


def _enable_v2_controllers(base: Path) -> None:
    """Turn on memory, pids and cpu for the groups below ``base`` (and for ``base`` in its parent)."""
    for group in (base.parent, base):
        control = group / "cgroup.subtree_control"
        enabled = set(_read(control).split())
        missing = [c for c in V2_CONTROLLERS if c not in enabled]
        if missing:
            _write(control, " ".join(f"+{c}" for c in missing))
