"""The citizen portal without a browser: who sees what, how many queries, how heavy, logins."""

import datetime
import io
import re

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from applications import services
from applications.models import Application, SubTask
from feedback.models import FollowUp
from notifications.models import Delivery, Message
from privacy.models import Disclosure

from .helpers import PDF, api_client, apply_newborn, sign_in_with_second_factor, without_csrf

pytestmark = pytest.mark.django_db


@pytest.fixture
def submitted(catalogue, citizen):
    """A newborn application of 王小梅's, with a part approved at the window."""
    from departments.models import Department

    Department.objects.filter(code="health").update(handling="manual")
    body = apply_newborn(api_client(citizen)).json()
    services.advance(body["id"])
    birth = SubTask.objects.get(application_id=body["id"], item__code="birth_certificate")
    services.dispatch(birth.pk)
    staff = _staff("health")
    services.staff_action(birth.pk, staff, "accept")
    services.staff_action(birth.pk, staff, "approve", outputs={"certificate_number": "Q1"})
    return Application.objects.get(pk=body["id"])


def _staff(code):
    from accounts.models import User
    from departments.models import Department

    user, _ = User.objects.get_or_create(username=f"staff_{code}")
    user.departments.add(Department.objects.get(code=code))
    return user


def test_another_citizen_never_sees_or_changes_an_application_upload_or_message(
    client, submitted, make_citizen
):
    other = make_citizen("other", "440300199501011234", "陈")
    client.force_login(other)
    birth = submitted.subtasks.get(item__code="birth_certificate")
    upload = submitted.uploads.first()
    for url in (
        f"/applications/{submitted.pk}/",
        f"/applications/{submitted.pk}/steps/review/",
        f"/applications/{submitted.pk}/certificates/{birth.pk}/",
        f"/uploads/{upload.pk}/",
    ):
        assert client.get(url).status_code == 404, url
    for url in ("supplement", "withdraw", "rate"):
        assert client.post(f"/applications/{submitted.pk}/{url}/").status_code == 404, url
    assert submitted.number not in client.get("/applications/").content.decode()
    assert Message.objects.filter(user=submitted.applicant).exists()
    assert "新生儿出生一件事" not in client.get("/messages/").content.decode()
    assert Application.objects.get(pk=submitted.pk).status == "in_progress"


def test_uploads_are_served_to_their_owner_and_the_departments_handling_them(client, submitted):
    upload = submitted.uploads.first()
    client.force_login(submitted.applicant)
    response = client.get(f"/uploads/{upload.pk}/")
    assert response.status_code == 200 and b"".join(response.streaming_content).startswith(b"%PDF")
    assert response["X-Content-Type-Options"] == "nosniff"
    # Each upload is served as itself: the photo is the PNG, not the first file found.
    photo = submitted.uploads.get(material__code="child_photo")
    served = client.get(f"/uploads/{photo.pk}/")
    assert b"".join(served.streaming_content).startswith(b"\x89PNG")
    assert not Disclosure.objects.exists()  # the applicant's own download is not recorded
    # The health commission's part (it asks for the parents' ID cards) has reached it.
    health = _staff("health")
    client.force_login(health)
    assert client.get(f"/uploads/{upload.pk}/").status_code == 200
    seen = Disclosure.objects.get()
    assert (seen.channel, seen.user, seen.field) == ("upload", health, upload.material.code)
    # The police's item does not ask for them.
    client.force_login(_staff("police"))
    assert client.get(f"/uploads/{upload.pk}/").status_code == 404
    # The child's photo is for the social security card, whose part has not reached hrss yet.
    card = submitted.subtasks.get(item__code="social_security_card")
    client.force_login(_staff("hrss"))
    assert card.status == "waiting"
    assert client.get(f"/uploads/{photo.pk}/").status_code == 404
    # Set-up: the part has reached hrss; its staff keep the materials whatever follows.
    for status in ("dispatched", "accepted", "supplement_requested", "approved", "rejected"):
        SubTask.objects.filter(pk=card.pk).update(status=status)
        assert client.get(f"/uploads/{photo.pk}/").status_code == 200, status
    # Only the materials its item asks for (not the parents' ID cards), and only of the
    # application whose part has reached it: not of the same citizen's next one.
    assert client.get(f"/uploads/{upload.pk}/").status_code == 404
    later = Application.objects.get(pk=apply_newborn(api_client(submitted.applicant)).json()["id"])
    later_photo = later.uploads.get(material__code="child_photo")
    assert client.get(f"/uploads/{later_photo.pk}/").status_code == 404
    # An administrator may download any, and that is recorded too.
    admin = User.objects.create_superuser("admin", "admin@example.com")
    sign_in_with_second_factor(client, admin)
    assert client.get(f"/uploads/{later_photo.pk}/").status_code == 200
    assert Disclosure.objects.filter(user=admin, field="child_photo").exists()
    client.force_login(_staff("tax"))
    assert client.get(f"/uploads/{upload.pk}/").status_code == 404


def test_uploads_are_stored_outside_the_web_root(submitted, settings):
    path = submitted.uploads.first().file.path
    assert path.startswith(str(settings.MEDIA_ROOT))
    assert not path.startswith(str(settings.STATIC_ROOT)) and settings.MEDIA_URL in ("/", "")


def test_the_certificate_is_a_pdf_with_the_part_s_results(client, submitted, make_citizen):
    birth = submitted.subtasks.get(item__code="birth_certificate")
    client.force_login(submitted.applicant)
    response = client.get(f"/applications/{submitted.pk}/certificates/{birth.pk}/")
    assert response["Content-Type"] == "application/pdf" and response.content[:5] == b"%PDF-"
    household = submitted.subtasks.get(item__code="household_registration")
    assert (
        client.get(f"/applications/{submitted.pk}/certificates/{household.pk}/").status_code == 404
    )
    # Another citizen's own application does not open this one's certificate.
    other = make_citizen("other", "440300199501011234", "陈")
    theirs = apply_newborn(api_client(other)).json()["id"]
    client.force_login(other)
    assert client.get(f"/applications/{theirs}/certificates/{birth.pk}/").status_code == 404


def page_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200, url
    return len(queries)


def test_pages_do_a_bounded_number_of_queries_whatever_the_number_of_applications(
    client, catalogue, citizen
):
    client.force_login(citizen)
    first = Application.objects.get(pk=apply_newborn(api_client(citizen)).json()["id"])
    services.advance(first.pk)
    urls = ["/", "/bundles/newborn/", "/applications/", f"/applications/{first.pk}/", "/messages/",
            "/report/"]  # fmt: skip
    before = {url: page_queries(client, url) for url in urls}
    for _ in range(8):
        other = apply_newborn(api_client(citizen)).json()["id"]
        services.advance(other)
    after = {url: page_queries(client, url) for url in urls}
    assert after == before
    assert max(after.values()) <= 25, after


OUTSIDE = re.compile(
    r"""(?:src|href|action|srcset)\s*=\s*["']?\s*(?:https?:)?//|url\(\s*["']?(?:https?:)?//"""
)


def test_main_pages_weigh_under_150_kb_and_name_no_outside_host(
    client, catalogue, citizen, settings
):
    from pathlib import Path

    client.force_login(citizen)
    application_id = apply_newborn(api_client(citizen)).json()["id"]
    stylesheet = (Path(settings.BASE_DIR) / "static" / "portal.css").read_text()
    assert not OUTSIDE.search(stylesheet)
    css = len(stylesheet.encode())
    for url in ("/", "/bundles/newborn/", "/applications/", f"/applications/{application_id}/",
                "/messages/", "/report/", "/accounts/password_change/"):  # fmt: skip
        html = client.get(url).content
        assert len(html) + css < 150 * 1024, url
        # Nothing is loaded or linked from another host (an SVG's xmlns is a name, not a load).
        assert not OUTSIDE.search(html.decode()), url


def test_repeated_failed_logins_lock_the_account_for_that_address_only(client, citizen, settings):
    settings.AXES_FAILURE_LIMIT = 3
    for _attempt in range(3):
        client.post("/accounts/login/", {"username": "citizen", "password": "wrong"})
    response = client.post(
        "/accounts/login/", {"username": "citizen", "password": "Pass-word-2026"}
    )
    assert response.status_code == 429 and "登录失败次数过多" in response.content.decode()
    # The API counts and refuses alike.
    token = api_client().post(
        "/api/v1/auth/token/", {"username": "citizen", "password": "Pass-word-2026"}, format="json"
    )
    assert token.status_code == 429
    # From another address the account is not locked: nobody can lock a clerk out at will.
    elsewhere = Client(REMOTE_ADDR="10.1.2.3")
    assert (
        elsewhere.post(
            "/accounts/login/", {"username": "citizen", "password": "Pass-word-2026"}
        ).status_code
        == 302
    )
    with time_machine.travel(datetime.timedelta(minutes=settings.LOGIN_LOCK_MINUTES + 1)):
        response = client.post(
            "/accounts/login/", {"username": "citizen", "password": "Pass-word-2026"}
        )
        assert response.status_code == 302


def test_the_lockout_says_nothing_of_whether_an_account_exists(client, citizen, settings):
    settings.AXES_FAILURE_LIMIT = 2
    answers = []
    for username in ("citizen", "nobody-has-this-name"):
        for _attempt in range(3):
            response = client.post("/accounts/login/", {"username": username, "password": "x"})
        answers.append((response.status_code, without_csrf(response.content.decode())))
    assert answers[0] == answers[1] and answers[0][0] == 429


def test_a_successful_api_login_resets_the_count(client, citizen, settings):
    settings.AXES_FAILURE_LIMIT = 3
    api = api_client()
    for _round in range(3):
        for _attempt in range(2):
            wrong = api.post(
                "/api/v1/auth/token/", {"username": "citizen", "password": "x"}, format="json"
            )
            assert wrong.status_code == 400
        right = api.post(
            "/api/v1/auth/token/",
            {"username": "citizen", "password": "Pass-word-2026"},
            format="json",
        )
        assert right.status_code == 200, right.content


def test_sessions_end_after_30_minutes_idle(client, citizen):
    client.post("/accounts/login/", {"username": "citizen", "password": "Pass-word-2026"})
    assert client.get("/applications/").status_code == 200
    with time_machine.travel(datetime.timedelta(minutes=20)):
        assert client.get("/applications/").status_code == 200
    with time_machine.travel(datetime.timedelta(minutes=51)):
        assert client.get("/applications/").status_code == 302


def test_registration_checks_the_id_number_and_the_enterprise(client, db):
    response = client.post("/accounts/register/", {
        "username": "li", "real_name": "李", "id_number": "110101199003070021",
        "mobile": "13800138000", "password1": "Long-enough-1", "password2": "Long-enough-1",
        "account_type": "enterprise", "credit_code": "91110000600037341A", "enterprise_name": "",
    })  # fmt: skip
    assert response.status_code == 400
    page = response.content.decode()
    assert "校验位" in page and "统一社会信用代码" in page and "请填写企业名称" in page


def test_events_become_messages_sent_by_email_and_sms(submitted):
    kinds = list(Message.objects.filter(user=submitted.applicant).values_list("kind", flat=True))
    assert "submitted" in kinds and "part_done" in kinds
    channels = set(Delivery.objects.values_list("channel", flat=True))
    assert channels == {"sms"}  # 王小梅 gave a mobile number, no e-mail address


def test_a_failing_sender_is_retried_then_given_up(submitted, settings):
    from notifications.tasks import send_delivery

    settings.SMS_SENDER = "tests.test_portal.BrokenGateway"
    settings.NOTIFICATION_MAX_ATTEMPTS = 3
    delivery = Delivery.objects.filter(status="pending").first()
    send_delivery.apply(args=[delivery.pk])
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("failed", 3)
    assert "gateway down" in delivery.last_error


class BrokenGateway:
    def send(self, address, subject, body):
        from notifications.senders import SendError

        raise SendError("gateway down")


def test_a_poor_rating_opens_a_follow_up_and_a_report_reaches_the_supervisors(client, submitted):
    client.force_login(submitted.applicant)
    assert "评价本次服务" not in client.get(f"/applications/{submitted.pk}/").content.decode()
    Application.objects.filter(pk=submitted.pk).update(status="completed")
    client.post(f"/applications/{submitted.pk}/rate/", {"score": "2", "comment": "等太久"})
    follow_up = FollowUp.objects.get(kind="poor_rating")
    assert (
        follow_up.department.code == submitted.subtasks.first().department.code
        or follow_up.department
    )
    assert "等太久" in follow_up.description and follow_up.deadline
    client.post(f"/applications/{submitted.pk}/rate/", {"score": "5"})
    assert submitted.__class__.objects.get(pk=submitted.pk).rating.score == 2
    response = client.post("/report/", {"description": "窗口说系统不通，让我下周再来。"})
    assert response.status_code == 302
    report = FollowUp.objects.get(kind="cannot_get_done")
    assert report.department is None and report.reporter == submitted.applicant
    assert client.post("/report/", {"description": " "}).status_code == 400


def test_a_supplement_is_refused_until_the_asked_material_is_uploaded(client, submitted):
    from departments.models import Department

    Department.objects.filter(code="police").update(handling="manual")
    household = submitted.subtasks.get(item__code="household_registration")
    services.dispatch(household.pk)
    police = _staff("police")
    services.staff_action(household.pk, police, "accept")
    services.staff_action(
        household.pk,
        police,
        "request-supplement",
        reason="请重新上传户口簿",
        materials=["household_register"],
    )
    client.force_login(submitted.applicant)
    page = client.get(f"/applications/{submitted.pk}/").content.decode()
    assert "请重新上传户口簿" in page and 'name="household_register"' in page
    client.post(f"/applications/{submitted.pk}/supplement/")
    assert SubTask.objects.get(pk=household.pk).status == "supplement_requested"
    upload = io.BytesIO(PDF)
    upload.name = "户口簿.pdf"
    client.post(f"/applications/{submitted.pk}/supplement/", {"household_register": upload})
    assert SubTask.objects.get(pk=household.pk).status == "accepted"
