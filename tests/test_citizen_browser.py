"""Citizens and businesses on the web, in Debian's headless Chromium: every main page is
checked with axe-core (WCAG 2.2 A/AA) and kept as a screenshot."""

import datetime
from urllib.parse import urlsplit

import pytest

from applications.models import Application, SubTask
from departments.models import Department

from .helpers import (
    NEWBORN_FORM,
    PASSWORD,
    api_client,
    fill_page,
    log_in,
    look,
    sms_code,
    wait_for,
    wait_until_finished,
    web_values,
)
from .schema_values import resident_id, valid_form

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def register(page, base, username, id_number):
    """Fill in the registration form (the one on the page, or a fresh one)."""
    if "/accounts/register/" not in page.url:
        page.goto(f"{base}/accounts/register/")
    values = {
        "username": username,
        "real_name": "陈𠮷䶮",
        "id_number": id_number,
        "mobile": "13912345678",
        "password1": PASSWORD,
        "password2": PASSWORD,
    }
    fill_page(page, values)
    look(page, f"register-{username}")
    page.click("main button[type=submit]")
    # The code texted to the mobile completes it.
    page.wait_for_url("**/accounts/register/verify/")
    look(page, f"register-code-{username}")
    page.fill("#id_code", sms_code("13912345678"))
    page.click("main button[type=submit]")
    page.wait_for_load_state()


def continue_to(page, slug_part):
    page.click("main button:text('保存并继续')")
    page.wait_for_url(f"**/steps/{slug_part}**")


def test_citizen_applies_resumes_supplements_completes_and_rates(
    catalogue, live_server, new_page, make_staff, department_simulator, worker, tmp_path
):
    base = live_server.url
    hosts = set()
    phone = new_page()
    phone.on("request", lambda request: hosts.add(urlsplit(request.url).netloc))

    phone.goto(base)
    look(phone, "home")
    phone.click("text=新生儿出生一件事")
    look(phone, "bundle-newborn")
    phone.click("main button:text('开始申请')")
    look(phone, "login")
    phone.click("main >> text=实名注册")
    register(phone, base, "mother", resident_id(datetime.date(1992, 8, 15), "330106", "004"))
    assert phone.url.endswith("/bundles/newborn/")
    phone.click("main button:text('开始申请')")
    look(phone, "step-items")
    continue_to(phone, "form-1")
    fill_page(phone, web_values(NEWBORN_FORM))
    look(phone, "step-child")
    continue_to(phone, "form-2")
    # A wrong check digit: refused on the field, with the error summary on top.
    fill_page(phone, {"mother.name": "陈𠮷䶮", "mother.id_number": "110101199003070021"})
    phone.click("main button:text('保存并继续')")
    assert phone.locator(".error-summary").is_visible()
    assert "校验位" in phone.inner_text("#f-mother-id-number-error")
    look(phone, "step-parents-error")
    phone.fill("[name='mother.id_number']", NEWBORN_FORM["mother.id_number"])
    phone.click("main button:text('保存，稍后继续')")
    phone.wait_for_url("**/applications/")
    look(phone, "my-applications-draft")

    # Later, on another device: the draft is there, with what was typed.
    laptop = new_page()
    laptop.on("request", lambda request: hosts.add(urlsplit(request.url).netloc))
    log_in(laptop, base, "mother")
    laptop.goto(f"{base}/applications/")
    laptop.click("text=继续填写")
    laptop.click("nav.steps >> text=父母信息")
    assert laptop.input_value("[name='mother.name']") == "陈𠮷䶮"
    assert laptop.input_value("[name='mother.id_number']") == NEWBORN_FORM["mother.id_number"]
    fill_page(laptop, web_values(NEWBORN_FORM))
    while "/steps/materials/" not in laptop.url:
        laptop.click("main button:text('保存并继续')")
        laptop.wait_for_load_state()
        fill_page(laptop, web_values(NEWBORN_FORM))
    pdf, png = tmp_path / "身份证.pdf", tmp_path / "照片.png"
    pdf.write_bytes(b"%PDF-1.4\n%%EOF\n")
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 32)
    laptop.set_input_files("#m-parents_id_cards", str(pdf))
    laptop.set_input_files("#m-child_photo", str(png))
    look(laptop, "step-materials")
    continue_to(laptop, "delivery")
    look(laptop, "step-delivery")
    continue_to(laptop, "review")
    look(laptop, "step-review")
    laptop.click("main button:text('提交申请')")
    laptop.wait_for_selector("#application-number")
    number = laptop.inner_text("#application-number")
    assert number.startswith("YJS") and "年" in laptop.inner_text("#application-deadline")
    look(laptop, "application-submitted")

    # The police ask for the household register; the applicant sees exactly that, and uploads it.
    application = Application.objects.get(number=number)
    household = wait_for(
        lambda: SubTask.objects.filter(
            application=application, item__code="household_registration", status="dispatched"
        ).first(),
        30, 0.2, "the household registration at the police window",
    )  # fmt: skip
    police = api_client(make_staff("police"))
    url = f"/api/v1/subtasks/{household.pk}"
    police.post(f"{url}/accept/")
    asked = police.post(
        f"{url}/request-supplement/",
        {"reason": "户口簿户主页不清晰，请重新上传。", "materials": ["household_register"]},
        format="json",
    )
    assert asked.status_code == 200, asked.content
    laptop.reload()
    assert "户口簿户主页不清晰" in laptop.inner_text(".notice")
    look(laptop, "application-supplement-requested")
    laptop.set_input_files("#s-household_register", str(pdf))
    laptop.click(".notice button:text('提交补正')")
    laptop.wait_for_selector(".flash-success")
    assert SubTask.objects.get(pk=household.pk).status == "accepted"
    police.post(f"{url}/approve/", {"outputs": {"household_number": "330106000777"}}, format="json")

    assert wait_until_finished(application.pk) == "completed"
    laptop.reload()
    assert laptop.inner_text("#application-status") == "已办结"
    with laptop.expect_download() as download:
        laptop.click("text=下载电子证照 >> nth=0")
    assert download.value.path().read_bytes()[:5] == b"%PDF-"
    laptop.check("#score-4")
    laptop.fill("#comment", "一次都没跑，很方便。")
    laptop.click("main button:text('提交评价')")
    assert "满意" in laptop.inner_text("#rating")
    look(laptop, "application-completed-rated")
    laptop.click("header >> text=我的消息")
    assert "全部办结" in laptop.inner_text("main")
    look(laptop, "messages")
    laptop.click("header >> text=办不成事")
    look(laptop, "report")

    # Nothing was asked of any host but the portal itself.
    assert hosts == {urlsplit(base).netloc}


def test_business_user_opens_a_restaurant(
    full_catalogue, live_server, new_page, make_staff, department_simulator, worker, tmp_path
):
    base = live_server.url
    page = new_page()
    # A founder: no enterprise, and so no credit code, yet.
    register(page, base, "boss", resident_id(datetime.date(1985, 1, 2), "440300", "123"))
    page.goto(f"{base}/bundles/open_restaurant/")
    look(page, "bundle-open-restaurant")
    page.click("main button:text('开始申请')")
    bundle = api_client().get("/api/v1/bundles/open_restaurant/").json()
    answers = web_values(valid_form(bundle["form_schema"], datetime.date.today()))
    files = {"pdf": tmp_path / "f.pdf", "png": tmp_path / "f.png", "jpg": tmp_path / "f.jpg"}
    files["pdf"].write_bytes(b"%PDF-1.4\n%%EOF\n")
    files["png"].write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 32)
    files["jpg"].write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 32)
    while "/steps/review/" not in page.url:
        fill_page(page, answers)
        for material in bundle["materials"]:
            if page.locator(f"#m-{material['code']}").count():
                kind = next(t for t in ("pdf", "png", "jpg") if t in material["accepted_types"])
                page.set_input_files(f"#m-{material['code']}", str(files[kind]))
        if "/steps/form-1/" in page.url:
            look(page, "restaurant-step-enterprise")
        page.click("main button:text('保存并继续')")
        page.wait_for_load_state()
        assert not page.locator(".error-summary").count(), page.inner_text(".error-summary")
    page.click("main button:text('提交申请')")
    page.wait_for_selector("#application-number")
    application = Application.objects.get(number=page.inner_text("#application-number"))
    assert application.acting_for is None  # filed by the founder, as an individual

    clerks = {}

    def windows_done():
        for subtask in SubTask.objects.filter(
            application=application, handling="manual", status="dispatched"
        ).select_related("department"):
            code = subtask.department.code
            clerk = clerks.setdefault(code, api_client(make_staff(code)))
            clerk.post(f"/api/v1/subtasks/{subtask.pk}/accept/")
            clerk.post(
                f"/api/v1/subtasks/{subtask.pk}/approve/",
                {"outputs": {"number": "R1"}},
                format="json",
            )
        return Application.objects.get(pk=application.pk).status == "completed"

    assert Department.objects.filter(handling="manual").exists()
    wait_for(windows_done, 60, 0.3, "the restaurant to open")
    page.reload()
    assert page.inner_text("#application-status") == "已办结"
    look(page, "restaurant-completed")
    # The licence issued by its first item made the enterprise, and the founder its agent.
    application.refresh_from_db()
    licence = SubTask.objects.get(application=application, item__code="establishment_registration")
    enterprise = application.acting_for
    assert enterprise.credit_code == licence.outputs["credit_code"]
    assert enterprise.name == answers["enterprise.name"]
    mandate = enterprise.mandates.get(agent__username="boss")
    assert (mandate.status, mandate.proof) == ("verified", "founding")
    page.goto(f"{base}/accounts/me/")
    assert enterprise.credit_code in page.content()
    look(page, "founder-account")
