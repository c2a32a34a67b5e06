"""Who may act for an enterprise, rule by rule: the account services and models alone, on the
database but without a catalogue (test_acting_for runs the same rules through the pages, the
API and a founding licence)."""

import datetime

import pytest
import time_machine

from accounts import services
from accounts.models import Enterprise, Mandate, User
from departments.models import Department
from notifications.models import Message
from portal.paging import PAGE_SIZE

from .helpers import PASSWORD
from .schema_values import credit_code

pytestmark = pytest.mark.django_db

CODE = credit_code("91440300MA5F00001")
OTHER_CODE = credit_code("91440300MA5F00002")
REP = {"real_name": "林法人", "id_number": "110105198001010016", "mobile": "13922220000"}


def person(username, real_name="经办人", id_number="", mobile="", **extra) -> User:
    return User.objects.create_user(
        username, password=PASSWORD, real_name=real_name, id_number=id_number, mobile=mobile,
        **extra,
    )  # fmt: skip


def recorded_enterprise(code=CODE, name="深圳市示例科技有限公司", **rep) -> Enterprise:
    """An enterprise with its legal representative as market regulation recorded them."""
    rep = REP | rep
    return Enterprise.objects.create(
        credit_code=code, name=name, legal_rep_name=rep["real_name"],
        legal_rep_id_number=rep["id_number"], legal_rep_mobile=rep["mobile"],
    )  # fmt: skip


def status_of(mandate) -> str:
    return Mandate.objects.get(pk=mandate.pk).status


# --- the legal representative ----------------------------------------------------------------
def test_the_legal_representative_is_the_recorded_id_number_name_and_mobile_together():
    enterprise = recorded_enterprise()
    account = person("rep", **REP)
    assert enterprise.is_legal_rep(account)
    for field, other in (
        ("id_number", "110101199001010015"),
        ("real_name", "林某"),
        ("mobile", "13955550000"),
    ):
        setattr(account, field, other)
        account.save()
        assert not enterprise.is_legal_rep(User.objects.get(pk=account.pk)), field
        setattr(account, field, REP[field])
        account.save()
    assert enterprise.is_legal_rep(User.objects.get(pk=account.pk))


def test_nobody_is_the_legal_representative_of_an_enterprise_recorded_without_a_mobile():
    """Without a recorded mobile nothing proves an account is the legal representative's:
    not even an account with the same name, ID number and no mobile either."""
    enterprise = recorded_enterprise(mobile="")
    assert not enterprise.is_legal_rep(person("rep", **(REP | {"mobile": ""})))
    nobody = Enterprise.objects.create(credit_code=OTHER_CODE, name="无登记")
    assert not nobody.is_legal_rep(person("blank"))


# --- asking to act for an enterprise ---------------------------------------------------------
def test_a_request_stays_pending_and_the_legal_representative_is_told():
    enterprise = recorded_enterprise()
    rep = person("rep", **REP)
    agent = person("agent", real_name="钱经办")
    mandate = services.request_mandate(agent, CODE, "")
    assert (mandate.status, mandate.enterprise) == ("pending", enterprise)
    assert list(services.verified_enterprises(agent)) == []
    told = Message.objects.get(user=rep, kind="mandate_requested")
    assert "钱经办" in told.body and enterprise.name in told.body
    assert not Message.objects.filter(user=agent).exists()


def test_the_recorded_legal_representative_s_own_request_is_proven_at_once():
    recorded_enterprise()
    rep = person("rep", **REP)
    mandate = services.request_mandate(rep, CODE.lower(), "")
    assert (mandate.status, mandate.proof, mandate.decided_by) == (
        "verified",
        "legal_rep_self",
        rep,
    )
    assert not Message.objects.exists()  # nobody to ask


def test_a_new_enterprise_needs_its_name_cut_to_what_the_register_holds():
    agent = person("agent")
    with pytest.raises(services.AccountRefused) as refused:
        services.request_mandate(agent, CODE, "  ")
    assert "enterprise_name" in refused.value.errors
    assert not Enterprise.objects.exists()
    with pytest.raises(services.AccountRefused) as refused:
        services.request_mandate(agent, CODE[:-1] + "X", "某公司")
    assert "credit_code" in refused.value.errors
    services.request_mandate(agent, CODE, " 某" + "长" * 120)
    assert Enterprise.objects.get().name == "某" + "长" * 99


def test_a_refused_or_revoked_mandate_may_be_asked_for_again():
    recorded_enterprise()
    rep = person("rep", **REP)
    agent = person("agent")
    first = services.request_mandate(agent, CODE, "")
    services.answer_as_legal_rep(first.pk, rep, accept=False)
    again = services.request_mandate(agent, CODE, "")
    assert again.pk == first.pk and again.status == "pending" and not again.decided_by
    services.answer_as_legal_rep(again.pk, rep, accept=True)
    services.revoke(again.pk, agent)
    assert services.request_mandate(agent, CODE, "").status == "pending"


def test_only_proven_mandates_of_the_user_count_as_their_enterprises(make_staff):
    recorded_enterprise()
    Enterprise.objects.create(credit_code=OTHER_CODE, name="A 另一家公司")
    agent, other = person("agent"), person("other")
    rep = person("rep", **REP)
    mine = services.request_mandate(agent, CODE, "")
    services.request_mandate(agent, OTHER_CODE, "")  # pending
    theirs = services.request_mandate(other, OTHER_CODE, "")
    services.verify_at_window(
        theirs.pk, make_staff("market_regulation", "clerk"), True, checked=True
    )
    assert list(services.verified_enterprises(agent)) == []
    services.answer_as_legal_rep(mine.pk, rep, accept=True)
    assert [e.credit_code for e in services.verified_enterprises(agent)] == [CODE]
    assert [e.credit_code for e in services.verified_enterprises(other)] == [OTHER_CODE]


# --- the legal representative answers --------------------------------------------------------
def test_the_legal_representative_sees_and_answers_pending_requests_only():
    enterprise = recorded_enterprise()
    rep = person("rep", **REP)
    first, second = person("first"), person("second")
    waiting = services.request_mandate(first, CODE, "")
    answered = services.request_mandate(second, CODE, "")
    assert set(services.awaiting_legal_rep(rep)) == {waiting, answered}
    refusal = services.answer_as_legal_rep(answered.pk, rep, accept=False, note="不认识" * 100)
    assert refusal.status == "refused"
    assert list(services.awaiting_legal_rep(rep)) == [waiting]
    answered = Mandate.objects.get(pk=answered.pk)
    assert (answered.status, answered.decided_by) == ("refused", rep)
    assert answered.note == ("不认识" * 100)[:200]
    assert services.answer_as_legal_rep(waiting.pk, rep, True, "同意" * 150).status == "verified"
    waiting = Mandate.objects.get(pk=waiting.pk)
    assert (waiting.status, waiting.proof, waiting.decided_by) == ("verified", "legal_rep", rep)
    assert waiting.note == ("同意" * 150)[:200]
    assert list(services.awaiting_legal_rep(rep)) == []
    with pytest.raises(services.AccountRefused) as twice:
        services.answer_as_legal_rep(waiting.pk, rep, accept=False)
    assert "mandate" in twice.value.errors
    assert enterprise.mandates.filter(status="verified").count() == 1
    with pytest.raises(Mandate.DoesNotExist):
        services.answer_as_legal_rep(waiting.pk + 1000, rep, accept=True)


def test_a_refusal_without_a_note_says_the_legal_representative_did_not_confirm():
    recorded_enterprise()
    mandate = services.request_mandate(person("agent"), CODE, "")
    services.answer_as_legal_rep(mandate.pk, person("rep", **REP), accept=False)
    assert Mandate.objects.get(pk=mandate.pk).note == "法定代表人未予确认。"


@pytest.mark.parametrize(
    "who",
    [
        {"id_number": "110101199001010015"},  # another person with the name and mobile
        {"real_name": "林某"},
        {"mobile": "13955550000"},  # the ID number and name, but not the proven mobile
        {"mobile": ""},
    ],
)
def test_anyone_but_the_recorded_legal_representative_neither_sees_nor_answers(who):
    recorded_enterprise()
    mandate = services.request_mandate(person("agent"), CODE, "")
    impostor = person("impostor", **(REP | who))
    assert list(services.awaiting_legal_rep(impostor)) == []
    with pytest.raises(Mandate.DoesNotExist):
        services.answer_as_legal_rep(mandate.pk, impostor, accept=True)
    assert status_of(mandate) == "pending"


def test_a_recorded_enterprise_without_a_mobile_has_no_one_to_confirm_online():
    recorded_enterprise(mobile="")
    mandate = services.request_mandate(person("agent"), CODE, "")
    same_but_no_mobile = person("rep", **(REP | {"mobile": ""}))
    assert list(services.awaiting_legal_rep(same_but_no_mobile)) == []
    with pytest.raises(Mandate.DoesNotExist):
        services.answer_as_legal_rep(mandate.pk, same_but_no_mobile, accept=True)


# --- giving a mandate up ---------------------------------------------------------------------
def test_the_agent_or_the_legal_representative_revokes_and_nobody_else():
    recorded_enterprise()
    rep = person("rep", **REP)
    agent, stranger = person("agent"), person("stranger")
    mandate = services.request_mandate(agent, CODE, "")
    services.answer_as_legal_rep(mandate.pk, rep, accept=True)
    with pytest.raises(Mandate.DoesNotExist):
        services.revoke(mandate.pk, stranger)
    assert status_of(mandate) == "verified"
    revoked = services.revoke(mandate.pk, rep)
    assert (revoked.status, revoked.decided_by) == ("revoked", rep)
    with pytest.raises(services.AccountRefused) as twice:
        services.revoke(mandate.pk, agent)
    assert "mandate" in twice.value.errors
    again = services.request_mandate(agent, CODE, "")
    assert services.revoke(again.pk, agent).status == "revoked"
    with pytest.raises(Mandate.DoesNotExist):
        services.revoke(mandate.pk + 1000, agent)


# --- the market-regulation window ------------------------------------------------------------
def test_only_market_regulation_clerks_and_administrators_verify_at_the_window(make_staff):
    mandate = services.request_mandate(person("agent"), CODE, "某公司")
    police = make_staff("police", "police")
    assert not police.may_verify_mandates
    with pytest.raises(Mandate.DoesNotExist):
        services.verify_at_window(mandate.pk, police, True, checked=True)
    assert status_of(mandate) == "pending"
    assert make_staff("market_regulation", "clerk").may_verify_mandates
    assert person("admin", is_superuser=True).may_verify_mandates
    assert not person("citizen").may_verify_mandates


def test_the_window_verifies_only_once_the_licence_and_authorisation_are_checked(make_staff):
    mandate = services.request_mandate(person("agent"), CODE, "某公司")
    clerk = make_staff("market_regulation", "clerk")
    with pytest.raises(services.AccountRefused) as unchecked:
        services.verify_at_window(mandate.pk, clerk, True)
    assert set(unchecked.value.errors) == {"checked"}
    assert status_of(mandate) == "pending"
    done = services.verify_at_window(mandate.pk, clerk, True, checked=True, note="原件已核" * 60)
    assert (done.status, done.proof, done.decided_by) == ("verified", "window", clerk)
    assert Mandate.objects.get(pk=mandate.pk).note == ("原件已核" * 60)[:200]
    # Nothing recorded of a legal representative no one named.
    assert not Enterprise.objects.get(credit_code=CODE).legal_rep_id_hash
    with pytest.raises(services.AccountRefused) as twice:
        services.verify_at_window(mandate.pk, clerk, False, note="重复")
    assert "mandate" in twice.value.errors
    with pytest.raises(Mandate.DoesNotExist):
        services.verify_at_window(mandate.pk + 1000, clerk, True, checked=True)


def test_the_window_records_the_legal_representative_named_on_the_licence(make_staff):
    mandate = services.request_mandate(person("agent"), CODE, "某公司")
    clerk = make_staff("market_regulation", "clerk")
    rep = {
        "legal_rep_name": " 林法人 ",
        "legal_rep_id_number": REP["id_number"],
        "legal_rep_mobile": REP["mobile"],
    }
    # Any of the three given: all three are checked.
    for wrong, fields in (
        ({"legal_rep_name": ""}, {"legal_rep_name"}),
        ({"legal_rep_name": "林" * 65}, {"legal_rep_name"}),
        ({"legal_rep_id_number": "110105198001010017"}, {"legal_rep_id_number"}),
        ({"legal_rep_mobile": "1392222"}, {"legal_rep_mobile"}),
        (
            {"legal_rep_id_number": "", "legal_rep_name": ""},
            {"legal_rep_name", "legal_rep_id_number"},
        ),
        (
            {"legal_rep_id_number": "", "legal_rep_mobile": ""},
            {"legal_rep_id_number", "legal_rep_mobile"},
        ),
        ({"legal_rep_name": "", "legal_rep_mobile": ""}, {"legal_rep_name", "legal_rep_mobile"}),
    ):
        with pytest.raises(services.AccountRefused) as refused:
            services.verify_at_window(mandate.pk, clerk, True, checked=True, **(rep | wrong))
        assert set(refused.value.errors) == fields, wrong
    assert status_of(mandate) == "pending"
    services.verify_at_window(
        mandate.pk, clerk, True, checked=True, **(rep | {"legal_rep_name": "林" * 64})
    )
    enterprise = Enterprise.objects.get(credit_code=CODE)
    assert enterprise.legal_rep_name == "林" * 64
    assert (enterprise.legal_rep_id_number, enterprise.legal_rep_mobile) == (
        REP["id_number"], REP["mobile"]
    )  # fmt: skip
    second = services.request_mandate(person("second"), CODE, "")
    services.verify_at_window(second.pk, clerk, True, checked=True, **rep)
    assert Enterprise.objects.get(credit_code=CODE).legal_rep_name == "林法人"


def test_a_refusal_at_the_window_needs_its_reason_and_records_it(make_staff):
    mandate = services.request_mandate(person("agent"), CODE, "某公司")
    clerk = make_staff("market_regulation", "clerk")
    with pytest.raises(services.AccountRefused) as bare:
        services.verify_at_window(mandate.pk, clerk, False, note="  ")
    assert set(bare.value.errors) == {"note"}
    # The legal representative's details are neither asked for nor recorded with a refusal.
    services.verify_at_window(
        mandate.pk, clerk, False, note=" 授权书无盖章" + "。" * 300, legal_rep_name="林法人",
        legal_rep_id_number=REP["id_number"], legal_rep_mobile=REP["mobile"],
    )  # fmt: skip
    refused = Mandate.objects.get(pk=mandate.pk)
    assert (refused.status, refused.decided_by) == ("refused", clerk)
    assert refused.note == ("授权书无盖章" + "。" * 300)[:200]
    assert not Enterprise.objects.get(credit_code=CODE).legal_rep_name


# --- founding an enterprise ------------------------------------------------------------------
def test_the_founder_of_a_new_enterprise_is_its_proven_agent():
    founder = person("founder", **REP)
    enterprise = services.found_enterprise(
        founder, CODE, "新设" * 60, legal_rep_name="林法人" * 30, legal_rep_id=REP["id_number"]
    )
    assert enterprise.name == ("新设" * 60)[:100]
    assert enterprise.legal_rep_name == ("林法人" * 30)[:64]
    mandate = founder.mandates.get()
    assert (mandate.enterprise, mandate.status, mandate.proof) == (
        enterprise,
        "verified",
        "founding",
    )
    assert mandate.note == "设立登记由本人申请办理。"
    # The founder is the legal representative: their proven mobile is recorded.
    assert enterprise.legal_rep_mobile == REP["mobile"]
    assert services.verified_enterprises(founder).get() == enterprise


def test_a_founder_who_is_not_the_legal_representative_records_no_mobile_of_theirs():
    founder = person("founder", real_name="陈创业", mobile="13911110000")
    enterprise = services.found_enterprise(
        founder, CODE, "某公司", legal_rep_name="林法人", legal_rep_id=REP["id_number"]
    )
    assert enterprise.legal_rep_id_number == REP["id_number"]
    assert enterprise.legal_rep_mobile == ""
    bare = services.found_enterprise(founder, OTHER_CODE, "", legal_rep_name="林法人")
    assert (bare.name, bare.legal_rep_name, bare.legal_rep_id_hash) == ("", "", "")


def test_founding_completes_an_enterprise_known_only_from_a_request(make_staff):
    founder = person("founder", **REP)
    agent = person("agent")
    pending = services.request_mandate(agent, CODE, "申请时的名称")
    assert services.founding_conflict(CODE) is None
    refused = services.request_mandate(founder, CODE, "")
    services.verify_at_window(
        refused.pk, make_staff("market_regulation", "clerk"), False, note="先前未通过"
    )
    enterprise = services.found_enterprise(founder, CODE, "", legal_rep_id="")
    assert enterprise.name == "申请时的名称"
    assert founder.mandates.get().status == "verified"
    assert status_of(pending) == "pending"
    # Founding twice under a code that now has a proven agent is refused.
    assert "已属于已登记的企业" in services.founding_conflict(CODE)
    with pytest.raises(services.AccountRefused):
        services.found_enterprise(founder, CODE, "再设一次")


def test_a_founder_whose_earlier_mandate_was_refused_or_revoked_is_proven_anew(make_staff):
    refused_founder, revoked_founder = person("refused"), person("revoked")
    with time_machine.travel("2026-03-02 09:00 +0800", tick=False):
        refused = services.request_mandate(refused_founder, CODE, "旧名称")
        services.verify_at_window(
            refused.pk, make_staff("market_regulation", "clerk"), False, note="材料不全"
        )
        earlier = services.request_mandate(revoked_founder, OTHER_CODE, "另一旧名称")
        services.revoke(earlier.pk, revoked_founder)
    with time_machine.travel("2026-04-01 09:00 +0800", tick=False):
        services.found_enterprise(refused_founder, CODE, "新设公司")
        services.found_enterprise(revoked_founder, OTHER_CODE, "又一新设公司")
    for founder in (refused_founder, revoked_founder):
        mandate = founder.mandates.get()
        assert (mandate.status, mandate.proof) == ("verified", "founding")
        # Made anew when the licence was issued: not the old request, decided long ago.
        assert mandate.requested_at.date() == datetime.date(2026, 4, 1)
        assert mandate.decided_at.date() == datetime.date(2026, 4, 1)


def test_a_licence_may_not_name_an_enterprise_already_established():
    assert services.founding_conflict(CODE) is None
    recorded_enterprise(code=OTHER_CODE, name="别家有限公司")
    assert services.founding_conflict(CODE) is None
    recorded_enterprise(name="老字号有限公司")
    conflict = services.founding_conflict(CODE)
    assert CODE in conflict and "老字号有限公司" in conflict
    with pytest.raises(services.AccountRefused) as refused:
        services.found_enterprise(person("founder"), CODE, "新名称")
    assert "outputs.credit_code" in refused.value.errors
    assert Enterprise.objects.get(credit_code=CODE).name == "老字号有限公司"
    assert not Mandate.objects.exists()


def test_an_enterprise_is_established_by_a_recorded_legal_representative_or_a_proven_agent(
    make_staff,
):
    assert not Enterprise.objects.create(credit_code=CODE, name="仅申请").is_established
    assert recorded_enterprise(code=OTHER_CODE).is_established
    mandate = services.request_mandate(person("agent"), CODE, "")
    assert not Enterprise.objects.get(credit_code=CODE).is_established
    services.verify_at_window(
        mandate.pk, make_staff("market_regulation", "clerk"), True, checked=True
    )
    assert Enterprise.objects.get(credit_code=CODE).is_established


# --- staff roles -----------------------------------------------------------------------------
def test_staff_are_those_with_a_role_or_a_department(make_staff):
    assert not person("citizen").is_department_staff
    assert person("centre", role=User.Role.CENTRE_SUPERVISOR).is_department_staff
    assert make_staff("police", "police").is_department_staff
    no_role = person("member")
    no_role.departments.add(Department.objects.get(code="police"))
    assert no_role.is_department_staff


def test_supervisors_are_the_centre_s_the_departments_and_administrators():
    roles = {
        "citizen": ("", False, False),
        "clerk": (User.Role.CLERK, False, False),
        "department": (User.Role.DEPARTMENT_SUPERVISOR, False, True),
        "centre": (User.Role.CENTRE_SUPERVISOR, True, True),
    }
    for username, (role, centre, supervisor) in roles.items():
        user = person(username, role=role)
        assert (user.is_centre_supervisor, user.is_supervisor) == (centre, supervisor), username
    admin = person("admin", is_superuser=True)
    assert admin.is_centre_supervisor and admin.is_supervisor


# --- the window's pages ----------------------------------------------------------------------
def test_the_window_page_lists_pending_requests_found_by_credit_code(client, make_staff):
    assert client.get("/staff/mandates/").status_code == 302  # signed out: to the login page
    client.force_login(make_staff("market_regulation", "clerk"))
    services.request_mandate(person("agent"), CODE, "第一家公司")
    decided = services.request_mandate(person("other"), OTHER_CODE, "第二家公司")
    listed = client.get("/staff/mandates/").content.decode()
    assert "第一家公司" in listed and "第二家公司" in listed
    # What is typed is read as a credit code: trimmed, in capitals, its 18 characters at most.
    found = client.get("/staff/mandates/", {"q": f" {CODE.lower()}9 "}).content.decode()
    assert "第一家公司" in found and "第二家公司" not in found
    client.post(f"/staff/mandates/{decided.pk}/decide/", {"decision": "verify", "checked": "on"})
    assert status_of(decided) == "verified"
    assert "第二家公司" not in client.get("/staff/mandates/").content.decode()


def test_the_window_page_shows_the_oldest_requests_first_in_pages(client, make_staff):
    client.force_login(make_staff("market_regulation", "clerk"))
    for number in range(PAGE_SIZE + 1):
        services.request_mandate(
            person(f"agent{number}"), credit_code(f"91440300MA5F{number:05d}"), f"公司{number}"
        )
    first = client.get("/staff/mandates/").content.decode()
    assert first.count('class="mandate"') == PAGE_SIZE
    assert "公司0（" in first and f"公司{PAGE_SIZE}（" not in first
    second = client.get("/staff/mandates/", {"page": 2}).content.decode()
    assert second.count('class="mandate"') == 1 and f"公司{PAGE_SIZE}（" in second


def test_the_window_says_how_a_decision_went(client, make_staff):
    mandate = services.request_mandate(person("agent"), CODE, "某公司")
    client.force_login(make_staff("market_regulation", "clerk"))
    url = f"/staff/mandates/{mandate.pk}/decide/"
    refused = client.post(url, {"decision": "refuse"}, follow=True).content.decode()
    assert "请说明未通过核验的理由" in refused and status_of(mandate) == "pending"
    done = client.post(url, {"decision": "verify", "checked": "on"}, follow=True)
    assert "经办人可以企业名义办事" in done.content.decode() and status_of(mandate) == "verified"
    other = services.request_mandate(person("other"), OTHER_CODE, "另一公司")
    back = client.post(
        f"/staff/mandates/{other.pk}/decide/",
        {"decision": "refuse", "note": "无授权书"},
        follow=True,
    )
    assert "已退回" in back.content.decode() and status_of(other) == "refused"
    unknown = f"/staff/mandates/{mandate.pk + 1000}/decide/"
    assert client.post(unknown, {"decision": "refuse", "note": "无此申请"}).status_code == 404
