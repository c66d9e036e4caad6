"""Scores to the LMS's gradebook with LTI Advantage's Assignment and Grade Services (pylti1p3).

``publish`` reads one assignment's scores from nbgrader's gradebook, finds (or creates) the LMS line
item tagged with the assignment's id, and posts one score per student who launched the hub from the
LMS course, under their LTI user id. The hub signs its token request with the tool key that
``lti.register`` made; the LMS checks it against the public key it was given. A submission with a
grade still missing (a manually graded question, or a cell marked "needs review") is sent as
``PendingManual`` without a score, so the LMS shows it as not yet graded instead of a low score.
"""
from __future__ import annotations

import os
from datetime import datetime, timezone
from typing import Any

from lti import LTIConfigError, read_launches, read_settings, tool_private_key, tool_public_pem

SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
LINEITEM_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
RESULT_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly"


def grade_service(hub_dir: str | os.PathLike, context: str | None):
    """pylti1p3's AssignmentsGradesService for the course ``context`` (the only one launched when None)."""
    from pylti1p3.assignments_grades import AssignmentsGradesService
    from pylti1p3.registration import Registration
    from pylti1p3.service_connector import ServiceConnector

    settings = read_settings(hub_dir)
    contexts = read_launches(hub_dir)["contexts"]
    if not contexts:
        raise LTIConfigError("no LMS course has launched the hub with grade services yet: open the hub once "
                             "from the course's LTI link (as the instructor), then publish")
    if context is None:
        if len(contexts) > 1:
            raise LTIConfigError(f"the hub was launched from {len(contexts)} LMS courses "
                                 f"({', '.join(sorted(contexts))}): name one with --context")
        context = next(iter(contexts))
    if context not in contexts:
        raise LTIConfigError(f"no launch from LMS course {context!r}; known: {', '.join(sorted(contexts))}")
    endpoint = contexts[context]
    missing = {SCORE_SCOPE, LINEITEM_SCOPE} - set(endpoint["scope"])
    if missing:
        raise LTIConfigError(f"the LMS did not grant the hub {', '.join(sorted(missing))}: enable 'Assignment "
                             "and Grade Services' (create line items, post scores) in the tool's LTI settings")
    registration = (Registration().set_issuer(settings.issuer).set_client_id(settings.client_id)
                    .set_auth_token_url(settings.token_url).set_tool_private_key(tool_private_key(hub_dir))
                    .set_tool_public_key(tool_public_pem(hub_dir)))  # its thumbprint: the key id sent
    service = AssignmentsGradesService(ServiceConnector(registration),
                                       {"scope": endpoint["scope"], "lineitems": endpoint["lineitems"]})
    return service, context


def assignment_totals(db_url: str, assignment: str) -> tuple[float, dict[str, float | None]]:
    """(max score, {student: total, or None while the submission needs grading by hand}).

    Read with the CSV export's reader (``cnnlab.course.grader.lms_export.read_grades``), so the LMS
    gets the same totals and holds back the same submissions whichever way grades leave.
    """
    from cnnlab.course.grader.lms_export import read_grades

    grades = read_grades(db_url, [assignment])
    totals: dict[str, float | None] = {s: round(t, 6) for s, t in grades.totals[assignment].items()}
    totals.update({student: None for student in grades.needs_review[assignment]})
    return round(grades.max_scores[assignment], 6), totals


def publish(hub_dir: str | os.PathLike, db_url: str, assignment: str, *, label: str | None = None,
            context: str | None = None) -> dict[str, Any]:
    """Post every launched student's score for ``assignment`` to the LMS course's gradebook.

    Args:
        hub_dir: the hub's directory (LTI settings, tool key, launch records).
        db_url: nbgrader's gradebook URL.
        assignment: the nbgrader assignment id; the LMS line item is found (or created) by this tag.
        label: the column's title in the LMS (default: the assignment id).
        context: the LMS course id when the hub was launched from several.

    Returns:
        dict with ``lineitem`` (its URL), ``sent`` {student: score or None (pending)},
        ``not_launched`` (graded students with no LTI launch: the LMS does not know their id yet)
        and ``not_graded`` (students who launched but have no submission).
    """
    from pylti1p3.exception import LtiException, LtiServiceException
    from pylti1p3.grade import Grade
    from pylti1p3.lineitem import LineItem

    service, context = grade_service(hub_dir, context)
    maximum, totals = assignment_totals(db_url, assignment)
    users = {name: u for name, u in read_launches(hub_dir)["users"].items()
             if u.get("context") == context and "students" in u.get("groups", [])}
    try:
        lineitem = service.find_or_create_lineitem(
            LineItem().set_tag(assignment).set_label(label or assignment).set_score_maximum(maximum)
            .set_resource_id(assignment))
        sent: dict[str, float | None] = {}
        now = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        for name in sorted(set(users) & set(totals)):
            total = totals[name]
            grade = (Grade().set_user_id(users[name]["sub"]).set_timestamp(now).set_activity_progress("Completed")
                     .set_score_maximum(maximum))
            if total is None:
                grade.set_grading_progress("PendingManual")
            else:
                grade.set_score_given(total).set_grading_progress("FullyGraded")
            service.put_grade(grade, lineitem)
            sent[name] = total
    except LtiServiceException as exc:
        raise LTIConfigError(f"the LMS refused the grade request: {exc}") from exc
    except LtiException as exc:
        raise LTIConfigError(f"could not publish to the LMS: {exc}") from exc
    return {"lineitem": lineitem.get_id(), "sent": sent, "not_launched": sorted(set(totals) - set(users)),
            "not_graded": sorted(set(users) - set(totals))}
