"""Personal data: one policy everywhere — masked by default (in repeating groups too), each
full view recorded, departments given only what their item needs, stored encrypted."""

import io
import json
import re
import subprocess

import pytest
from django.conf import settings

from accounts.models import Enterprise, User
from applications import services
from applications.documents import receipt_lines
from applications.models import Application, SubTask
from privacy.models import Disclosure
from privacy.policy import mask

from .helpers import NEWBORN_FORM, api_client, apply_newborn, file_application

pytestmark = pytest.mark.django_db


@pytest.fixture
def enrolment(full_catalogue, citizen):
    """An education-enrolment application (guardians: a repeating group with ID numbers and
    mobiles) whose first part has reached the police window."""
    assert file_application(api_client(citizen), "education_enrolment").status_code == 200
    application = Application.objects.get()
    services.advance(application.pk)
    check = SubTask.objects.get(application=application, item__code="enrolment_household_check")
    services.dispatch(check.pk)
    return Application.objects.get(pk=application.pk), check


def test_identifiers_in_groups_are_masked_for_staff_by_web_and_api(client, enrolment, make_staff):
    application, check = enrolment
    guardian = application.form["student.guardians"][0]
    student_id = application.form["student.id_number"]
    clerk = make_staff("police")
    api = api_client(clerk)
    body = api.get(f"/api/v1/subtasks/{check.pk}/").json()
    shown = body["form"]["student.guardians"][0]
    assert shown["id_number"] == mask(guardian["id_number"])
    assert shown["mobile"] == mask(guardian["mobile"]) and shown["name"] == guardian["name"]
    assert body["form"]["student.id_number"] == mask(student_id)
    applicant = application.applicant
    assert body["application"]["applicant"]["id_number"] == mask(applicant.id_number)
    assert body["application"]["applicant"]["mobile"] == mask(applicant.mobile)
    listed = json.dumps(api.get("/api/v1/subtasks/").json(), ensure_ascii=False)
    for full in (guardian["id_number"], guardian["mobile"], student_id, applicant.id_number):
        assert full not in json.dumps(body, ensure_ascii=False) and full not in listed
    # Only what the item needs: not the contact mobile, which the review item asks for.
    assert "contact.mobile" not in body["form"]
    client.force_login(clerk)
    page = client.get(f"/staff/subtasks/{check.pk}/").content.decode()
    assert guardian["id_number"] not in page and mask(guardian["id_number"]) in page
    assert guardian["mobile"] not in page and applicant.id_number not in page
    assert not Disclosure.objects.exists()


def test_staff_are_offered_full_views_of_identifiers_only_and_see_what_is_empty_as_such(
    client, enrolment, make_staff
):
    application, check = enrolment
    client.force_login(make_staff("police"))
    url = f"/staff/subtasks/{check.pk}/"

    def offered():
        return set(re.findall(r'name="field" value="([^"]+)"', client.get(url).content.decode()))

    guardians = application.form["student.guardians"]
    assert offered() == {
        "student.id_number",
        *(f"student.guardians.{n}.{key}" for n in range(len(guardians)) for key in GUARDIAN_IDS),
    }
    # Set-up: answers kept from when the mobile was optional, one empty and one missing.
    form = application.form
    first = dict(guardians[0], mobile="")
    second = {k: v for k, v in guardians[0].items() if k != "mobile"}
    form["student.guardians"] = [first, second]
    Application.objects.filter(pk=application.pk).update(form=form)
    page = client.get(url).content.decode()
    entries = re.findall(r'<p class="group-entry">(.*?)</p>', page, re.DOTALL)
    assert len(entries) == 2 and not any("手机号码" in entry for entry in entries)
    assert offered() == {"student.id_number", *(f"student.guardians.{n}.id_number" for n in (0, 1))}
    # A group not filled in at all (from when it was optional) is said to be so.
    form["student.guardians"] = None
    Application.objects.filter(pk=application.pk).update(form=form)
    assert offered() == {"student.id_number"}


#: The identifiers of a guardian, which staff see masked.
GUARDIAN_IDS = ("id_number", "mobile")


def test_a_full_view_is_given_on_request_and_recorded_by_web_and_api(client, enrolment, make_staff):
    application, check = enrolment
    guardian = application.form["student.guardians"][
        1 if len(application.form["student.guardians"]) > 1 else 0
    ]
    row = application.form["student.guardians"].index(guardian)
    path = f"student.guardians.{row}.id_number"
    clerk = make_staff("police")
    api = api_client(clerk)
    revealed = api.post(f"/api/v1/subtasks/{check.pk}/reveal/", {"field": path}, format="json")
    assert revealed.status_code == 200 and revealed.json()["value"] == guardian["id_number"]
    seen = Disclosure.objects.get()
    assert (seen.channel, seen.user, seen.field, seen.subtask_id) == ("api", clerk, path, check.pk)
    # Not a field that is not an identifier, nor one the item does not have.
    for other in (
        f"student.guardians.{row}.name",
        "contact.mobile",
        "student.guardians.9.id_number",
    ):
        response = api.post(f"/api/v1/subtasks/{check.pk}/reveal/", {"field": other}, format="json")
        assert response.status_code == 400, other
    # Another department's clerk: nothing at all.
    tax = api_client(make_staff("tax"))
    assert (
        tax.post(f"/api/v1/subtasks/{check.pk}/reveal/", {"field": path}, format="json").status_code
        == 404
    )
    client.force_login(clerk)
    page = client.post(f"/staff/subtasks/{check.pk}/reveal/", {"field": path}).content.decode()
    assert guardian["id_number"] in page
    assert Disclosure.objects.filter(channel="web", field=path, user=clerk).count() == 1
    assert Disclosure.objects.count() == 2


def test_the_applicant_sees_a_submitted_application_masked_and_a_draft_in_full(catalogue, citizen):
    api = api_client(citizen)
    draft = api.post(
        "/api/v1/applications/", {"bundle": "newborn", "form": NEWBORN_FORM}, format="json"
    ).json()
    assert draft["form"]["mother.id_number"] == NEWBORN_FORM["mother.id_number"]
    submitted = apply_newborn(api).json()
    assert submitted["form"]["mother.id_number"] == mask(NEWBORN_FORM["mother.id_number"])
    assert submitted["form"]["contact.mobile"] == mask(NEWBORN_FORM["contact.mobile"])


def test_receipts_name_the_applicant_with_a_masked_id_number(catalogue, citizen):
    application = Application.objects.get(pk=apply_newborn(api_client(citizen)).json()["id"])
    text = "\\n".join(f"{label}：{value}" for label, value in receipt_lines(application))
    assert mask(citizen.id_number) in text and citizen.id_number not in text


def test_a_department_system_receives_only_what_its_item_needs_and_it_is_recorded(
    catalogue, citizen, department_simulator
):
    application_id = apply_newborn(api_client(citizen)).json()["id"]
    services.advance(application_id)
    birth = SubTask.objects.get(application_id=application_id, item__code="birth_certificate")
    vaccination = SubTask.objects.get(
        application_id=application_id, item__code="vaccination_certificate"
    )
    for subtask in (birth, vaccination):
        services.dispatch(subtask.pk)
    cases = {c["item_code"]: c["request"] for c in department_simulator.cases()}
    needed = {
        code: {f.key for f in SubTask.objects.get(pk=pk).item.fields.all()}
        for code, pk in (
            ("birth_certificate", birth.pk),
            ("vaccination_certificate", vaccination.pk),
        )
    }
    for code, request in cases.items():
        assert set(request["form"]) <= needed[code], code
    # The vaccination certificate needs no parent's ID number, so none is sent (the applicant
    # is named, with their own number, on every case).
    assert NEWBORN_FORM["father.id_number"] not in json.dumps(cases["vaccination_certificate"])
    assert (
        cases["birth_certificate"]["form"]["mother.id_number"] == NEWBORN_FORM["mother.id_number"]
    )
    sent = set(
        Disclosure.objects.filter(channel="case_order", subtask=birth).values_list(
            "field", flat=True
        )
    )
    assert sent == {"mother.id_number", "father.id_number", "applicant.id_number"}
    assert Disclosure.objects.get(subtask=birth, field="mother.id_number").department == (
        birth.department
    )


@pytest.mark.django_db(transaction=True)
def test_a_database_dump_holds_no_resident_id_number_in_plain_text(
    client, catalogue, citizen, make_staff
):
    # ID numbers in every place they are kept: accounts, a form with parents', an answer kept
    # for a retried request, an enterprise's legal representative, a walk-in's account, and
    # a registration waiting for its SMS code.
    api = api_client(citizen)
    api.post(
        "/api/v1/applications/",
        {"bundle": "newborn", "form": NEWBORN_FORM},
        format="json",
        HTTP_IDEMPOTENCY_KEY="dump-test",
    )
    apply_newborn(api)
    enterprise = Enterprise.objects.get(credit_code="91110000600037341L")  # the citizen's
    enterprise.legal_rep_id_number = "110105198001010016"
    enterprise.save()
    walk_in = User(real_name="赵四", id_number="330106199208150042", username="w-dump")
    walk_in.set_unusable_password()
    walk_in.save()
    client.post("/accounts/register/", {
        "username": "pending", "real_name": "钱五", "id_number": "110101199003070045",
        "mobile": "13900002222", "password1": "Long-enough-1", "password2": "Long-enough-1",
        "account_type": "individual",
    })  # fmt: skip
    numbers = {
        citizen.id_number, NEWBORN_FORM["mother.id_number"], NEWBORN_FORM["father.id_number"],
        "110105198001010016", "330106199208150042", "110101199003070045",
    }  # fmt: skip
    db = settings.DATABASES["default"]
    dump = subprocess.run(
        ["pg_dump", "--data-only", "-h", db["HOST"], "-p", str(db["PORT"]), "-U", db["USER"],
         db["NAME"]],
        capture_output=True, text=True, check=True, timeout=120,
    ).stdout  # fmt: skip
    assert "gAAAAA" in dump  # the encrypted values are there
    for number in numbers:
        for form in (number, number.lower(), number[:6] + number[6:14]):
            assert form not in dump, form


def test_a_key_is_rotated_by_encrypting_again_under_the_new_one(catalogue, citizen, settings):
    from cryptography.fernet import Fernet
    from django.core.management import call_command

    from privacy import crypto

    application_id = apply_newborn(api_client(citizen)).json()["id"]
    old = list(settings.FIELD_ENCRYPTION_KEYS)
    new = Fernet.generate_key().decode()
    try:
        settings.FIELD_ENCRYPTION_KEYS = [new, *old]
        crypto.reset_keys()
        call_command("reencrypt", stdout=io.StringIO())
        settings.FIELD_ENCRYPTION_KEYS = [new]  # the old key is gone
        crypto.reset_keys()
        assert User.objects.get(pk=citizen.pk).id_number == citizen.id_number
        form = Application.objects.get(pk=application_id).form
        assert form["mother.id_number"] == NEWBORN_FORM["mother.id_number"]
        # Without the new key nothing is readable: the data really moved to it.
        settings.FIELD_ENCRYPTION_KEYS = old
        crypto.reset_keys()
        with pytest.raises(ValueError):
            User.objects.get(pk=citizen.pk)
    finally:
        settings.FIELD_ENCRYPTION_KEYS = old
        crypto.reset_keys()


def test_the_admin_shows_identifiers_masked_too(admin_client, catalogue, citizen):
    application_id = apply_newborn(api_client(citizen)).json()["id"]
    enterprise = Enterprise.objects.get(credit_code="91110000600037341L")
    enterprise.legal_rep_id_number = "110105198001010016"
    enterprise.save()
    pages = {
        "user": admin_client.get(f"/admin/accounts/user/{citizen.pk}/change/"),
        "application": admin_client.get(
            f"/admin/applications/application/{application_id}/change/"
        ),
        "enterprise": admin_client.get(f"/admin/accounts/enterprise/{enterprise.pk}/change/"),
    }
    for name, page in pages.items():
        html = page.content.decode()
        assert page.status_code == 200, name
        for number in (citizen.id_number, NEWBORN_FORM["father.id_number"], "110105198001010016"):
            assert number not in html, (name, number)
    assert mask(citizen.id_number) in pages["user"].content.decode()
    assert mask(NEWBORN_FORM["father.id_number"]) in pages["application"].content.decode()


def test_the_admin_cannot_move_an_application_to_another_person_or_enterprise(
    admin_client, catalogue, citizen, make_citizen
):
    application_id = apply_newborn(api_client(citizen)).json()["id"]
    html = admin_client.get(f"/admin/applications/application/{application_id}/change/")
    page = html.content.decode()
    for field in ("applicant", "acting_for", "filed_by", "bundle"):
        assert f'name="{field}"' not in page, field
    other = make_citizen("other", "110101199003070045", "李四")
    admin_client.post(
        f"/admin/applications/application/{application_id}/change/",
        {"applicant": other.pk, "status": "draft"},
    )
    assert Application.objects.get(pk=application_id).applicant == citizen
