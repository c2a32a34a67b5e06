"""Department callbacks: signed, fresh and taken once (the worker is not needed)."""

import json
import sys
import time
import uuid

import pytest
from django.http.request import RawPostDataException
from django.views.debug import ExceptionReporter

from applications import services
from applications.models import SubTask
from departments.api import CallbackView
from departments.models import CallbackReceipt, Department
from departments.signing import department_secret, signed_headers

from .helpers import SIMULATOR_SECRET, api_client, apply_newborn

pytestmark = pytest.mark.django_db


@pytest.fixture
def dispatched_birth(catalogue, citizen):
    application_id = apply_newborn(api_client(citizen)).json()["id"]
    services.advance(application_id)
    birth = SubTask.objects.get(application_id=application_id, item__code="birth_certificate")
    services.apply_department_report(
        birth.pk, services.CaseReport(case_ref="CASE-1", status="received")
    )
    return SubTask.objects.get(pk=birth.pk)


def post_callback(message, secret=None, now=None, code="health"):
    """POST a callback signed as department ``code`` signs (or with ``secret``)."""
    body = message if isinstance(message, bytes) else json.dumps(message).encode()
    secret = department_secret(SIMULATOR_SECRET, code) if secret is None else secret
    headers = {
        f"HTTP_{k.upper().replace('-', '_')}": v
        for k, v in signed_headers(secret, body, now).items()
    }
    return api_client().post(
        f"/api/v1/departments/{code}/callbacks/", body, content_type="application/json", **headers
    )


def message(subtask, status="approved", event_id=None):
    return {
        "event_id": event_id or uuid.uuid4().hex,
        "case_id": "CASE-1",
        "idempotency_key": str(subtask.idempotency_key),
        "status": status,
        "outputs": {"certificate_number": "Q-1"},
        "reason": "",
    }


def test_signed_callback_advances_the_subtask_and_its_dependents(dispatched_birth):
    response = post_callback(message(dispatched_birth))
    assert response.status_code == 200, response.content
    birth = SubTask.objects.get(pk=dispatched_birth.pk)
    assert birth.status == "approved" and birth.outputs == {"certificate_number": "Q-1"}
    household = SubTask.objects.get(
        application=birth.application, item__code="household_registration"
    )
    assert household.status == "ready"


def test_bad_signature_stale_and_replayed_callbacks_are_refused(dispatched_birth):
    assert post_callback(message(dispatched_birth), secret="wrong").status_code == 401
    assert post_callback(message(dispatched_birth), now=time.time() - 3600).status_code == 401
    assert SubTask.objects.get(pk=dispatched_birth.pk).status == "dispatched"
    replay = message(dispatched_birth, status="accepted", event_id="event-1")
    assert post_callback(replay).status_code == 200
    assert post_callback(replay).status_code == 409
    unsigned = api_client().post("/api/v1/departments/health/callbacks/", replay, format="json")
    assert unsigned.status_code == 401


def test_a_department_answering_twice_changes_nothing_the_second_time(dispatched_birth):
    assert post_callback(message(dispatched_birth)).status_code == 200
    assert post_callback(message(dispatched_birth, status="rejected")).status_code == 200
    birth = SubTask.objects.get(pk=dispatched_birth.pk)
    assert birth.status == "approved"
    assert birth.events.filter(to_status="approved").count() == 1


def test_another_departments_case_or_a_foreign_case_is_not_found(dispatched_birth):
    assert post_callback(message(dispatched_birth), code="cdc").status_code == 404
    wrong_case = message(dispatched_birth) | {"case_id": "CASE-OTHER"}
    assert post_callback(wrong_case).status_code == 200
    assert SubTask.objects.get(pk=dispatched_birth.pk).status == "dispatched"


def test_missing_fields_are_named(dispatched_birth):
    response = post_callback({"event_id": "x", "case_id": "CASE-1"})
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"idempotency_key", "status"}


# --------------------------------------------------------------------------- secrets


def test_during_a_rotation_both_secrets_are_taken_then_only_the_new_one(dispatched_birth):
    old = department_secret(SIMULATOR_SECRET, "health")
    Department.objects.filter(code="health").update(shared_secret="new-secret", previous_secret=old)
    accepted = message(dispatched_birth, status="accepted")
    assert post_callback(accepted, secret=old).status_code == 200  # the system not yet switched
    assert post_callback(message(dispatched_birth), secret="new-secret").status_code == 200
    assert post_callback(message(dispatched_birth), secret="stranger").status_code == 401

    Department.objects.filter(code="health").update(previous_secret="")
    refused = post_callback(message(dispatched_birth, status="rejected"), secret=old)
    assert refused.status_code == 401
    assert post_callback(message(dispatched_birth), secret="new-secret").status_code == 200
    assert SubTask.objects.get(pk=dispatched_birth.pk).status == "approved"


def test_a_department_without_a_secret_takes_no_callback(dispatched_birth):
    Department.objects.filter(code="health").update(shared_secret="", previous_secret="")
    assert post_callback(message(dispatched_birth), secret="").status_code == 401
    assert post_callback(message(dispatched_birth), secret="anything").status_code == 401


def raw_post(timestamp, signature, body=b"{}"):
    return api_client().post(
        "/api/v1/departments/health/callbacks/",
        body,
        content_type="application/json",
        HTTP_X_SIGNATURE_TIMESTAMP=timestamp,
        HTTP_X_SIGNATURE=signature,
    )


MALFORMED_HEADERS = [
    ("NOW", "sha256=\xff\xfe"),
    ("NOW", "sha256=" + "\xe9" * 64),
    ("\xff\xfe", "GOOD"),
    ("NOW", ""),
    ("", "GOOD"),
    ("9" * 400, "GOOD"),
    ("9" * 5000, "GOOD"),
    ("NOW", "," * 5000),
    ("NOW", ", ".join(["GOOD"] * 50)),
    ("NOW", "GOOD" + "\x00"),
]


def test_a_malformed_signature_header_is_401_never_500(dispatched_birth):
    body = json.dumps(message(dispatched_birth)).encode()
    good = signed_headers(department_secret(SIMULATOR_SECRET, "health"), body)
    for timestamp, signature in MALFORMED_HEADERS:
        timestamp = timestamp.replace("NOW", good["X-Signature-Timestamp"])
        signature = signature.replace("GOOD", good["X-Signature"])
        # The test client hands these to the view as WSGI does: latin-1 decoded str.
        response = raw_post(timestamp, signature, body)
        # A NUL in a header never reaches the view: the request guard answers 400 first.
        expected = 400 if "\x00" in timestamp + signature else 401
        assert response.status_code == expected, (timestamp[:20], signature[:80], response.content)
    assert SubTask.objects.get(pk=dispatched_birth.pk).status == "dispatched"
    assert raw_post(good["X-Signature-Timestamp"], good["X-Signature"], body).status_code == 200


# --------------------------------------------------------------------------- bodies


NESTED = "[" * 100_000 + "]" * 100_000


WRONG_BODIES = [
    ([], "non_field_errors"),
    ("approved", "non_field_errors"),
    (3, "non_field_errors"),
    (None, "non_field_errors"),
    (b"\xff\xfe not utf-8", "non_field_errors"),
    (b'{"outputs": ' + NESTED.encode() + b"}", "non_field_errors"),
    ({"status": 1}, "status"),
    ({"status": ["approved"]}, "status"),
    ({"status": "finished"}, "status"),
    ({"outputs": []}, "outputs"),
    ({"outputs": "Q-1"}, "outputs"),
    ({"outputs": {"certificate": {"number": "Q-1"}}}, "outputs"),
    ({"outputs": {"certificate": ["Q-1"]}}, "outputs"),
    ({"outputs": {"certificate": None}}, "outputs"),
    ({"outputs": {"certificate": "Q\x001"}}, "outputs"),
    ({"outputs": {"certi\x00ficate": "Q-1"}}, "outputs"),
    ({"outputs": {"certificate": "\ud800"}}, "outputs"),
    ({"outputs": {"number": float("nan")}}, "outputs"),
    ({"outputs": {"number": float("inf")}}, "outputs"),
    ({"outputs": {"x" * 101: "Q-1"}}, "outputs"),
    ({"outputs": {"certificate": "x" * 2001}}, "outputs"),
    ({"outputs": {f"k{i}": i for i in range(51)}}, "outputs"),
    ({"reason": 5}, "reason"),
    ({"reason": ["no"]}, "reason"),
    ({"reason": "\ud800"}, "reason"),
    ({"reason": "bad\x00"}, "reason"),
    ({"event_id": 5}, "event_id"),
    ({"event_id": "e" * 65}, "event_id"),
    ({"event_id": "e\x00"}, "event_id"),
    ({"case_id": 123}, "case_id"),
    ({"case_id": "c" * 65}, "case_id"),
    ({"case_id": "\udfff"}, "case_id"),
    ({"idempotency_key": "not-a-uuid"}, "idempotency_key"),
    ({"idempotency_key": 12345}, "idempotency_key"),
    ({"idempotency_key": ["a"]}, "idempotency_key"),
]


def test_a_signed_body_of_the_wrong_shape_is_400_naming_the_field(dispatched_birth):
    events_before = dispatched_birth.events.count()
    for change, field in WRONG_BODIES:
        if isinstance(change, dict):
            body = json.dumps(message(dispatched_birth) | change).encode()
        elif isinstance(change, bytes):
            body = change
        else:
            body = json.dumps(change).encode()
        response = post_callback(body)
        assert response.status_code == 400, (change, response.content)
        answer = response.json()
        assert field in answer["errors"] and answer["detail"], (change, answer)
    assert not CallbackReceipt.objects.exists()
    birth = SubTask.objects.get(pk=dispatched_birth.pk)
    assert birth.status == "dispatched" and birth.events.count() == events_before


def test_scalar_outputs_of_every_kind_are_taken(dispatched_birth):
    outputs = {"certificate_number": "Q-1", "pages": 2, "fee": 0.5, "express": False}
    response = post_callback(message(dispatched_birth) | {"outputs": outputs, "reason": None})
    assert response.status_code == 200, response.content
    assert SubTask.objects.get(pk=dispatched_birth.pk).outputs == outputs


def test_accepted_arriving_after_approved_changes_nothing(dispatched_birth):
    assert post_callback(message(dispatched_birth, status="approved")).status_code == 200
    events = list(dispatched_birth.events.values_list("to_status", flat=True))
    assert post_callback(message(dispatched_birth, status="accepted")).status_code == 200
    assert post_callback(message(dispatched_birth, status="received")).status_code == 200
    birth = SubTask.objects.get(pk=dispatched_birth.pk)
    assert birth.status == "approved"
    assert list(birth.events.values_list("to_status", flat=True)) == events


def error_report(view, request, **kwargs) -> ExceptionReporter:
    """The error report of what ``view`` raises (the caller's own frame stays out of it)."""
    try:
        view(request, **kwargs)
    except Exception:
        return ExceptionReporter(request, *sys.exc_info())
    pytest.fail("the view raised nothing")


def test_an_error_report_of_the_callback_view_hides_the_secrets(dispatched_birth, rf, settings):
    """With DEBUG off, an error inside the view is reported without the department's secrets."""
    settings.DEBUG = False
    Department.objects.filter(code="health").update(
        shared_secret="current-secret-value", previous_secret="previous-secret-value"
    )
    request = rf.post(
        "/api/v1/departments/health/callbacks/", b"{}", content_type="application/json"
    )
    request.read()  # the stream is consumed: reading request.body now raises inside the view
    reporter = error_report(CallbackView.as_view(), request, code="health")
    assert reporter.exc_type is RawPostDataException
    frames = reporter.get_traceback_data()["frames"]
    view = next(f for f in frames if f["function"] == "post" and "departments" in f["filename"])
    assert dict(view["vars"])["secrets"] == repr("********************")
    page = reporter.get_traceback_html()  # what an e-mailed error report carries
    assert "previous-secret-value" not in page and "current-secret-value" not in page
