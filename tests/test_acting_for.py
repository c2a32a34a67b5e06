"""Acting for an enterprise must be proven: pending mandates file nothing; the legal
representative confirms online, or a market-regulation clerk at the window; founders become
agents when the portal issues the licence."""

import pytest
from django.test import Client

from accounts.models import Enterprise, Mandate, User
from applications import services
from applications.models import Application, SubTask
from departments.models import Department

from .helpers import PASSWORD, api_client, file_application, register_with_code
from .schema_values import credit_code, resident_id

pytestmark = pytest.mark.django_db

CODE = credit_code("91440300MA5F00001")
REP_ID = "110105198001010016"
REP_MOBILE = "13922220000"


def _agent_form(
    username, id_number, mobile, code=CODE, name="深圳市示例科技有限公司", real_name=""
):
    return {
        "username": username, "real_name": real_name or "经办人" + username, "id_number": id_number,
        "mobile": mobile, "password1": PASSWORD, "password2": PASSWORD,
        "account_type": "enterprise", "credit_code": code, "enterprise_name": name,
    }  # fmt: skip


def _register_agent(
    client, username="agent", id_number="110101199001010015", mobile="13911110000", real_name=""
):
    register_with_code(client, _agent_form(username, id_number, mobile, real_name=real_name))
    return User.objects.get(username=username)


def test_a_pending_mandate_files_nothing_in_the_enterprise_s_name(client, full_catalogue):
    agent = _register_agent(client)
    mandate = Mandate.objects.get(agent=agent)
    assert mandate.status == "pending" and mandate.enterprise.credit_code == CODE
    page = client.get("/accounts/me/").content.decode()
    assert "待确认" in page and "市场监管窗口" in page
    response = file_application(api_client(agent), "enterprise_change", enterprise=CODE)
    assert response.status_code == 400
    assert "尚待确认" in response.json()["errors"]["enterprise"][0]
    # Without naming it, the same answer; and nothing was saved.
    response = file_application(api_client(agent), "enterprise_change")
    assert "尚待确认" in response.json()["errors"]["enterprise"][0]
    assert not Application.objects.exists()
    # Someone else's enterprise is refused as before.
    other = file_application(api_client(agent), "enterprise_change", enterprise=credit_code())
    assert "不是该企业的经办人" in other.json()["errors"]["enterprise"][0]


def test_the_recorded_legal_representative_confirms_an_agent_online(client, full_catalogue):
    enterprise = Enterprise.objects.create(
        credit_code=CODE, name="深圳市示例科技有限公司", legal_rep_name="林法人",
        legal_rep_id_number=REP_ID, legal_rep_mobile=REP_MOBILE,
    )  # fmt: skip
    agent = _register_agent(client)
    mandate = Mandate.objects.get(agent=agent)
    # The legal representative, with an account of their own, sees the request.
    rep = User.objects.create_user(
        "rep", password=PASSWORD, real_name="林法人", id_number=REP_ID, mobile="13922220000"
    )
    stranger = User.objects.create_user(
        "stranger", password=PASSWORD, real_name="路人", id_number=resident_id_of(1988)
    )
    client.force_login(stranger)
    assert (
        client.post(f"/accounts/mandates/{mandate.pk}/answer/", {"answer": "accept"}).status_code
        == 404
    )
    assert Mandate.objects.get(pk=mandate.pk).status == "pending"
    client.force_login(rep)
    page = client.get("/accounts/me/").content.decode()
    assert "待您确认的经办人" in page and agent.real_name in page
    assert (
        client.post(f"/accounts/mandates/{mandate.pk}/answer/", {"answer": "accept"}).status_code
        == 302
    )
    mandate = Mandate.objects.get(pk=mandate.pk)
    assert (mandate.status, mandate.proof, mandate.decided_by) == ("verified", "legal_rep", rep)
    response = file_application(api_client(agent), "enterprise_change")
    assert response.status_code == 200, response.content
    assert Application.objects.get().acting_for == enterprise
    # The legal representative withdraws it: the agent's next filing is refused, and so is
    # the submission of a draft begun before.
    draft = file_application(api_client(agent), "enterprise_change", submit=False).json()
    client.post(f"/accounts/mandates/{mandate.pk}/revoke/")
    assert Mandate.objects.get(pk=mandate.pk).status == "revoked"
    refused = api_client(agent).post(f"/api/v1/applications/{draft['id']}/submit/")
    assert refused.status_code == 409
    assert file_application(api_client(agent), "enterprise_change").status_code == 400


def resident_id_of(year: int) -> str:
    import datetime

    return resident_id(datetime.date(year, 3, 4), "110101", "021")


def test_registering_as_the_recorded_legal_representative_needs_no_confirmation(
    client, full_catalogue
):
    Enterprise.objects.create(
        credit_code=CODE, name="深圳市示例科技有限公司", legal_rep_name="林法人",
        legal_rep_id_number=REP_ID, legal_rep_mobile=REP_MOBILE,
    )  # fmt: skip
    rep = _register_agent(client, "rep", REP_ID, REP_MOBILE, real_name="林法人")
    mandate = Mandate.objects.get(agent=rep)
    assert (mandate.status, mandate.proof) == ("verified", "legal_rep_self")


def test_knowing_the_legal_representative_s_id_number_proves_nothing(client, full_catalogue):
    """Someone registers with the recorded legal representative's name and ID number but a
    mobile of their own: no mandate, no power to confirm anyone."""
    Enterprise.objects.create(
        credit_code=CODE, name="深圳市示例科技有限公司", legal_rep_name="林法人",
        legal_rep_id_number=REP_ID, legal_rep_mobile=REP_MOBILE,
    )  # fmt: skip
    impostor = _register_agent(client, "impostor", REP_ID, "13955550000", real_name="林法人")
    assert Mandate.objects.get(agent=impostor).status == "pending"
    agent = _register_agent(Client(), "agent", "110101199001010015", "13911110000")
    pending = Mandate.objects.get(agent=agent)
    client.force_login(impostor)
    assert "待您确认的经办人" not in client.get("/accounts/me/").content.decode()
    answer = client.post(f"/accounts/mandates/{pending.pk}/answer/", {"answer": "accept"})
    assert answer.status_code == 404
    assert Mandate.objects.get(pk=pending.pk).status == "pending"
    assert file_application(api_client(impostor), "enterprise_deregistration").status_code == 400


def test_a_market_regulation_clerk_verifies_at_the_window(client, full_catalogue, make_staff):
    agent = _register_agent(client)
    mandate = Mandate.objects.get(agent=agent)
    police = make_staff("police")
    client.force_login(police)
    assert client.get("/staff/mandates/").status_code == 403
    assert (
        client.post(f"/staff/mandates/{mandate.pk}/decide/", {"decision": "verify"}).status_code
        == 403
    )
    clerk = make_staff("market_regulation")
    client.force_login(clerk)
    page = client.get("/staff/mandates/", {"q": CODE[:8]}).content.decode()
    assert "深圳市示例科技有限公司" in page
    # Not without saying the licence and the authorisation were seen.
    client.post(f"/staff/mandates/{mandate.pk}/decide/", {"decision": "verify"})
    assert Mandate.objects.get(pk=mandate.pk).status == "pending"
    client.post(
        f"/staff/mandates/{mandate.pk}/decide/",
        {"decision": "verify", "checked": "on", "legal_rep_name": "林法人",
         "legal_rep_id_number": REP_ID, "legal_rep_mobile": REP_MOBILE},
    )  # fmt: skip
    mandate = Mandate.objects.get(pk=mandate.pk)
    assert (mandate.status, mandate.proof, mandate.decided_by) == ("verified", "window", clerk)
    enterprise = mandate.enterprise
    enterprise = Enterprise.objects.get(pk=enterprise.pk)
    assert enterprise.legal_rep_id_number == REP_ID and enterprise.legal_rep_name == "林法人"
    assert file_application(api_client(agent), "enterprise_change").status_code == 200
    # A second agent can now be confirmed online by that legal representative.
    second = _register_agent(type(client)(), "second", resident_id_of(1991), "13933330000")
    rep = User.objects.create_user(
        "rep", password=PASSWORD, real_name="林法人", id_number=REP_ID, mobile=REP_MOBILE
    )
    services_answer = client.__class__()
    services_answer.force_login(rep)
    pending = Mandate.objects.get(agent=second)
    services_answer.post(f"/accounts/mandates/{pending.pk}/answer/", {"answer": "accept"})
    assert Mandate.objects.get(pk=pending.pk).status == "verified"


def test_a_refusal_at_the_window_needs_a_reason(client, full_catalogue, make_staff):
    agent = _register_agent(client)
    mandate = Mandate.objects.get(agent=agent)
    client.force_login(make_staff("market_regulation"))
    client.post(f"/staff/mandates/{mandate.pk}/decide/", {"decision": "refuse"})
    assert Mandate.objects.get(pk=mandate.pk).status == "pending"
    client.post(
        f"/staff/mandates/{mandate.pk}/decide/", {"decision": "refuse", "note": "授权书无盖章"}
    )
    mandate = Mandate.objects.get(pk=mandate.pk)
    assert (mandate.status, mandate.note) == ("refused", "授权书无盖章")


def test_a_founder_becomes_the_new_enterprise_s_agent_when_the_licence_is_issued(
    full_catalogue, make_citizen, make_staff
):
    Department.objects.filter(code="market_regulation").update(handling="manual")
    founder = make_citizen("founder", resident_id_of(1985), "陈创业")
    response = file_application(
        api_client(founder), "open_restaurant",
        form={"enterprise.name": "杭州小𠮷餐饮有限公司", "legal_rep.name": "陈创业",
              "legal_rep.id_number": founder.id_number},
    )  # fmt: skip
    assert response.status_code == 200, response.content
    application = Application.objects.get()
    assert application.acting_for is None and not founder.mandates.exists()
    services.advance(application.pk)
    licence = SubTask.objects.get(application=application, item__code="establishment_registration")
    services.dispatch(licence.pk)
    clerk = api_client(make_staff("market_regulation"))
    assert clerk.post(f"/api/v1/subtasks/{licence.pk}/accept/").status_code == 200
    # The licence cannot be issued without its credit code, checked like a form field.
    missing = clerk.post(f"/api/v1/subtasks/{licence.pk}/approve/", {"outputs": {}}, format="json")
    assert missing.status_code == 400 and "outputs.credit_code" in missing.json()["errors"]
    wrong = clerk.post(
        f"/api/v1/subtasks/{licence.pk}/approve/",
        {"outputs": {"credit_code": CODE[:-1] + ("0" if CODE[-1] != "0" else "1")}},
        format="json",
    )
    assert wrong.status_code == 400 and "校验" in wrong.json()["errors"]["outputs.credit_code"][0]
    assert SubTask.objects.get(pk=licence.pk).status == "accepted"
    issued = clerk.post(
        f"/api/v1/subtasks/{licence.pk}/approve/", {"outputs": {"credit_code": CODE}}, format="json"
    )
    assert issued.status_code == 200, issued.content
    enterprise = Enterprise.objects.get(credit_code=CODE)
    assert enterprise.name == "杭州小𠮷餐饮有限公司"
    assert enterprise.legal_rep_name == "陈创业" and enterprise.is_legal_rep(founder)
    mandate = founder.mandates.get()
    assert (mandate.enterprise, mandate.status, mandate.proof) == (
        enterprise,
        "verified",
        "founding",
    )
    assert Application.objects.get(pk=application.pk).acting_for == enterprise
    # And the founder files for the enterprise from now on.
    assert file_application(api_client(founder), "enterprise_change").status_code == 200


def test_a_department_reporting_a_licence_without_its_credit_code_leaves_it_to_staff(
    full_catalogue, make_citizen
):
    from departments.connectors import CaseReport

    founder = make_citizen("founder", resident_id_of(1985), "陈创业")
    file_application(api_client(founder), "open_restaurant")
    application = Application.objects.get()
    services.advance(application.pk)
    licence = SubTask.objects.get(application=application, item__code="establishment_registration")
    services.apply_department_report(licence.pk, CaseReport("C1", "approved", {"number": "1"}))
    licence.refresh_from_db()
    assert licence.status == "failed" and "统一社会信用代码" in licence.last_error
    assert not Enterprise.objects.filter(mandates__agent=founder).exists()


def test_the_form_names_the_proven_enterprise_whatever_is_typed(citizen, full_catalogue):
    """An agent of one enterprise cannot tell the departments it files for another."""
    own, victim = "91110000600037341L", credit_code("91440300MA5F00002")
    api = api_client(citizen)
    created = file_application(
        api, "enterprise_change", enterprise=own,
        form={"enterprise.credit_code": victim, "enterprise.name": "别人的公司"}, submit=False,
    )  # fmt: skip
    assert created.status_code == 201, created.content
    draft = Application.objects.get(pk=created.json()["id"])
    assert draft.form["enterprise.credit_code"] == own
    assert draft.form["enterprise.name"] == "北京示例餐饮有限公司"
    api.patch(
        f"/api/v1/applications/{draft.pk}/",
        {"form": {"enterprise.credit_code": victim}},
        format="json",
    )
    assert Application.objects.get(pk=draft.pk).form["enterprise.credit_code"] == own


def test_a_licence_may_not_name_an_established_enterprise(full_catalogue, make_citizen, make_staff):
    """A founding licence whose credit code is an existing enterprise's (a typo is enough) is
    refused: it would rename that enterprise and make the founder its agent."""
    from departments.connectors import CaseReport

    established = Enterprise.objects.create(
        credit_code=CODE, name="老字号有限公司", legal_rep_name="林法人",
        legal_rep_id_number=REP_ID, legal_rep_mobile=REP_MOBILE,
    )  # fmt: skip
    Department.objects.filter(code="market_regulation").update(handling="manual")
    founder = make_citizen("founder", resident_id_of(1985), "陈创业")
    file_application(api_client(founder), "open_restaurant")
    application = Application.objects.get()
    services.advance(application.pk)
    licence = SubTask.objects.get(application=application, item__code="establishment_registration")
    services.dispatch(licence.pk)
    clerk = api_client(make_staff("market_regulation"))
    clerk.post(f"/api/v1/subtasks/{licence.pk}/accept/")
    refused = clerk.post(
        f"/api/v1/subtasks/{licence.pk}/approve/", {"outputs": {"credit_code": CODE}}, format="json"
    )
    assert refused.status_code == 400 and "已属于已登记的企业" in refused.json()["detail"]
    assert SubTask.objects.get(pk=licence.pk).status == "accepted"
    assert Enterprise.objects.get(pk=established.pk).name == "老字号有限公司"
    assert not founder.mandates.exists()
    # A department system reporting such a licence leaves the part to staff.
    Department.objects.filter(code="market_regulation").update(handling="http")
    SubTask.objects.filter(pk=licence.pk).update(
        handling="http", status="dispatched", case_ref="C9"
    )
    services.apply_department_report(
        licence.pk, CaseReport("C9", "approved", {"credit_code": CODE})
    )
    licence.refresh_from_db()
    assert licence.status == "failed" and "已属于已登记的企业" in licence.last_error
    assert not founder.mandates.exists()


def test_the_legal_representative_is_told_of_a_request_to_act_for_the_enterprise(
    client, full_catalogue
):
    from notifications.models import Message

    Enterprise.objects.create(
        credit_code=CODE, name="深圳市示例科技有限公司", legal_rep_name="林法人",
        legal_rep_id_number=REP_ID, legal_rep_mobile=REP_MOBILE,
    )  # fmt: skip
    rep = User.objects.create_user(
        "rep", password=PASSWORD, real_name="林法人", id_number=REP_ID, mobile=REP_MOBILE
    )
    agent = _register_agent(client)
    told = Message.objects.get(user=rep, kind="mandate_requested")
    assert agent.real_name in told.body and "我的账户" in told.body
    client.force_login(rep)
    assert agent.real_name in client.get("/messages/").content.decode()


def test_an_agent_of_several_enterprises_names_the_one_filed_for(citizen, full_catalogue):
    """With two proven mandates the enterprise must be named (in any case, with spaces);
    an enterprise the agent does not act for is refused, whatever else they act for."""
    second = Enterprise.objects.create(credit_code=CODE, name="深圳市示例科技有限公司")
    mandate = Mandate.objects.create(agent=citizen, enterprise=second)
    mandate.verify(Mandate.Proof.WINDOW, note="test set-up")
    mandate.save()
    api = api_client(citizen)
    unnamed = file_application(api, "enterprise_change")
    assert "多个企业" in unnamed.json()["errors"]["enterprise"][0]
    stranger = file_application(
        api, "enterprise_change", enterprise=credit_code("91440300MA5F00009")
    )
    assert "不是该企业的经办人" in stranger.json()["errors"]["enterprise"][0]
    named = file_application(api, "enterprise_change", enterprise=f" {CODE.lower()} ")
    assert named.status_code == 200, named.content
    assert Application.objects.get().acting_for == second
