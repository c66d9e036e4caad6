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
    ca: Path | None = None  # HTTPS: the certificate (self-signed in the tests) requests must trust

    @property
    def url(self) -> str:
        return f"{'https' if self.ca else 'http'}://127.0.0.1:{self.port}"

    @property
    def verify(self) -> str | bool:
        return str(self.ca) if self.ca else True

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
                if requests.get(f"{self.url}/hub/api/", timeout=2, verify=self.verify).status_code == 200:
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
        return requests.request(method, f"{self.url}/hub/api{path}", headers=headers, timeout=60, verify=self.verify,
                                **kw)

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
                                verify=self.verify, **kw)


# -- the command line: what an instructor or IT person runs (as root) ------------------------------
USAGE = """\
deploy/hubctl.py: set up and look after the one-machine hub (run with the repository's .venv/bin/python, as root)

  roster import ROSTER.csv [--passwords FILE] [--hub-dir DIR] [--db-url URL] [--hub-url URL]
      Unix users, the gradebook's students and the hub's groups from one CSV
      (id,first_name,last_name,email,role; role is instructor or student)
  systemd [--out DIR] [--hub-dir DIR] [--ip IP] [--port N] [--ssl-cert PEM --ssl-key PEM]
      write cnnlab-proxy.service, cnnlab-hub.service and their environment file
  lti register --issuer URL --client-id ID --deployment-id ID --authorize-url URL --token-url URL
               --jwks-url URL [--username-key CLAIM] [--hub-dir DIR]
      keep the LMS's LTI 1.3 settings for sign-in (CNNLAB_HUB_AUTH=lti13), make the hub's key and
      print what to paste into the LMS (the public key and the hub's login and redirect URLs)
  lti publish ASSIGNMENT --db-url URL [--label TITLE] [--context ID] [--hub-dir DIR]
      send the assignment's scores to the LMS course's gradebook (LTI Assignment and Grade Services)
  gradebook backup --db-url URL --out FILE.json
  gradebook restore --db-url URL --from FILE.json
      every row of nbgrader's gradebook, SQLite or PostgreSQL (restore needs an empty database)
"""


def _lti_command(args) -> None:
    import json

    import lti

    if args.action == "register":
        settings = lti.PlatformSettings(args.issuer, args.client_id, args.deployment_id, args.authorize_url,
                                        args.token_url, args.jwks_url, args.username_key)
        done = lti.register(args.hub_dir, settings)
        hub = args.hub_url.rstrip("/")
        print(f"LTI settings kept in {done['settings']}; the hub's key in {done['key']} (root only)\n"
              "In the LMS's tool registration (Canvas: Developer Key > LTI key; Moodle: External tool), enter:\n"
              f"  OpenID Connect login / initiation URL: {hub}/hub/lti13/oauth_login\n"
              f"  Redirect URI:                          {hub}/hub/lti13/oauth_callback\n"
              f"  Target link URI:                       {hub}/hub/home\n"
              "  Custom parameter:                      username=$User.username\n"
              "  Services: Assignment and Grade Services (line items and scores)\n"
              "  Public key (JWK):\n" + json.dumps(done["public_jwk"], indent=1) + "\n"
              "Then set CNNLAB_HUB_AUTH=lti13 and restart the hub.")
    else:
        import lti_scores

        done = lti_scores.publish(args.hub_dir, args.db_url, args.assignment, label=args.label,
                                  context=args.context)
        graded = {k: v for k, v in done["sent"].items() if v is not None}
        pending = sorted(k for k, v in done["sent"].items() if v is None)
        print(f"{args.assignment}: {len(graded)} scores sent to {done['lineitem']}"
              + (f"; {len(pending)} marked pending (a grade is missing): {', '.join(pending)}" if pending else ""))
        if done["not_launched"]:
            print("not sent (never opened the hub from the LMS, so the LMS's id is unknown): "
                  + ", ".join(done["not_launched"]), file=sys.stderr)
        if done["not_graded"]:
            print("no submission: " + ", ".join(done["not_graded"]), file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="deploy/hubctl.py", usage=USAGE)
    sub = parser.add_subparsers(dest="command", required=True)
    hub_dir = os.environ.get("CNNLAB_HUB_DIR", "/srv/cnnlab-hub")

    roster = sub.add_parser("roster").add_subparsers(dest="action", required=True).add_parser("import")
    roster.add_argument("csv")
    roster.add_argument("--passwords", help="write the first passwords of new users here (CSV, mode 600)")
    roster.add_argument("--hub-dir", default=hub_dir)
    roster.add_argument("--db-url", default=os.environ.get("CNNLAB_DB_URL"))
    roster.add_argument("--hub-url", help="a running hub to update now (token in JUPYTERHUB_API_TOKEN)")

    units = sub.add_parser("systemd")
    units.add_argument("--out", default="/etc/systemd/system")
    units.add_argument("--hub-dir", default=hub_dir)
    units.add_argument("--ip", default="0.0.0.0")
    units.add_argument("--port", type=int)
    units.add_argument("--ssl-cert")
    units.add_argument("--ssl-key")

    lti_cmd = sub.add_parser("lti").add_subparsers(dest="action", required=True)
    reg = lti_cmd.add_parser("register")
    for name in ("issuer", "client-id", "deployment-id", "authorize-url", "token-url", "jwks-url"):
        reg.add_argument(f"--{name}", required=True)
    reg.add_argument("--username-key", default="custom_username")
    reg.add_argument("--hub-dir", default=hub_dir)
    reg.add_argument("--hub-url", default="https://this-machine", help="the hub's public URL, for the printout")
    pub = lti_cmd.add_parser("publish")
    pub.add_argument("assignment")
    pub.add_argument("--db-url", default=os.environ.get("CNNLAB_DB_URL"), required=not os.environ.get("CNNLAB_DB_URL"))
    pub.add_argument("--label")
    pub.add_argument("--context")
    pub.add_argument("--hub-dir", default=hub_dir)

    gradebook = sub.add_parser("gradebook").add_subparsers(dest="action", required=True)
    back = gradebook.add_parser("backup")
    back.add_argument("--db-url", required=True)
    back.add_argument("--out", required=True)
    back.add_argument("--course-id", default="cnnlab")
    rest = gradebook.add_parser("restore")
    rest.add_argument("--db-url", required=True)
    rest.add_argument("--from", dest="source", required=True)

    args = parser.parse_args(argv)
    sys.path.insert(0, str(DEPLOY))
    try:
        if args.command == "roster":
            from roster import import_roster

            done = import_roster(args.csv, args.hub_dir, db_url=args.db_url, passwords=args.passwords,
                                 hub_url=args.hub_url, token=os.environ.get("JUPYTERHUB_API_TOKEN"))
            print(f"roster imported: {len(done['created'])} new Unix users ({', '.join(done['created']) or '-'}), "
                  f"{len(done['existing'])} already there; groups kept in {Path(args.hub_dir) / 'roster.csv'}"
                  + ("" if args.hub_url else " (the hub applies them at its next start)"))
            if args.passwords and done["created"]:
                print(f"first passwords of the new users: {args.passwords} (mode 600)")
        elif args.command == "systemd":
            from units import write_units

            https = bool(args.ssl_cert or args.ssl_key)
            written = write_units(Path(args.out), Path(args.hub_dir), ip=args.ip,
                                  port=args.port or (443 if https else 8000),
                                  ssl_cert=Path(args.ssl_cert) if args.ssl_cert else None,
                                  ssl_key=Path(args.ssl_key) if args.ssl_key else None)
            print("\n".join(f"wrote {p}" for p in written.values()))
            print("then: bash deploy/hub.sh --prepare && systemctl daemon-reload && "
                  "systemctl enable --now cnnlab-proxy cnnlab-hub")
        elif args.command == "lti":
            _lti_command(args)
        elif args.command == "gradebook":
            import gradebook_backup

            if args.action == "backup":
                counts = gradebook_backup.backup(args.db_url, args.out, course_id=args.course_id)
            else:
                counts = gradebook_backup.restore(args.db_url, args.source)
            print(f"{args.action}: " + ", ".join(f"{n} {t}" for t, n in counts.items() if n))
    except (ValueError, FileNotFoundError, PermissionError) as exc:
        print(f"hubctl {args.command}: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
