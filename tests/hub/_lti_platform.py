"""An LTI 1.3 platform (a stand-in LMS) on 127.0.0.1 for the hub's LTI tests, built on ``lti1p3platform``.

The protocol is the package's: the OIDC login initiation, the signed launch (id_token), the
access-token endpoint that checks the tool's signed client assertion, and the Assignment and Grade
Services handlers that check the bearer token and its scopes. This file only gives them HTTP routes
(tornado, in a background thread), a class of users, and an in-memory gradebook. ``forge`` makes the
next launches dishonest: ``"key"`` signs them with a key the platform never published, ``"body"``
changes a signed token's claims after signing.
"""
from __future__ import annotations

import asyncio
import base64
import json
import threading
from dataclasses import dataclass, field
from typing import Any

import jwt
from jwcrypto.jwk import JWK
from lti1p3platform.exceptions import LineItemNotFoundException
from lti1p3platform.ltiplatform import LTI1P3PlatformConfAbstract
from lti1p3platform.message_launch import LTIAdvantageMessageLaunchAbstract
from lti1p3platform.oidc_login import OIDCLoginAbstract
from lti1p3platform.registration import Registration
from lti1p3platform.request import Request
from lti1p3platform.response import Response
from lti1p3platform.score import UpdateScoreStatus
from lti1p3platform.service_connector import AssignmentsGradesService
from tornado.httpserver import HTTPServer
from tornado.web import Application, RequestHandler

import hubctl

LIS = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
CONTEXT = "cnn-101-fall"


def _pem_pair() -> tuple[str, str]:
    key = JWK.generate(kty="RSA", size=2048)
    return key.export_to_pem(private_key=True, password=None).decode(), key.export_to_pem().decode()


@dataclass
class Person:
    sub: str  # the LMS's opaque user id
    username: str  # sent as the custom claim "username" ($User.username)
    roles: list[str]
    name: str = ""


@dataclass
class Platform:
    tool_url: str  # the hub, e.g. http://127.0.0.1:8000
    tool_jwk: dict[str, Any]  # the tool's public key, as the instructor pasted it into the LMS
    client_id: str = "cnnlab-hub-client"
    deployment_id: str = "deployment-1"
    people: dict[str, Person] = field(default_factory=dict)  # login hint -> person
    lineitems: dict[str, dict] = field(default_factory=dict)  # id (URL) -> line item
    scores: dict[str, dict[str, dict]] = field(default_factory=dict)  # line item id -> {userId: score}
    forge: str | None = None
    host: str = "127.0.0.1"  # "localhost" puts the LMS on another site than a hub on 127.0.0.1, for browsers

    def __post_init__(self) -> None:
        self.port = hubctl.free_port()
        self.url = f"http://{self.host}:{self.port}"
        self.private_pem, self.public_pem = _pem_pair()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    # -- what the LMS's admin page shows for the tool ------------------------------------------------
    @property
    def lineitems_url(self) -> str:
        return f"{self.url}/ags/{CONTEXT}/lineitems"

    def settings(self) -> dict[str, str]:
        return {"issuer": self.url, "client_id": self.client_id, "deployment_id": self.deployment_id,
                "authorize_url": f"{self.url}/authorize", "token_url": f"{self.url}/token",
                "jwks_url": f"{self.url}/jwks"}

    def registration(self) -> Registration:
        return (Registration().set_iss(self.url).set_client_id(self.client_id)
                .set_deployment_id(self.deployment_id)
                .set_oidc_login_url(f"{self.tool_url}/hub/lti13/oauth_login")
                .set_launch_url(f"{self.tool_url}/hub/home")
                .set_platform_public_key(self.public_pem).set_platform_private_key(self.private_pem)
                .set_tool_key_set({"keys": [self.tool_jwk]}))

    def launch_url(self, login_hint: str) -> str:
        """Where the LMS sends a person who clicks the course's link to the hub."""
        return f"{self.url}/launch?user={login_hint}"

    # -- running ---------------------------------------------------------------------------------------
    def start(self) -> "Platform":
        ready = threading.Event()

        def serve() -> None:
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
            HTTPServer(_application(self)).listen(self.port, "127.0.0.1")
            self._loop.call_soon(ready.set)
            self._loop.run_forever()

        self._thread = threading.Thread(target=serve, daemon=True)
        self._thread.start()
        if not ready.wait(20):
            raise RuntimeError("the LTI platform did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)


# -- lti1p3platform's abstract pieces ----------------------------------------------------------------
class _Config(LTI1P3PlatformConfAbstract):
    def init_platform_config(self, platform: Platform) -> None:
        self.platform = platform

    def get_registration_by_params(self, **kwargs: Any) -> Registration:
        return self.platform.registration()


class _Request(Request):
    def build_metadata(self, handler: RequestHandler):
        req = handler.request
        ctype = req.headers.get("Content-Type", "")
        return {"method": req.method, "headers": req.headers, "content_type": ctype, "path": req.path,
                "get_data": {k: handler.get_query_argument(k) for k in req.query_arguments},
                "form_data": {k: handler.get_body_argument(k) for k in req.body_arguments},
                "json": json.loads(req.body) if "json" in ctype and req.body else None}


class _Login(OIDCLoginAbstract):
    def set_lti_message_hint(self, **kwargs: Any) -> None:
        self._lti_message_hint = kwargs["hint"]

    def get_redirect(self, url: str) -> str:
        return url


class _Launch(LTIAdvantageMessageLaunchAbstract):
    platform: Platform

    def prepare_launch(self, preflight_response: dict[str, Any]) -> None:
        person = self.platform.people[preflight_response["login_hint"]]
        self.set_user_data(person.sub, person.roles, full_name=person.name)
        self.set_custom_parameters_claim({"username": person.username})
        self.set_launch_context_claim(CONTEXT, context_title="Convolutional networks", context_label="CNN 101")
        self.set_resource_link_claim("hub-link-1", title="cnnlab hub")
        self.set_ags(lineitems_url=self.platform.lineitems_url, allow_creating_lineitems=True)

    def render_launch_form(self, launch_data: dict[str, Any], **kwargs: Any) -> str:
        token = _forged(launch_data["id_token"], self.platform.forge)
        return ("<html><body onload='document.forms[0].submit()'>"
                f"<form method='post' action='{launch_data['launch_url']}'>"
                f"<input type='hidden' name='id_token' value='{token}'>"
                f"<input type='hidden' name='state' value='{launch_data['state']}'>"
                "</form></body></html>")


def _forged(token: str, how: str | None) -> str:
    if how is None:
        return token
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    if how == "key":  # same claims and key id, signed with a key the platform never published
        return jwt.encode(claims, _pem_pair()[0], algorithm="RS256", headers={"kid": header.get("kid")})
    if how == "body":  # a genuine signature over other claims: an instructor's role spliced in
        head, _, signature = token.split(".")
        claims["https://purl.imsglobal.org/spec/lti/claim/roles"] = [LIS + "Instructor"]
        body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
        return f"{head}.{body}.{signature}"
    raise ValueError(how)


class _Grades(AssignmentsGradesService):
    """The LMS's gradebook for the one course: line items and the latest score per user."""

    platform: Platform

    def find_lineitems(self, page=1, limit=None, line_item_id=None, resource_link_id=None, resource_id=None,
                       tag=None, **_):
        items = [i for i in self.platform.lineitems.values()
                 if (tag is None or i.get("tag") == tag) and (resource_id is None or i.get("resourceId") == resource_id)]
        return {"content": items, "has_next": False, "next": None}

    def find_lineitem(self, line_item_id):
        item = self.platform.lineitems.get(self._url(line_item_id))
        if item is None:
            raise LineItemNotFoundException()
        return item

    def create_lineitem(self, creation_data):
        item = {**creation_data, "id": self._url(str(len(self.platform.lineitems) + 1))}
        self.platform.lineitems[item["id"]] = item
        return item

    def update_lineitem(self, update_data):
        item = self.find_lineitem(update_data["id"])
        item.update(update_data)
        return item

    def delete_lineitem(self, line_item_id):
        self.platform.lineitems.pop(self.find_lineitem(line_item_id)["id"])

    def update_score(self, line_item_id, score):
        item = self.find_lineitem(line_item_id)
        self.platform.scores.setdefault(item["id"], {})[str(score["userId"])] = score
        return UpdateScoreStatus.SUCCESS

    def get_results(self, line_item_id, page=1, limit=None, user_id=None, **_):
        item = self.find_lineitem(line_item_id)
        results = [{"id": f"{item['id']}/results/{uid}", "userId": uid, "resultScore": s.get("scoreGiven"),
                    "resultMaximum": s.get("scoreMaximum"), "scoreOf": item["id"]}
                   for uid, s in self.platform.scores.get(item["id"], {}).items() if user_id in (None, uid)]
        return {"content": results, "has_next": False, "next": None}

    def _url(self, line_item_id: str) -> str:
        return line_item_id if line_item_id.startswith("http") else f"{self.platform.lineitems_url}/{line_item_id}"


# -- HTTP routes -------------------------------------------------------------------------------------
def _application(platform: Platform) -> Application:
    def config() -> _Config:
        conf = _Config(platform=platform)
        conf.get_registration()
        return conf

    class Jwks(RequestHandler):
        def get(self):
            self.write(config().get_jwks())

    class Launch(RequestHandler):
        def get(self):
            login = _Login(_Request(self), config())
            login.set_lti_message_hint(hint="hub-link-1")
            self.redirect(login.initiate_login(self.get_query_argument("user")))

    class Authorize(RequestHandler):
        def check_xsrf_cookie(self):
            return

        def get(self):
            launch = _Launch(_Request(self), config())
            launch.platform = platform
            try:
                self.write(launch.lti_launch())
            except Exception as exc:  # noqa: BLE001 - a bad preflight request is the client's error
                self.set_status(400)
                self.write({"error": type(exc).__name__, "detail": str(exc)})

        post = get

    class Token(RequestHandler):
        def post(self):
            form = {k: self.get_body_argument(k) for k in self.request.body_arguments}
            try:
                self.write(dict(config().get_access_token(form)))
            except Exception as exc:  # noqa: BLE001 - any failure to prove the tool's identity
                self.set_status(401)
                self.write({"error": "invalid_client", "detail": f"{type(exc).__name__}: {exc}"})

    class Ags(RequestHandler):
        def _service(self) -> _Grades:
            service = _Grades(_Request(self), config(), platform.lineitems_url)
            service.platform = platform
            return service

        def _answer(self, call, *args) -> None:
            service = self._service()
            try:
                response = service.handle_resp(lambda: call(service, *args))
            except jwt.PyJWTError as exc:  # a token the platform did not issue for these services
                response = Response(result=None, code=401, message=f"invalid token: {exc}")
            self.set_status(response.code)
            result = response.result
            if isinstance(result, dict) and "content" in result:  # containers are JSON arrays
                result = result["content"]
            if result is not None:
                self.set_header("Content-Type", response.media_type)
                self.write(json.dumps(result))
            elif response.code >= 400:
                self.write(json.dumps({"error": response.message}))

        def get(self, item=None, sub=None):
            if item is None:
                return self._answer(_Grades.handle_get_lineitems)
            if sub == "results":
                return self._answer(_Grades.handle_get_results, item)
            return self._answer(_Grades.handle_get_lineitem, item)

        def post(self, item=None, sub=None):
            if item is None:
                return self._answer(_Grades.handle_create_lineitem)
            if sub == "scores":
                return self._answer(_Grades.handle_update_score, item)
            self.set_status(405)

        def put(self, item=None, sub=None):
            return self._answer(_Grades.handle_update_lineitem, item)

        def delete(self, item=None, sub=None):
            return self._answer(_Grades.handle_delete_lineitem, item)

    ags = f"/ags/{CONTEXT}/lineitems"
    return Application([("/jwks", Jwks), ("/launch", Launch), ("/authorize", Authorize), ("/token", Token),
                        (ags, Ags), (ags + r"/([^/]+)", Ags), (ags + r"/([^/]+)/(scores|results)", Ags)])
