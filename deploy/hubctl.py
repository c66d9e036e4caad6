"""Drive the one-machine hub from Python: Unix users, the users' environment, the hub process, its REST API.

Used by ``tests/hub`` and ``benchmarks/hub_load.py`` (both run as root). Nothing here is needed
to teach a class: ``deploy/hub.sh`` starts the hub for real.
"""
from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

DEPLOY = Path(__file__).resolve().parent
REPO = DEPLOY.parent
BIN = Path(sys.executable).parent
CHP = DEPLOY / ".chp" / "node_modules" / ".bin" / "configurable-http-proxy"
ENV_CACHE = Path(os.environ.get("CNNLAB_HUB_CACHE", "/var/tmp/cnnlab-hub"))


class HubUnavailable(RuntimeError):
    """Something the hub needs on this machine is missing (the message says what)."""


def why_hub_cannot_run() -> str | None:
    """None when this machine can run the hub, else the reason (for a pytest skip)."""
    if os.geteuid() != 0:
        return "the hub spawns servers as other Unix users: it must run as root"
    for tool in ("useradd", "userdel", "runuser"):
        if not shutil.which(tool):
            return f"{tool} is missing"
    if not Path("/usr/bin/python3").exists() and not os.environ.get("CNNLAB_USER_PYTHON"):
        return "no /usr/bin/python3 to build the users' environment from (set CNNLAB_USER_PYTHON)"
    if not (CHP.exists() or shutil.which("configurable-http-proxy")):
        if not shutil.which("npm"):
            return "configurable-http-proxy is missing and npm is not there to install it (apt-get install npm)"
    try:
        import jupyterhub  # noqa: F401
    except ImportError:
        return "jupyterhub is not installed in this environment (pip install -e '.[test]')"
    return None


def ensure_proxy() -> Path:
    """configurable-http-proxy, installed under deploy/.chp with npm when missing."""
    if CHP.exists():
        return CHP
    found = shutil.which("configurable-http-proxy")
    if found:
        return Path(found)
    subprocess.run(["npm", "install", "--prefix", str(DEPLOY / ".chp"), "--no-audit", "--no-fund",
                    "--loglevel=error", "configurable-http-proxy@4"], check=True)
    return CHP


def build_kit(out: Path, check: bool = True) -> Path:
    """``python -m cnnlab.course student-kit --out OUT``; returns OUT (made world-readable).

    ``check=False`` skips the kit's own scan for answers (its tests own that check; the hub's
    tests only need the kit's shape).
    """
    argv = [sys.executable, "-m", "cnnlab.course", "student-kit", "--out", str(out)]
    proc = subprocess.run(argv + ([] if check else ["--no-check"]), capture_output=True, text=True, cwd=REPO)
    if proc.returncode != 0:
        raise RuntimeError(f"could not build the student kit:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
    subprocess.run(["chmod", "-R", "a+rX", str(out)], check=True)
    return out


def kit_lectures(kit: Path) -> Path:
    for name in ("lectures", "notebooks"):
        if (kit / name).is_dir():
            return kit / name
    raise HubUnavailable(f"no lectures/ in the student kit {kit}")


def ensure_user_env(kit: Path, venv: Path | None = None) -> Path:
    """The users' environment for ``kit`` (deploy/user_env.sh; reused while the wheel is unchanged)."""
    venv = venv or ENV_CACHE / "venv"
    venv.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(venv.parent, 0o755)
    proc = subprocess.run(["bash", str(DEPLOY / "user_env.sh"), str(kit), str(venv)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"building the users' environment failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
    return venv


def add_user(name: str) -> Path:
    """A local Unix user with a private home (mode 700)."""
    subprocess.run(["useradd", "-m", "-s", "/bin/bash", name], check=True, capture_output=True)
    home = Path(os.path.expanduser(f"~{name}"))
    os.chmod(home, 0o700)
    return home


def remove_user(name: str) -> None:
    subprocess.run(["pkill", "-KILL", "-u", name], capture_output=True)
    subprocess.run(["userdel", "-r", "-f", name], capture_output=True)
    for cgroup in (Path("/sys/fs/cgroup/memory/cnnlab") / name, Path("/sys/fs/cgroup/cnnlab") / name):
        try:
            cgroup.rmdir()  # the memory cgroup the hub made for this user (empty once its processes ended)
        except OSError:
            pass


def run_as(user: str, *argv: str, cwd: str | None = None, env: dict | None = None,
           timeout: float = 300) -> subprocess.CompletedProcess:
    """Run ``argv`` as ``user`` with that user's own HOME/USER/PATH (``runuser`` keeps root's otherwise)."""
    home = os.path.expanduser(f"~{user}")
    base = {"HOME": home, "USER": user, "LOGNAME": user, "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}
    cmd = ["runuser", "-u", user, "--", "env", "-i", *[f"{k}={v}" for k, v in {**base, **(env or {})}.items()],
           *argv]
    return subprocess.run(cmd, cwd=cwd or home, capture_output=True, text=True, timeout=timeout)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Hub:
    """A running JupyterHub started from deploy/jupyterhub_config.py, with an admin service token."""

    base: Path
    user_env: Path
    kit: Path
    instructors: list[str]
    students: list[str]
    password: str = field(default_factory=lambda: secrets.token_hex(8))
    mem_limit: str = "2G"
    extra_env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    admin_token: str = field(default_factory=lambda: secrets.token_hex(24))
    process: subprocess.Popen | None = None
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def exchange(self) -> Path:
        return self.base / "exchange"

    @property
    def log(self) -> Path:
        return self.base / "hub.log"

    def log_tail(self, n: int = 60) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "<no log>"

    def environment(self) -> dict[str, str]:
        chp = ensure_proxy()
        self.port = self.port or free_port()
        return {
            **os.environ,
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
            "CNNLAB_HUB_IP": "127.0.0.1", "CNNLAB_HUB_PORT": str(self.port),
            "CNNLAB_HUB_API_PORT": str(free_port()), "CNNLAB_PROXY_API_PORT": str(free_port()),
            "CNNLAB_HUB_DIR": str(self.base / "hub"), "CNNLAB_USER_ENV": str(self.user_env),
            "CNNLAB_KIT": str(self.kit), "CNNLAB_EXCHANGE": str(self.exchange),
            "CNNLAB_INSTRUCTORS": ",".join(self.instructors), "CNNLAB_STUDENTS": ",".join(self.students),
            "CNNLAB_HUB_AUTH": "dummy", "CNNLAB_HUB_PASSWORD": self.password,
            "CNNLAB_HUB_ADMIN_TOKEN": self.admin_token, "CNNLAB_MEM_LIMIT": self.mem_limit,
            "CNNLAB_CHP": str(chp), **self.extra_env,
        }

    def start(self, timeout: float = 90) -> "Hub":
        self.base.mkdir(parents=True, exist_ok=True)
        os.chmod(self.base, 0o755)
        env = self.environment()
        with open(self.log, "w") as fh:
            self.process = subprocess.Popen([str(BIN / "jupyterhub"), "-f", str(DEPLOY / "jupyterhub_config.py")],
                                            cwd=self.base, env=env, stdout=fh, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the hub exited ({self.process.returncode}):\n{self.log_tail()}")
            try:
                if requests.get(f"{self.url}/hub/api/", timeout=2).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.3)
        raise TimeoutError(f"the hub did not answer within {timeout:.0f} s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()  # the hub stops the user servers and the proxy (cleanup_servers)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, 9)
            self.process.wait(timeout=10)

    # -- REST API ---------------------------------------------------------------------------------
    def api(self, method: str, path: str, token: str | None = None, **kw) -> requests.Response:
        headers = {"Authorization": f"token {token or self.admin_token}"}
        return requests.request(method, f"{self.url}/hub/api{path}", headers=headers, timeout=60, **kw)

    def token(self, user: str) -> str:
        if user not in self.tokens:
            r = self.api("POST", f"/users/{user}/tokens", json={"note": "cnnlab hub test", "expires_in": 3600})
            r.raise_for_status()
            self.tokens[user] = r.json()["token"]
        return self.tokens[user]

    def spawn(self, user: str, timeout: float = 180) -> float:
        """Start ``user``'s server and wait until it is ready; returns the seconds it took."""
        t0 = time.monotonic()
        r = self.api("POST", f"/users/{user}/server")
        if r.status_code not in (201, 202, 400):  # 400: already running
            raise RuntimeError(f"spawn {user}: {r.status_code} {r.text}\n{self.log_tail()}")
        deadline = t0 + timeout
        while time.monotonic() < deadline:
            model = self.api("GET", f"/users/{user}").json()
            server = (model.get("servers") or {}).get("")
            if server and server.get("ready"):
                return time.monotonic() - t0
            if not model.get("pending") and not server:
                raise RuntimeError(f"the server of {user} failed to start:\n{self.log_tail()}")
            time.sleep(0.25)
        raise TimeoutError(f"the server of {user} was not ready after {timeout:.0f} s:\n{self.log_tail()}")

    def stop_server(self, user: str) -> None:
        self.api("DELETE", f"/users/{user}/server")

    def user_request(self, user: str, method: str, path: str, as_user: str | None = None,
                     **kw) -> requests.Response:
        """A request to ``/user/<user>/<path>`` with ``as_user``'s token (default: the owner's)."""
        token = self.token(as_user or user)
        headers = {"Authorization": f"token {token}", **kw.pop("headers", {})}
        return requests.request(method, f"{self.url}/user/{user}/{path.lstrip('/')}", headers=headers,
                                timeout=kw.pop("timeout", 300), allow_redirects=kw.pop("allow_redirects", False),
                                **kw)
