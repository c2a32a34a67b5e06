"""Window staff and a supervisor in Debian's headless Chromium."""

import io

import pytest

from accounts.models import User
from applications.models import SubTask
from applications.services import supply_supplement

from .helpers import (
    PASSWORD,
    PDF,
    api_client,
    apply_newborn,
    log_in,
    look,
    wait_for,
    wait_until_finished,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def dashboard_count(page, base, table, code, column):
    page.goto(f"{base}/staff/dashboard/?period=30&fresh=1")
    return int(page.inner_text(f"#{table} tr[data-code='{code}'] td.{column}"))


def test_police_clerk_supplement_and_approval_move_the_dashboard(
    catalogue, citizen, live_server, new_page, department_simulator, worker
):
    from departments.models import Department

    base = live_server.url
    clerk = User.objects.create_user(
        "police_clerk", password=PASSWORD, role="clerk", real_name="李警官"
    )
    clerk.departments.add(Department.objects.get(code="police"))
    User.objects.create_user(
        "centre", password=PASSWORD, role="centre_supervisor", real_name="督办员"
    )

    supervisor = new_page()
    log_in(supervisor, base, "centre")
    application_id = apply_newborn(api_client(citizen)).json()["id"]
    household = wait_for(
        lambda: SubTask.objects.filter(
            application_id=application_id, item__code="household_registration", status="dispatched"
        ).first(),
        30, 0.2, "the household registration at the police window",
    )  # fmt: skip
    completed_before = dashboard_count(supervisor, base, "departments-table", "police", "completed")
    look(supervisor, "staff-dashboard-before")

    page = new_page()
    log_in(page, base, "police_clerk")
    look(page, "staff-worklist")
    page.click(f"text={household.application.number}")
    page.click("main button:text('认领')")
    page.click("main button:text('受理')")
    assert page.inner_text("#subtask-status").startswith("已受理")
    page.check("#sm-household_register")
    page.fill("#supplement-reason", "户口簿户主页不清晰，请重新上传。")
    look(page, "staff-subtask-accepted")
    page.click("main button:text('一次性告知补正')")
    assert page.inner_text("#subtask-status").startswith("待补正")

    # The citizen uploads the page again, online.
    upload = io.BytesIO(PDF)
    upload.name = "户口簿.pdf"
    response = api_client(citizen).post(
        f"/api/v1/applications/{application_id}/materials/",
        {"code": "household_register", "file": upload},
        format="multipart",
    )
    assert response.status_code == 201
    supply_supplement(application_id, citizen)

    page.reload()
    assert page.locator("main a:text('户口簿首页及户主页')").count() >= 1
    page.fill("#ov0", "110101000999")
    page.click("main button:text('办结')")
    assert page.inner_text("#subtask-status").startswith("已办结")
    look(page, "staff-subtask-approved")
    assert SubTask.objects.get(pk=household.pk).outputs == {"证书编号": "110101000999"}

    assert wait_until_finished(application_id) == "completed"
    completed_after = dashboard_count(supervisor, base, "departments-table", "police", "completed")
    assert completed_after == completed_before + 1
    assert dashboard_count(supervisor, base, "bundles-table", "newborn", "completed") >= 1
    look(supervisor, "staff-dashboard-after")
