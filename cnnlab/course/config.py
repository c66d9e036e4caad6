"""Load the course's ``course_config.py`` (fresh each time, so environment overrides apply)."""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from types import ModuleType

import cnnlab


def config_path() -> Path:
    """``$CNNLAB_COURSE_CONFIG`` or the repository's course_config.py."""
    env = os.environ.get("CNNLAB_COURSE_CONFIG")
    if env:
        return Path(env).resolve()
    return Path(cnnlab.__file__).resolve().parent.parent / "course_config.py"


def load() -> ModuleType:
    path = config_path()
    if not path.exists():
        raise FileNotFoundError(f"course configuration not found at {path}: set CNNLAB_COURSE_CONFIG")
    spec = importlib.util.spec_from_file_location("_cnnlab_course_config", path)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def gradebook_url(course_root: Path) -> str:
    return f"sqlite:///{Path(course_root) / 'gradebook.db'}"
