"""What many tests share: sample data, API clients, waiting for the engine, screenshots."""

import datetime
import functools
import io
import os
import threading
from pathlib import Path

import yaml
from django.db import connection
from rest_framework.test import APIClient

from applications.models import Application, Event, SubTask
from bundles.loader import DEFAULT_DIRECTORY

from .processes import SIMULATOR_SECRET, wait_for  # noqa: F401  (SIMULATOR_SECRET: re-exported)

PASSWORD = "Pass-word-2026"  # noqa: S105  (every test account's)
#: Screenshots and the worker's log are kept here (the CI keeps the folder).
ARTIFACTS = Path(
    os.environ.get("TEST_ARTIFACTS_DIR")
    or Path(__file__).resolve().parent.parent / "test-artifacts"
)
# A PDF and a PNG small enough to build in memory: their first bytes are what counts.
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64

NEWBORN_FORM = {
    "child.name": "王小𠮷",
    "child.gender": "女",
    "child.birth_date": (datetime.date.today() - datetime.timedelta(days=6)).isoformat(),
    "child.birth_place": "北京市第一人民医院",
    "mother.name": "王小梅",
    "mother.id_number": "11010119900307002X",
    "father.name": "李䶮",
    "father.id_number": "110101198805120012",
    "contact.mobile": "13800138000",
    "household.head_name": "李䶮",
    "household.address": "北京市东城区东华门街道1号",
}


def without_csrf(html: str) -> str:
    """A page with its CSRF tokens (new at every answer) taken out, to compare two answers."""
    import re

    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)


def totp_now(device) -> str:
    """The code an authenticator app shows now for ``device`` (RFC 6238)."""
    from django_otp.oath import TOTP

    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


def totp_from_secret(base32_secret: str) -> str:
    """What an authenticator app set up with ``base32_secret`` (as a person types it) shows."""
    import base64

    from django_otp.oath import TOTP

    return f"{TOTP(base64.b32decode(base32_secret)).token():06d}"


def sign_in_with_second_factor(client, user):
    """Sign ``user`` in and give the second factor through the page, as a person would (an
    authenticator device is set up for them first when they have none)."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="test", confirmed=True)
    client.force_login(user)
    response = client.post("/accounts/second-factor/", {"token": totp_now(device)})
    assert response.status_code == 302, response.content.decode()[:2000]
    return device


def sms_code(mobile: str) -> str | None:
    """The newest one-time code texted to ``mobile``, read from the development sender's
    outbox as a person reads their phone; None when none was sent."""
    import json
    import re

    from notifications.senders import outbox

    for line in outbox.tail(200):
        entry = json.loads(line)
        found = re.search(r"验证码为 (\d{6})", entry["body"])
        if entry["to"] == mobile and found:
            return found.group(1)
    return None


def register_with_code(client, form: dict) -> str:
    """Register through the web page and type the texted code; return the code page's HTML."""
    started = client.post("/accounts/register/", form)
    assert started.status_code == 302, started.content.decode()[:3000]
    code = sms_code(form["mobile"].replace(" ", "")) or "000000"
    return client.post("/accounts/register/verify/", {"code": code})


def api_client(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def apply_newborn(
    client, form=None, items=(), submit=True, materials=("parents_id_cards", "child_photo")
):
    """Create a newborn draft, upload its materials, submit; return the last response."""
    response = client.post(
        "/api/v1/applications/",
        {"bundle": "newborn", "form": form or NEWBORN_FORM, "items": list(items)},
        format="json",
    )
    assert response.status_code == 201, response.content
    application_id = response.json()["id"]
    for code in materials:
        content = PNG if code == "child_photo" else PDF
        upload = io.BytesIO(content)
        upload.name = f"{code}.{'png' if content is PNG else 'pdf'}"
        uploaded = client.post(
            f"/api/v1/applications/{application_id}/materials/",
            {"code": code, "file": upload},
            format="multipart",
        )
        assert uploaded.status_code == 201, uploaded.content
    if not submit:
        return response
    return client.post(f"/api/v1/applications/{application_id}/submit/", format="json")


TERMINAL = {"completed", "partially_completed", "rejected", "withdrawn"}
HTTP_ITEMS = {
    "birth_certificate",
    "vaccination_certificate",
    "medical_insurance",
    "social_security_card",
}


def status_of(application_id):
    return Application.objects.get(pk=application_id).status


def wait_until_finished(application_id, timeout=60):
    return wait_for(
        lambda: status_of(application_id) in TERMINAL and status_of(application_id),
        timeout,
        0.2,
        f"application {application_id} to finish",
    )


def police_approves(application_id, clerk, timeout=30):
    """The window clerk of the police takes the household registration when it arrives."""
    subtask = wait_for(
        lambda: SubTask.objects.filter(
            application_id=application_id, item__code="household_registration", status="dispatched"
        ).first(),
        timeout,
        0.2,
        "household registration in the police queue",
    )
    url = f"/api/v1/subtasks/{subtask.pk}"
    assert clerk.post(f"{url}/accept/").status_code == 200
    response = clerk.post(
        f"{url}/approve/", {"outputs": {"household_number": "110101000123"}}, format="json"
    )
    assert response.status_code == 200, response.content
    return subtask


def first_event_time(application_id, item, to_status):
    return (
        Event.objects.filter(
            application_id=application_id, subtask__item__code=item, to_status=to_status
        )
        .order_by("at", "id")
        .values_list("at", "id")
        .first()
    )


def screenshot(page, name: str) -> Path:
    """Keep a picture of the page as a test artefact."""
    folder = ARTIFACTS / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


AXE = Path(__file__).resolve().parent.parent / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]


@functools.cache
def axe_source() -> str:
    return AXE.read_text()


def assert_accessible(page) -> None:
    """axe-core finds no WCAG 2.2 A/AA violation on the page as it stands."""
    # Evaluated through the driver rather than added as a <script>, which the page's
    # Content-Security-Policy (no inline script) would rightly block.
    if page.evaluate("typeof axe") == "undefined":
        page.evaluate(axe_source())
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_TAGS
    )
    problems = [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
    ]
    assert not problems, f"{page.url}: " + "; ".join(problems)


def web_values(form: dict) -> dict[str, str]:
    """The API's JSON form as the web form's input names: address parts, group rows."""
    values = {}
    for key, value in form.items():
        if isinstance(value, dict):
            values |= {f"{key}.{part}": text for part, text in value.items()}
        elif isinstance(value, list):
            for index, row in enumerate(value):
                values |= {f"{key}.{index}.{sub}": str(text) for sub, text in row.items()}
        else:
            values[key] = str(value)
    return values


def fill_page(page, values: dict[str, str]) -> None:
    """Type each value into the input or select of that name, where the page has one."""
    for name, value in values.items():
        selector = f"[name='{name}']"
        if not page.locator(selector).count():
            continue
        if page.locator(f"select{selector}").count():
            page.select_option(selector, value)
        else:
            page.fill(selector, value)


def log_in(page, base, username, login_path="/accounts/login/"):
    page.goto(f"{base}{login_path}")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.press("#id_password", "Enter")
    page.wait_for_load_state()


def admin_log_in(page, base, username):
    """An administrator signs in through the admin's address: the portal's login, then the
    second factor — set up on the spot the first time, from the secret the page shows."""
    log_in(page, base, username, "/admin/login/")
    page.wait_for_url("**/accounts/second-factor/setup/**")
    look(page, "admin-second-factor-setup")
    page.fill("#token", totp_from_secret(page.inner_text("#otp-secret")))
    page.click("main button[type=submit]")
    page.wait_for_url(f"{base}/admin/")


def look(page, name):
    """Every main page: no accessibility violation, and a picture of it kept."""
    assert_accessible(page)
    screenshot(page, name)


MATERIAL_FILES = {"pdf": PDF, "png": PNG, "jpg": b"\xff\xd8\xff\xe0" + b"\x00" * 64}


def file_application(client, code: str, form=None, enterprise=None, submit=True) -> dict:
    """Apply for bundle ``code`` — every optional item chosen — through the API, with valid
    answers made from its published schema (``form`` overrides some) and its required
    materials uploaded; return the last answer."""
    from .schema_values import valid_form

    bundle = client.get(f"/api/v1/bundles/{code}/").json()
    answers = valid_form(bundle["form_schema"], datetime.date.today()) | (form or {})
    optional = [item["code"] for item in bundle["items"] if item["optional"]]
    body = {"bundle": code, "form": answers, "items": optional}
    body |= {"enterprise": enterprise} if enterprise else {}
    created = client.post("/api/v1/applications/", body, format="json")
    if created.status_code != 201 or not submit:
        return created
    for material in bundle["materials"]:
        if not material["required"] or material["may_follow_later"]:
            continue
        kind = next(t for t in ("pdf", "png", "jpg") if t in material["accepted_types"])
        upload = io.BytesIO(MATERIAL_FILES[kind])
        upload.name = f"{material['code']}.{kind}"
        uploaded = client.post(
            f"/api/v1/applications/{created.json()['id']}/materials/",
            {"code": material["code"], "file": upload},
            format="multipart",
        )
        assert uploaded.status_code == 201, uploaded.content
    return client.post(f"/api/v1/applications/{created.json()['id']}/submit/", format="json")


def catalogue_codes(state: str = "published") -> list[str]:
    """The codes of the bundles the catalogue's files publish (or hold as drafts), read from
    the files themselves rather than from what the loader made of them."""
    codes = []
    for path in (DEFAULT_DIRECTORY / "bundles").glob("*.yaml"):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if data.get("state", "published") == state:
            codes.append(data["code"])
    return sorted(codes)


def at_once(*calls):
    """Run the calls in threads released together; their results, in order."""
    results = [None] * len(calls)
    barrier = threading.Barrier(len(calls))

    def run(index, call):
        try:
            barrier.wait()
            results[index] = call()
        except BaseException as exc:  # reported by the test, not lost in the thread
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
