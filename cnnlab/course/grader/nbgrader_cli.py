"""The instructor's commands around nbgrader: set up the course directory, run nbgrader with the course's config."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from .. import config
from .sandbox_kernel import install_kernelspec
from .nbgrader_overrides import NBGRADER_LAUNCHER
from .sandbox import opted_out


def init(force: bool = False) -> Path:
    """Create COURSE_ROOT with ``source`` linked to the repository's assignments, the exchange and config."""
    cfg = config.load()
    root = Path(cfg.COURSE_ROOT)
    root.mkdir(parents=True, exist_ok=True)
    source = root / "source"
    if source.is_symlink() and force:
        source.unlink()
    if not source.exists() and not source.is_symlink():
        source.symlink_to(Path(cfg.ASSIGNMENTS_SOURCE), target_is_directory=True)
    exchange = Path(cfg.EXCHANGE)
    exchange.mkdir(parents=True, exist_ok=True)
    try:
        os.chmod(exchange, 0o1777)  # every student writes submissions here
    except PermissionError:
        pass
    # So that `jupyter lab` / formgrader started in COURSE_ROOT picks up the same settings.
    local = root / "nbgrader_config.py"
    text = (
        "# Written by `python -m cnnlab.course init`: the course's settings live in the repository.\n"
        "c = get_config()  # noqa: F821\n"
        f"load_subconfig({str(config.config_path())!r})  # noqa: F821\n"
    )
    if force or not local.exists():
        local.write_text(text)
    if not opted_out() and shutil.which("bwrap"):
        install_kernelspec()
    return root


def run_nbgrader(args: Sequence[str], *, check: bool = False, capture: bool = False,
                 env: dict | None = None) -> subprocess.CompletedProcess:
    """``nbgrader ARGS --config course_config.py``, from the course root."""
    cfg = config.load()
    root = Path(cfg.COURSE_ROOT)
    root.mkdir(parents=True, exist_ok=True)
    # (nbgrader has no --config alias: the config file is given as a trait)
    cmd = [sys.executable, "-c", NBGRADER_LAUNCHER, *args, f"--NbGrader.config_file={config.config_path()}"]
    full_env = {**os.environ, **(env or {})}
    # nbgrader runs from the course root, where the grader it loads looks for the config again:
    # name the file explicitly so a course directory outside the repository works.
    full_env.setdefault(config.ENV_VAR, str(config.config_path()))
    # nbgrader's upgrade of an old gradebook runs the `alembic` program: the venv's bin on PATH.
    full_env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{full_env.get('PATH', '')}"
    return subprocess.run(cmd, cwd=root, check=check, text=True, capture_output=capture, env=full_env)
