"""What many tests share: sample data, API clients, waiting for the engine, screenshots."""

import datetime
import io
import os
from pathlib import Path

from rest_framework.test import APIClient

from applications.models import Application, Event, SubTask

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


def assert_accessible(page) -> None:
    """axe-core finds no WCAG 2.2 A/AA violation on the page as it stands."""
    page.add_script_tag(path=str(AXE))
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


def look(page, name):
    """Every main page: no accessibility violation, and a picture of it kept."""
    assert_accessible(page)
    screenshot(page, name)
