"""LTI 1.3 sign-in from the LMS: the platform's registration, the tool's key, roles to hub groups, launch records.

The LMS (Canvas, Moodle, ...) is the LTI *platform*, the hub the *tool*. ``register`` keeps what the
LMS gave when the tool was added (issuer, client id, deployment id and its login, token and key-set
URLs) in ``HUB_DIR/lti.json`` and makes the tool's RSA key (``HUB_DIR/state/lti-tool-key.pem``, root
only): its public half is what the LMS asks for to trust the hub's grade requests.
``configure_hub`` sets JupyterHub's ``LTI13Authenticator`` (jupyterhub-ltiauthenticator) up from that
file. At each launch ``lti_post_auth_hook`` puts the user into the ``instructors`` or ``students``
group from the LTI roles claim (refusing a launch with neither role) and records the user's LTI id
and the course's Assignment and Grade Services endpoint in ``HUB_DIR/state/lti-launches.json``, which
``lti_scores.publish`` reads to send scores back.
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
AGS_CLAIM = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
LIS = "http://purl.imsglobal.org/vocab/lis/v2/"
# Context (course) roles, LTI 1.3 section A.2.2, and their short forms ("Instructor") the spec also allows.
INSTRUCTOR_ROLES = {"Instructor", "Administrator", "ContentDeveloper", "Instructor#TeachingAssistant",
                    "Instructor#Grader", "Instructor#PrimaryInstructor", "Instructor#SecondaryInstructor",
                    "Instructor#Lecturer", "Administrator#Administrator"}
STUDENT_ROLES = {"Learner", "Learner#Learner", "Learner#NonCreditLearner", "Learner#GuestLearner"}
SETTINGS_FILE = "lti.json"
KEY_FILE = Path("state") / "lti-tool-key.pem"
LAUNCHES_FILE = Path("state") / "lti-launches.json"


class LTIConfigError(ValueError):
    """The LTI settings are missing or incomplete (the message says which and how to set them)."""


@dataclass(frozen=True)
class PlatformSettings:
    """What the LMS shows when the hub is added as an LTI 1.3 tool."""

    issuer: str
    client_id: str
    deployment_id: str
    authorize_url: str  # the platform's OIDC authorization (login) endpoint
    token_url: str  # its OAuth2 access-token endpoint (grade services)
    jwks_url: str  # its public key set
    username_key: str = "custom_username"  # claim holding the hub user name (custom "username=$User.username")


def _write_atomically(path: Path, text: str, mode: int = 0o600) -> None:
    """Write ``text`` to ``path`` atomically with ``mode`` (set before any byte is written, so a private
    file is never readable by others, even for a moment)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def register(hub_dir: str | os.PathLike, settings: PlatformSettings) -> dict[str, Any]:
    """Keep the platform's settings and make the tool's key (kept when it exists).

    Returns:
        dict with ``settings`` (the file written), ``key`` (the private key's path) and
        ``public_jwk`` (the tool's public key as a JWK, for the LMS's "public key" field).
    """
    from jwcrypto.jwk import JWK

    missing = [k for k, v in asdict(settings).items() if not str(v).strip()]
    if missing:
        raise LTIConfigError(f"LTI registration lacks {', '.join(missing)}: copy them from the LMS's "
                             "developer key / external tool page")
    for name in ("authorize_url", "token_url", "jwks_url"):
        if not getattr(settings, name).startswith(("https://", "http://")):
            raise LTIConfigError(f"{name} {getattr(settings, name)!r} is not a URL (expected https://...)")
    hub_dir = Path(hub_dir)
    (hub_dir / KEY_FILE.parent).mkdir(parents=True, exist_ok=True)
    os.chmod(hub_dir / KEY_FILE.parent, 0o700)  # the hub's state: root only, as jupyterhub_config.py keeps it
    _write_atomically(hub_dir / SETTINGS_FILE, json.dumps(asdict(settings), indent=1) + "\n", 0o644)
    key = hub_dir / KEY_FILE
    if not key.is_file():
        _write_atomically(key, JWK.generate(kty="RSA", size=2048).export_to_pem(private_key=True, password=None)
                       .decode())
    return {"settings": hub_dir / SETTINGS_FILE, "key": key, "public_jwk": tool_public_jwk(hub_dir)}


def read_settings(hub_dir: str | os.PathLike) -> PlatformSettings:
    path = Path(hub_dir) / SETTINGS_FILE
    if not path.is_file():
        raise LTIConfigError(f"no LTI settings in {path}: run `deploy/hubctl.py lti register ...` first")
    try:
        return PlatformSettings(**json.loads(path.read_text()))
    except (ValueError, TypeError) as exc:
        raise LTIConfigError(f"{path} is not a valid LTI settings file ({exc}); run `hubctl.py lti register` "
                             "again") from exc


def tool_private_key(hub_dir: str | os.PathLike) -> str:
    path = Path(hub_dir) / KEY_FILE
    if not path.is_file():
        raise LTIConfigError(f"no tool key {path}: run `deploy/hubctl.py lti register ...` first")
    return path.read_text()


def tool_public_pem(hub_dir: str | os.PathLike) -> str:
    """The public half of the tool's key (PEM); its thumbprint is the key id (``kid``) the LMS sees."""
    from jwcrypto.jwk import JWK

    return JWK.from_pem(tool_private_key(hub_dir).encode()).export_to_pem().decode()


def tool_public_jwk(hub_dir: str | os.PathLike) -> dict[str, Any]:
    """The tool's public key as a JWK (with ``kid``, ``alg`` RS256 and ``use`` sig)."""
    from jwcrypto.jwk import JWK

    jwk = json.loads(JWK.from_pem(tool_public_pem(hub_dir).encode()).export_public())
    return {**jwk, "alg": "RS256", "use": "sig"}


def groups_from_roles(roles: list[str]) -> list[str]:
    """The hub groups of a user with these LTI context roles: ``["instructors"]``, ``["students"]`` or ``[]``.

    Full URIs (``http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor``, sub-roles such as
    ``membership/Instructor#TeachingAssistant``) and the spec's short forms (``Instructor``) are read;
    institution and system roles (``.../institution/person#Instructor``) are not course roles and are
    ignored. Teaching roles win over Learner.
    """
    short = set()
    for role in roles or []:
        role = str(role)
        if role.startswith(LIS + "membership"):
            rest = role[len(LIS + "membership"):]  # "#Instructor" or "/Instructor#TeachingAssistant"
            short.add(rest.lstrip("#/"))
        elif "://" not in role:
            short.add(role)
    if short & INSTRUCTOR_ROLES:
        return ["instructors"]
    if short & STUDENT_ROLES:
        return ["students"]
    return []


def record_launch(hub_dir: str | os.PathLike, username: str, claims: dict[str, Any]) -> dict[str, Any]:
    """Remember who launched from which course: the user's LTI id and the course's grade-service endpoint."""
    path = Path(hub_dir) / LAUNCHES_FILE
    launches = read_launches(hub_dir)
    context = (claims.get(CLAIM + "context") or {}).get("id", "")
    entry = {"sub": claims.get("sub"), "issuer": claims.get("iss"), "context": context,
             "deployment_id": claims.get(CLAIM + "deployment_id"),
             "groups": groups_from_roles(claims.get(CLAIM + "roles", []))}
    launches["users"][username] = entry
    ags = claims.get(AGS_CLAIM)
    if context and ags and ags.get("lineitems"):
        launches["contexts"][context] = {"issuer": claims.get("iss"), "lineitems": ags["lineitems"],
                                         "scope": list(ags.get("scope", [])),
                                         "title": (claims.get(CLAIM + "context") or {}).get("title", "")}
    _write_atomically(path, json.dumps(launches, indent=1, sort_keys=True) + "\n")
    return entry


def read_launches(hub_dir: str | os.PathLike) -> dict[str, dict[str, Any]]:
    path = Path(hub_dir) / LAUNCHES_FILE
    if not path.is_file():
        return {"users": {}, "contexts": {}}
    data = json.loads(path.read_text())
    return {"users": data.get("users", {}), "contexts": data.get("contexts", {})}


def make_post_auth_hook(hub_dir: str | os.PathLike):
    """JupyterHub's ``Authenticator.post_auth_hook`` for LTI launches (groups from roles, launch recorded)."""
    from tornado.web import HTTPError

    def lti_post_auth_hook(authenticator, handler, auth_model: dict[str, Any]) -> dict[str, Any]:
        claims = auth_model.get("auth_state") or {}
        roles = claims.get(CLAIM + "roles", [])
        groups = groups_from_roles(roles)
        if not groups:
            shown = ", ".join(r.rsplit("#", 1)[-1] for r in roles) or "none"
            raise HTTPError(403, f"Your role in this LMS course ({shown}) is neither Learner nor Instructor, "
                                 "so the hub cannot tell whether to open a student's or an instructor's "
                                 "workspace. Ask the course's instructor to enrol you.")
        auth_model["groups"] = groups
        record_launch(hub_dir, authenticator.normalize_username(auth_model["name"]), claims)
        return auth_model

    return lti_post_auth_hook


def configure_hub(c, hub_dir: str | os.PathLike) -> PlatformSettings:
    """Set a JupyterHub config ``c`` up for LTI 1.3 sign-in with the registered platform."""
    settings = read_settings(hub_dir)
    c.JupyterHub.authenticator_class = "ltiauthenticator.lti13.auth.LTI13Authenticator"
    c.LTI13Authenticator.issuer = settings.issuer
    c.LTI13Authenticator.client_id = [settings.client_id]
    c.LTI13Authenticator.authorize_url = settings.authorize_url
    c.LTI13Authenticator.jwks_endpoint = settings.jwks_url
    c.LTI13Authenticator.username_key = settings.username_key
    c.LTI13Authenticator.tool_name = "cnnlab"
    c.LTI13Authenticator.tool_description = "The cnnlab course: lectures and assignments in JupyterLab"
    c.Authenticator.manage_groups = True  # the LMS's roles decide instructors and students at each launch
    c.Authenticator.post_auth_hook = make_post_auth_hook(hub_dir)
    return settings
