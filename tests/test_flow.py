"""End to end: the real Celery worker, the real simulator over HTTP, PostgreSQL and Redis."""

import pytest
import redis
from django.conf import settings

from applications.models import Event, SubTask
from departments.models import Department

from .helpers import (
    HTTP_ITEMS,
    api_client,
    apply_newborn,
    at_once,
    first_event_time,
    police_approves,
    status_of,
    wait_until_finished,
)
from .processes import wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_newborn_completes_in_dependency_order(
    catalogue, citizen, make_staff, department_simulator, worker
):
    response = apply_newborn(api_client(citizen))
    assert response.status_code == 200
    application_id = response.json()["id"]
    police_approves(application_id, api_client(make_staff("police")))
    assert wait_until_finished(application_id) == "completed"

    birth_approved = first_event_time(application_id, "birth_certificate", "approved")
    household_dispatched = first_event_time(application_id, "household_registration", "dispatched")
    household_approved = first_event_time(application_id, "household_registration", "approved")
    assert birth_approved < household_dispatched
    for item in ("medical_insurance", "social_security_card"):
        assert household_approved < first_event_time(application_id, item, "dispatched")

    # The birth-certificate number reached the household registration, and onwards.
    household = SubTask.objects.get(
        application_id=application_id, item__code="household_registration"
    )
    assert household.inputs["birth_certificate"]["certificate_number"]
    card = SubTask.objects.get(application_id=application_id, item__code="social_security_card")
    assert card.inputs["household_registration"] == {"household_number": "110101000123"}
    assert card.inputs["birth_certificate"]["certificate_number"]

    cases = department_simulator.cases()
    assert sorted(c["item_code"] for c in cases) == sorted(HTTP_ITEMS)
    detail = api_client(citizen).get(f"/api/v1/applications/{application_id}/").json()
    assert detail["status"] == "completed"
    assert {e["to"] for e in detail["events"]} >= {
        "dispatched",
        "accepted",
        "approved",
        "completed",
    }


def test_rejected_birth_certificate_cancels_its_dependents(
    catalogue, citizen, department_simulator, worker
):
    department_simulator.control(reject_items=["birth_certificate"])
    application_id = apply_newborn(api_client(citizen)).json()["id"]
    assert wait_until_finished(application_id) == "partially_completed"
    statuses = dict(
        SubTask.objects.filter(application_id=application_id).values_list("item__code", "status")
    )
    assert statuses == {
        "birth_certificate": "rejected",
        "vaccination_certificate": "approved",
        "household_registration": "cancelled",
        "medical_insurance": "cancelled",
        "social_security_card": "cancelled",
    }
    detail = api_client(citizen).get(f"/api/v1/applications/{application_id}/").json()
    assert "模拟拒绝" in detail["outcome_reason"]
    birth = next(s for s in detail["subtasks"] if s["item"]["code"] == "birth_certificate")
    assert "模拟拒绝" in birth["reason"]


def test_redis_flushed_and_worker_killed_mid_dispatch_still_completes(
    catalogue, citizen, make_staff, department_simulator, worker
):
    Department.objects.filter(code="police").update(
        handling="http",
        base_url=department_simulator.department_url("police"),
        shared_secret=department_simulator.department_secret("police"),
    )
    # Slow answers: the worker is killed while a create-case call is in flight.
    department_simulator.control(create_latency=2.0, delay=0.5)
    application_id = apply_newborn(api_client(citizen)).json()["id"]
    wait_for(lambda: department_simulator.cases(), 20, 0.1, "a case to reach the simulator")
    worker.kill()
    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushall()
    department_simulator.control(create_latency=0)
    worker.start()
    assert wait_until_finished(application_id, timeout=90) == "completed"
    cases = department_simulator.cases()
    assert sorted(c["item_code"] for c in cases) == sorted(HTTP_ITEMS | {"household_registration"})
    keys = {
        str(k)
        for k in SubTask.objects.filter(application_id=application_id).values_list(
            "idempotency_key", flat=True
        )
    }
    assert {c["idempotency_key"] for c in cases} == keys


def test_department_outage_retries_then_recovers(
    catalogue, citizen, make_staff, department_simulator, worker
):
    department_simulator.control(outage=True)
    application_id = apply_newborn(api_client(citizen)).json()["id"]
    wait_for(
        lambda: SubTask.objects.filter(application_id=application_id, attempts__gte=1).exists(),
        20,
        0.2,
        "a failed attempt",
    )
    department_simulator.control(outage=False)
    police_approves(application_id, api_client(make_staff("police")), timeout=60)
    assert wait_until_finished(application_id, timeout=90) == "completed"
    birth = SubTask.objects.get(application_id=application_id, item__code="birth_certificate")
    assert birth.attempts >= 2


def test_department_down_past_the_retry_limit_fails_visibly_and_staff_finish_it(
    catalogue, citizen, make_staff, department_simulator, worker, without_beat
):
    """Failed sub-tasks wait for staff; one taken over at the window and approved, the other
    sent again, and the bundle goes on to its end. No beat: the reconciler must not be what
    moves the dependents on."""
    department_simulator.control(outage=True)
    application_id = apply_newborn(api_client(citizen)).json()["id"]
    failed = wait_for(
        lambda: (
            set(
                SubTask.objects.filter(application_id=application_id, status="failed").values_list(
                    "item__code", flat=True
                )
            )
            >= {"birth_certificate", "vaccination_certificate"}
        ),
        60,
        0.3,
        "sub-tasks to fail",
    )
    assert failed
    birth = SubTask.objects.get(application_id=application_id, item__code="birth_certificate")
    assert birth.attempts == 4 and "503" in birth.last_error
    assert status_of(application_id) == "in_progress"
    # Staff see it, and can take it over at the window.
    clerk = api_client(make_staff("health"))
    listed = clerk.get("/api/v1/subtasks/", {"status": "failed"}).json()["results"]
    assert [s["id"] for s in listed] == [birth.pk]
    assert clerk.post(f"/api/v1/subtasks/{birth.pk}/switch-to-manual/").status_code == 200
    wait_for(
        lambda: SubTask.objects.get(pk=birth.pk).status == "dispatched", 20, 0.2, "the manual queue"
    )
    assert SubTask.objects.get(pk=birth.pk).handling == "manual"

    department_simulator.control(outage=False)
    assert clerk.post(f"/api/v1/subtasks/{birth.pk}/accept/").status_code == 200
    assert clerk.post(f"/api/v1/subtasks/{birth.pk}/approve/").status_code == 200
    # Its dependent reaches the police window (before anything else could advance the
    # bundle); then the other failed part, sent again, goes through.
    police_approves(application_id, api_client(make_staff("police")))
    vaccination = SubTask.objects.get(
        application_id=application_id, item__code="vaccination_certificate"
    )
    cdc = api_client(make_staff("cdc"))
    assert cdc.post(f"/api/v1/subtasks/{vaccination.pk}/retry/").status_code == 200
    assert wait_until_finished(application_id, timeout=60) == "completed"
    vaccination.refresh_from_db()
    assert vaccination.status == "approved" and vaccination.handling == "http"


def test_two_clerks_approving_at_once_one_wins_one_gets_409(
    catalogue, citizen, make_staff, department_simulator, worker
):
    application_id = apply_newborn(api_client(citizen)).json()["id"]
    subtask = wait_for(
        lambda: SubTask.objects.filter(
            application_id=application_id, item__code="household_registration", status="dispatched"
        ).first(),
        30,
        0.2,
        "the police queue",
    )
    first, second = make_staff("police", "police_1"), make_staff("police", "police_2")
    api_client(first).post(f"/api/v1/subtasks/{subtask.pk}/accept/")
    url = f"/api/v1/subtasks/{subtask.pk}/approve/"
    body = {"outputs": {"household_number": "1"}}
    codes = at_once(
        lambda: api_client(first).post(url, body, format="json").status_code,
        lambda: api_client(second).post(url, body, format="json").status_code,
    )
    assert sorted(codes) == [200, 409]
    assert Event.objects.filter(subtask=subtask, to_status="approved").count() == 1


def test_two_parallel_branches_finishing_at_once_join_exactly_once(
    catalogue, citizen, make_staff, worker, department_simulator
):
    """The two insurance branches, both at windows, approved at the same instant by two clerks:
    the application completes exactly once."""
    Department.objects.filter(code__in=["healthcare_security", "hrss"]).update(handling="manual")
    application_id = apply_newborn(api_client(citizen)).json()["id"]
    police_approves(application_id, api_client(make_staff("police")))
    leaves = {}
    for code in ("medical_insurance", "social_security_card"):
        leaves[code] = wait_for(
            lambda code=code: SubTask.objects.filter(
                application_id=application_id, item__code=code, status="dispatched"
            ).first(),
            30,
            0.2,
            code,
        )
    insurance, card = api_client(make_staff("healthcare_security")), api_client(make_staff("hrss"))
    insurance.post(f"/api/v1/subtasks/{leaves['medical_insurance'].pk}/accept/")
    card.post(f"/api/v1/subtasks/{leaves['social_security_card'].pk}/accept/")
    codes = at_once(
        lambda: (
            insurance.post(
                f"/api/v1/subtasks/{leaves['medical_insurance'].pk}/approve/",
                {"outputs": {"insurance_number": "Y1"}},
                format="json",
            ).status_code
        ),
        lambda: (
            card.post(
                f"/api/v1/subtasks/{leaves['social_security_card'].pk}/approve/",
                {"outputs": {"card_number": "S1"}},
                format="json",
            ).status_code
        ),
    )
    assert codes == [200, 200]
    assert status_of(application_id) == "completed"
    completions = Event.objects.filter(
        application_id=application_id, subtask=None, to_status="completed"
    )
    assert completions.count() == 1


def test_without_callbacks_polling_alone_finishes_the_cases(
    catalogue, citizen, make_staff, department_simulator, worker
):
    department_simulator.control(callbacks=False)
    application_id = apply_newborn(api_client(citizen)).json()["id"]
    police_approves(application_id, api_client(make_staff("police")))
    assert wait_until_finished(application_id) == "completed"
    assert department_simulator.callbacks() == []


def _birth_of(application_id):
    return SubTask.objects.get(application_id=application_id, item__code="birth_certificate")


def _birth_approved(application_id):
    wait_for(
        lambda: _birth_of(application_id).status == "approved",
        30,
        0.2,
        "the birth certificate to be approved",
    )


def test_a_department_secret_rotates_without_a_case_going_astray(
    catalogue, citizen, department_simulator, worker
):
    """The portal takes the new secret first, the department system follows, the portal drops
    the old one: every message in between is taken, and afterwards the old secret is not."""
    old, new = department_simulator.department_secret("health"), "a-new-secret-for-health"
    applicant = api_client(citizen)

    # The portal rotates; the department system still knows only the old secret.
    Department.objects.filter(code="health").update(shared_secret=new, previous_secret=old)
    _birth_approved(apply_newborn(applicant).json()["id"])
    # The department system switches to the new secret.
    department_simulator.control(department="health", secrets=[new])
    _birth_approved(apply_newborn(applicant).json()["id"])
    health = [c for c in department_simulator.callbacks() if c["department"] == "health"]
    assert len(health) >= 4 and {c["status_code"] for c in health} == {200}

    # The portal drops the old secret: a system that goes on signing with it is refused.
    department_simulator.control(department="health", delay=3.0)
    third = apply_newborn(applicant).json()["id"]
    wait_for(lambda: _birth_of(third).status == "dispatched", 30, 0.2, "the third case")
    Department.objects.filter(code="health").update(previous_secret="")
    department_simulator.control(department="health", secrets=[old])
    case_ref = _birth_of(third).case_ref

    def refused():
        calls = [c for c in department_simulator.callbacks() if c["case_id"] == case_ref]
        return len(calls) >= 2 and calls

    calls = wait_for(refused, 30, 0.2, "the old-secret callbacks")
    assert [(c["status_code"], c["outcome"]) for c in calls] == [(401, "gave_up")] * 2
    assert _birth_of(third).status == "dispatched"


def test_reordered_and_repeated_callbacks_end_in_the_right_state(
    catalogue, citizen, make_staff, department_simulator, worker, without_beat
):
    """Each final status comes before ``accepted``, and every message three times (no poll
    runs): the parts end approved, each once, and the application completes."""
    department_simulator.control(reorder_callbacks=True, duplicate_callbacks=True)
    application_id = apply_newborn(api_client(citizen)).json()["id"]
    police_approves(application_id, api_client(make_staff("police")))
    assert wait_until_finished(application_id) == "completed"

    subtasks = SubTask.objects.filter(application_id=application_id, item__code__in=HTTP_ITEMS)

    def all_delivered():
        # The late "accepted" ones may still be on their way when the application completes.
        calls = department_simulator.callbacks()
        return len(calls) == 6 * len(HTTP_ITEMS) and calls

    calls = wait_for(all_delivered, 30, 0.2, "every callback to be delivered")
    for subtask in subtasks:
        heard = [c for c in calls if c["case_id"] == subtask.case_ref]
        assert [c["case_status"] for c in heard] == ["approved"] * 3 + ["accepted"] * 3
        assert {c["status_code"] for c in heard} <= {200, 409}
        moves = list(subtask.events.order_by("at", "id").values_list("to_status", flat=True))
        assert moves[-1] == "approved" and moves.count("approved") == 1
        assert moves.count("accepted") == 1
