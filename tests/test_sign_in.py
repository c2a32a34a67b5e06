"""Signing in: tokens that end, the second factor, rate limits, list sizes, one copy of each
material."""

import datetime
import io
import os

import pytest
import time_machine
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User
from applications.models import Application, Upload
from bundles.models import Bundle

from .helpers import (
    NEWBORN_FORM,
    PASSWORD,
    PDF,
    api_client,
    sign_in_with_second_factor,
    totp_from_secret,
    totp_now,
)

pytestmark = pytest.mark.django_db


def _token(username=None, password=PASSWORD, **extra):
    response = api_client().post(
        "/api/v1/auth/token/", {"username": username, "password": password, **extra}, format="json"
    )
    return response


def _with_token(token):
    client = api_client()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def test_tokens_end_at_logout_at_a_password_change_and_when_they_expire(client, citizen, settings):
    first, second = (_token("citizen").json()["token"] for _ in range(2))
    assert _with_token(first).get("/api/v1/applications/").status_code == 200
    # Logout ends the token it is sent with, and only that one.
    assert _with_token(first).post("/api/v1/auth/logout/").status_code == 204
    assert _with_token(first).get("/api/v1/applications/").status_code == 401
    assert _with_token(second).get("/api/v1/applications/").status_code == 200
    # A password change (on the web) ends every token.
    client.force_login(citizen)
    changed = client.post(
        "/accounts/password_change/",
        {"old_password": PASSWORD, "new_password1": "Another-pass-2026",
         "new_password2": "Another-pass-2026"},
    )  # fmt: skip
    assert changed.status_code == 302
    assert _with_token(second).get("/api/v1/applications/").status_code == 401
    # Tokens expire.
    third = _token("citizen", "Another-pass-2026").json()
    assert third["expiry"]
    with time_machine.travel(datetime.timedelta(hours=settings.API_TOKEN_HOURS - 0.5)):
        assert _with_token(third["token"]).get("/api/v1/applications/").status_code == 200
    with time_machine.travel(datetime.timedelta(hours=settings.API_TOKEN_HOURS + 0.5)):
        assert _with_token(third["token"]).get("/api/v1/applications/").status_code == 401
    # "Everywhere" ends them all.
    tokens = [_token("citizen", "Another-pass-2026").json()["token"] for _ in range(2)]
    assert _with_token(tokens[0]).post("/api/v1/auth/logout-all/").status_code == 204
    assert all(_with_token(t).get("/api/v1/applications/").status_code == 401 for t in tokens)


def test_an_administrator_always_gives_a_second_factor(client, db):
    admin = User.objects.create_superuser("boss", "boss@example.org", PASSWORD)
    response = client.post("/accounts/login/", {"username": "boss", "password": PASSWORD})
    assert response.status_code == 302
    # The password alone opens nothing: every page leads to the second factor.
    for url in ("/staff/", "/admin/", "/applications/"):
        page = client.get(url)
        assert page.status_code == 302 and "/accounts/second-factor/" in page["Location"], url
    assert client.get("/api/v1/applications/").status_code == 403
    setup = client.get("/accounts/second-factor/", follow=True)
    assert setup.redirect_chain[-1][0].startswith("/accounts/second-factor/setup/")
    secret = setup.content.decode().split('id="otp-secret">')[1].split("<")[0]
    assert client.post("/accounts/second-factor/setup/", {"token": "000000"}).status_code == 400
    # A wrong code holds the device back for a moment (django-otp's throttling).
    with time_machine.travel(datetime.timedelta(seconds=5)):
        done = client.post("/accounts/second-factor/setup/", {"token": totp_from_secret(secret)})
        assert done.status_code == 302
        assert client.get("/admin/").status_code == 200
    # The API, too: no token without the code.
    assert _token("boss").status_code == 400
    assert "otp" in _token("boss", otp="123456").json()["errors"]
    device = TOTPDevice.objects.get(user=admin, confirmed=True)
    with time_machine.travel(datetime.timedelta(seconds=60)):
        assert _token("boss", otp=totp_now(device)).status_code == 200
    # An administrator may not turn it off.
    assert client.post("/accounts/second-factor/disable/", {"token": "1"}).status_code == 404


def test_staff_may_turn_the_second_factor_on_and_then_must_give_it(client, catalogue, make_staff):
    clerk = make_staff("police")
    client.force_login(clerk)
    assert client.get("/staff/").status_code == 200  # not asked of staff who have not chosen it
    page = client.get("/accounts/second-factor/setup/").content.decode()
    secret = page.split('id="otp-secret">')[1].split("<")[0]
    assert (
        client.post(
            "/accounts/second-factor/setup/", {"token": totp_from_secret(secret)}
        ).status_code
        == 302
    )
    later = Client()
    later.post("/accounts/login/", {"username": clerk.username, "password": PASSWORD})
    assert "/accounts/second-factor/" in later.get("/staff/")["Location"]
    wrong = later.post("/accounts/second-factor/", {"token": "000000"})
    assert wrong.status_code == 400 and "验证码不正确" in wrong.content.decode()
    device = TOTPDevice.objects.get(user=clerk, confirmed=True)
    with time_machine.travel(datetime.timedelta(seconds=60)):
        assert (
            later.post("/accounts/second-factor/", {"token": totp_now(device)}).status_code == 302
        )
        assert later.get("/staff/").status_code == 200
    # Turning it off needs a current code.
    later.post("/accounts/second-factor/disable/", {"token": "000000"})
    assert TOTPDevice.objects.filter(user=clerk, confirmed=True).exists()
    with time_machine.travel(datetime.timedelta(seconds=120)):
        later.post("/accounts/second-factor/disable/", {"token": totp_now(device)})
    assert not TOTPDevice.objects.filter(user=clerk).exists()


def test_a_citizen_cannot_set_up_a_second_factor_page_that_is_for_staff(client, citizen):
    client.force_login(citizen)
    assert client.get("/accounts/second-factor/setup/").status_code == 404


@pytest.mark.parametrize(
    ("scope", "attempt"),
    [
        ("register", lambda c, n: c.post("/accounts/register/", {"username": f"u{n}"})),
        ("register", lambda c, n: api_client().post("/api/v1/auth/register/", {}, format="json")),
        ("login", lambda c, n: c.post("/accounts/login/", {"username": f"u{n}", "password": "x"})),
        ("login", lambda c, n: api_client().post("/api/v1/auth/token/", {}, format="json")),
    ],
)
def test_signed_out_actions_are_rate_limited_per_address(client, db, settings, scope, attempt):
    settings.RATE_LIMITS = settings.RATE_LIMITS | {scope: "3/h"}
    codes = [attempt(client, n).status_code for n in range(4)]
    assert codes[:3] != [429] * 3 and codes[3] == 429, codes


def test_applications_uploads_and_reports_are_rate_limited_per_account(
    client, catalogue, citizen, make_citizen, settings
):
    settings.RATE_LIMITS = settings.RATE_LIMITS | {
        "applications": "2/h", "uploads": "2/h", "reports": "2/h",
    }  # fmt: skip
    api = api_client(citizen)
    created = [
        api.post("/api/v1/applications/", {"bundle": "newborn"}, format="json").status_code
        for _ in range(3)
    ]
    assert created == [201, 201, 429]
    refused = api.post("/api/v1/applications/", {"bundle": "newborn"}, format="json")
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    # Another person is not held back by someone else's limit.
    other = api_client(make_citizen("other", "110101199003070045", "李四"))
    assert (
        other.post("/api/v1/applications/", {"bundle": "newborn"}, format="json").status_code == 201
    )
    draft = Application.objects.filter(applicant=citizen).first()

    def upload():
        file = io.BytesIO(PDF)
        file.name = "a.pdf"
        return api.post(
            f"/api/v1/applications/{draft.pk}/materials/",
            {"code": "parents_id_cards", "file": file},
            format="multipart",
        ).status_code

    assert [upload() for _ in range(3)] == [201, 201, 429]
    client.force_login(citizen)
    reports = [
        client.post(
            "/report/", {"description": f"第{n}次：窗口说材料不全但没说缺什么。"}
        ).status_code
        for n in range(3)
    ]
    assert reports[:2] == [302, 302] and reports[2] == 429


def test_every_api_list_is_capped_at_a_hundred(catalogue, citizen):
    bundle = Bundle.objects.get(code="newborn")
    Application.objects.bulk_create(
        Application(bundle=bundle, applicant=citizen, form={}) for _ in range(105)
    )
    page = api_client(citizen).get("/api/v1/applications/", {"limit": 100000}).json()
    assert len(page["results"]) == 100 and page["count"] == 105 and page["next"]


def test_a_material_uploaded_again_replaces_the_earlier_file(
    catalogue, citizen, django_capture_on_commit_callbacks
):
    api = api_client(citizen)
    draft = api.post(
        "/api/v1/applications/", {"bundle": "newborn", "form": NEWBORN_FORM}, format="json"
    ).json()
    stored = []
    for content in (PDF, PDF + b"% second\n"):
        file = io.BytesIO(content)
        file.name = "证件.pdf"
        with django_capture_on_commit_callbacks(execute=True):
            response = api.post(
                f"/api/v1/applications/{draft['id']}/materials/",
                {"code": "parents_id_cards", "file": file},
                format="multipart",
            )
        assert response.status_code == 201
        stored.append(Upload.objects.get(pk=response.json()["id"]).file.path)
    kept = Upload.objects.get(application_id=draft["id"], material__code="parents_id_cards")
    assert kept.file.path == stored[1]
    assert not os.path.exists(stored[0]) and os.path.exists(stored[1])
    assert [
        u["code"] for u in api.get(f"/api/v1/applications/{draft['id']}/").json()["uploads"]
    ] == ["parents_id_cards"]


def test_a_forged_forwarded_for_header_does_not_escape_a_rate_limit(client, db, settings):
    settings.RATE_LIMITS = settings.RATE_LIMITS | {"register": "2/h"}
    codes = [
        client.post(
            "/accounts/register/", {"username": f"u{n}"}, HTTP_X_FORWARDED_FOR=f"10.9.8.{n}"
        ).status_code
        for n in range(3)
    ]
    assert codes[2] == 429, codes


def test_one_mobile_is_texted_a_limited_number_of_codes(client, db, settings):
    """Many registrations naming one mobile (new ID numbers each time) text it only so often:
    the form cannot be used to flood a phone."""
    from notifications.senders import outbox

    from .schema_values import resident_id

    settings.RATE_LIMITS = settings.RATE_LIMITS | {"sms": "3/h"}
    for n in range(5):
        client.post("/accounts/register/", {
            "username": f"flood{n}", "real_name": "某人",
            "id_number": resident_id(datetime.date(1990, 1, 1 + n), "110101", "031"),
            "mobile": "13912340000", "password1": PASSWORD, "password2": PASSWORD,
            "account_type": "individual",
        })  # fmt: skip
    sent = [line for line in outbox.tail(50) if "13912340000" in line]
    assert len(sent) == 3


def test_an_authenticator_is_replaced_only_after_turning_the_old_one_off(
    client, catalogue, make_staff
):
    clerk = make_staff("police")
    device = sign_in_with_second_factor(client, clerk)
    page = client.get("/accounts/second-factor/setup/")
    assert page.status_code == 302 and page["Location"].endswith("/accounts/me/")
    assert TOTPDevice.objects.filter(user=clerk).count() == 1
    assert TOTPDevice.objects.get(user=clerk) == device


def test_the_deploy_check_refuses_the_development_sms_sender(tmp_path, db):
    from django.conf import settings as django_settings

    from .test_security import production_env, run_django

    test_db = django_settings.DATABASES["default"]
    env = production_env(
        DATABASE_URL=f"postgres://{test_db['USER']}@{test_db['HOST']}:{test_db['PORT']}"
        f"/{test_db['NAME']}",
        SMS_SENDER="notifications.senders.LogSender",
    )
    result = run_django(["manage.py", "check", "--deploy"], env, tmp_path)
    assert result.returncode != 0 and "notifications.E001" in result.stdout + result.stderr


def test_the_http_gateway_sender_posts_the_text_and_reports_failure(settings):
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from notifications.senders import HttpGatewaySender, SendError

    received, answers = [], [204, 503]

    class Gateway(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.headers["Authorization"], json.loads(body)))
            self.send_response(answers.pop(0))
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Gateway)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.SMS_GATEWAY_URL = f"http://127.0.0.1:{server.server_port}/send"
    settings.SMS_GATEWAY_TOKEN = "gw-token"
    try:
        HttpGatewaySender().send("13800138000", "主题", "正文")
        with pytest.raises(SendError):
            HttpGatewaySender().send("13800138000", "主题", "正文")
    finally:
        server.shutdown()
    assert received[0] == (
        "Bearer gw-token",
        {"to": "13800138000", "subject": "主题", "text": "正文"},
    )
