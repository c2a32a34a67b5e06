"""An administrator builds and publishes a bundle in a real browser; a citizen applies to it
and it completes — no code change, no restart."""

import pytest

from accounts.models import User
from applications.models import Application
from bundles.models import Bundle, ServiceItem

from .helpers import (
    NEWBORN_FORM,
    PASSWORD,
    admin_log_in,
    api_client,
    fill_page,
    log_in,
    police_approves,
    screenshot,
    wait_until_finished,
    web_values,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_admin_builds_and_publishes_a_bundle_then_a_citizen_completes_it(
    catalogue, citizen, make_staff, live_server, page, new_page, worker, tmp_path
):
    User.objects.create_superuser("boss", "boss@example.org", PASSWORD)
    items = {i.code: i.pk for i in ServiceItem.objects.all()}
    base = live_server.url

    # An administrator always gives a second factor: the first time, one is set up.
    admin_log_in(page, base, "boss")
    page.goto(f"{base}/admin/bundles/bundle/add/")
    page.fill("#id_code", "birth_and_hukou")
    page.fill("#id_name", "出生落户一件事")
    page.select_option("#id_audience", "individual")
    page.fill("#id_life_event", "生育")
    # Three items: the extra inline row, and two more added with the admin's button.
    page.click(".add-row a")
    page.click(".add-row a")
    page.select_option("#id_items-0-item", str(items["birth_certificate"]))
    page.select_option("#id_items-1-item", str(items["vaccination_certificate"]))
    page.select_option("#id_items-2-item", str(items["household_registration"]))
    page.select_option("#id_items-2-depends_on", [str(items["birth_certificate"])])
    page.click("[name=_continue]")

    page.wait_for_selector("svg.dag")
    assert page.locator("svg.dag .dag-node").count() == 3
    assert page.locator("svg.dag path[marker-end]").count() == 1
    assert "可以发布" in page.content()
    screenshot(page, "admin-bundle-draft")

    page.click("text=发布此版本")
    page.wait_for_selector(".messagelist .success")
    bundle = Bundle.objects.get(code="birth_and_hukou")
    assert bundle.state == "published"
    screenshot(page, "admin-bundle-published")

    # A citizen applies on the web, in another browser session.
    citizen_page = new_page()
    log_in(citizen_page, base, "citizen")
    citizen_page.goto(f"{base}/bundles/birth_and_hukou/")
    assert citizen_page.locator("svg.dag .dag-node").count() == 3
    citizen_page.click("text=开始申请")
    # One step per section of the form, then materials, delivery, review.
    while "/steps/review/" not in citizen_page.url:
        fill_page(citizen_page, web_values(NEWBORN_FORM))
        if citizen_page.locator("#m-parents_id_cards").count():
            pdf = tmp_path / "身份证.pdf"
            pdf.write_bytes(b"%PDF-1.4\n%%EOF\n")
            citizen_page.set_input_files("#m-parents_id_cards", str(pdf))
            screenshot(citizen_page, "citizen-apply-materials")
        citizen_page.click("text=保存并继续")
    citizen_page.click("text=提交申请")
    citizen_page.wait_for_selector("#application-number")
    number = citizen_page.inner_text("#application-number")
    assert number.startswith("YJS")
    screenshot(citizen_page, "citizen-application-submitted")

    application = Application.objects.get(number=number)
    assert application.bundle == bundle
    police_approves(application.pk, api_client(make_staff("police")))
    assert wait_until_finished(application.pk) == "completed"
    citizen_page.reload()
    assert citizen_page.inner_text("#application-status") == "已办结"
    screenshot(citizen_page, "citizen-application-completed")
