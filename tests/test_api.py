"""The REST API in-process, on the real PostgreSQL; the worker is not needed here."""

import datetime
import io

import pytest
from django.conf import settings
from django.utils import timezone

from accounts.models import User
from applications import services
from applications.idempotency import request_fingerprint
from applications.models import Application, Event, IdempotencyRecord, SubTask, Upload

from .helpers import NEWBORN_FORM, PDF, api_client, apply_newborn, sms_code

pytestmark = pytest.mark.django_db


def test_register_then_token_then_authenticated_call(catalogue):
    anonymous = api_client()
    response = anonymous.post(
        "/api/v1/auth/register/",
        {
            "username": "zhang",
            "password": "Long-enough-pass-1",
            "real_name": "张𠮷",
            "id_number": "330106199208150042",
            "mobile": "139 1234 5678",
        },
        format="json",
    )
    # Nothing is opened until the code texted to the mobile comes back.
    assert response.status_code == 202, response.content
    verification = response.json()["verification"]
    assert not User.objects.filter(username="zhang").exists()
    wrong = anonymous.post(
        "/api/v1/auth/register/verify/",
        {"verification": verification, "code": "000000"},
        format="json",
    )
    assert wrong.status_code == 400 and "code" in wrong.json()["errors"]
    done = anonymous.post(
        "/api/v1/auth/register/verify/",
        {"verification": verification, "code": sms_code("13912345678")},
        format="json",
    )
    assert done.status_code == 201, done.content
    token = anonymous.post(
        "/api/v1/auth/token/",
        {"username": "zhang", "password": "Long-enough-pass-1"},
        format="json",
    ).json()["token"]
    client = api_client()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/v1/applications/").status_code == 200
    assert api_client().get("/api/v1/applications/").status_code in (401, 403)


def test_register_refuses_a_wrong_check_digit_naming_the_field(db):
    response = api_client().post(
        "/api/v1/auth/register/",
        {
            "username": "li",
            "password": "Long-enough-pass-1",
            "real_name": "李",
            "id_number": "110101199003070021",
            "mobile": "13800138000",
        },
        format="json",
    )
    assert response.status_code == 400
    assert "id_number" in response.json()["errors"]
    assert "校验位" in response.json()["errors"]["id_number"][0]


def test_bundles_list_and_detail_describe_items_dag_and_form(catalogue):
    client = api_client()
    listed = client.get("/api/v1/bundles/").json()
    assert "newborn" in [b["code"] for b in listed["results"]]
    bundle = client.get("/api/v1/bundles/newborn/").json()
    items = {i["code"]: i for i in bundle["items"]}
    assert items["household_registration"]["depends_on"] == ["birth_certificate"]
    assert items["household_registration"]["department"] == {"code": "police", "name": "公安局"}
    assert items["maternity_allowance"]["optional"] is True
    schema = bundle["form_schema"]
    assert schema["properties"]["mother.id_number"]["pattern"]
    assert "mother.id_number" in schema["required"]
    # Asked by the optional item only: not required unless chosen.
    assert "mother.bank_account" not in schema["required"]
    assert {m["code"] for m in bundle["materials"]} >= {"parents_id_cards", "child_photo"}


def test_openapi_schema_and_swagger_ui_are_served_without_outside_hosts(db):
    client = api_client()
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/applications/{id}/submit/" in schema.content
    page = client.get("/api/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "swagger-ui" in html
    assert "cdn" not in html.lower() and "https://" not in html


def test_submit_creates_one_subtask_per_item_with_number_and_deadline(catalogue, citizen):
    response = apply_newborn(api_client(citizen))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "submitted"
    assert body["number"].startswith("YJS")
    assert body["deadline"]
    assert {s["item"]["code"] for s in body["subtasks"]} == {
        "birth_certificate",
        "vaccination_certificate",
        "household_registration",
        "medical_insurance",
        "social_security_card",
    }
    assert all(s["status"] == "waiting" for s in body["subtasks"])
    assert body["form"]["child.name"] == "王小𠮷"
    assert body["form"]["father.name"] == "李䶮"


def test_optional_item_is_included_only_when_chosen(catalogue, citizen):
    form = NEWBORN_FORM | {
        "mother.bank_account": "6222 0212 3456 7890 123",
        "mother.bank_branch": "工商银行东城支行",
    }
    body = apply_newborn(api_client(citizen), form=form, items=["maternity_allowance"]).json()
    subtasks = {s["item"]["code"]: s for s in body["subtasks"]}
    assert subtasks["maternity_allowance"]["depends_on"] == ["birth_certificate"]


def test_chosen_optional_item_makes_its_fields_required(catalogue, citizen):
    response = apply_newborn(api_client(citizen), items=["maternity_allowance"])
    assert response.status_code == 400
    assert "form.mother.bank_account" in response.json()["errors"]


def test_wrong_id_check_digit_is_refused_naming_the_field_and_nothing_is_stored(catalogue, citizen):
    form = NEWBORN_FORM | {"mother.id_number": "110101199003070021"}
    response = api_client(citizen).post(
        "/api/v1/applications/", {"bundle": "newborn", "form": form, "submit": True}, format="json"
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert list(errors) == ["form.mother.id_number"]
    assert "校验位" in errors["form.mother.id_number"][0]
    assert Application.objects.count() == 0 and SubTask.objects.count() == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("child.birth_date", "2026-02-30"),
        ("child.gender", "未知"),
        ("contact.mobile", "12345"),
        ("child.name", "x" * 31),
        ("child.name", "bad\x00char"),
    ],
)
def test_invalid_values_of_each_kind_are_refused(catalogue, citizen, field, value):
    response = api_client(citizen).post(
        "/api/v1/applications/",
        {"bundle": "newborn", "form": NEWBORN_FORM | {field: value}},
        format="json",
    )
    assert response.status_code == 400
    assert f"form.{field}" in response.json()["errors"]


def test_script_in_text_is_stored_as_text_and_never_rendered_as_html(catalogue, citizen):
    form = NEWBORN_FORM | {"household.address": "<script>alert(1)</script>"}
    body = apply_newborn(api_client(citizen), form=form).json()
    assert body["form"]["household.address"] == "<script>alert(1)</script>"


def test_unknown_fields_and_missing_materials_are_refused(catalogue, citizen):
    client = api_client(citizen)
    response = client.post(
        "/api/v1/applications/",
        {"bundle": "newborn", "form": {"child.colour": "red"}},
        format="json",
    )
    assert response.status_code == 400 and "form.child.colour" in response.json()["errors"]
    response = apply_newborn(client, materials=("parents_id_cards",))
    assert response.status_code == 400
    assert "materials.child_photo" in response.json()["errors"]
    assert "materials.household_register" not in response.json()["errors"]  # 容缺: may follow later


def test_same_idempotency_key_twice_makes_one_application(catalogue, citizen):
    client = api_client(citizen)
    payload = {"bundle": "newborn", "form": NEWBORN_FORM}
    first = client.post("/api/v1/applications/", payload, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    second = client.post(
        "/api/v1/applications/", payload, format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert second["Idempotent-Replayed"] == "true"
    assert Application.objects.count() == 1
    other = client.post(
        "/api/v1/applications/", payload | {"items": []}, format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    assert other.status_code == 422
    assert IdempotencyRecord.objects.count() == 1


def test_a_key_whose_request_died_is_served_again_once_it_cannot_be_running(catalogue, citizen):
    """A process killed mid-request leaves the key's record with no answer: while that request
    could still be running a retry is told to wait; afterwards the retry does the work."""
    client = api_client(citizen)
    payload = {"bundle": "newborn", "form": NEWBORN_FORM}
    fingerprint = request_fingerprint({"path": "/api/v1/applications/", "data": payload})
    record = IdempotencyRecord.objects.create(user=citizen, key="k-died", request_hash=fingerprint)

    def retry():
        return client.post(
            "/api/v1/applications/", payload, format="json", HTTP_IDEMPOTENCY_KEY="k-died"
        )

    assert retry().status_code == 409
    assert not Application.objects.exists()
    long_ago = timezone.now() - datetime.timedelta(seconds=settings.IDEMPOTENCY_ABANDONED_SECONDS)
    IdempotencyRecord.objects.filter(pk=record.pk).update(created_at=long_ago)
    other = client.post(
        "/api/v1/applications/",
        payload | {"items": []},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k-died",
    )
    assert other.status_code == 422  # still not a key for a different request
    served = retry()
    assert served.status_code == 201, served.content
    assert Application.objects.get().pk == served.json()["id"]
    replayed = retry()
    assert replayed["Idempotent-Replayed"] == "true"
    assert replayed.json()["id"] == served.json()["id"]


def test_double_submit_is_a_conflict(catalogue, citizen):
    client = api_client(citizen)
    application_id = apply_newborn(client).json()["id"]
    again = client.post(f"/api/v1/applications/{application_id}/submit/")
    assert again.status_code == 409
    assert SubTask.objects.count() == 5


def test_another_citizen_gets_404_everywhere(catalogue, citizen, make_citizen):
    application_id = apply_newborn(api_client(citizen)).json()["id"]
    other = api_client(make_citizen("b", "440300199501011234", "陈"))
    assert other.get(f"/api/v1/applications/{application_id}/").status_code == 404
    assert other.post(f"/api/v1/applications/{application_id}/withdraw/").status_code == 404
    assert other.post(f"/api/v1/applications/{application_id}/submit/").status_code == 404
    assert other.get("/api/v1/applications/").json()["results"] == []


def test_the_services_refuse_another_s_application_whoever_calls_them(
    catalogue, citizen, make_citizen, make_staff
):
    """The views look an application up among the caller's own; the services check again, for
    any other caller (the admin, a task, a view still to be written)."""
    draft = apply_newborn(api_client(citizen), submit=False).json()["id"]
    submitted = apply_newborn(api_client(citizen)).json()["id"]
    other = make_citizen("b", "440300199501011234", "陈")
    for refused in (
        lambda: services.submit(draft, other),
        lambda: services.withdraw(submitted, other),
        lambda: services.supply_supplement(submitted, other),
        # Staff of a department that has no part in it.
        lambda: services.set_tracking_number(submitted, make_staff("tax"), "SF1234567890"),
    ):
        with pytest.raises(Application.DoesNotExist):
            refused()
    assert Application.objects.get(pk=draft).status == "draft"
    assert Application.objects.get(pk=submitted).status == "submitted"
    # The applicant may, and is given the application as it now is.
    assert services.submit(draft, citizen).status == "submitted"
    assert services.withdraw(submitted, citizen).status == "withdrawn"


def test_disguised_and_oversized_uploads_are_refused(catalogue, citizen, settings):
    client = api_client(citizen)
    application_id = apply_newborn(client, submit=False).json()["id"]
    disguised = io.BytesIO(b"MZ\x90\x00 this is a windows executable")
    disguised.name = "id-card.pdf"
    response = client.post(
        f"/api/v1/applications/{application_id}/materials/",
        {"code": "parents_id_cards", "file": disguised},
        format="multipart",
    )
    assert response.status_code == 400 and "file" in response.json()["errors"]
    settings.UPLOAD_MAX_BYTES = 100
    big = io.BytesIO(PDF + b"0" * 200)
    big.name = "big.pdf"
    response = client.post(
        f"/api/v1/applications/{application_id}/materials/",
        {"code": "parents_id_cards", "file": big},
        format="multipart",
    )
    assert response.status_code == 400 and "MB" in response.json()["errors"]["file"][0]
    assert Upload.objects.count() == 2  # only the two good ones from apply_newborn


def test_withdraw_cancels_open_subtasks(catalogue, citizen):
    client = api_client(citizen)
    application_id = apply_newborn(client).json()["id"]
    body = client.post(
        f"/api/v1/applications/{application_id}/withdraw/", {"reason": "不办了"}, format="json"
    ).json()
    assert body["status"] == "withdrawn"
    assert {s["status"] for s in body["subtasks"]} == {"cancelled"}
    withdrawn = Event.objects.get(application_id=application_id, to_status="withdrawn")
    assert (withdrawn.actor, withdrawn.user, withdrawn.reason) == ("citizen", citizen, "不办了")
    assert client.post(f"/api/v1/applications/{application_id}/withdraw/").status_code == 409


def test_staff_see_only_their_department_and_transitions_are_checked(
    catalogue, citizen, make_staff
):
    application_id = apply_newborn(api_client(citizen)).json()["id"]
    services.advance(application_id)
    birth = SubTask.objects.get(application_id=application_id, item__code="birth_certificate")
    household = SubTask.objects.get(
        application_id=application_id, item__code="household_registration"
    )
    police = api_client(make_staff("police"))
    # Waiting for the birth certificate: the part has not reached the police, who see nothing
    # of it yet (docs/access.md).
    assert police.get("/api/v1/subtasks/").json()["results"] == []
    assert police.post(f"/api/v1/subtasks/{household.pk}/accept/").status_code == 404
    SubTask.objects.filter(pk=household.pk).update(status="ready")  # set-up: it has come
    listed = police.get("/api/v1/subtasks/").json()["results"]
    assert [s["id"] for s in listed] == [household.pk]
    # The police see only the fields their item needs.
    assert "contact.mobile" not in listed[0]["form"] and "household.address" in listed[0]["form"]
    assert police.get(f"/api/v1/subtasks/{birth.pk}/").status_code == 404
    assert police.post(f"/api/v1/subtasks/{birth.pk}/approve/").status_code == 404
    # Ready, not yet in the window's queue: nothing to accept yet.
    assert police.post(f"/api/v1/subtasks/{household.pk}/accept/").status_code == 409
    assert api_client(citizen).get("/api/v1/subtasks/").status_code == 403


def _first_parts(citizen):
    """A newborn application whose engine has made its first parts ready: the application's
    id, its parts, and the two first ones (birth and vaccination certificates)."""
    application_id = apply_newborn(api_client(citizen)).json()["id"]
    services.advance(application_id)
    parts = SubTask.objects.filter(application_id=application_id)
    birth = parts.get(item__code="birth_certificate")
    vaccination = parts.get(item__code="vaccination_certificate")
    return application_id, parts, birth, vaccination


def test_staff_send_a_failed_part_again_or_take_it_over_and_no_other_department_can(
    catalogue, citizen, make_staff
):
    from departments.models import Department

    application_id, parts, birth, vaccination = _first_parts(citizen)
    # Set-up: sending both to their department systems has failed.
    parts.filter(pk__in=[birth.pk, vaccination.pk]).update(status="failed")
    other = api_client(make_staff("cdc"))
    assert other.post(f"/api/v1/subtasks/{birth.pk}/retry/").status_code == 404
    assert other.post(f"/api/v1/subtasks/{birth.pk}/switch-to-manual/").status_code == 404
    assert SubTask.objects.get(pk=birth.pk).status == "failed"
    user = make_staff("health", username="health_and_cdc")
    user.departments.add(Department.objects.get(code="cdc"))
    clerk = api_client(user)
    assert clerk.post(f"/api/v1/subtasks/{birth.pk}/retry/").json()["status"] == "ready"
    manual = clerk.post(f"/api/v1/subtasks/{vaccination.pk}/switch-to-manual/").json()
    assert manual["status"] == "ready"
    assert SubTask.objects.get(pk=vaccination.pk).handling == "manual"
    assert SubTask.objects.get(pk=birth.pk).handling != "manual"


def test_manual_department_flow_with_supplement(catalogue, citizen, make_staff):
    from departments.models import Department

    Department.objects.filter(code="health").update(handling="manual")
    client = api_client(citizen)
    application_id = apply_newborn(client).json()["id"]
    services.advance(application_id)
    birth = SubTask.objects.get(application_id=application_id, item__code="birth_certificate")
    services.dispatch(birth.pk)
    clerk = api_client(make_staff("health"))
    url = f"/api/v1/subtasks/{birth.pk}"
    assert clerk.post(f"{url}/accept/").json()["status"] == "accepted"
    missing_reason = clerk.post(f"{url}/request-supplement/", {"reason": " "}, format="json")
    assert missing_reason.status_code == 400 and "reason" in missing_reason.json()["errors"]
    clerk.post(f"{url}/request-supplement/", {"reason": "请补充结婚证"}, format="json")
    assert (
        client.get(f"/api/v1/applications/{application_id}/").json()["status"]
        == "supplement_requested"
    )
    assert (
        client.post(f"/api/v1/applications/{application_id}/supplement/").json()["status"]
        == "in_progress"
    )
    approved = clerk.post(
        f"{url}/approve/", {"outputs": {"certificate_number": "Q110000001"}}, format="json"
    )
    assert approved.json()["status"] == "approved"
    household = SubTask.objects.get(
        application_id=application_id, item__code="household_registration"
    )
    assert household.status == "ready"
    assert household.inputs["birth_certificate"]["certificate_number"] == "Q110000001"
    assert clerk.post(f"{url}/approve/").status_code == 409
    actors = set(Event.objects.filter(subtask=birth).values_list("actor", flat=True))
    assert actors == {"engine", "clerk", "citizen"}


def test_events_cannot_be_changed(catalogue, citizen):
    apply_newborn(api_client(citizen))
    event = Event.objects.first()
    event.reason = "rewritten"
    with pytest.raises(RuntimeError):
        event.save()
    with pytest.raises(RuntimeError):
        event.delete()


def test_status_fields_cannot_be_set_directly(catalogue, citizen):
    from django_fsm import TransitionNotAllowed  # noqa: F401

    application = Application.objects.get(pk=apply_newborn(api_client(citizen)).json()["id"])
    with pytest.raises(AttributeError):
        application.status = "completed"


def test_submitting_in_late_december_flags_a_2027_deadline_instead_of_crashing(catalogue, citizen):
    import time_machine

    with time_machine.travel("2026-12-29 10:00 +0800", tick=False):
        response = apply_newborn(api_client(citizen))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "submitted"
    assert body["deadline"] is None
    assert "2027" in body["deadline_note"]


def test_staff_filter_their_parts_by_status_and_an_unknown_status_is_named(
    catalogue, citizen, make_staff
):
    from departments.models import Department

    application_id, parts, birth, vaccination = _first_parts(citizen)
    # Set-up: the two parts have reached their departments, one further than the other.
    SubTask.objects.filter(pk=birth.pk).update(status="dispatched")
    SubTask.objects.filter(pk=vaccination.pk).update(status="accepted")
    user = make_staff("health")
    user.departments.add(Department.objects.get(code="cdc"))
    clerk = api_client(user)

    def listed(query):
        return [s["id"] for s in clerk.get(f"/api/v1/subtasks/?{query}").json()["results"]]

    assert sorted(listed("")) == sorted([birth.pk, vaccination.pk])
    assert listed("status=dispatched") == [birth.pk]
    assert listed("status=accepted") == [vaccination.pk]
    assert sorted(listed("status=accepted,dispatched")) == sorted([birth.pk, vaccination.pk])
    refused = clerk.get("/api/v1/subtasks/?status=dispatched,nonsense")
    assert refused.status_code == 400 and "nonsense" in refused.json()["errors"]["status"][0]
    # The answer names at most five unknown statuses, in at most 100 characters.
    many = clerk.get("/api/v1/subtasks/?status=" + ",".join(f"x{n}" for n in range(1, 8)))
    message = many.json()["errors"]["status"][0]
    assert "x5" in message and "x6" not in message
    long = clerk.get("/api/v1/subtasks/?status=" + "a" * 300).json()["errors"]["status"][0]
    assert "a" * 100 in long and "a" * 101 not in long


def test_an_application_is_read_in_the_same_number_of_queries_whatever_its_parts(
    catalogue, citizen
):
    """Its parts, events and uploads come with it, not one query each."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = api_client(citizen)
    five = apply_newborn(client).json()["id"]
    form = NEWBORN_FORM | {
        "mother.bank_account": "6222 0212 3456 7890 123",
        "mother.bank_branch": "工商银行东城支行",
    }
    six = apply_newborn(client, form=form, items=["maternity_allowance"]).json()["id"]
    counts = []
    for application_id in (five, six):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/api/v1/applications/{application_id}/").status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1], counts
