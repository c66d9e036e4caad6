"""The files for a deployment beyond one machine are valid: the YAML parses into what Zero to JupyterHub
reads, and the single-user image installs exactly the student kit's package set (the same one the
one-machine hub installs with deploy/user_env.sh)."""
from __future__ import annotations

import re
import shlex
import sys
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


def _values() -> dict:
    return yaml.safe_load((DEPLOY / "values.yaml").read_text())


def _schema_keys() -> tuple[str, dict[str, bool]]:
    """(chart version, {key path: free-form below}) from the list z2jh_keys.py wrote from the chart's schema."""
    text = (DEPLOY / "z2jh-4.4.0-keys.txt").read_text()
    version = re.search(r"chart (\S+) \(JupyterHub (\S+)\)", text)
    keys = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            keys[line.removesuffix(" *")] = line.endswith(" *")
    return version.group(1) + "/" + version.group(2), keys


def test_values_yaml_uses_only_keys_of_the_chart_schema():
    version, keys = _schema_keys()
    assert version == "4.4.0/5.5.0"
    assert "--version 4.4.0" in (DEPLOY / "values.yaml").read_text()  # the documented install uses that chart

    def walk(node, prefix=""):
        for key, value in node.items():
            path = prefix + key
            assert path in keys, f"{path} is not a key of the chart's values schema (4.4.0)"
            if isinstance(value, dict) and not keys[path]:
                walk(value, path + ".")

    walk(_values())
    # the chart rejects hub.loadGroups (issue 24): groups go through hub.config.JupyterHub.load_groups
    assert "hub.loadGroups" not in keys


def test_image_runs_the_charts_jupyterhub():
    _, hub_version = _schema_keys()[0].split("/")
    runs = " ".join(args for word, args in _instructions(DEPLOY / "Dockerfile") if word == "RUN")
    assert f"jupyterhub=={hub_version}" in runs
    assert "labextension disable" not in runs and "extension disable" not in runs  # nothing locked at sys-prefix


class _Group:
    def __init__(self, name):
        self.name = name


class _Spawner:
    def __init__(self, uid: int, groups: list[str]):
        self.user = type("User", (), {"id": uid, "groups": [_Group(g) for g in groups]})()
        self.environment = {"CNNLAB_EXCHANGE": "/srv/nbgrader/exchange"}
        # the chart's volumes: the home volume (a dictionary, as chart 4.x writes it) and ours
        self.volumes = {"volume-{username}": {"name": "volume-{username}", "persistentVolumeClaim": {}},
                        "nbgrader-exchange": {"name": "nbgrader-exchange"}}
        self.volume_mounts = {"volume-{username}": {"name": "volume-{username}", "mountPath": "/home/jovyan"}}


def test_values_yaml_per_group_settings():
    import types

    values = _values()
    single = values["singleuser"]
    assert single["image"]["name"] and single["image"]["tag"]
    assert single["defaultUrl"] == "/lab/tree/lectures"
    assert values["cull"]["enabled"] is True and values["cull"]["timeout"] > 0
    # the chart's way: dictionaries keyed by name (merged with the chart's, the home volume stays)
    assert single["storage"]["extraVolumes"]["nbgrader-exchange"]["persistentVolumeClaim"]["claimName"] == \
        "nbgrader-exchange"
    assert single["storage"]["extraVolumeMounts"]["nbgrader-exchange"]["mountPath"] == "/srv/nbgrader/exchange"
    assert single["extraEnv"]["CNNLAB_EXCHANGE"] == "/srv/nbgrader/exchange"
    assert single["extraEnv"]["JUPYTER_CONFIG_PATH"].startswith("/etc/cnnlab/jupyter/students:")
    assert [p for p in single["profileList"] if "nvidia.com/gpu" in
            p.get("kubespawner_override", {}).get("extra_resource_limits", {})]
    groups = values["hub"]["config"]["JupyterHub"]["load_groups"]
    assert set(groups) == {"instructors", "students"}
    assert values["hub"]["config"]["Authenticator"]["admin_users"] == []
    assert values["hub"]["loadRoles"]["instructor"]["groups"] == ["instructors"]
    assert not [s for s in values["hub"]["loadRoles"]["instructor"]["scopes"] if s.startswith(("admin:", "access:"))]

    # hub.extraConfig runs as the chart's hub runs it: with z2jh.get_config reading custom:
    fake = types.ModuleType("z2jh")

    def get_config(key, default=None):
        node = values
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                return default
            node = node[part]
        return node

    fake.get_config = get_config
    namespace = {"c": types.SimpleNamespace(KubeSpawner=types.SimpleNamespace())}
    sys.modules["z2jh"] = fake
    try:
        exec(compile(values["hub"]["extraConfig"]["cnnlab-groups"], "cnnlab-groups", "exec"), namespace)
    finally:
        del sys.modules["z2jh"]
    hook = namespace["c"].KubeSpawner.pre_spawn_hook
    custom = values["custom"]["cnnlab"]
    student, other, teacher = _Spawner(7, ["students"]), _Spawner(8, ["students"]), _Spawner(3, ["instructors"])
    for spawner in (student, other, teacher):
        hook(spawner)
    assert len({s.uid for s in (student, other, teacher)}) == 3 and student.uid == custom["uidBase"] + 7
    assert student.gid == student.fs_gid == custom["studentGid"] and teacher.gid == custom["instructorGid"]
    assert student.environment["JUPYTER_CONFIG_PATH"].split(":")[0].endswith("/students")
    assert teacher.environment["JUPYTER_CONFIG_PATH"].split(":")[0].endswith("/instructors")
    assert "CNNLAB_DB_URL" not in student.environment and "cnnlab-course" not in student.volumes
    assert teacher.environment["CNNLAB_COURSE_ROOT"] == custom["courseRoot"]
    assert teacher.environment["CNNLAB_EXCHANGE"] == "/srv/nbgrader/exchange"  # kept, not replaced
    assert ":" not in teacher.environment["CNNLAB_DB_URL"].split("//")[1].split("@")[0]  # no password in the URL
    assert teacher.environment["PGPASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "cnnlab-gradebook"
    assert set(teacher.volumes) == {"volume-{username}", "nbgrader-exchange", "cnnlab-course"}  # home kept
    assert teacher.volume_mounts["cnnlab-course"]["mountPath"] == custom["courseRoot"]

    claims = {d["metadata"]["name"]: d for d in yaml.safe_load_all((DEPLOY / "k8s-volumes.yaml").read_text())}
    for volume in ("nbgrader-exchange", "cnnlab-course"):
        assert claims[volume]["spec"]["accessModes"] == ["ReadWriteMany"]


def test_group_config_switches_formgrader(tmp_path: Path):
    """The image's configuration (deploy/jupyter -> /etc/cnnlab/jupyter), read by this virtual
    environment's Jupyter Server and JupyterLab code exactly as a pod's server reads it
    (JUPYTER_CONFIG_PATH): formgrader for instructors only, jupytext's pairing off for both."""
    import json as _json
    import os
    import shutil
    import subprocess

    shutil.copytree(DEPLOY / "jupyter", tmp_path / "jupyter")
    code = """
import json, os, sys
from jupyter_core.paths import jupyter_path
from jupyter_server.serverapp import ServerApp
from jupyterlab_server.config import get_page_config
out = {}
for group in ("students", "instructors"):
    os.environ["JUPYTER_CONFIG_PATH"] = os.pathsep.join([os.path.join(sys.argv[1], group),
                                                         os.path.join(sys.argv[1], "all")])
    app = ServerApp()
    app.load_config_file()
    out[group] = {"formgrader": app.jpserver_extensions.get("nbgrader.server_extensions.formgrader", True),
                  "jupytext": app.jpserver_extensions.get("jupyterlab_jupytext", True),
                  "csp": app.tornado_settings.get("headers", {}).get("Content-Security-Policy"),
                  "disabled": get_page_config(jupyter_path("labextensions")).get("disabledExtensions", [])}
    if isinstance(out[group]["disabled"], dict):
        out[group]["disabled"] = [k for k, v in out[group]["disabled"].items() if v]
print(json.dumps(out))
"""
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / "home")}
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path / "jupyter")], env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = _json.loads(proc.stdout.strip().splitlines()[-1])
    lab_plugins = {"@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment"}
    assert got["students"]["formgrader"] is False and lab_plugins <= set(got["students"]["disabled"])
    assert got["students"]["csp"] is None  # JupyterHub's own frame-ancestors 'none' stays
    assert got["instructors"]["formgrader"] is True and not lab_plugins & set(got["instructors"]["disabled"])
    assert got["instructors"]["csp"] == "frame-ancestors 'self'"
    assert got["students"]["jupytext"] is False and got["instructors"]["jupytext"] is False


def test_hub_config_compiles():
    compile((DEPLOY / "jupyterhub_config.py").read_text(), "jupyterhub_config.py", "exec")


@pytest.mark.parametrize("script", ["hub.sh", "user_env.sh"])
def test_scripts_parse(script: str):
    import subprocess

    assert subprocess.run(["bash", "-n", str(DEPLOY / script)]).returncode == 0
