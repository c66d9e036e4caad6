"""Find and load the course's ``course_config.py`` (fresh each time, so environment overrides apply).

Where it is looked for, first match wins:

1. the CLI's ``--config PATH`` (``python -m cnnlab.course --config PATH ...``), which :func:`use`
   records in ``CNNLAB_COURSE_CONFIG`` so that every process the command starts sees the same file;
2. the environment variable ``CNNLAB_COURSE_CONFIG``;
3. ``course_config.py`` in the working directory or the nearest of its parents (run the
   commands from the course repository).

Nothing depends on where the ``cnnlab`` package is installed.
"""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from types import ModuleType

__all__ = ["ENV_VAR", "FILENAME", "config_path", "gradebook_url", "load", "use"]

ENV_VAR = "CNNLAB_COURSE_CONFIG"
FILENAME = "course_config.py"


def use(path: str | Path) -> Path:
    """Make ``path`` the course configuration of this process and of the processes it starts."""
    resolved = Path(path).expanduser().resolve()
    if not resolved.is_file():
        raise FileNotFoundError(f"--config {path}: no such file (give the path of the course's {FILENAME})")
    os.environ[ENV_VAR] = str(resolved)
    return resolved


def config_path(start: str | Path | None = None) -> Path:
    """The configuration file to use: ``$CNNLAB_COURSE_CONFIG``, else the nearest ``course_config.py``
    in ``start`` (default: the working directory) or its parents."""
    env = os.environ.get(ENV_VAR)
    if env:
        path = Path(env).expanduser().resolve()
        if not path.is_file():
            raise FileNotFoundError(f"{ENV_VAR} is set to {env}, but there is no such file: "
                                    f"point it at the course's {FILENAME}, or unset it")
        return path
    here = Path(start if start is not None else Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / FILENAME
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"no {FILENAME} found in {here} or any folder above it. Run the command from the course "
        f"repository, pass --config PATH/{FILENAME}, or set {ENV_VAR}=PATH/{FILENAME}")


def load(start: str | Path | None = None) -> ModuleType:
    """Execute the configuration file (see :func:`config_path`) and return it as a module."""
    path = config_path(start)
    spec = importlib.util.spec_from_file_location("_cnnlab_course_config", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path} as Python")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def gradebook_url(course_root: Path | None = None) -> str:
    """The gradebook's database URL, the one place it is decided: the course config's ``DB_URL``
    (``CNNLAB_DB_URL``, which it also gives nbgrader as ``c.CourseDirectory.db_url``), else
    ``gradebook.db`` in ``course_root`` (default: the config's ``COURSE_ROOT``), as nbgrader's default."""
    cfg = load()
    url = getattr(cfg, "DB_URL", None)
    return str(url) if url else f"sqlite:///{Path(course_root or cfg.COURSE_ROOT) / 'gradebook.db'}"
