"""Per-assignment grading environments: what a sandbox can import (capabilities, not a deny-list).

``course_config.GRADING_ENVIRONMENTS`` declares, per assignment, the distributions its sandbox
holds (each with everything it requires) and the parts of the student package (``cnnlab``)
it shows. :func:`sandbox_mounts` turns that into bubblewrap arguments: an empty read-only
tmpfs over the venv's site-packages with only the allowed top-level entries bound back, empty
tmpfs over every other site- or dist-packages folder the sandbox could read (the base
interpreter's, Debian's), and the same over ``cnnlab`` with only the allowed parts. What is not
listed is not in the sandbox: no route (an alias, a magic, a helper file, a pickle) imports it.

The list of entries is computed from the installed distributions' metadata once per content of
the venv and kept in ``~/.cache/cnnlab/environments/`` (:func:`site_entries`). Inside, the
worker's :mod:`cnnlab.course.inside.import_rules` turns an import of a missing module into a
message that names the rule it broke (:func:`rules_env`).
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import sys
import sysconfig
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from .. import config

# What every grading sandbox holds, whatever the assignment allows: the distributions the worker's
# IPython shell and nbgrader's kernel need, and the cnnlab modules every set-up cell uses. Declared
# with the rules in the student package (cnnlab.assignment_rules), which a student's kernel reads too.
from cnnlab.assignment_rules import ALWAYS_CNNLAB  # noqa: E402
from cnnlab.assignment_rules import ALWAYS_PACKAGES as ALWAYS  # noqa: E402
from cnnlab.assignment_rules import GRADER_ENV_VAR as RULES_ENV_VAR  # noqa: E402 - the sandbox's rules
_LAYOUT = 3  # bump when what site_entries computes changes (the cached lists are then recomputed)


@dataclass(frozen=True)
class Environment:
    """One assignment's grading environment (see ``GRADING_ENVIRONMENTS`` in course_config.py)."""

    assignment: str
    packages: tuple[str, ...]  # distributions importable, with their requirements
    cnnlab: tuple[str, ...]  # modules and subpackages of cnnlab shown (names under cnnlab/)
    rules: tuple[tuple[str, str], ...]  # (dotted prefix, why it is absent), for the student's message
    summary: str  # one sentence: what the environment holds

    def rule_for(self, module: str) -> str | None:
        """The declared reason ``module`` is absent, if a rule names it."""
        for prefix, why in self.rules:
            if module == prefix or module.startswith(prefix + "."):
                return why
        return None


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def for_assignment(assignment: str | None) -> Environment | None:
    """The declared environment of ``assignment``, or None (the sandbox then holds the whole venv).

    Raises ValueError for a malformed declaration (a course config error, reported before grading).
    """
    if not assignment:
        return None
    declared = getattr(config.load(), "GRADING_ENVIRONMENTS", {}) or {}
    spec = declared.get(assignment)
    if spec is None:
        return None
    if not isinstance(spec, dict) or not isinstance(spec.get("packages"), (list, tuple)) \
            or not isinstance(spec.get("cnnlab"), (list, tuple)):
        raise ValueError(f"GRADING_ENVIRONMENTS[{assignment!r}] should be a dict with lists 'packages' and "
                         f"'cnnlab' (and optionally 'rules' and 'summary'), got {spec!r}")
    rules = spec.get("rules", {})
    if not isinstance(rules, dict):
        raise ValueError(f"GRADING_ENVIRONMENTS[{assignment!r}]['rules'] should map a module to the reason "
                         f"it is absent, got {rules!r}")
    return Environment(assignment, tuple(str(p) for p in spec["packages"]), tuple(str(p) for p in spec["cnnlab"]),
                       tuple((str(k), str(v)) for k, v in rules.items()), str(spec.get("summary", "")))


def site_packages() -> Path:
    """The venv's site-packages folder (where the view goes)."""
    return Path(sysconfig.get_paths()["purelib"]).resolve()


def _requirement_names(dist: metadata.Distribution) -> list[str]:
    from packaging.requirements import InvalidRequirement, Requirement

    names = []
    for line in dist.requires or []:
        try:
            req = Requirement(line)
        except InvalidRequirement:
            continue
        if req.marker is not None:
            try:
                if not req.marker.evaluate({"extra": ""}):
                    continue  # an extra, or another platform's requirement
            except Exception:  # noqa: BLE001 - an unusual marker: leave the requirement out
                continue
        names.append(_normal(req.name))
    return names


def closure(packages: tuple[str, ...] | list[str], path: Path | None = None) -> list[metadata.Distribution]:
    """The installed distributions named in ``packages`` and everything they require (in ``path``)."""
    where = [str(path or site_packages())]
    installed = {_normal(d.metadata["Name"] or ""): d for d in metadata.distributions(path=where)}
    seen: dict[str, metadata.Distribution] = {}
    stack = [_normal(p) for p in packages]
    while stack:
        name = stack.pop()
        if name in seen or name not in installed:
            continue
        seen[name] = installed[name]
        stack.extend(_requirement_names(installed[name]))
    return [seen[n] for n in sorted(seen)]


def _entries_of(dist: metadata.Distribution, root: Path) -> set[str]:
    """The top-level names in ``root`` that ``dist`` installed (packages, modules, .libs, dist-info, .pth)."""
    entries: set[str] = set()
    for file in dist.files or []:
        parts = Path(file).parts
        if not parts or parts[0] in ("..", "__pycache__") or Path(file).is_absolute():
            continue
        entries.add(parts[0])
    info = getattr(dist, "_path", None)  # the .dist-info folder itself
    if info is not None:
        entries.add(Path(info).name)
    return {e for e in entries if (root / e).exists() or (root / e).is_symlink()}


def _cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "cnnlab" / "environments"


@functools.cache
def site_entries(packages: tuple[str, ...]) -> tuple[str, ...]:
    """The top-level entries of the venv's site-packages a sandbox holding ``packages`` shows.

    Computed from the distributions' metadata once per content of site-packages (its list of
    distributions) and kept as JSON under ``~/.cache/cnnlab/environments/``.
    """
    root = site_packages()
    wanted = tuple(sorted({_normal(p) for p in (*ALWAYS, *packages)}))
    listing = sorted(p.name for p in root.iterdir() if p.name.endswith((".dist-info", ".egg-info")))
    digest = hashlib.sha256(json.dumps([_LAYOUT, str(root), wanted, listing]).encode()).hexdigest()[:20]
    cached = _cache_dir() / f"{digest}.json"
    try:
        return tuple(json.loads(cached.read_text()))
    except (OSError, ValueError):
        pass
    entries: set[str] = set()
    for dist in closure(tuple(w for w in wanted if w != "cnnlab"), root):
        entries |= _entries_of(dist, root)
    own = [d for d in metadata.distributions(path=[str(root)]) if _normal(d.metadata["Name"] or "") == "cnnlab"]
    for dist in own:  # the course package's own files (its .pth and finder), not its requirements
        entries |= _entries_of(dist, root)
    result = tuple(sorted(entries))
    _write_cache(cached, list(result))
    return result


@functools.cache
def other_site_dirs(max_depth: int = 7) -> list[Path]:
    """Every site- or dist-packages folder the sandbox could read besides the venv's (the base
    interpreter's, Debian's, /usr/local's, a bundled interpreter's under /usr): each is covered
    by an empty tmpfs. Found by a walk of /usr and the interpreters' prefixes, kept in
    ``~/.cache/cnnlab/environments/`` until a folder in the first two levels of them changes."""
    view = site_packages()
    roots = sorted({Path("/usr"), Path(sys.base_prefix), Path(sys.prefix)})
    stamps = []
    for root in roots:
        for level in [root, *(p for p in root.iterdir() if p.is_dir() and not p.is_symlink())]:
            try:
                stamps.append((str(level), level.stat().st_mtime_ns))
                stamps += [(str(c), c.stat().st_mtime_ns) for c in level.iterdir() if c.is_dir() and not c.is_symlink()]
            except OSError:
                continue
    digest = hashlib.sha256(json.dumps([_LAYOUT, max_depth, str(view), stamps]).encode()).hexdigest()[:20]
    cached = _cache_dir() / f"other-site-{digest}.json"
    try:
        return [Path(p) for p in json.loads(cached.read_text())]
    except (OSError, ValueError):
        pass
    found: set[Path] = set()
    for root in roots:
        base_depth = len(root.parts)
        for top, dirs, _files in os.walk(root):
            here = Path(top)
            if here.name in ("site-packages", "dist-packages"):
                if here.resolve() != view:
                    found.add(here.resolve())
                dirs[:] = []
                continue
            if len(here.parts) - base_depth >= max_depth:
                dirs[:] = []
            else:
                dirs[:] = [d for d in dirs if d not in ("share", "include", "src", "__pycache__")
                           and not (here / d).is_symlink()]
    result = sorted(found)
    _write_cache(cached, [str(p) for p in result])
    return result


def _write_cache(path: Path, value: Any) -> None:
    """Write ``value`` as JSON to ``path`` whole or not at all (a cache: failures are ignored)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_text(json.dumps(value))
        os.replace(tmp, path)
    except OSError:
        pass


def cnnlab_entries(env: Environment, package: Path) -> list[str]:
    """The names under ``package`` (the student package) that ``env`` shows: ``checks`` or ``devices.py``."""
    names = []
    for part in dict.fromkeys((*ALWAYS_CNNLAB, *env.cnnlab)):
        if (package / part).is_dir():
            names.append(part)
        elif (package / f"{part}.py").is_file():
            names.append(f"{part}.py")
    return names


def sandbox_mounts(env: Environment) -> list[str]:
    """bwrap arguments (after the read-only system and venv are mounted) that leave only ``env``'s
    distributions importable: site-packages rebuilt from its allowed entries, other package folders emptied."""
    root = site_packages()
    args = ["--perms", "0755", "--size", str(1024**2), "--tmpfs", str(root)]
    for entry in site_entries(env.packages):
        args += ["--ro-bind", str(root / entry), str(root / entry)]
    args += ["--remount-ro", str(root)]
    for other in other_site_dirs():
        args += ["--perms", "0755", "--size", str(64 * 1024), "--tmpfs", str(other), "--remount-ro", str(other)]
    return args


def rules_env(env: Environment | None) -> dict[str, str]:
    """The environment variable that tells :mod:`cnnlab.course.inside.import_rules` the rules (advice only)."""
    if env is None:
        return {}
    summary = env.summary or (f"this assignment's grading environment holds only {', '.join(env.packages)} "
                              f"and cnnlab's {', '.join(dict.fromkeys((*ALWAYS_CNNLAB[1:], *env.cnnlab)))}")
    return {RULES_ENV_VAR: json.dumps({"assignment": env.assignment, "rules": [list(r) for r in env.rules],
                                       "summary": summary})}


def describe(env: Environment) -> dict[str, Any]:
    """What the sandbox of ``env`` holds (for the instructor: ``grade`` prints it with ``--verbose``)."""
    return {"assignment": env.assignment, "site-packages": list(site_entries(env.packages)),
            "cnnlab": list(dict.fromkeys((*ALWAYS_CNNLAB, *env.cnnlab))), "rules": dict(env.rules)}
