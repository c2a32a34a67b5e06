"""The Content-Security-Policy in a real browser: Swagger UI and the admin work under it, and
the browser tests' check (in the ``new_page`` fixture) notices anything it blocks."""

from urllib.parse import urlsplit

import pytest

from accounts.models import User
from bundles.models import Bundle

from .helpers import PASSWORD, admin_log_in, screenshot

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_swagger_ui_renders_the_api_s_operations(live_server, page):
    hosts = set()
    page.on("request", lambda request: hosts.add(urlsplit(request.url).netloc))
    page.goto(f"{live_server.url}/api/docs/")
    page.wait_for_selector(".opblock")
    assert page.locator(".opblock").count() >= 10
    assert page.locator(".opblock-summary-path", has_text="/api/v1/applications/").count()
    # An operation opens, showing its parameters: Swagger UI's script runs.
    page.locator(".opblock-summary", has_text="/api/v1/bundles/").first.click()
    page.wait_for_selector(".opblock.is-open .parameters-container, .opblock.is-open .opblock-body")
    screenshot(page, "api-docs")
    assert hosts == {urlsplit(live_server.url).netloc}


def test_the_admin_s_bundle_and_user_pages_work(live_server, catalogue, page):
    User.objects.create_superuser("boss", "boss@example.org", PASSWORD)
    bundle = Bundle.objects.get(code="newborn")
    base = live_server.url
    admin_log_in(page, base, "boss")

    page.goto(f"{base}/admin/bundles/bundle/{bundle.pk}/change/")
    page.wait_for_selector("svg.dag")
    assert page.locator("svg.dag .dag-node").count() == len(bundle.bundle_items())
    assert page.locator("text=修改：创建新草稿版本").count() == 1
    screenshot(page, "admin-bundle-change")

    # The user form's many-to-many pickers are built by the admin's scripts.
    page.goto(f"{base}/admin/accounts/user/{User.objects.get(username='boss').pk}/change/")
    page.wait_for_selector("#id_departments_from")
    page.select_option("#id_role", "centre_supervisor")
    page.click("[name=_continue]")
    page.wait_for_selector(".messagelist .success")
    assert User.objects.get(username="boss").role == "centre_supervisor"


def test_a_blocked_inline_style_fails_a_browser_test(live_server, new_page):
    """The fixture's check itself: the policy is enforced, and what it blocks is caught."""
    page = new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    assert not new_page.collected_violations()
    page.evaluate("document.querySelector('main').innerHTML += '<p style=\"color: red\">x</p>'")
    violations = new_page.collected_violations()
    assert len(violations) == 1 and "style" in violations[0], violations
    # Forgotten, so that this test itself passes.
    violations.clear()
