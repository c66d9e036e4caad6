"""systemd units for the one-machine hub: the proxy and the hub as two services, restarted on failure and at boot.

``write_units`` writes ``cnnlab-proxy.service`` and ``cnnlab-hub.service`` (into /etc/systemd/system
by default) and the environment file they share (mode 600: it holds the proxy's API token). The
proxy terminates HTTPS with the certificate the instructor provides; the hub does not start a proxy
of its own (``CNNLAB_PROXY_EXTERNAL=1``), so restarting the hub keeps users' connections routed.
"""
from __future__ import annotations

import os
import secrets
import shlex
from pathlib import Path

DEPLOY = Path(__file__).resolve().parent
REPO = DEPLOY.parent
# settings passed on from the environment of the command that writes the units
PASSED_ON = ("CNNLAB_USER_ENV", "CNNLAB_KIT", "CNNLAB_EXCHANGE", "CNNLAB_COURSE_CONFIG", "CNNLAB_DB_URL",
             "CNNLAB_MEM_LIMIT", "CNNLAB_CULL_TIMEOUT", "CNNLAB_HUB_AUTH", "CNNLAB_ROSTER", "CNNLAB_INSTRUCTORS",
             "CNNLAB_STUDENTS", "CNNLAB_HUB_ADMINS")


def _read_env(path: Path) -> dict[str, str]:
    out = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            key, sep, value = line.partition("=")
            if sep and not line.lstrip().startswith("#"):
                out[key.strip()] = shlex.split(value)[0] if value.strip() else ""
    return out


def environment_file(path: Path, settings: dict[str, str]) -> Path:
    """Write ``settings`` as a systemd EnvironmentFile (mode 600), keeping an existing proxy token."""
    token = _read_env(path).get("CONFIGPROXY_AUTH_TOKEN") or secrets.token_hex(32)
    lines = ["# cnnlab hub settings (read by cnnlab-proxy.service and cnnlab-hub.service); root only",
             f"CONFIGPROXY_AUTH_TOKEN={token}"]
    lines += [f"{k}={shlex.quote(str(v))}" for k, v in settings.items()]
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    os.chmod(path, 0o600)
    return path


def write_units(out: Path = Path("/etc/systemd/system"), hub_dir: Path = Path("/srv/cnnlab-hub"),
                ip: str = "0.0.0.0", port: int = 443, hub_api_port: int = 8081, proxy_api_port: int = 8001,
                ssl_cert: Path | None = None, ssl_key: Path | None = None, chp: Path | None = None,
                jupyterhub: Path | None = None, env_file: Path | None = None,
                extra: dict[str, str] | None = None) -> dict[str, Path]:
    """Write the two units and their environment file; returns {"proxy": ..., "hub": ..., "env": ...}.

    Args:
        out: the folder of the unit files (``/etc/systemd/system``).
        hub_dir: the hub's state and shared config (``CNNLAB_HUB_DIR``).
        ip, port: where the proxy listens for the users (443 with HTTPS).
        ssl_cert, ssl_key: the certificate chain and key (PEM) for HTTPS; both or neither.
        chp, jupyterhub: the programs (default: deploy/.chp's proxy, the repository's .venv hub).
        env_file: the environment file (default ``hub_dir/hub.env``).
        extra: more settings for the hub (default: the CNNLAB_* settings of this environment).
    """
    if (ssl_cert is None) != (ssl_key is None):
        raise ValueError("HTTPS needs both the certificate (--ssl-cert) and its key (--ssl-key)")
    for what, path in (("certificate", ssl_cert), ("key", ssl_key)):
        if path is not None and not Path(path).is_file():
            raise FileNotFoundError(f"no {what} file {path}")
    chp = Path(chp or DEPLOY / ".chp" / "node_modules" / ".bin" / "configurable-http-proxy")
    jupyterhub = Path(jupyterhub or REPO / ".venv" / "bin" / "jupyterhub")
    env_file = Path(env_file or Path(hub_dir) / "hub.env")
    settings = {k: os.environ[k] for k in PASSED_ON if os.environ.get(k)} if extra is None else dict(extra)
    settings.update({"CNNLAB_HUB_DIR": str(hub_dir), "CNNLAB_HUB_IP": ip, "CNNLAB_HUB_PORT": str(port),
                     "CNNLAB_HUB_API_PORT": str(hub_api_port), "CNNLAB_PROXY_API_PORT": str(proxy_api_port),
                     "CNNLAB_PROXY_EXTERNAL": "1", "CNNLAB_CHP": str(chp)})
    if ssl_cert is not None:
        settings.update({"CNNLAB_SSL_CERT": str(ssl_cert), "CNNLAB_SSL_KEY": str(ssl_key)})
    environment_file(env_file, settings)

    hub_url = f"http://127.0.0.1:{hub_api_port}"
    proxy_cmd = [str(chp), "--ip", ip, "--port", str(port), "--api-ip", "127.0.0.1", "--api-port", str(proxy_api_port),
                 "--default-target", hub_url, "--error-target", f"{hub_url}/hub/error"]
    if ssl_cert is not None:
        proxy_cmd += ["--ssl-cert", str(ssl_cert), "--ssl-key", str(ssl_key)]
    proxy = f"""\
[Unit]
Description=configurable-http-proxy of the cnnlab JupyterHub (written by deploy/hubctl.py systemd)
After=network-online.target
Wants=network-online.target

[Service]
EnvironmentFile={env_file}
ExecStart={shlex.join(proxy_cmd)}
Restart=always
RestartSec=2
NoNewPrivileges=yes
ProtectSystem=full
PrivateTmp=yes

[Install]
WantedBy=multi-user.target
"""
    hub = f"""\
[Unit]
Description=cnnlab JupyterHub (written by deploy/hubctl.py systemd)
Requires=cnnlab-proxy.service
After=network-online.target cnnlab-proxy.service
Wants=network-online.target

[Service]
EnvironmentFile={env_file}
WorkingDirectory={hub_dir}
ExecStart={shlex.join([str(jupyterhub), "-f", str(DEPLOY / "jupyterhub_config.py")])}
Restart=always
RestartSec=5
# the users' servers are the hub's children: stopping the hub stops them (cleanup_servers)
KillMode=mixed
TimeoutStopSec=60

[Install]
WantedBy=multi-user.target
"""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    Path(hub_dir).mkdir(parents=True, exist_ok=True)
    written = {"proxy": out / "cnnlab-proxy.service", "hub": out / "cnnlab-hub.service", "env": env_file}
    written["proxy"].write_text(proxy)
    written["hub"].write_text(hub)
    for unit in (written["proxy"], written["hub"]):
        os.chmod(unit, 0o644)
    return written
