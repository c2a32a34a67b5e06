"""Department callbacks: signed, fresh and taken once (the worker is not needed)."""

import json
import time
import uuid

import pytest

from applications import services
from applications.models import SubTask
from departments.signing import signed_headers

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


def post_callback(message, secret=SIMULATOR_SECRET, now=None, code="health"):
    body = json.dumps(message).encode()
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
