"""The LMS connection: LTI 1.3 sign-in to the hub and scores sent back, against lti1p3platform on 127.0.0.1.

The hub runs deploy/jupyterhub_config.py with ``CNNLAB_HUB_AUTH=lti13`` after
``deploy/hubctl.py lti register``; the platform (``_lti_platform``) is the registry's
``lti1p3platform`` behind a few routes. A person "clicks the course's link" by following the
platform's redirects and posting its auto-submitting form, as a browser does.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import stat
import tempfile
from pathlib import Path

import pytest
import requests

import hubctl
import lti
import lti_scores
from _lti_platform import LIS, Person, Platform

pytestmark = [pytest.mark.slow]

INSTRUCTOR, STUDENTS, OUTSIDER, MENTOR = "ltiprof", ["ltiann", "ltibob", "lticid"], "ltieve", "ltimum"


# -- roles to groups (no hub needed) -------------------------------------------------------------------
@pytest.mark.parametrize("roles, groups", [
    ([LIS + "Learner"], ["students"]),
    ([LIS + "Instructor"], ["instructors"]),
    (["http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant"], ["instructors"]),
    ([LIS + "Learner", LIS + "Instructor"], ["instructors"]),  # teaching wins
    (["Learner"], ["students"]),  # the spec's short form
    (["http://purl.imsglobal.org/vocab/lis/v2/institution/person#Instructor", LIS + "Learner"], ["students"]),
    (["http://purl.imsglobal.org/vocab/lis/v2/institution/person#Instructor"], []),  # not a course role
    ([LIS + "Mentor"], []),
    ([], []),
])
def test_lti_roles_map_to_the_hubs_two_groups(roles, groups):
    assert lti.groups_from_roles(roles) == groups


def test_registration_names_what_is_missing_and_keeps_the_key_private(tmp_path):
    with pytest.raises(lti.LTIConfigError, match="lacks client_id, token_url"):
        lti.register(tmp_path, lti.PlatformSettings("https://lms.example.edu", "", "1",
                                                    "https://lms.example.edu/auth", "", "https://lms.example.edu/k"))
    with pytest.raises(lti.LTIConfigError, match="jwks_url 'keys.json' is not a URL"):
        lti.register(tmp_path, lti.PlatformSettings("https://lms.example.edu", "c", "1",
                                                    "https://lms.example.edu/auth", "https://lms.example.edu/t",
                                                    "keys.json"))
    settings = lti.PlatformSettings("https://lms.example.edu", "c", "1", "https://lms.example.edu/auth",
                                    "https://lms.example.edu/token", "https://lms.example.edu/keys")
    done = lti.register(tmp_path, settings)
    key_mode = stat.S_IMODE(done["key"].stat().st_mode)
    assert key_mode == 0o600, oct(key_mode)
    assert lti.read_settings(tmp_path) == settings
    first = done["public_jwk"]
    assert first["kty"] == "RSA" and first["alg"] == "RS256" and "d" not in first  # public half only
    assert lti.register(tmp_path, settings)["public_jwk"] == first  # registering again keeps the key
    with pytest.raises(lti.LTIConfigError, match="run `deploy/hubctl.py lti register"):
        lti.read_settings(tmp_path / "elsewhere")


# -- a hub signed into from the LMS --------------------------------------------------------------------
@pytest.fixture(scope="module")
def lms():
    reason = hubctl.why_hub_cannot_run()
    if reason:
        pytest.skip(f"cannot run JupyterHub here: {reason}")
    base = Path(tempfile.mkdtemp(prefix="cnnlab-lti-", dir="/tmp"))
    os.chmod(base, 0o755)
    hub = hubctl.Hub(base=base, user_env=base / "no-env", kit=base / "no-kit", instructors=[INSTRUCTOR],
                     students=[*STUDENTS, MENTOR], port=hubctl.free_port(), extra_env={"CNNLAB_HUB_AUTH": "lti13"})
    hub_dir = base / "hub"
    hub_dir.mkdir()
    # The instructor adds the hub to the LMS, copies the LMS's values into `hubctl lti register`,
    # and pastes the public key it prints into the LMS.
    platform = Platform(tool_url=hub.url, tool_jwk={}, host="localhost")  # another site than the hub, for browsers
    settings = platform.settings()
    argv = ["lti", "register", "--hub-dir", str(hub_dir), "--issuer", settings["issuer"],
            "--client-id", settings["client_id"], "--deployment-id", settings["deployment_id"],
            "--authorize-url", settings["authorize_url"], "--token-url", settings["token_url"],
            "--jwks-url", settings["jwks_url"]]
    assert hubctl.main(argv) == 0
    platform.tool_jwk = lti.tool_public_jwk(hub_dir)
    platform.people = {
        INSTRUCTOR: Person("lms-0001", INSTRUCTOR, [LIS + "Instructor"], "Pat Prof"),
        **{s: Person(f"lms-01{i}", s, [LIS + "Learner"], s.title()) for i, s in enumerate(STUDENTS)},
        OUTSIDER: Person("lms-0999", OUTSIDER, [LIS + "Learner"], "Eve Outsider"),  # not on the hub's roster
        MENTOR: Person("lms-0500", MENTOR, [LIS + "Mentor"], "A parent"),  # on the roster, a Mentor in the LMS
    }
    platform.start()
    try:
        hub.start()
        yield platform, hub, hub_dir
    finally:
        hub.stop()
        platform.stop()
        shutil.rmtree(base, ignore_errors=True)


def _launch(platform: Platform, who: str) -> tuple[requests.Session, requests.Response, dict[str, str]]:
    """Click the LMS's link as ``who``: returns the browser session, the hub's answer to the launch and the form."""
    browser = requests.Session()
    page = browser.get(platform.launch_url(who), timeout=30)  # LMS -> hub login -> LMS authorize -> form
    assert page.status_code == 200, f"{page.status_code} {page.url} {page.text[:500]}"
    action = re.search(r"action='([^']+)'", page.text).group(1)
    form = dict(re.findall(r"name='(id_token|state)' value='([^']*)'", page.text))
    answer = browser.post(action, data=form, allow_redirects=False, timeout=30)
    return browser, answer, form


def _user(hub: hubctl.Hub, name: str) -> dict | None:
    r = hub.api("GET", f"/users/{name}")
    return r.json() if r.status_code == 200 else None


def test_a_student_and_an_instructor_sign_in_from_the_lms_into_their_groups(lms):
    platform, hub, hub_dir = lms
    for who, group in ((STUDENTS[0], "students"), (INSTRUCTOR, "instructors"), (STUDENTS[1], "students")):
        browser, answer, _ = _launch(platform, who)
        assert answer.status_code == 302, f"{who}: {answer.status_code} {answer.text[:800]}\n{hub.log_tail()}"
        assert answer.headers["Location"].endswith("/hub/home")  # the target link the LMS gave
        home = browser.get(hub.url + answer.headers["Location"], allow_redirects=False, timeout=30)
        assert home.status_code == 200 and who in home.text  # signed in: the hub's home page names them
        assert _user(hub, who)["groups"] == [group]
    records = lti.read_launches(hub_dir)
    assert records["users"][STUDENTS[0]]["sub"] == "lms-010"
    assert records["contexts"]["cnn-101-fall"]["lineitems"] == platform.lineitems_url
    assert _user(hub, INSTRUCTOR)["admin"] is False  # instructors are not hub admins with LTI either


def test_a_launch_with_a_bad_signature_is_refused_and_signs_no_one_in(lms):
    platform, hub, _ = lms
    victim = STUDENTS[2]
    try:
        platform.forge = "key"  # signed with a key the LMS never published
        _, answer, _ = _launch(platform, victim)
        assert answer.status_code in (400, 401), answer.status_code
        assert "signature" in answer.text.lower() or "key" in answer.text.lower(), answer.text[:500]
        assert _user(hub, victim) is None or not _user(hub, victim).get("last_activity")
        platform.forge = "body"  # a real signature over claims a student rewrote (Learner -> Instructor)
        _, answer, _ = _launch(platform, victim)
        assert answer.status_code in (400, 401) and "signature" in answer.text.lower(), answer.text[:500]
        assert _user(hub, victim) is None or _user(hub, victim)["groups"] != ["instructors"]
    finally:
        platform.forge = None


def test_people_the_course_does_not_know_are_refused_with_the_reason(lms):
    platform, hub, _ = lms
    _, answer, _ = _launch(platform, MENTOR)  # enrolled as a Mentor: neither student nor instructor
    assert answer.status_code == 403 and "neither Learner nor Instructor" in answer.text, answer.text[:800]
    assert "(Mentor)" in answer.text and _user(hub, MENTOR)["groups"] == []
    _, answer, _ = _launch(platform, OUTSIDER)  # a Learner the hub's roster does not list
    assert answer.status_code == 403 and _user(hub, OUTSIDER) is None


def _gradebook(path: Path) -> str:
    """a1 (q1: 2 points, q2: 3 points): ann 2+3, bob 1+0, cid with a question that needs review, dan never launched."""
    from _helpers import gradebook_with_scores

    return gradebook_with_scores(path, {"ltiann": (2, 3), "ltibob": (1, 0), "lticid": (2, None), "ltidan": (1, 1)})


def test_scores_go_to_the_lms_gradebook_under_each_students_lti_id(lms, tmp_path):
    platform, hub, hub_dir = lms
    for who in (INSTRUCTOR, *STUDENTS):
        assert _launch(platform, who)[1].status_code == 302
    url = _gradebook(tmp_path / "gradebook.db")
    maximum, totals = lti_scores.assignment_totals(url, "a1")
    assert maximum == 5 and totals == {"ltiann": 5, "ltibob": 1, "lticid": None, "ltidan": 2}

    assert hubctl.main(["lti", "publish", "a1", "--hub-dir", str(hub_dir), "--db-url", url,
                        "--label", "Assignment 1"]) == 0
    (item,) = platform.lineitems.values()
    assert item["tag"] == "a1" and item["label"] == "Assignment 1" and item["scoreMaximum"] == 5
    sent = platform.scores[item["id"]]
    people = platform.people
    assert sent[people["ltiann"].sub]["scoreGiven"] == 5 and sent[people["ltibob"].sub]["scoreGiven"] == 1
    assert sent[people["ltiann"].sub]["gradingProgress"] == "FullyGraded"
    pending = sent[people["lticid"].sub]
    assert pending["gradingProgress"] == "PendingManual" and "scoreGiven" not in pending  # not a low score
    assert people[INSTRUCTOR].sub not in sent and len(sent) == 3  # dan never launched: no LTI id to use

    # Again after a regrade: the same column, the new score.
    from nbgrader.api import Gradebook

    with Gradebook(url) as gb:
        grade = gb.find_grade("q2", "a1", "a1", "lticid")
        grade.manual_score, grade.needs_manual_grade = 3, False
        gb.db.commit()
    done = lti_scores.publish(hub_dir, url, "a1")
    assert len(platform.lineitems) == 1 and done["lineitem"] == item["id"]
    assert platform.scores[item["id"]][people["lticid"].sub]["scoreGiven"] == 5
    assert done["not_launched"] == ["ltidan"] and done["not_graded"] == []

    # What the LMS now holds, read back through its results service with the tool's own credentials.
    service, _ = lti_scores.grade_service(hub_dir, None)
    from pylti1p3.lineitem import LineItem

    results = {r["userId"]: r["resultScore"] for r in service.get_grades(LineItem({"id": item["id"]}))}
    assert results == {people[s].sub: float(t) for s, t in {"ltiann": 5, "ltibob": 1, "lticid": 5}.items()}


def test_a_student_cannot_read_other_students_scores(lms):
    """The LMS's results service answers only the tool's signed token; a student has none and cannot make one."""
    platform, hub, hub_dir = lms
    _, answer, form = _launch(platform, STUDENTS[1])
    assert answer.status_code == 302
    item_url = f"{platform.lineitems_url}/1"
    platform.lineitems.setdefault(item_url, {"id": item_url, "tag": "x", "scoreMaximum": 1})
    results = f"{item_url}/results"
    accept = {"Accept": "application/vnd.ims.lis.v2.resultcontainer+json"}
    assert requests.get(results, headers=accept, timeout=30).status_code == 401  # no token
    own_launch = requests.get(results, headers={**accept, "Authorization": f"Bearer {form['id_token']}"}, timeout=30)
    assert own_launch.status_code == 401, own_launch.text  # their own signed launch is not a service token
    # A token request signed with a key the student made (the tool's key is root's alone)
    import time
    import uuid

    import jwt
    from jwcrypto.jwk import JWK

    key = JWK.generate(kty="RSA", size=2048)
    assertion = jwt.encode({"iss": platform.client_id, "sub": platform.client_id, "aud": f"{platform.url}/token",
                            "iat": int(time.time()), "exp": int(time.time()) + 60, "jti": uuid.uuid4().hex},
                           key.export_to_pem(private_key=True, password=None), algorithm="RS256",
                           headers={"kid": platform.tool_jwk["kid"]})
    token = requests.post(f"{platform.url}/token", timeout=30, data={
        "grant_type": "client_credentials", "client_assertion": assertion, "scope": lti_scores.RESULT_SCOPE,
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"})
    assert token.status_code == 401 and "access_token" not in token.text, token.text
    for private in (hub_dir / lti.KEY_FILE, hub_dir / lti.LAUNCHES_FILE):  # the key and the LTI ids: root only
        info = private.stat()
        assert info.st_uid == 0 and stat.S_IMODE(info.st_mode) == 0o600, (private, oct(info.st_mode))
    assert stat.S_IMODE((hub_dir / "state").stat().st_mode) == 0o700
    assert json.loads((hub_dir / lti.SETTINGS_FILE).read_text())["client_id"] == platform.client_id


def test_a_student_signs_in_from_the_lms_in_chromium(lms):
    """The real browser path: the LMS on another site (localhost) than the hub (127.0.0.1), its
    auto-submitting form posted cross-site, the hub's state and nonce cookies carried through."""
    from _lab_page import CHROMIUM_ARGS
    from playwright.sync_api import sync_playwright

    chromium = next((p for p in ("/usr/bin/chromium", "/usr/bin/chromium-browser") if Path(p).exists()), None)
    if chromium is None:
        pytest.skip("no Chromium (apt-get install chromium)")
    platform, hub, _ = lms
    who = STUDENTS[2]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(platform.launch_url(who))
            page.wait_for_url(f"{hub.url}/hub/home", timeout=30_000)
            assert who in page.inner_text("body")  # signed in, named on the hub's home page
        finally:
            browser.close()
    assert _user(hub, who)["groups"] == ["students"]


def test_publishing_before_any_launch_or_without_grade_services_says_what_to_do(tmp_path, capsys):
    settings = lti.PlatformSettings("https://lms.example.edu", "c", "1", "https://lms.example.edu/auth",
                                    "https://lms.example.edu/token", "https://lms.example.edu/keys")
    lti.register(tmp_path, settings)
    assert hubctl.main(["lti", "publish", "a1", "--hub-dir", str(tmp_path), "--db-url", "sqlite:///x.db"]) == 2
    assert "no LMS course has launched the hub" in capsys.readouterr().err
    claims = {"sub": "u1", "iss": settings.issuer, "https://purl.imsglobal.org/spec/lti/claim/context": {"id": "c1"},
              "https://purl.imsglobal.org/spec/lti/claim/roles": [LIS + "Instructor"],
              lti.AGS_CLAIM: {"lineitems": "https://lms.example.edu/li", "scope": [lti_scores.RESULT_SCOPE]}}
    lti.record_launch(tmp_path, "prof", claims)
    with pytest.raises(lti.LTIConfigError, match="did not grant the hub .*lineitem.*score.*enable 'Assignment"):
        lti_scores.grade_service(tmp_path, None)
    lti.record_launch(tmp_path, "prof", {**claims, "https://purl.imsglobal.org/spec/lti/claim/context": {"id": "c2"}})
    with pytest.raises(lti.LTIConfigError, match=r"launched from 2 LMS courses \(c1, c2\): name one with --context"):
        lti_scores.grade_service(tmp_path, None)
    with pytest.raises(lti.LTIConfigError, match="no launch from LMS course 'c3'"):
        lti_scores.grade_service(tmp_path, "c3")
