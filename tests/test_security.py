"""What the portal tells browsers about itself: the Content-Security-Policy and its companions,
HTTPS in production (the deploy check, run as production runs), and the roles an
administrator gives in the admin."""

import json
import os
import secrets
import subprocess
import sys
from html.parser import HTMLParser

import pytest
from cryptography.fernet import Fernet
from django.conf import settings as django_settings
from django.contrib import admin

from accounts.models import User
from departments.models import Department

from .helpers import PASSWORD, api_client, apply_newborn, sign_in_with_second_factor
from .processes import ROOT

pytestmark = pytest.mark.django_db

# --- Content-Security-Policy ----------------------------------------------------------------


def policy_of(response) -> dict[str, list[str]]:
    """The response's Content-Security-Policy as {directive: [sources]}."""
    header = response.headers.get("Content-Security-Policy")
    assert header, f"no Content-Security-Policy on {response.request['PATH_INFO']}"
    directives = {}
    for part in header.split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


class InlineCode(HTMLParser):
    """Finds what a policy without 'unsafe-inline' blocks: inline scripts and styles, style
    attributes, event-handler attributes and javascript: URLs."""

    #: Data blocks, which browsers never run (Django's json_script writes these).
    DATA = {"application/json", "application/ld+json"}

    def __init__(self):
        super().__init__()
        self.found = []
        self._in_inline_script = False

    def handle_starttag(self, tag, attrs):
        named = dict(attrs)
        if tag == "script" and "src" not in named and named.get("type") not in self.DATA:
            self.found.append(f"inline <script> {self.getpos()}")
        if tag == "style":
            self.found.append(f"<style> element {self.getpos()}")
        for name, value in attrs:
            if name == "style":
                self.found.append(f'style="{value}" on <{tag}>')
            elif name.startswith("on"):
                self.found.append(f"{name}= handler on <{tag}>")
            elif name in {"href", "src", "action"} and (value or "").strip().lower().startswith(
                "javascript:"
            ):
                self.found.append(f"javascript: URL on <{tag}>")


def inline_code(html: str) -> list[str]:
    parser = InlineCode()
    parser.feed(html)
    return parser.found


def assert_strict_policy(response):
    directives = policy_of(response)
    header = response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in header and "unsafe-eval" not in header, header
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["form-action"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert set(directives["img-src"]) <= {"'self'", "data:"}
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


@pytest.mark.parametrize(
    "url",
    ["/", "/bundles/newborn/", "/accounts/login/", "/accounts/register/", "/api/docs/", "/healthz"],
)
def test_pages_carry_a_strict_content_security_policy(client, catalogue, url):
    response = client.get(url)
    assert response.status_code in (200, 503), url
    assert_strict_policy(response)


def test_swagger_ui_loads_its_start_up_script_from_our_origin(client):
    html = client.get("/api/docs/").content.decode()
    assert not inline_code(html), inline_code(html)
    assert 'src="/api/docs/?script="' in html
    script = client.get("/api/docs/", {"script": ""})
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle(" in script.content.decode()
    # No badge image from validator.swagger.io.
    assert '"validatorUrl": null' in script.content.decode()


def test_no_page_we_serve_has_inline_script_or_style(
    client, catalogue, citizen, admin_user, make_staff
):
    """Our pages (citizen, staff, supervisor — with the server-drawn charts and diagrams) and
    every page of the admin hold nothing that the policy would block."""
    application_id = apply_newborn(api_client(citizen)).json()["id"]
    client.force_login(citizen)
    citizen_pages = [
        "/", "/bundles/newborn/", "/applications/", f"/applications/{application_id}/",
        "/messages/", "/report/", "/accounts/password_change/", "/accounts/me/",
    ]  # fmt: skip
    pages = {url: client.get(url) for url in citizen_pages}
    client.logout()
    pages |= {url: client.get(url) for url in ("/accounts/login/", "/accounts/register/")}
    # The authenticator's set-up page (its QR code is inline SVG), as a clerk without one.
    client.force_login(make_staff("police"))
    pages["/accounts/second-factor/setup/"] = client.get("/accounts/second-factor/setup/")
    client.logout()

    sign_in_with_second_factor(client, admin_user)
    pages |= {url: client.get(url) for url in ("/staff/", "/staff/dashboard/", "/admin/")}
    for model, model_admin in admin.site._registry.items():
        base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        pages[base] = client.get(base)
        if model_admin.has_add_permission(_request(admin_user)):
            pages[f"{base}add/"] = client.get(f"{base}add/")
        first = model.objects.order_by("pk").first()
        if first is not None:
            pages[f"{base}{first.pk}/change/"] = client.get(f"{base}{first.pk}/change/")

    assert "<svg" in pages["/staff/dashboard/"].content.decode()
    assert "<svg" in pages["/bundles/newborn/"].content.decode()
    problems = {}
    for url, response in pages.items():
        assert response.status_code == 200, url
        assert "Content-Security-Policy" in response.headers, url
        found = inline_code(response.content.decode())
        if found:
            problems[url] = found
    assert not problems, problems


def _request(user):
    from django.test import RequestFactory

    request = RequestFactory().get("/admin/")
    request.user = user
    return request


def test_the_inline_code_finder_finds_what_the_policy_blocks():
    assert inline_code('<p style="color:red">x</p>')
    assert inline_code("<style>p{}</style>")
    assert inline_code("<script>alert(1)</script>")
    assert inline_code('<a href="javascript:alert(1)">x</a>')
    assert inline_code('<button onclick="x()">x</button>')
    assert not inline_code('<script type="application/json">{}</script><script src="/a.js">')
    assert not inline_code('<svg><rect fill="#fff" stroke="#000"/></svg>')


# --- HTTPS and the deploy check, with production's settings ---------------------------------


def production_env(**overrides) -> dict[str, str]:
    """The environment a production deployment sets (README), with nothing of the tests'."""
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", str(ROOT)),
        "LANG": "C.UTF-8",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "yjs.example.gov.cn",
        "CSRF_TRUSTED_ORIGINS": "https://yjs.example.gov.cn",
        "DATABASE_URL": "postgres://portal:portal@db.internal:5432/portal",
        "CELERY_BROKER_URL": "redis://redis.internal:6379/0",
        "PORTAL_BASE_URL": "https://yjs.example.gov.cn",
        "DEPARTMENT_SIMULATOR_SECRET": secrets.token_urlsafe(32),
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "LOOKUP_HASH_KEY": secrets.token_urlsafe(32),
        "SMS_SENDER": "notifications.senders.HttpGatewaySender",
        "SMS_GATEWAY_URL": "https://sms.example.gov.cn/send",
        "HEALTHZ_TOKEN": secrets.token_urlsafe(32),
    }
    return {key: value for key, value in (env | overrides).items() if value is not None}


def run_django(args, env, tmp_path):
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=env | {"PORTAL_VAR_DIR": str(tmp_path / "var")},
        capture_output=True,
        text=True,
        timeout=120,
    )


SHOW = """
import json, django
django.setup()
from django.conf import settings as s
print(json.dumps({name: getattr(s, name, None) for name in (
    "DEBUG", "ALLOWED_HOSTS", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_PROXY_SSL_HEADER", "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE", "X_FRAME_OPTIONS")}))
"""


def production_settings(tmp_path, **overrides) -> dict:
    env = production_env(**overrides) | {"DJANGO_SETTINGS_MODULE": "portal.settings"}
    result = run_django(["-c", SHOW], env, tmp_path)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.slow
def test_the_deploy_check_passes_with_production_settings(tmp_path, db):
    # A database it can reach (the test run's): the deploy checks read the departments.
    test_db = django_settings.DATABASES["default"]
    env = production_env(
        DATABASE_URL=f"postgres://{test_db['USER']}@{test_db['HOST']}:{test_db['PORT']}"
        f"/{test_db['NAME']}"
    )
    result = run_django(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env, tmp_path
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_defaults_to_https_everywhere(tmp_path):
    values = production_settings(tmp_path)
    assert values["DEBUG"] is False
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SECURE_HSTS_SECONDS"] == 365 * 24 * 3600
    assert values["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert values["SESSION_COOKIE_SECURE"] is True and values["CSRF_COOKIE_SECURE"] is True
    assert values["X_FRAME_OPTIONS"] == "DENY"
    assert values["SECURE_PROXY_SSL_HEADER"] is None


def test_the_default_hosts_are_local_only(tmp_path):
    values = production_settings(tmp_path, ALLOWED_HOSTS=None)
    assert values["ALLOWED_HOSTS"] == ["localhost", "127.0.0.1", "[::1]"]


def test_https_settings_come_from_the_environment(tmp_path):
    values = production_settings(
        tmp_path,
        HSTS_SECONDS="0",
        SECURE_SSL_REDIRECT="0",
        SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto: https",
    )
    assert values["SECURE_HSTS_SECONDS"] == 0
    assert values["SECURE_SSL_REDIRECT"] is False
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]


def test_a_malformed_proxy_header_is_refused_naming_the_variable(tmp_path):
    env = production_env(SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto")
    result = run_django(["-c", SHOW], env | {"DJANGO_SETTINGS_MODULE": "portal.settings"}, tmp_path)
    assert result.returncode != 0
    assert "SECURE_PROXY_SSL_HEADER" in result.stderr


def test_plain_http_is_redirected_to_https_except_health_probes(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    response = client.get("/accounts/login/")
    assert response.status_code == 301
    assert response["Location"] == "https://testserver/accounts/login/"
    assert client.get("/healthz").status_code in (200, 503)
    secure = client.get("/accounts/login/", secure=True)
    assert secure.status_code == 200
    assert secure["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_a_proxy_s_https_header_counts_as_https(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    response = client.get("/accounts/login/", headers={"X-Forwarded-Proto": "https"})
    assert response.status_code == 200


# --- Roles in the admin ---------------------------------------------------------------------


class FormValues(HTMLParser):
    """What a browser would submit for the page's form with the given id."""

    def __init__(self, form_id):
        super().__init__()
        self.form_id, self.inside, self.values = form_id, False, []
        self._select = self._textarea = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("id") == self.form_id
        if not self.inside or "disabled" in a:
            return
        if tag == "input" and a.get("name") and a.get("type") not in {"submit", "button", "file"}:
            if a.get("type") not in {"checkbox", "radio"}:
                self.values.append((a["name"], a.get("value") or ""))
            elif "checked" in a:
                self.values.append((a["name"], a.get("value") or "on"))
        elif tag == "select":
            self._select = a.get("name")
        elif tag == "option" and self._select and "selected" in a:
            self.values.append((self._select, a.get("value", "")))
        elif tag == "textarea":
            self._textarea = a.get("name")
            self.values.append((self._textarea, ""))

    def handle_data(self, data):
        if self._textarea:
            name, text = self.values.pop()
            self.values.append((name, text + data))

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def change_form_values(html: str, form_id: str) -> dict[str, list[str]]:
    parser = FormValues(form_id)
    parser.feed(html)
    data: dict[str, list[str]] = {}
    for name, value in parser.values:
        data.setdefault(name, []).append(value)
    return data


def test_an_administrator_makes_a_clerk_a_department_supervisor(
    client, catalogue, admin_user, make_staff
):
    clerk = make_staff("police", username="police_clerk")
    clerk_client = type(client)()
    clerk_client.force_login(clerk)
    assert clerk_client.get("/staff/dashboard/").status_code == 403

    sign_in_with_second_factor(client, admin_user)
    url = f"/admin/accounts/user/{clerk.pk}/change/"
    page = client.get(url)
    assert 'name="role"' in page.content.decode(), "the user form has no role field"
    data = change_form_values(page.content.decode(), "user_form")
    assert data["username"] == ["police_clerk"]
    data["role"] = ["department_supervisor"]
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    clerk.refresh_from_db()
    assert clerk.role == User.Role.DEPARTMENT_SUPERVISOR
    # Nothing else on the account changed on the way through the form.
    assert list(clerk.departments.all()) == [Department.objects.get(code="police")]
    assert clerk.check_password(PASSWORD)
    assert clerk_client.get("/staff/dashboard/").status_code == 200


def test_the_user_list_shows_and_filters_by_role(client, admin_user):
    User.objects.create_user("centre", password=PASSWORD, role="centre_supervisor")
    User.objects.create_user("someone", password=PASSWORD)
    sign_in_with_second_factor(client, admin_user)
    html = client.get("/admin/accounts/user/").content.decode()
    # A column of roles, and a filter offering each role.
    assert "column-role" in html
    for role in ("clerk", "department_supervisor", "centre_supervisor"):
        assert f"?role__exact={role}" in html, role
    response = client.get("/admin/accounts/user/", {"role__exact": "centre_supervisor"})
    shown = [user.username for user in response.context["cl"].result_list]
    assert shown == ["centre"]
    assert "field-role" in response.content.decode()
