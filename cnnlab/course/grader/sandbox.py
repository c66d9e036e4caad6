"""Run untrusted student code in a bubblewrap sandbox.

The sandbox sees only what grading needs, read-only: the system (/usr, /etc), the
Python installation and the virtual environment, and the student package exactly as the
student kit ships it (:func:`student_package`: the kit's wheel, unpacked, mounted where the
checkout's ``cnnlab`` is), plus only the worker's own modules of ``cnnlab.course``
(:data:`INSIDE_MOUNTS`: ``cnnlab/course/inside/``). The references, the checks and the
hidden cases (``cnnlab.course.reference``, ``cnnlab.course.questions``) and the repository
around the package (whose notebooks hold the solutions) are not there. It gets a private
/tmp, a private writable copy of its working directory, no network, its own PID and IPC
namespaces, an unprivileged uid (``setpriv`` when started as root) and ``prlimit``
limits on address space, processes and file size. The course directory, the gradebook,
the exchange and other students' files are simply not there.

The sandbox is required by default: without ``bwrap``, :func:`mode` raises
:class:`SandboxUnavailable` with the install command. ``CNNLAB_SANDBOX=off`` is the explicit
opt-out for a trusted class (student code then runs with ``prlimit`` limits only, and the
grader says so loudly). Each sandbox runs as its own uid (when started as root; otherwise in
its own user namespace), so process limits of one student never touch another, and
everything it can write lies in a size-capped tmpfs.
"""
from __future__ import annotations

import fnmatch
import functools
import hashlib
import itertools
import json
import os
import shutil
import stat
import sys
import sysconfig
import tempfile
import threading
import time
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path

import cnnlab

from . import cgroups, environments
from .environments import Environment

NOBODY_UID = 65534
NOBODY_GID = 65534
DEFAULT_MEMORY_BYTES = int(os.environ.get("CNNLAB_SANDBOX_MEMORY", 6 * 1024**3))
DEFAULT_NPROC = 512
DEFAULT_FSIZE_BYTES = 256 * 1024**2
SANDBOX_HOME = "/tmp/home"
DEFAULT_TMPFS_BYTES = int(os.environ.get("CNNLAB_SANDBOX_TMPFS", 512 * 1024**2))
INSTALL_HINT = "install bubblewrap (Debian/Ubuntu: sudo apt-get install bubblewrap; Fedora: sudo dnf install bubblewrap)"
# What the sandbox shows of cnnlab.course: the package marker and the whole inside/ folder (the
# worker, the message format and assignment 2's probes), which imports nothing else of it.
INSIDE_MOUNTS = ("__init__.py", "inside")
_FIRST_UID = 200_000
_uid_lock = threading.Lock()
_uid_counter = itertools.count()


def next_uid() -> int:
    """A uid no other sandbox of this machine uses at the same time (per process and call)."""
    with _uid_lock:
        n = next(_uid_counter)
    return _FIRST_UID + (os.getpid() % 4096) * 256 + n % 256


class SandboxUnavailable(RuntimeError):
    """CNNLAB_SANDBOX=required but bubblewrap is not installed (or not usable)."""


def opted_out() -> bool:
    """True when CNNLAB_SANDBOX=off: the instructor chose to run student code unsandboxed."""
    return os.environ.get("CNNLAB_SANDBOX", "required").lower() == "off"


def mode() -> str:
    """'bwrap', or 'none' only with CNNLAB_SANDBOX=off; raises SandboxUnavailable without bwrap, or
    without control groups for the sandboxes (:mod:`.cgroups`) unless CNNLAB_CGROUPS=off."""
    if opted_out():
        return "none"
    if not shutil.which("bwrap"):
        raise SandboxUnavailable(f"grading runs student code in a bubblewrap sandbox, and bwrap is not installed: "
                                 f"{INSTALL_HINT} (or set CNNLAB_SANDBOX=off for a class you trust)")
    if cgroups.opted_out():
        _say_once(f"WARNING: {cgroups.ENV_VAR}=off: the sandboxes run without their control groups (no memory cap "
                  "for a whole sandbox, no CPU quota, processes capped per uid only): a student's processes can "
                  "slow or starve the others graded at the same time. Only do this for a class you trust.")
    else:
        reason = cgroups.check()
        if reason is not None:
            raise SandboxUnavailable(f"each sandbox runs in its own control group (memory, processes, CPU), and "
                                     f"{reason}: run grade as root on a host with cgroup v1 or v2 (or set "
                                     f"{cgroups.ENV_VAR}=off for a class you trust: limits are then per process only)")
    return "bwrap"


@functools.cache
def _say_once(message: str) -> None:
    """Print ``message`` on stderr once per process (the opt-outs are said loudly, not on every sandbox)."""
    print(message, file=sys.stderr)


def _package_dir() -> Path:
    """Where ``cnnlab`` is imported from (the checkout, for an instructor)."""
    return Path(cnnlab.__file__).resolve().parent


def _package_cache() -> Path:
    """Where the student package is unpacked, once per content (and its digests remembered)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "cnnlab" / "student-package"


# A file changed less than this long before a stat walk may change again within the same tick of the
# file system's clock, keeping its times: a signature with such a file is never remembered (as git does).
_SETTLE_NS = 2 * 10**9
_DIGESTS_KEPT = 16


def _tree_signature(package: Path) -> tuple[str, bool]:
    """A key for what :func:`_package_digest` reads, from a stat walk alone (no file is read).

    Every entry below ``package`` (``course/`` aside, as in the digest) by path, and each file's
    device, inode, size, modification and change times in nanoseconds (the change time cannot be
    set back by a program, so an edit that restores the size and modification time still shows).
    Returns the key and whether it may be remembered: False while a file changed within the last
    :data:`_SETTLE_NS` (it could change again and keep all its times).
    """
    signature = hashlib.sha256(cnnlab.__version__.encode() + b"\0")
    recent = time.time_ns() - _SETTLE_NS
    settled = True
    for path in sorted(package.rglob("*")):
        rel = path.relative_to(package)
        if rel.parts[0] == "course":
            continue
        try:
            st = path.stat()
        except OSError:
            signature.update(f"{rel}\0?\0".encode())
            settled = False
            continue
        if stat.S_ISREG(st.st_mode):
            stamp = f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}"
            signature.update(f"{rel}\0{stamp}\0".encode())
            settled = settled and max(st.st_mtime_ns, st.st_ctime_ns) < recent
        else:
            signature.update(f"{rel}\0{stat.S_IFMT(st.st_mode)}\0".encode())
    return signature.hexdigest(), settled


def _content_digest(package: Path) -> str:
    """A digest of what the student kit's wheel is built from: every file of ``package`` that
    :func:`cnnlab.course.kit.build.build_wheel` copies, by path and content, and the package's version."""
    from ..kit import NOT_IN_THE_WHEEL  # not kit.build: that imports nbformat and jsonschema (1.7 s of CPU)

    digest = hashlib.sha256(cnnlab.__version__.encode())
    for path in sorted(package.rglob("*")):
        rel = path.relative_to(package)
        skipped = any(fnmatch.fnmatch(part, pattern) for part in rel.parts for pattern in NOT_IN_THE_WHEEL)
        if rel.parts[0] == "course" or skipped or not path.is_file():
            continue
        digest.update(str(rel).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:20]


def _package_digest(package: Path) -> str:
    """:func:`_content_digest` of ``package``, remembered in the cache per :func:`_tree_signature`.

    An unchanged tree costs a stat walk (milliseconds) instead of importing the kit's builder and
    reading every file (1.7 s for each stock nbgrader kernel); any edit changes the signature and the
    digest is computed again from the content.
    """
    signature, settled = _tree_signature(package)
    store = _package_cache() / "digests.json"
    try:
        known = json.loads(store.read_text())
        if not isinstance(known, dict):
            known = {}
    except (OSError, ValueError):
        known = {}
    digest = known.get(signature)
    if isinstance(digest, str) and len(digest) == 20 and all(c in "0123456789abcdef" for c in digest):
        return digest
    digest = _content_digest(package)
    if settled:  # several grading processes may write at once: each replaces the file whole
        kept = {k: v for k, v in list(known.items())[-(_DIGESTS_KEPT - 1):] if isinstance(v, str)}
        kept[signature] = digest
        tmp = None
        try:
            store.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=store.parent, prefix=".digests-")
            with os.fdopen(fd, "w") as fh:
                json.dump(kept, fh)
            os.replace(tmp, store)
        except OSError:  # a cache: the digest is still right
            if tmp is not None:
                Path(tmp).unlink(missing_ok=True)
    return digest


@functools.cache
def student_package() -> Path | None:
    """The student kit's ``cnnlab`` package, unpacked, or None when it cannot be built.

    Built by :func:`cnnlab.course.kit.build.build_wheel` from the checkout's ``cnnlab`` (the same wheel
    ``python -m cnnlab.course kit`` ships), unpacked under ``~/.cache/cnnlab/student-package/<digest>``
    once for each content of the package (a few seconds, then found again), with an empty
    ``course/`` for the worker's files to be mounted in, and compiled to bytecode so that no
    sandbox compiles it again. Where the wheel cannot be built, the sandbox shows the checkout's
    package with ``cnnlab/course`` hidden instead, with a warning.
    """
    package = _package_dir()
    if not (package / "course").is_dir():  # the student package itself is installed
        return package
    cache = _package_cache()
    unpacked = cache / _package_digest(package) / "cnnlab"
    if (unpacked / "__init__.py").is_file():
        return unpacked
    try:
        import compileall
        import zipfile

        from ..kit.build import build_wheel

        cache.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=cache, prefix=".building-") as tmp:
            wheel = build_wheel(package.parent, Path(tmp) / "wheel")
            tree = Path(tmp) / "tree"
            with zipfile.ZipFile(wheel) as zf:
                zf.extractall(tree, [m for m in zf.namelist() if m.startswith("cnnlab/")])
            (tree / "cnnlab" / "course").mkdir()  # where the worker's files are mounted
            compileall.compile_dir(str(tree / "cnnlab"), quiet=1)
            unpacked.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.rename(tree / "cnnlab", unpacked)
            except OSError:  # another grading process unpacked it first
                if not (unpacked / "__init__.py").is_file():
                    raise
        _forget_old_packages(cache, keep=unpacked.parent)
    except Exception as exc:  # noqa: BLE001 - grading still works, on the checkout's package
        warnings.warn(f"could not build the student kit's package ({type(exc).__name__}: {exc}); the sandbox "
                      "shows the checkout's cnnlab with cnnlab/course hidden instead", RuntimeWarning, stacklevel=2)
        return None
    return unpacked


def _forget_old_packages(cache: Path, keep: Path, count: int = 4) -> None:
    """Remove all but the ``count`` most recently built packages in ``cache`` (each is a few MB)."""
    built = sorted((p for p in cache.iterdir() if p.is_dir() and not p.name.startswith(".") and p != keep),
                   key=lambda p: p.stat().st_mtime, reverse=True)
    for old in built[count - 1:]:
        shutil.rmtree(old, ignore_errors=True)


def readonly_paths(with_opt: bool = True) -> list[Path]:
    """What the sandbox may read: system, Python and the venv (nothing else); :func:`sandbox_command`
    adds the student package (:func:`package_mounts`). ``with_opt=False`` leaves ``/opt`` out (a
    grading environment: what is installed there is not the assignment's to import)."""
    paths = {Path(p) for p in ("/usr", "/etc", *(("/opt",) if with_opt else ())) if Path(p).exists()}
    for p in (sys.base_prefix, sys.prefix, sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]):
        paths.add(Path(p).resolve())
    # Drop paths contained in another one.
    kept = sorted(paths, key=lambda p: len(p.parts))
    result: list[Path] = []
    for p in kept:
        if not any(p == q or q in p.parents for q in result):
            result.append(p)
    return result


def package_mounts(environment: Environment | None = None) -> list[str]:
    """bwrap arguments that show the student package where ``cnnlab`` is imported from, and in its
    ``cnnlab/course`` only what runs inside (:data:`INSIDE_MOUNTS`).

    The package is the kit's (:func:`student_package`), or, where that cannot be built, the
    checkout's; either way an empty read-only tmpfs goes over ``cnnlab/course`` and only
    :data:`INSIDE_MOUNTS` are bound back, so ``cnnlab.course`` holds ``inside/`` and nothing else.
    With an ``environment``, ``cnnlab`` itself is an empty read-only tmpfs with only the parts the
    environment allows bound back (:func:`cnnlab.course.grader.environments.cnnlab_entries`).
    """
    package = _package_dir()
    kit = student_package()
    if environment is None:
        args = ["--ro-bind", str(kit or package), str(package)]
    else:
        args = ["--perms", "0755", "--size", str(1024**2), "--tmpfs", str(package)]
        for name in environments.cnnlab_entries(environment, kit or package):
            args += ["--ro-bind", str((kit or package) / name), str(package / name)]
    course = package / "course"
    if not course.is_dir():  # the student package alone: nothing to hide
        return args if environment is None else args + ["--remount-ro", str(package)]
    args += ["--perms", "0755", "--size", str(1024**2), "--tmpfs", str(course)]
    for name in INSIDE_MOUNTS:
        path = course / name
        if path.exists():
            args += ["--ro-bind", str(path), str(path)]
    args += ["--remount-ro", str(course)]
    return args if environment is None else args + ["--remount-ro", str(package)]


def _limits(memory_bytes: int, nproc: int, fsize_bytes: int) -> list[str]:
    prlimit = shutil.which("prlimit")
    if not prlimit:
        return []
    return [prlimit, f"--as={memory_bytes}", f"--nproc={nproc}", f"--fsize={fsize_bytes}", f"--core=0", "--"]


def sandbox_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "HOME": SANDBOX_HOME,
        "USER": "student",
        "LANG": "C.UTF-8",
        "MPLCONFIGDIR": f"{SANDBOX_HOME}/.mpl",
        "MPLBACKEND": "Agg",
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "CNNLAB_DEVICE": os.environ.get("CNNLAB_DEVICE", "cpu"),
        "CNNLAB_IN_SANDBOX": "1",
    }
    if extra:
        env.update(extra)
    return env


def sandbox_command(
    argv: list[str],
    *,
    workdir: Path | None,
    rw_paths: Iterable[Path] = (),
    ro_binds: Iterable[tuple[Path, str]] = (),
    chdir: str | None = None,
    env: Mapping[str, str] | None = None,
    memory_bytes: int = DEFAULT_MEMORY_BYTES,
    nproc: int = DEFAULT_NPROC,
    fsize_bytes: int = DEFAULT_FSIZE_BYTES,
    tmpfs_bytes: int = DEFAULT_TMPFS_BYTES,
    sandbox_mode: str | None = None,
    environment: Environment | None = None,
) -> tuple[list[str], dict[str, str]]:
    """The command line and environment that run ``argv`` sandboxed with ``workdir`` as its only writable dir.

    ``workdir`` should be a private copy: it is bound read-write at the same path and made
    writable for the unprivileged uid. Without it the process works in ``chdir`` inside its
    private /tmp; ``ro_binds`` are (host path, sandbox path) pairs mounted read-only.
    ``environment`` (an assignment's, :func:`cnnlab.course.grader.environments.for_assignment`)
    leaves only what it allows importable; without one the sandbox holds the whole venv.
    """
    sandbox_mode = sandbox_mode or mode()
    full_env = sandbox_env({**environments.rules_env(environment), **(env or {})})
    limits = _limits(memory_bytes, nproc, fsize_bytes)
    if sandbox_mode == "none":
        home = str(workdir) if workdir is not None else os.environ.get("HOME", "/tmp")
        full_env["HOME"] = home
        full_env["MPLCONFIGDIR"] = str(Path(home) / ".mpl")
        return limits + list(argv), {**os.environ, **full_env}
    rw_paths = [Path(p) for p in rw_paths]
    if workdir is not None:
        workdir = Path(workdir).resolve()
        os.chmod(workdir, 0o777)
        rw_paths.insert(0, workdir)
    cmd = ["bwrap", "--die-with-parent", "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
           "--unshare-cgroup-try", "--hostname", "sandbox"]
    root = os.geteuid() == 0
    if not root:
        cmd.append("--unshare-user")
    ro = readonly_paths(with_opt=environment is None)
    package = _package_dir()
    ancestors = sorted({a for p in [*ro, *rw_paths, package] for a in p.parents if a != Path("/")},
                       key=lambda a: len(a.parts))
    cmd += ["--perms", "1777", "--size", str(tmpfs_bytes), "--tmpfs", "/tmp"]
    for parent in ancestors:  # bwrap would create them mode 0700, unreadable for the unprivileged uid
        if str(parent) != "/tmp":
            cmd += ["--perms", "0755", "--dir", str(parent)]
    for path in ro:
        cmd += ["--ro-bind", str(path), str(path)]
    if environment is not None:  # only the assignment's packages (capabilities, not a deny-list)
        cmd += environments.sandbox_mounts(environment)
    cmd += package_mounts(environment)  # the student package: no references, checks or hidden cases
    for link in ("bin", "lib", "lib64", "sbin"):
        p = Path("/") / link
        if p.is_symlink():
            cmd += ["--symlink", os.readlink(p), str(p)]
        elif p.exists():
            cmd += ["--ro-bind", str(p), str(p)]
    cmd += ["--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--size", str(16 * 1024**2), "--tmpfs",
            "/dev/shm", "--perms", "0777", "--dir", SANDBOX_HOME]
    for node in sorted(Path("/dev").glob("nvidia*")):  # CUDA: the GPU's device nodes (nothing else of /dev)
        cmd += ["--dev-bind", str(node), str(node)]
    for path in rw_paths:
        cmd += ["--bind", str(path), str(path)]
    for src, dst in ro_binds:
        cmd += ["--ro-bind", str(src), str(dst)]
    target = str(workdir) if workdir is not None else (chdir or SANDBOX_HOME)
    if workdir is None and chdir:
        cmd += ["--perms", "0777", "--dir", chdir]
    cmd += ["--chdir", target, "--clearenv"]
    for key, value in full_env.items():
        cmd += ["--setenv", key, value]
    cmd.append("--")
    if root:
        setpriv = shutil.which("setpriv")
        if setpriv:
            uid = next_uid()  # its own uid: RLIMIT_NPROC and kill() cannot reach another student's sandbox
            cmd += [setpriv, f"--reuid={uid}", f"--regid={NOBODY_GID}", "--clear-groups", "--no-new-privs",
                    "--inh-caps=-all", "--bounding-set=-all"]
        else:
            warnings.warn("setpriv is missing: the sandboxed code runs as root inside bwrap", RuntimeWarning,
                          stacklevel=2)
    return cmd + limits + list(argv), full_env
