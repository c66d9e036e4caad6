"""The class the hub tests share: the running hub, its instructor and three students."""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT / "deploy") not in sys.path:
    sys.path.insert(0, str(ROOT / "deploy"))

import hubctl  # noqa: E402


@dataclass
class Klass:
    hub: hubctl.Hub
    instructor: str
    students: list[str]
    kit: Path

    @property
    def course_root(self) -> Path:
        return Path(os.path.expanduser(f"~{self.instructor}")) / "cnnlab-course"
