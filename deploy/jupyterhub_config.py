"""JupyterHub for a class on one machine: local Unix users, the student kit, nbgrader by group.

Run as root (``make hub`` or ``deploy/hub.sh``): ``jupyterhub -f deploy/jupyterhub_config.py``.
Every setting comes from an environment variable (defaults in brackets):

  CNNLAB_HUB_IP / CNNLAB_HUB_PORT   where the proxy listens [0.0.0.0 / 8000]
  CNNLAB_HUB_DIR                    hub state (database, cookie secret) and the per-group
                                    Jupyter config [/srv/cnnlab-hub]
  CNNLAB_USER_ENV                   the users' virtual environment, world-readable, built by
                                    deploy/user_env.sh from the student kit [/opt/cnnlab-hub/venv]
  CNNLAB_KIT                        the student kit (its lectures are copied to ~/lectures)
                                    [/opt/cnnlab-hub/kit]
  CNNLAB_EXCHANGE                   nbgrader's exchange, mode 1777 [/srv/nbgrader/exchange]
  CNNLAB_ROSTER                     the class roster (id,first_name,last_name,email,role), as
                                    `deploy/hubctl.py roster import` keeps it [$CNNLAB_HUB_DIR/roster.csv]
  CNNLAB_INSTRUCTORS / CNNLAB_STUDENTS  comma-separated Unix user names, added to the roster's groups
  CNNLAB_COURSE_CONFIG              the course_config.py instructors' servers load
  CNNLAB_DB_URL                     gradebook URL for instructors (PostgreSQL); SQLite when unset.
                                    A password in it goes to the instructor's ~/.pgpass (mode 600),
                                    never into the server's environment or a page
  CNNLAB_MEM_LIMIT                  memory per user server, e.g. 2G [2G]
  CNNLAB_CULL_TIMEOUT               seconds of inactivity before a server is stopped [3600]
  CNNLAB_HUB_AUTH                   "pam" (Unix passwords), "lti13" (sign-in from the LMS, registered
                                    with `deploy/hubctl.py lti register`, see deploy/lti.py) or "dummy"
                                    (one shared password CNNLAB_HUB_PASSWORD; tests only) [pam]
  CNNLAB_HUB_ADMIN_TOKEN            when set, a service with this token may manage users (tests)
  CNNLAB_HUB_ADMINS                 comma-separated hub admins [none: instructors are not admins]
  CNNLAB_SSL_CERT / CNNLAB_SSL_KEY  HTTPS: the certificate (chain) and key the proxy serves
  CNNLAB_PROXY_EXTERNAL             "1": the proxy runs as its own service (deploy/hubctl.py systemd);
                                    it shares CONFIGPROXY_AUTH_TOKEN with the hub
  CNNLAB_CHP                        configurable-http-proxy [deploy/.chp/.../configurable-http-proxy]

Students and instructors run the same single-user environment; the spawner (below) gives
each group its own Jupyter config path (deploy/jupyter/): students have formgrader and
create-assignment switched off (nbgrader's per-user pattern, applied per group), instructors get
their course directory ~/cnnlab-course, the course's nbgrader config and a framing policy that
lets formgrader's tab work inside JupyterLab. Instructors are not hub admins: their role lets
them list users and groups, and reach only their own server. Memory is limited per user with
a cgroup when the hub may create one, else per process with ``prlimit --as``.
"""
from __future__ import annotations

import json
import os
import pwd
import shutil
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit, unquote

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from roster import groups as roster_groups, read_roster  # noqa: E402

env = os.environ.get


def _names(var: str) -> list[str]:
    return [n.strip() for n in env(var, "").split(",") if n.strip()]


def _bytes(text: str) -> int:
    units = {"K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
    text = text.strip().upper().rstrip("B")
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


HUB_DIR = Path(env("CNNLAB_HUB_DIR", "/srv/cnnlab-hub"))
USER_ENV = Path(env("CNNLAB_USER_ENV", "/opt/cnnlab-hub/venv"))
KIT = Path(env("CNNLAB_KIT", "/opt/cnnlab-hub/kit"))
EXCHANGE = Path(env("CNNLAB_EXCHANGE", "/srv/nbgrader/exchange"))
COURSE_CONFIG = Path(env("CNNLAB_COURSE_CONFIG", HERE.parent / "course_config.py"))
ROSTER = Path(env("CNNLAB_ROSTER", HUB_DIR / "roster.csv"))
_from_roster = roster_groups(read_roster(ROSTER)) if ROSTER.is_file() else {"instructors": [], "students": []}
INSTRUCTORS = list(dict.fromkeys(_from_roster["instructors"] + _names("CNNLAB_INSTRUCTORS")))
STUDENTS = [s for s in dict.fromkeys(_from_roster["students"] + _names("CNNLAB_STUDENTS")) if s not in INSTRUCTORS]
MEM_LIMIT = _bytes(env("CNNLAB_MEM_LIMIT", "2G"))

# -- state and per-group Jupyter config ---------------------------------------------------------
STATE = HUB_DIR / "state"  # hub database and cookie secret: root only
SHARED = HUB_DIR / "jupyter"  # config every user server reads: world-readable
STATE.mkdir(parents=True, exist_ok=True)
os.chmod(STATE, 0o700)
# deploy/jupyter/{all,students,instructors} copied where every user can read them
if SHARED.exists():
    shutil.rmtree(SHARED)
shutil.copytree(HERE / "jupyter", SHARED, ignore=shutil.ignore_patterns("README.md", "__pycache__"))
for path in (HUB_DIR, SHARED, *SHARED.rglob("*")):
    os.chmod(path, 0o755 if path.is_dir() else 0o644)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.chmod(path, 0o644)
    for parent in path.relative_to(SHARED).parents:
        os.chmod(SHARED / parent, 0o755)


# Terminals: a login shell would reset PATH from /etc/profile (and lose nbgrader); an interactive
# shell that reads the system and user bashrc, then puts the users' environment first.
_write(SHARED / "all" / "bashrc",
       "[ -f /etc/bash.bashrc ] && . /etc/bash.bashrc\n[ -f ~/.bashrc ] && . ~/.bashrc\n"
       f'case ":$PATH:" in *":{USER_ENV / "bin"}:"*) ;; *) export PATH="{USER_ENV / "bin"}:$PATH";; esac\n')
_write(SHARED / "all" / "jupyter_server_config.json", json.dumps(
    {"ServerApp": {"terminado_settings": {"shell_command": ["/bin/bash", "--rcfile", str(SHARED / "all" / "bashrc"),
                                                            "-i"]}}}, indent=1))
# The exchange: world-writable with the sticky bit, as nbgrader documents.
EXCHANGE.mkdir(parents=True, exist_ok=True)
os.chmod(EXCHANGE, 0o1777)

# -- the hub ----------------------------------------------------------------------------------
c = get_config()  # type: ignore[name-defined]  # noqa: F821

c.JupyterHub.ip = env("CNNLAB_HUB_IP", "0.0.0.0")
c.JupyterHub.port = int(env("CNNLAB_HUB_PORT", "8000"))
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = int(env("CNNLAB_HUB_API_PORT", "8081"))
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{env('CNNLAB_PROXY_API_PORT', '8001')}"
c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(STATE / "jupyterhub.pid")
c.ConfigurableHTTPProxy.pid_file = str(STATE / "proxy.pid")
_chp = env("CNNLAB_CHP") or str(HERE / ".chp" / "node_modules" / ".bin" / "configurable-http-proxy")
if Path(_chp).exists() or shutil.which(_chp):
    c.ConfigurableHTTPProxy.command = [_chp]
c.JupyterHub.cleanup_servers = True
if env("CNNLAB_PROXY_EXTERNAL") == "1":  # its own systemd unit; CONFIGPROXY_AUTH_TOKEN is shared
    c.ConfigurableHTTPProxy.should_start = False
# HTTPS with the certificate the instructor provides (the proxy terminates TLS)
if env("CNNLAB_SSL_CERT") and env("CNNLAB_SSL_KEY"):
    c.JupyterHub.ssl_cert = env("CNNLAB_SSL_CERT")
    c.JupyterHub.ssl_key = env("CNNLAB_SSL_KEY")

# Who may log in: local Unix users on the roster. With "lti13" they sign in from the LMS
# (deploy/lti.py) and the LMS's course roles, not the roster's, put them in the two groups.
AUTH = env("CNNLAB_HUB_AUTH", "pam")
if AUTH == "dummy":
    c.JupyterHub.authenticator_class = "dummy"
    c.DummyAuthenticator.password = env("CNNLAB_HUB_PASSWORD") or None
elif AUTH == "lti13":
    from lti import configure_hub as configure_lti  # noqa: E402

    configure_lti(c, HUB_DIR)
else:
    c.JupyterHub.authenticator_class = "pam"
c.Authenticator.allowed_users = set(INSTRUCTORS) | set(STUDENTS)
c.Authenticator.admin_users = set(_names("CNNLAB_HUB_ADMINS"))  # instructors are not admins (roles below)
if AUTH != "lti13":  # JupyterHub refuses load_groups when the authenticator manages groups
    c.JupyterHub.load_groups = {
        "instructors": {"users": INSTRUCTORS},
        "students": {"users": STUDENTS},
    }

# Services: the idle culler always; a management token for scripts and tests when asked for.
CULL_TIMEOUT = int(env("CNNLAB_CULL_TIMEOUT", "3600"))
c.JupyterHub.services = [
    {"name": "idle-culler",
     "command": [sys.executable, "-m", "jupyterhub_idle_culler", f"--timeout={CULL_TIMEOUT}",
                 f"--cull-every={max(30, CULL_TIMEOUT // 6)}"]},
]
c.JupyterHub.load_roles = [
    {"name": "idle-culler", "services": ["idle-culler"],
     "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"]},
    # Instructors see who is in the class and whose server runs (the admin page, read only);
    # their own server comes with the default "user" role. No access:servers, no admin:*.
    {"name": "instructor", "groups": ["instructors"], "description": "see the class; only one's own server",
     "scopes": ["admin-ui", "list:users", "read:users", "read:groups", "read:servers"]},
]
if env("CNNLAB_HUB_ADMIN_TOKEN"):
    c.JupyterHub.services.append({"name": "cnnlab-admin", "api_token": env("CNNLAB_HUB_ADMIN_TOKEN")})
    c.JupyterHub.load_roles.append({"name": "admin", "services": ["cnnlab-admin"]})

# -- the users' servers -------------------------------------------------------------------------
from jupyterhub.spawner import LocalProcessSpawner  # noqa: E402


def _memory_cgroup(user: str) -> Path | None:
    """A memory cgroup for ``user`` limited to MEM_LIMIT (cgroup v2 or v1), or None when the hub cannot make one."""
    v2, v1 = Path("/sys/fs/cgroup"), Path("/sys/fs/cgroup/memory")
    try:
        controllers = (v2 / "cgroup.controllers").read_text().split() if (v2 / "cgroup.controllers").exists() else []
        if "memory" in controllers:
            (v2 / "cgroup.subtree_control").write_text("+memory")
            (v2 / "cnnlab").mkdir(exist_ok=True)
            (v2 / "cnnlab" / "cgroup.subtree_control").write_text("+memory")
            group, knob = v2 / "cnnlab" / user, "memory.max"
        elif (v1 / "memory.limit_in_bytes").exists():
            group, knob = v1 / "cnnlab" / user, "memory.limit_in_bytes"
        else:
            return None
        group.mkdir(parents=True, exist_ok=True)
        (group / knob).write_text(str(MEM_LIMIT))
        return group
    except OSError:
        return None


def split_db_password(url: str) -> tuple[str, str | None]:
    """(the URL without its password, the password or None): the password goes to ~/.pgpass only."""
    parts = urlsplit(url)
    if parts.password is None:
        return url, None
    userinfo, _, hostport = parts.netloc.rpartition("@")
    return urlunsplit(parts._replace(netloc=f"{userinfo.partition(':')[0]}@{hostport}")), unquote(parts.password)


def write_pgpass(home: Path, uid: int, gid: int, url: str, password: str) -> Path:
    """The libpq password file (mode 600, owned by the user) holding ``password`` for ``url``'s server."""
    parts = urlsplit(url)
    field = lambda v: str(v).replace("\\", "\\\\").replace(":", "\\:")  # noqa: E731
    line = ":".join(field(v) for v in (parts.hostname or "localhost", parts.port or 5432,
                                        parts.path.lstrip("/") or "*", unquote(parts.username or "*"), password))
    pgpass = home / ".pgpass"
    pgpass.unlink(missing_ok=True)
    fd = os.open(pgpass, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(line + "\n")
    os.chown(pgpass, uid, gid)
    return pgpass


class CourseSpawner(LocalProcessSpawner):
    """LocalProcessSpawner with the course's home layout, per-group config and a memory limit."""

    def _groups(self) -> set[str]:
        return {g.name for g in self.user.groups}

    def _prepare_home(self, home: Path, uid: int, gid: int, instructor: bool) -> None:
        os.chmod(home, 0o700)  # Debian's useradd makes homes world-readable (UMASK 022)
        copies = []
        lectures = next((KIT / n for n in ("lectures", "notebooks") if (KIT / n).is_dir()), KIT / "lectures")
        for src, dst in ((lectures, home / "lectures"), (KIT / "img", home / "img")):  # lectures link ../img/
            if src.is_dir() and not dst.exists():
                shutil.copytree(src, dst)
                copies.append(dst)
        settings = home / ".jupyter" / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
        if not settings.exists():
            settings.mkdir(parents=True)
            (settings / "notification.jupyterlab-settings").write_text(
                '{"fetchNews": "false", "checkForUpdates": false}')
            copies.append(home / ".jupyter")
        if instructor:
            course = home / "cnnlab-course"
            if not course.exists():
                course.mkdir()
                copies.append(course)
            # The course's settings, refreshed at every start, private to the instructor.
            config_dir = home / ".jupyter"
            config_dir.mkdir(exist_ok=True)
            if COURSE_CONFIG.is_file():
                shutil.copyfile(COURSE_CONFIG, config_dir / "cnnlab_course_config.py")
            (config_dir / "nbgrader_config.py").write_text(
                "c = get_config()  # noqa: F821\n"
                f"load_subconfig({str(config_dir / 'cnnlab_course_config.py')!r})  # noqa: F821\n")
            copies.append(config_dir)
        for top in copies:
            for path in [top, *top.rglob("*")]:
                os.lchown(path, uid, gid)

    async def start(self):
        pw = pwd.getpwnam(self.user.name)
        home = Path(pw.pw_dir)
        groups = self._groups()
        instructor = "instructors" in groups
        self._prepare_home(home, pw.pw_uid, pw.pw_gid, instructor)
        config_path = [str(SHARED / ("instructors" if instructor else "students")), str(SHARED / "all")]
        self.environment.update({
            "JUPYTER_CONFIG_PATH": os.pathsep.join(config_path),
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            "CNNLAB_EXCHANGE": str(EXCHANGE),
            "PATH": f"{USER_ENV / 'bin'}:/usr/local/bin:/usr/bin:/bin",
        })
        if instructor:
            # The course's config runs in the instructor's server: no grading sandbox there
            # (grading runs from the instructor's own install with `python -m cnnlab.course grade`).
            self.environment.update({"CNNLAB_COURSE_ROOT": str(home / "cnnlab-course"), "CNNLAB_SANDBOX": "off"})
            if env("CNNLAB_DB_URL"):
                url, password = split_db_password(env("CNNLAB_DB_URL"))
                if password is not None:
                    write_pgpass(home, pw.pw_uid, pw.pw_gid, url, password)
                self.environment["CNNLAB_DB_URL"] = url
        self.cgroup = _memory_cgroup(self.user.name)
        singleuser = [str(USER_ENV / "bin" / "jupyterhub-singleuser")]
        if self.cgroup is None and shutil.which("prlimit"):
            # No cgroup: each process of the user's server (and each kernel) gets the limit.
            singleuser = [shutil.which("prlimit"), f"--as={MEM_LIMIT}", "--", *singleuser]
        self.cmd = singleuser
        result = await super().start()
        if self.cgroup is not None:
            (self.cgroup / "cgroup.procs").write_text(str(self.pid))
        return result


c.JupyterHub.spawner_class = CourseSpawner
c.Spawner.mem_limit = MEM_LIMIT  # also shown to the user as MEM_LIMIT
c.Spawner.default_url = "/lab/tree/lectures"
c.Spawner.notebook_dir = "~"
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
c.Spawner.args = ["--ServerApp.shutdown_no_activity_timeout=0"]
if env("CNNLAB_HUB_EXPOSE_APP") == "1":  # browser tests drive window.jupyterapp
    c.Spawner.args.append("--LabApp.expose_app_in_browser=True")
