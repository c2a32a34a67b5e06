"""Window staff and supervisors, in-process on PostgreSQL: who sees what, the actions, time
limits that stop for supplements, walk-ins with 容缺, follow-ups and the dashboard."""

import datetime
import io

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from applications import services
from applications.models import Application, SubTask
from departments.models import Department
from notifications.models import Message
from privacy.models import Disclosure
from workbench import services as workbench_services
from workbench.models import RejectionReason
from workdays.calendar import add_working_days

from .helpers import (
    NEWBORN_FORM,
    PASSWORD,
    PDF,
    PNG,
    api_client,
    apply_newborn,
    register_with_code,
    sign_in_with_second_factor,
    sms_code,
    without_csrf,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def manual(catalogue):
    """Every newborn department at the window, so that staff do each step."""
    Department.objects.update(handling="manual")


def staff(code, role="clerk", username=None):
    user = User.objects.create_user(
        username=username or f"{role}_{code}", password=PASSWORD, role=role, real_name=f"{code}员工"
    )
    if code:
        user.departments.add(Department.objects.get(code=code))
    return user


def submitted_newborn(citizen) -> Application:
    application_id = apply_newborn(api_client(citizen)).json()["id"]
    services.advance(application_id)
    for subtask in SubTask.objects.filter(application_id=application_id, status="ready"):
        services.dispatch(subtask.pk)
    return Application.objects.get(pk=application_id)


def test_a_clerk_sees_and_acts_only_on_their_department_by_page_and_api(client, manual, citizen):
    application = submitted_newborn(citizen)
    birth = application.subtasks.get(item__code="birth_certificate")
    police = staff("police")
    client.force_login(police)
    assert application.number not in client.get("/staff/").content.decode()
    assert client.get(f"/staff/subtasks/{birth.pk}/").status_code == 404
    assert client.post(f"/staff/subtasks/{birth.pk}/accept/").status_code == 404
    assert client.post(f"/staff/subtasks/{birth.pk}/claim/").status_code == 404
    # A part of theirs in the same application: they may print its receipt.
    assert client.get(f"/staff/applications/{application.pk}/receipt/").status_code == 200
    client.force_login(staff("tax"))
    assert client.get(f"/staff/applications/{application.pk}/receipt/").status_code == 403
    assert api_client(police).post(f"/api/v1/subtasks/{birth.pk}/accept/").status_code == 404
    assert SubTask.objects.get(pk=birth.pk).status == "dispatched"
    client.force_login(citizen)
    assert client.get("/staff/").status_code == 403
    client.logout()
    signed_out = client.get(f"/staff/subtasks/{birth.pk}/")
    assert signed_out.status_code == 302 and "next=/staff/subtasks/" in signed_out["Location"]


def test_the_worklist_filters_and_sorts_by_deadline(client, manual, citizen):
    first = submitted_newborn(citizen)
    second = submitted_newborn(citizen)
    SubTask.objects.filter(application=second, item__code="birth_certificate").update(
        deadline=datetime.date(2026, 11, 20)
    )
    health = staff("health")
    client.force_login(health)
    page = client.get("/staff/").content.decode()
    assert page.index(second.number) < page.index(first.number)
    assert "已超期" in page
    overdue = client.get("/staff/", {"due": "overdue"}).content.decode()
    assert second.number in overdue and first.number not in overdue
    accepted = client.get("/staff/", {"status": "accepted"}).content.decode()
    assert first.number not in accepted


def test_claiming_and_acting_with_reasons_outputs_and_supplements(client, manual, citizen):
    application = submitted_newborn(citizen)
    birth = application.subtasks.get(item__code="birth_certificate")
    clerk, colleague = staff("health"), staff("health", username="clerk_health_2")
    submitted_newborn(citizen)  # another part of the clerk's department, which stays unclaimed
    client.force_login(clerk)
    url = f"/staff/subtasks/{birth.pk}"
    client.post(f"{url}/claim/")
    assert SubTask.objects.get(pk=birth.pk).claimed_by == clerk
    assert not SubTask.objects.exclude(pk=birth.pk).filter(claimed_by__isnull=False).exists()
    client.force_login(colleague)
    response = client.post(f"{url}/claim/", follow=True)
    assert "已由" in response.content.decode()
    assert SubTask.objects.get(pk=birth.pk).claimed_by == clerk
    # Claiming one's own part again changes nothing.
    assert workbench_services.claim(birth.pk, clerk).claimed_by == clerk
    client.force_login(clerk)
    client.post(f"{url}/accept/")
    client.post(
        f"{url}/request-supplement/",
        {"reason": "结婚证不清晰", "materials": ["marriage_certificate"]},
    )
    subtask = SubTask.objects.get(pk=birth.pk)
    assert subtask.status == "supplement_requested" and subtask.supplement_materials == [
        "marriage_certificate"
    ]
    upload = io.BytesIO(PDF)
    upload.name = "结婚证.pdf"
    client.force_login(citizen)
    client.post(f"/applications/{application.pk}/supplement/", {"marriage_certificate": upload})
    client.force_login(clerk)
    page = client.get(f"{url}/").content.decode()
    assert "结婚证" in page and "/uploads/" in page
    client.post(f"{url}/approve/", {"output_name_0": "证书编号", "output_value_0": "Q110000123"})
    assert SubTask.objects.get(pk=birth.pk).outputs == {"证书编号": "Q110000123"}
    vaccination = application.subtasks.get(item__code="vaccination_certificate")
    cdc = staff("cdc")
    RejectionReason.objects.create(text="材料不齐全")
    client.force_login(cdc)
    client.post(
        f"/staff/subtasks/{vaccination.pk}/reject/",
        {"reason_choice": "材料不齐全", "reason": "缺接种记录"},
    )
    assert SubTask.objects.get(pk=vaccination.pk).reason == "材料不齐全；缺接种记录"


def test_personal_data_is_masked_and_every_full_view_is_recorded(client, manual, citizen):
    application = submitted_newborn(citizen)
    household = application.subtasks.get(item__code="household_registration")
    services.staff_action(
        application.subtasks.get(item__code="birth_certificate").pk, staff("health"), "accept"
    )
    police = staff("police")
    SubTask.objects.filter(pk=household.pk)  # waiting: the police see it once it is dispatched
    services.staff_action(
        application.subtasks.get(item__code="birth_certificate").pk,
        User.objects.get(username="clerk_health"),
        "approve",
        outputs={"n": "1"},
    )
    services.dispatch(household.pk)
    client.force_login(police)
    page = client.get(f"/staff/subtasks/{household.pk}/").content.decode()
    mother_id = NEWBORN_FORM["mother.id_number"]
    assert mother_id not in page and mother_id[:6] + "********" + mother_id[-4:] in page
    assert "contact.mobile" not in page and "13800138000" not in page  # not this item's field
    page = client.post(f"/staff/subtasks/{household.pk}/reveal/", {"field": "mother.id_number"})
    assert mother_id in page.content.decode()
    log = Disclosure.objects.get(channel="web")
    assert (log.user, log.field, log.subtask_id) == (police, "mother.id_number", household.pk)
    assert (
        client.post(f"/staff/subtasks/{household.pk}/reveal/", {"field": "child.name"}).status_code
        == 403
    )


def test_receipt_and_completion_notice_are_pdfs_with_chinese_text(client, manual, citizen):
    application = submitted_newborn(citizen)
    client.force_login(staff("health"))
    receipt = client.get(f"/staff/applications/{application.pk}/receipt/")
    assert receipt["Content-Type"] == "application/pdf" and receipt.content[:5] == b"%PDF-"
    assert b"FontFile2" in receipt.content or b"STSong" in receipt.content  # the font is in it
    notice = client.get(f"/staff/applications/{application.pk}/notice/")
    assert notice.content[:5] == b"%PDF-"
    client.force_login(citizen)
    assert client.get(f"/applications/{application.pk}/receipt/").content[:5] == b"%PDF-"
    # An administrator, of no department, prints any application's.
    sign_in_with_second_factor(client, User.objects.create_superuser("admin", "a@example.com"))
    later = submitted_newborn(citizen)
    for each in (application, later):
        assert client.get(f"/staff/applications/{each.pk}/receipt/").status_code == 200
    part = application.subtasks.get(item__code="birth_certificate")
    assert client.get(f"/staff/subtasks/{part.pk}/").status_code == 200


def test_the_clock_stops_while_a_supplement_is_awaited(manual, citizen):
    with time_machine.travel("2026-09-28 09:00 +0800", tick=False):  # Monday before 国庆
        form = NEWBORN_FORM | {"child.birth_date": "2026-09-20"}
        application_id = apply_newborn(api_client(citizen), form=form).json()["id"]
        services.advance(application_id)
        services.dispatch(
            SubTask.objects.get(application_id=application_id, item__code="birth_certificate").pk
        )
        application = Application.objects.get(pk=application_id)
        birth = application.subtasks.get(item__code="birth_certificate")
        assert birth.deadline == datetime.date(2026, 9, 29)
        clerk = staff("health")
        services.staff_action(birth.pk, clerk, "accept")
        services.staff_action(birth.pk, clerk, "request-supplement", reason="请补充结婚证")
    # Back on Friday 9 October: 国庆 1–7 October off, so 9/29, 9/30, 10/8 and 10/9 are the
    # four working days the applicant kept the department waiting.
    with time_machine.travel("2026-10-09 10:00 +0800", tick=False):
        services.supply_supplement(application.pk, citizen)
        birth.refresh_from_db()
        application.refresh_from_db()
        assert birth.paused_days == 4
        assert birth.deadline == datetime.date(2026, 10, 10)  # 9/29 + 4 working days (10/10 调休)
        services.staff_action(birth.pk, clerk, "approve", outputs={"n": "1"})
        birth.refresh_from_db()
        # Four working days passed, all of them waiting for the applicant.
        assert birth.working_days_taken == 0


def test_a_walk_in_with_a_material_to_follow_and_the_citizen_supplying_it(client, manual, citizen):
    clerk = staff("police")
    client.force_login(clerk)
    photo, ids = io.BytesIO(PNG), io.BytesIO(PDF)
    photo.name, ids.name = "照片.png", "身份证.pdf"
    person = {"person.real_name": "赵四", "person.mobile": "13900001111"}
    bad = client.post(
        "/staff/walk-in/newborn/",
        {**person, "person.id_number": "110101199003070021", **NEWBORN_FORM},
    )
    assert bad.status_code == 400 and "校验位" in bad.content.decode()
    response = client.post(
        "/staff/walk-in/newborn/",
        {**person, "person.id_number": "330106199208150042", **NEWBORN_FORM,
         "parents_id_cards": ids, "child_photo": photo},
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:2000]
    application = Application.objects.get(
        applicant=User.objects.with_id_number("330106199208150042").get()
    )
    assert "330106199208150042" not in application.applicant.username
    assert application.filed_by == clerk and application.status == "submitted"
    done = client.get(f"/staff/walk-in/done/{application.pk}/").content.decode()
    assert application.number in done
    # Only the clerk who filed it sees that page; and only of what they filed.
    online = apply_newborn(api_client(citizen)).json()["id"]
    assert client.get(f"/staff/walk-in/done/{online}/").status_code == 404
    client.force_login(staff("police", username="clerk_police_2"))
    assert client.get(f"/staff/walk-in/done/{application.pk}/").status_code == 404
    assert application.pending_materials == ["household_register"] and application.pending_due
    assert not application.applicant.has_usable_password()
    # The citizen claims the account online with the same name and number, then supplies it.
    # The code goes to the mobile recorded at the window.
    client.logout()
    register_with_code(client, {
        "username": "zhaosi", "real_name": "赵四", "id_number": "330106199208150042",
        "mobile": "13900001111", "password1": PASSWORD, "password2": PASSWORD,
        "account_type": "individual",
    })  # fmt: skip
    assert User.objects.get(username="zhaosi").pk == application.applicant_id
    client.force_login(User.objects.get(username="zhaosi"))
    page = client.get(f"/applications/{application.pk}/").content.decode()
    assert "待补交的材料" in page
    register = io.BytesIO(PDF)
    register.name = "户口簿.pdf"
    client.post(f"/applications/{application.pk}/materials/", {"household_register": register})
    application.refresh_from_db()
    assert application.pending_materials == [] and application.pending_due is None


def test_staff_are_warned_of_parts_near_their_time_limit_once_a_day(manual, citizen):
    from workbench.tasks import warn_due_soon

    application = submitted_newborn(citizen)
    SubTask.objects.filter(application=application, item__code="birth_certificate").update(
        deadline=datetime.date.today()
    )
    clerk = staff("health")
    assert warn_due_soon() == 1 and warn_due_soon() == 0
    message = Message.objects.get(user=clerk, kind="due_soon")
    assert application.number in message.body


def test_a_supervisor_answers_a_follow_up_and_the_citizen_is_told(client, manual, citizen):
    from feedback.services import report_cannot_get_done

    follow_up = report_cannot_get_done(citizen, "窗口说系统不通")
    department_supervisor = staff("police", role="department_supervisor")
    client.force_login(department_supervisor)
    assert client.get(f"/staff/follow-ups/{follow_up.pk}/").status_code == 404  # the centre's
    centre = staff("", role="centre_supervisor", username="centre")
    client.force_login(centre)
    assert "窗口说系统不通" in client.get("/staff/follow-ups/").content.decode()
    client.post(
        f"/staff/follow-ups/{follow_up.pk}/answer/", {"resolution": "已协调系统恢复，请明日办理。"}
    )
    follow_up.refresh_from_db()
    assert follow_up.status == "answered" and follow_up.handled_by == centre
    assert Message.objects.filter(user=citizen, kind="follow_up_answered").exists()
    client.force_login(staff("health"))
    assert client.get("/staff/follow-ups/").status_code == 403


def test_dashboard_figures_csv_and_a_constant_number_of_queries(client, manual, citizen):
    supervisor = staff("", role="centre_supervisor", username="centre")
    client.force_login(supervisor)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/staff/dashboard/", {"fresh": "1"}).status_code == 200
        return len(captured)

    submitted_newborn(citizen)
    queries()  # the first look fills the cache of promised days, which never goes stale
    few = queries()
    for _ in range(5):
        submitted_newborn(citizen)
    assert queries() == few
    page = client.get("/staff/dashboard/").content.decode()
    assert "<svg" in page and 'data-code="newborn"' in page
    csv = client.get("/staff/dashboard/", {"format": "csv", "table": "departments", "fresh": "1"})
    text = csv.content.decode("utf-8")
    assert text.startswith("\ufeff") and "卫生健康委员会" in text and "公安局" in text
    bundles = client.get("/staff/dashboard/", {"format": "csv"}).content.decode("utf-8")
    assert "新生儿出生一件事,6," in bundles  # received
    # Served from the snapshot: a new application shows after the next refresh.
    submitted_newborn(citizen)
    assert (
        "新生儿出生一件事,6," in client.get("/staff/dashboard/", {"format": "csv"}).content.decode()
    )
    from supervision.tasks import refresh_dashboards

    assert refresh_dashboards() == 5  # five periods, the centre's only scope
    with CaptureQueriesContext(connection) as served:
        bundles = client.get("/staff/dashboard/", {"format": "csv"}).content.decode("utf-8")
    assert "新生儿出生一件事,7," in bundles and len(served) < few
    client.force_login(staff("police"))
    assert client.get("/staff/dashboard/").status_code == 403


def test_staff_record_the_tracking_number_of_a_mailed_result(client, manual, citizen):
    application = submitted_newborn(citizen)
    birth = application.subtasks.get(item__code="birth_certificate")
    client.force_login(staff("health"))
    response = client.post(
        f"/staff/subtasks/{birth.pk}/tracking/", {"tracking_number": "SF1234567890"}, follow=True
    )
    assert "没有选择邮寄送达" in response.content.decode()
    Application.objects.filter(pk=application.pk).update(
        delivery={
            "method": "mail",
            "recipient": "王小梅",
            "mobile": "13800138000",
            "address": "北京",
        }
    )
    client.post(f"/staff/subtasks/{birth.pk}/tracking/", {"tracking_number": "SF1234567890"})
    assert Application.objects.get(pk=application.pk).tracking_number == "SF1234567890"
    assert Message.objects.filter(
        user=citizen, kind="mailed", body__contains="SF1234567890"
    ).exists()
    client.force_login(citizen)
    assert "SF1234567890" in client.get(f"/applications/{application.pk}/").content.decode()


def test_a_window_account_is_taken_over_only_with_the_code_sent_to_its_mobile(client, manual):
    walk_in = User(real_name="赵四", id_number="330106199208150042", mobile="13900001111")
    walk_in.username = "w-walk-in"
    walk_in.set_unusable_password()
    walk_in.save()
    form = {
        "username": "stranger", "real_name": "赵四", "id_number": "330106199208150042",
        "mobile": "13700000000", "password1": PASSWORD, "password2": PASSWORD,
        "account_type": "individual",
    }  # fmt: skip
    # A stranger who knows the name and number but not the mobile gets the same answer as
    # anyone — and no code, so the account stays the walk-in's.
    answers = {}
    for mobile in ("13700000000", "13900001111", "13600000000"):
        name = "赵四" if mobile != "13600000000" else "赵五"
        response = client.post("/accounts/register/", form | {"mobile": mobile, "real_name": name})
        assert response.status_code == 302
        page = without_csrf(client.get(response["Location"]).content.decode())
        answers[mobile] = page.replace(mobile[:3] + "****" + mobile[-4:], "MOBILE")
        if mobile == "13700000000":
            # Nor is the holder's phone sent a code someone else asked for.
            assert sms_code("13900001111") is None
    assert len(set(answers.values())) == 1
    assert sms_code("13700000000") is None and sms_code("13600000000") is None
    response = client.post("/accounts/register/verify/", {"code": "123456"})
    assert response.status_code == 400 and "验证码不正确" in response.content.decode()
    assert not User.objects.filter(username="stranger").exists()
    assert not User.objects.get(pk=walk_in.pk).has_usable_password()
    # Guessing has a limit: after five wrong codes even the right one is refused.
    client.post("/accounts/register/", form | {"mobile": "13900001111"})
    for _attempt in range(5):
        client.post("/accounts/register/verify/", {"code": "000000"})
    right = sms_code("13900001111")
    assert client.post("/accounts/register/verify/", {"code": right}).status_code == 400
    assert not User.objects.get(pk=walk_in.pk).has_usable_password()


def test_two_parts_awaiting_the_applicant_at_once_stop_the_application_clock_once(manual, citizen):
    with time_machine.travel("2026-09-28 09:00 +0800", tick=False):
        form = NEWBORN_FORM | {"child.birth_date": "2026-09-20"}
        application_id = apply_newborn(api_client(citizen), form=form).json()["id"]
        services.advance(application_id)
        for subtask in SubTask.objects.filter(application_id=application_id, status="ready"):
            services.dispatch(subtask.pk)
        promised = Application.objects.get(pk=application_id).deadline
        for code, department in (
            ("birth_certificate", "health"),
            ("vaccination_certificate", "cdc"),
        ):
            part = SubTask.objects.get(application_id=application_id, item__code=code)
            clerk = staff(department)
            services.staff_action(part.pk, clerk, "accept")
            services.staff_action(part.pk, clerk, "request-supplement", reason="请补充材料")
        assert Application.objects.get(pk=application_id).status == "supplement_requested"
    with time_machine.travel("2026-10-09 10:00 +0800", tick=False):
        services.supply_supplement(application_id, citizen)
    application = Application.objects.get(pk=application_id)
    assert application.status == "in_progress" and application.paused_days == 4
    assert application.deadline == add_working_days(promised, 4)


def test_a_walk_in_is_not_filed_into_an_online_account_with_another_mobile(client, manual):
    """Someone opened an account online with this person's ID number and a mobile of their
    own: the window refuses to file the person's application into it."""
    squatter = User.objects.create_user(
        "squatter", password=PASSWORD, real_name="赵四", id_number="330106199208150042",
        mobile="13700000000",
    )  # fmt: skip
    client.force_login(staff("police"))
    response = client.post(
        "/staff/walk-in/newborn/",
        {"person.real_name": "赵四", "person.mobile": "13900001111",
         "person.id_number": "330106199208150042", **NEWBORN_FORM},
    )  # fmt: skip
    assert response.status_code == 400 and "手机号码与账户登记的不一致" in response.content.decode()
    assert not Application.objects.filter(applicant=squatter).exists()


def test_a_claim_with_other_details_warns_the_window_account_s_holder(client, manual):
    walk_in = User(real_name="赵四", id_number="330106199208150042", mobile="13900001111")
    walk_in.username = "w-holder"
    walk_in.set_unusable_password()
    walk_in.save()
    client.post("/accounts/register/", {
        "username": "stranger", "real_name": "赵四", "id_number": "330106199208150042",
        "mobile": "13700000000", "password1": PASSWORD, "password2": PASSWORD,
        "account_type": "individual",
    })  # fmt: skip
    from notifications.senders import outbox

    texts = [line for line in outbox.tail(10) if "13900001111" in line]
    assert len(texts) == 1 and "未能认领" in texts[0] and sms_code("13900001111") is None
