"""A Jupyter kernel that runs inside the sandbox, for ``nbgrader autograde``.

The kernelspec ``cnnlab-sandbox`` (installed into the venv by :func:`install_kernelspec`)
starts ``python -m cnnlab.course.grader.sandbox_kernel -f {connection_file}``. This launcher reads the
connection file, mounts the submission's directory read-only, and starts ipykernel in the
sandbox, which copies that directory into its private /tmp and works there. ZeroMQ must use
the ``ipc`` transport (unix sockets in a directory bound into the sandbox) since the sandbox
has no network; :func:`configure` sets that up in the nbgrader config.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import warnings
from pathlib import Path
from typing import Any

from . import cgroups, environments
from .sandbox import DEFAULT_MEMORY_BYTES, DEFAULT_NPROC, mode, opted_out, sandbox_command

KERNEL_NAME = "cnnlab-sandbox"

_PRELUDE = """
import os, runpy, shutil, sys
os.makedirs('/tmp/work', exist_ok=True)
for top, dirs, files in os.walk('/tmp/.submission'):
    rel = os.path.relpath(top, '/tmp/.submission')
    os.makedirs(os.path.join('/tmp/work', rel), exist_ok=True)
    for name in files:
        src = os.path.join(top, name)
        if not os.path.islink(src):
            try:
                shutil.copyfile(src, os.path.join('/tmp/work', rel, name))
            except OSError:
                pass
with open('/tmp/.connection.json', 'w') as fh:
    fh.write(os.environ.pop('CNNLAB_KERNEL_CONNECTION'))
os.chdir('/tmp/work')
# helper modules beside the notebook import, as in JupyterLab: ipykernel_launcher removes the first
# entry when it is the working folder, and IPython adds none back under -I (safe_path), hence twice
sys.path[:0] = ['/tmp/work', '/tmp/work']
from cnnlab.course.inside import import_rules
import_rules.install()  # a missing module's error names the assignment's rule
sys.argv = ['ipykernel_launcher', '-f', '/tmp/.connection.json'] + sys.argv[1:]
runpy.run_module('ipykernel_launcher', run_name='__main__', alter_sys=True)
"""


def kernelspec_dir() -> Path:
    return Path(sys.prefix) / "share" / "jupyter" / "kernels" / KERNEL_NAME


def install_kernelspec() -> Path:
    """Write (or refresh) the sandboxed kernelspec in the venv; returns its directory."""
    spec = {
        "argv": [sys.executable, "-m", "cnnlab.course.grader.sandbox_kernel", "-f", "{connection_file}"],
        "display_name": "Python 3 (cnnlab grading sandbox)",
        "language": "python",
        "interrupt_mode": "message",
        "metadata": {"debugger": False},
    }
    path = kernelspec_dir()
    text = json.dumps(spec, indent=1)
    target = path / "kernel.json"
    if not target.exists() or target.read_text() != text:
        path.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return path


def ipc_dir() -> Path:
    """A per-process directory for the kernels' unix sockets (the sandbox binds it)."""
    base = Path("/tmp") / f"cnnlab-ipc-{os.geteuid()}"
    base.mkdir(mode=0o711, exist_ok=True)
    for old in base.iterdir():  # directories of nbgrader processes that have ended
        if old.name.isdigit() and not Path(f"/proc/{old.name}").exists():
            shutil.rmtree(old, ignore_errors=True)
    path = base / str(os.getpid())
    path.mkdir(exist_ok=True)
    os.chmod(path, 0o1777)  # the kernel runs as an unprivileged user and creates the sockets here
    return path


def configure(c: Any) -> bool:
    """nbgrader settings for safe grading: collect without following links, the sandboxed kernel, and
    (under ``grade``, ``CNNLAB_TRUSTED_AUTOGRADE=1``) :class:`cnnlab.course.grader.nbgrader_steps.TrustedExecute`
    in place of nbgrader's Execute.

    Returns False (no sandboxed kernel) when opted out (autograde then warns loudly) or bwrap is
    missing: ``grade`` then refuses to run, and so does stock ``nbgrader autograde``
    (:class:`~cnnlab.course.grader.nbgrader_steps.RefuseUnsandboxed` fails every notebook with the
    install command); other nbgrader commands need no kernel.
    """
    from .nbgrader_overrides import LEFT_OUT_STEPS, REFUSED_STEPS, TRUSTED_STEPS, autograde_steps, release_steps

    c.ExchangeFactory.collect = "cnnlab.course.grader.nbgrader_overrides.SafeCollect"
    c.GenerateAssignment.preprocessors = release_steps()  # released notebooks carry no jupytext pairing
    if os.environ.get("CNNLAB_TRUSTED_AUTOGRADE") == "1":  # set by `grade`: one trusted run replaces Execute
        # nbgrader's own list with Execute and SaveAutoGrades replaced by the trusted steps
        c.Autograde.autograde_preprocessors = autograde_steps(TRUSTED_STEPS, LEFT_OUT_STEPS)
    if opted_out():
        if "autograde" in sys.argv:
            print("WARNING: CNNLAB_SANDBOX=off: nbgrader autograde runs every student's code WITHOUT the "
                  "sandbox, as you, with your files and the gradebook in reach.", file=sys.stderr)
        return False
    if not shutil.which("bwrap"):
        # Stock `nbgrader autograde` (formgrader's button, the CLI) would run student code in a plain
        # kernel: every notebook fails with the reason instead (RefuseUnsandboxed).
        c.Autograde.autograde_preprocessors = autograde_steps(REFUSED_STEPS)
        return False
    install_kernelspec()
    c.Execute.kernel_name = KERNEL_NAME
    c.KernelManager.transport = "ipc"
    c.KernelManager.ip = str(ipc_dir() / "kernel")
    return True


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] != "-f":
        print("usage: python -m cnnlab.course.grader.sandbox_kernel -f CONNECTION_FILE [ipykernel args]", file=sys.stderr)
        return 2
    connection_file, extra = Path(argv[1]), argv[2:]
    info = json.loads(connection_file.read_text())
    rw: list[Path] = []
    if info.get("transport") == "ipc":
        rw.append(Path(info["ip"]).parent)
    else:
        warnings.warn("the sandboxed kernel needs ZeroMQ's ipc transport (c.KernelManager.transport = 'ipc')",
                      RuntimeWarning, stacklevel=1)
    cwd = Path.cwd()
    # nbgrader runs the kernel in autograded/<student>/<assignment>: that assignment's grading environment
    try:
        environment = environments.for_assignment(cwd.name)
    except Exception as exc:  # noqa: BLE001 - no course config here: the whole venv, said loudly
        warnings.warn(f"no grading environment for {cwd.name} ({exc}): the sandbox holds the whole venv",
                      RuntimeWarning, stacklevel=1)
        environment = None
    argv_inner = [sys.executable, "-I", "-c", _PRELUDE, *extra]
    cmd, env = sandbox_command(argv_inner, workdir=None, rw_paths=rw, ro_binds=[(cwd, "/tmp/.submission")],
                               chdir="/tmp/work", env={"CNNLAB_KERNEL_CONNECTION": json.dumps(info)},
                               environment=environment)
    if cmd[0] == "bwrap" and not cgroups.opted_out():  # the whole kernel sandbox in its own control group
        group = cgroups.SandboxCgroup.create("kernel", memory_bytes=DEFAULT_MEMORY_BYTES, pids=DEFAULT_NPROC,
                                             cpus=float(os.environ.get("CNNLAB_SANDBOX_CPUS", 1.0)))
        cmd = group.wrap(cmd)  # (removed by the next grading process once the kernel has ended)
    if mode() == "none":  # no bwrap: run ipykernel directly in place, with limits only
        cmd = [c for c in cmd if c != "-I"]
        cmd = cmd[: cmd.index(sys.executable)] + [sys.executable, "-m", "ipykernel_launcher", "-f",
                                                  str(connection_file), *extra]
    os.execvpe(cmd[0], cmd, env)
    return 0  # pragma: no cover


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
