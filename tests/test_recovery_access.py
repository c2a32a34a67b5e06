"""Refusals that must leave nothing behind, and paths that must stay cheap or single.

Another citizen's application, or another department's part, answers as if it did not exist
— and the database (rows, events, files) is as it was. Two requests with one Idempotency-Key,
at the same instant, make one application. The staff worklist costs the same number of
queries for two parts as for twenty."""

import io
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from applications import services
from applications.models import Application, Event, IdempotencyRecord, SubTask, Upload
from applications.wizard import steps_of
from departments.models import Department

from .helpers import NEWBORN_FORM, PDF, api_client, apply_newborn, at_once, web_values


# --- another citizen's application ------------------------------------------------------------
@pytest.fixture
def other_citizen(make_citizen):
    return make_citizen("citizen_b", "330106199208150042", "赵敏")


def pdf(name="id-cards.pdf"):
    upload = io.BytesIO(PDF)
    upload.name = name
    return upload


def stored_files(application_id) -> set[str]:
    folder = Path(settings.MEDIA_ROOT) / "applications" / str(application_id)
    return {str(p) for p in folder.rglob("*")} if folder.exists() else set()


def snapshot(application_id) -> tuple:
    """Everything a write to the application could change: its row, uploads and files."""
    return (
        Application.objects.filter(pk=application_id).values().get(),
        list(Upload.objects.filter(application_id=application_id).values()),
        stored_files(application_id),
    )


@pytest.mark.django_db
def test_another_citizen_cannot_edit_or_upload_to_a_draft_through_the_api(
    catalogue, citizen, other_citizen
):
    owner = api_client(citizen)
    draft = apply_newborn(owner, submit=False, materials=()).json()["id"]
    before = snapshot(draft)
    stranger = api_client(other_citizen)
    change = {"form": {"child.name": "赵小明"}, "items": ["maternity_allowance"]}

    patched = stranger.patch(f"/api/v1/applications/{draft}/", change, format="json")
    uploaded = stranger.post(
        f"/api/v1/applications/{draft}/materials/",
        {"code": "parents_id_cards", "file": pdf()},
        format="multipart",
    )

    assert snapshot(draft) == before
    # Not 403: whether the application exists is not told either.
    assert (patched.status_code, uploaded.status_code) == (404, 404)
    # The same requests from the owner do what they say: the refusal above was for whose
    # application it is, not for what was asked.
    assert owner.patch(f"/api/v1/applications/{draft}/", change, format="json").status_code == 200
    assert Application.objects.get(pk=draft).form["child.name"] == "赵小明"
    assert (
        owner.post(
            f"/api/v1/applications/{draft}/materials/",
            {"code": "parents_id_cards", "file": pdf()},
            format="multipart",
        ).status_code
        == 201
    )
    assert Upload.objects.filter(application_id=draft).count() == 1
    assert len(stored_files(draft)) == 1


@pytest.mark.django_db
def test_another_citizen_cannot_save_a_wizard_step_or_upload_through_the_pages(
    client, catalogue, citizen, other_citizen
):
    draft_id = apply_newborn(api_client(citizen), submit=False, materials=()).json()["id"]
    slugs = {step.slug: step for step in steps_of(Application.objects.get(pk=draft_id))}
    first_form = slugs["form-1"]
    answers = web_values(NEWBORN_FORM | {"child.name": "赵小明"})
    posts = [
        ("items", {"items": ["maternity_allowance"]}),
        ("form-1", {k: v for k, v in answers.items() if k in first_form.keys}),
        ("materials", {"parents_id_cards": pdf()}),
    ]
    assert "child.name" in first_form.keys
    before = snapshot(draft_id)

    client.force_login(other_citizen)
    for slug, body in posts:
        response = client.post(f"/applications/{draft_id}/steps/{slug}/", body)
        assert response.status_code == 404, (slug, response.status_code)
    assert snapshot(draft_id) == before

    # The same posts by the owner are taken.
    client.force_login(citizen)
    for slug, body in posts:
        body = {k: pdf() if k == "parents_id_cards" else v for k, v in body.items()}
        response = client.post(f"/applications/{draft_id}/steps/{slug}/", body)
        assert response.status_code == 302, (slug, response.status_code)
    draft = Application.objects.get(pk=draft_id)
    assert draft.form["child.name"] == "赵小明"
    assert draft.chosen_items == ["maternity_allowance"]
    assert Upload.objects.filter(application=draft).count() == 1


@pytest.mark.django_db
def test_another_citizen_cannot_supply_a_material_to_a_submitted_application(
    client, catalogue, citizen, other_citizen
):
    """容缺 and 补正 uploads (the application's own page) by someone else: 404, nothing kept."""
    application_id = apply_newborn(api_client(citizen)).json()["id"]
    before = snapshot(application_id)
    client.force_login(other_citizen)
    for path in ("materials", "supplement"):
        response = client.post(
            f"/applications/{application_id}/{path}/",
            {"household_register": pdf("register.pdf"), "note": "补交"},
        )
        assert response.status_code == 404, (path, response.status_code)
    assert snapshot(application_id) == before


# --- another department's part ----------------------------------------------------------------
@pytest.fixture
def failed_birth(catalogue, citizen):
    """A newborn application whose birth certificate (health's part) has failed to reach its
    department: what retry and switch-to-manual are for."""
    Department.objects.update(handling="manual")
    application_id = apply_newborn(api_client(citizen)).json()["id"]
    services.advance(application_id)
    for ready in SubTask.objects.filter(application_id=application_id, status="ready"):
        services.dispatch(ready.pk)
    birth = SubTask.objects.get(application_id=application_id, item__code="birth_certificate")
    birth.fail(error="部门业务系统不可用")
    birth.save()
    return birth


def subtask_row(subtask) -> dict:
    return SubTask.objects.filter(pk=subtask.pk).values().get()


@pytest.mark.django_db
def test_a_clerk_of_another_department_cannot_retry_or_take_over_a_failed_part(
    client, failed_birth, make_staff
):
    # The police have a part in the same application: the nearest neighbour, not a stranger.
    police = make_staff("police")
    assert SubTask.objects.filter(
        application_id=failed_birth.application_id, department__code="police"
    ).exists()
    before, events = subtask_row(failed_birth), Event.objects.count()
    client.force_login(police)
    clerk = api_client(police)
    answers = {
        "page retry": client.post(f"/staff/subtasks/{failed_birth.pk}/retry/"),
        "page manual": client.post(f"/staff/subtasks/{failed_birth.pk}/manual/"),
        "api retry": clerk.post(f"/api/v1/subtasks/{failed_birth.pk}/retry/"),
        "api manual": clerk.post(f"/api/v1/subtasks/{failed_birth.pk}/switch-to-manual/"),
    }
    # The rows first: were the service's own check lost, the API would still answer 404 (it
    # builds its answer from the department's parts) after having retried the part.
    assert subtask_row(failed_birth) == before
    assert Event.objects.count() == events
    assert {name: r.status_code for name, r in answers.items()} == dict.fromkeys(answers, 404)

    # Health's own clerk may: the part was there to be retried.
    health = api_client(make_staff("health"))
    assert health.post(f"/api/v1/subtasks/{failed_birth.pk}/retry/").status_code == 200
    assert SubTask.objects.get(pk=failed_birth.pk).status == "ready"


# --- one Idempotency-Key, two requests at once ------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_two_requests_with_one_idempotency_key_at_once_make_one_application(
    catalogue, citizen, live_server
):
    """Over HTTP to a threaded server, each request on its own database connection: one
    application, and the other request is told to wait (409) or gets the first answer.

    The key's record is inserted, and committed, before the work: the unique index makes the
    second insert wait for the first and fail. A record written after the work (look, work,
    then record) lets both through."""
    import requests
    from knox.models import AuthToken

    _token, token = AuthToken.objects.create(citizen)
    body = {"bundle": "newborn", "form": NEWBORN_FORM, "items": []}

    def post(key):
        return requests.post(
            f"{live_server.url}/api/v1/applications/",
            json=body,
            headers={"Authorization": f"Token {token}", "Idempotency-Key": key},
            timeout=30,
        )

    for round_ in range(3):
        key = f"twice-at-once-{round_}"
        first, second = at_once(lambda k=key: post(k), lambda k=key: post(k))
        for answer in (first, second):
            if isinstance(answer, BaseException):
                raise answer
        answers = sorted([first, second], key=lambda r: r.status_code)
        codes = [r.status_code for r in answers]
        made = Application.objects.filter(applicant=citizen).count()
        assert made == round_ + 1, f"round {round_}: {made} applications, answers {codes}"
        assert codes in ([201, 201], [201, 409]), [r.content for r in answers]
        if codes == [201, 201]:
            assert first.json()["id"] == second.json()["id"]
            assert "true" in (
                first.headers.get("Idempotent-Replayed"),
                second.headers.get("Idempotent-Replayed"),
            )
    assert IdempotencyRecord.objects.filter(user=citizen).count() == 3


# --- the worklist's cost ----------------------------------------------------------------------
@pytest.mark.django_db
def test_the_worklist_and_the_staff_api_list_cost_the_same_for_2_or_20_parts(
    client, catalogue, citizen, make_citizen, make_staff
):
    Department.objects.update(handling="manual")
    applicants = [api_client(citizen), api_client(make_citizen("citizen_b", "330106199208150042"))]
    health = make_staff("health")
    client.force_login(health)
    clerk = api_client(health)

    def submit(count):
        for number in range(count):
            application_id = apply_newborn(applicants[number % 2]).json()["id"]
            services.advance(application_id)
            for ready in SubTask.objects.filter(application_id=application_id, status="ready"):
                services.dispatch(ready.pk)

    def cost():
        with CaptureQueriesContext(connection) as page:
            assert client.get("/staff/").status_code == 200
        with CaptureQueriesContext(connection) as listed:
            response = clerk.get("/api/v1/subtasks/")
            assert response.status_code == 200
        return len(page), len(listed), response.json()["count"]

    submit(2)
    cost()  # the first look may fill caches that never go stale
    few = cost()
    assert few[2] == 2
    submit(18)
    many = cost()
    assert many[2] == 20
    assert many[:2] == few[:2], f"queries for 2 parts: {few[:2]}, for 20: {many[:2]}"
