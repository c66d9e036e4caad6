"""The files for a deployment beyond one machine are valid: the YAML parses into what Zero to JupyterHub
reads, and the single-user image installs exactly the student kit's package set (the same one the
one-machine hub installs with deploy/user_env.sh)."""
from __future__ import annotations

import re
import shlex
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from _hubclass import ROOT

DEPLOY = ROOT / "deploy"


def _instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", dockerfile.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def _pip_installs(run_args: str) -> list[list[str]]:
    """The argument lists of every ``pip install`` in a RUN line (split at && and ;)."""
    installs = []
    for part in re.split(r"&&|;", run_args):
        words = shlex.split(part)
        for i in range(len(words) - 1):
            if words[i].endswith("pip") and words[i + 1] == "install":
                installs.append(words[i + 2:])
            elif words[i] == "-m" and words[i + 1] == "pip" and i + 2 < len(words) and words[i + 2] == "install":
                installs.append(words[i + 3:])
    return installs


def _requirements(path: Path) -> list[Requirement]:
    return [Requirement(line.split("#")[0].strip()) for line in path.read_text().splitlines()
            if line.split("#")[0].strip()]


def _wheel_requires(wheel: Path) -> list[Requirement]:
    with zipfile.ZipFile(wheel) as zf:
        meta = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        msg = Parser().parsestr(zf.read(meta).decode())
    reqs = [Requirement(r) for r in msg.get_all("Requires-Dist") or []]
    return [r for r in reqs if r.marker is None or r.marker.evaluate({"extra": ""})]


def test_dockerfile_installs_the_student_kit(student_kit: Path):
    wheels = sorted(student_kit.glob("cnnlab-*.whl"))
    assert len(wheels) == 1, wheels
    steps = _instructions(DEPLOY / "Dockerfile")
    assert steps[0][0] == "FROM"
    copies = {shlex.split(args)[-1].rstrip("/"): shlex.split(args)[0].rstrip("/") for word, args in steps
              if word == "COPY"}
    installs = [args for word, run in steps if word == "RUN" for args in _pip_installs(run)]
    assert len(installs) == 1, f"one pip install of the kit expected, found {installs}"
    (args,) = installs
    assert "--no-deps" not in args and "-e" not in args and "--editable" not in args

    installed: dict[str, list[Requirement]] = {}
    wheel_args = [a for a in args if a.endswith(".whl")]
    assert len(wheel_args) == 1, args
    for target, source in copies.items():  # /opt/cnnlab-kit/cnnlab-*.whl comes from COPY kit/ /opt/cnnlab-kit/
        if wheel_args[0].startswith(target + "/"):
            assert source == "kit" and Path(wheel_args[0]).name == "cnnlab-*.whl", (source, wheel_args)
    installed["cnnlab"] = []
    for req in _wheel_requires(wheels[0]):
        installed.setdefault(canonicalize_name(req.name), []).append(req)
    req_files = [args[i + 1] for i, a in enumerate(args) if a in ("-r", "--requirement")]
    for req_file in req_files:
        local = next(DEPLOY / src for dst, src in copies.items() if dst == req_file)
        for req in _requirements(local):
            installed.setdefault(canonicalize_name(req.name), []).append(req)
    named = [a for a in args if not a.startswith("-") and not a.endswith(".whl") and a not in req_files]
    for name in named:
        req = Requirement(name)
        installed.setdefault(canonicalize_name(req.name), []).append(req)

    # What the one-machine hub installs for the same kit (deploy/user_env.sh).
    user_env = (DEPLOY / "user_env.sh").read_text()
    assert "user-requirements.txt" in user_env and "cnnlab-*.whl" in user_env
    expected = {"cnnlab"} | {canonicalize_name(r.name) for r in _wheel_requires(wheels[0])} | \
               {canonicalize_name(r.name) for r in _requirements(DEPLOY / "user-requirements.txt")}
    assert set(installed) == expected
    # No package is asked for twice with versions that exclude each other (e.g. another torch).
    for name, reqs in installed.items():
        pins = [str(s.version) for r in reqs for s in r.specifier if s.operator == "=="]
        for pin in pins:
            assert all(r.specifier.contains(pin, prereleases=True) for r in reqs), (name, reqs)
    assert not any(canonicalize_name(r.name) == "cnnlab" for reqs in installed.values() for r in reqs)


def test_values_yaml_parses_into_a_class_deployment():
    values = yaml.safe_load((DEPLOY / "values.yaml").read_text())
    single = values["singleuser"]
    assert single["image"]["name"] and single["image"]["tag"]
    assert single["defaultUrl"] == "/lab/tree/lectures"
    assert single["memory"]["limit"]
    assert values["cull"]["enabled"] is True and values["cull"]["timeout"] > 0
    mounts = {m["mountPath"]: m["name"] for m in single["storage"]["extraVolumeMounts"]}
    assert mounts["/srv/nbgrader/exchange"] == "nbgrader-exchange"
    assert single["extraEnv"]["CNNLAB_EXCHANGE"] == "/srv/nbgrader/exchange"
    gpu = [p for p in values["custom"]["studentProfiles"]
           if "nvidia.com/gpu" in p.get("kubespawner_override", {}).get("extra_resource_limits", {})]
    assert len(gpu) == 1
    instructor = values["custom"]["instructorProfile"]["kubespawner_override"]
    assert "secretKeyRef" in instructor["environment"]["CNNLAB_DB_URL"]["valueFrom"]
    assert "formgrader" in " ".join(instructor["cmd"])
    assert "profile_list" in values["hub"]["extraConfig"]["cnnlab-profiles"]
    compile(values["hub"]["extraConfig"]["cnnlab-profiles"], "cnnlab-profiles", "exec")
    assert set(values["hub"]["loadGroups"]) == {"instructors", "students"}

    claims = {d["metadata"]["name"]: d for d in yaml.safe_load_all((DEPLOY / "k8s-volumes.yaml").read_text())}
    for volume in ("nbgrader-exchange", "cnnlab-course"):
        assert claims[volume]["spec"]["accessModes"] == ["ReadWriteMany"]


def test_hub_config_compiles():
    compile((DEPLOY / "jupyterhub_config.py").read_text(), "jupyterhub_config.py", "exec")


@pytest.mark.parametrize("script", ["hub.sh", "user_env.sh"])
def test_scripts_parse(script: str):
    import subprocess

    assert subprocess.run(["bash", "-n", str(DEPLOY / script)]).returncode == 0
