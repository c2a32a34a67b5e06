"""Administrators define bundles in the admin: refused when they cannot run, versioned when
published; applications keep the version they were submitted under."""

import pytest

from applications import services
from applications.models import SubTask
from bundles import services as bundle_services
from bundles.models import Bundle, ServiceItem
from departments.models import Department

from .helpers import api_client, apply_newborn, sign_in_with_second_factor

pytestmark = pytest.mark.django_db


def bundle_post(code, rows, **extra):
    data = {
        "code": code, "version": "1", "name": "测试一件事", "audience": "individual",
        "life_event": "", "keywords": "[]", "description": "", "batch": "", "lead_department": "",
        "source": "", "savings": "{}", "delivery_options": "[]",
        "items-TOTAL_FORMS": str(len(rows)), "items-INITIAL_FORMS": "0",
        "items-MIN_NUM_FORMS": "0", "items-MAX_NUM_FORMS": "1000",
        "eligibility_rules-TOTAL_FORMS": "0", "eligibility_rules-INITIAL_FORMS": "0",
        "eligibility_rules-MIN_NUM_FORMS": "0", "eligibility_rules-MAX_NUM_FORMS": "1000",
        "_continue": "1",
    }  # fmt: skip
    for index, (item, depends_on) in enumerate(rows):
        data[f"items-{index}-item"] = str(ServiceItem.objects.get(code=item).pk)
        data[f"items-{index}-position"] = str(index)
        data[f"items-{index}-depends_on"] = [
            str(ServiceItem.objects.get(code=d).pk) for d in depends_on
        ]
    return data | extra


@pytest.fixture
def admin_client(client, admin_user, catalogue):
    sign_in_with_second_factor(client, admin_user)
    return client


def test_a_runnable_bundle_is_saved_as_a_draft_with_its_picture(admin_client):
    response = admin_client.post(
        "/admin/bundles/bundle/add/",
        bundle_post(
            "pair", [("birth_certificate", []), ("household_registration", ["birth_certificate"])]
        ),
        follow=True,
    )
    assert response.status_code == 200
    bundle = Bundle.objects.get(code="pair")
    assert bundle.state == "draft" and bundle.dag() == {
        "birth_certificate": frozenset(),
        "household_registration": frozenset({"birth_certificate"}),
    }
    html = response.content.decode()
    assert "<svg" in html and "可以发布" in html


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (
            [
                ("birth_certificate", ["household_registration"]),
                ("household_registration", ["birth_certificate"]),
            ],
            "循环依赖",
        ),
        ([("household_registration", ["birth_certificate"])], "不在本一件事中"),
        ([("birth_certificate", ["birth_certificate"])], "不能依赖它自己"),
    ],
)
def test_a_bundle_that_cannot_run_is_refused_saying_what_to_fix(admin_client, rows, message):
    response = admin_client.post("/admin/bundles/bundle/add/", bundle_post("bad", rows))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Bundle.objects.filter(code="bad").exists()


def test_an_item_whose_department_is_not_set_up_is_refused(admin_client):
    Department.objects.filter(code="health").update(base_url="")
    response = admin_client.post(
        "/admin/bundles/bundle/add/", bundle_post("bad", [("birth_certificate", [])])
    )
    assert "未配置好办理方式" in response.content.decode()
    assert not Bundle.objects.filter(code="bad").exists()


def test_published_is_read_only_and_editing_starts_a_new_draft_version(admin_client):
    newborn = Bundle.objects.get(code="newborn")
    page = admin_client.get(f"/admin/bundles/bundle/{newborn.pk}/change/").content.decode()
    assert "修改：创建新草稿版本" in page and 'name="name"' not in page
    admin_client.post(f"/admin/bundles/bundle/{newborn.pk}/new-version/")
    draft = Bundle.objects.get(code="newborn", version=2)
    assert draft.state == "draft" and draft.dag() == newborn.dag()
    assert (
        'name="name"'
        in admin_client.get(f"/admin/bundles/bundle/{draft.pk}/change/").content.decode()
    )
    admin_client.post(f"/admin/bundles/bundle/{draft.pk}/publish/")
    newborn.refresh_from_db()
    draft.refresh_from_db()
    assert (newborn.state, draft.state) == ("unpublished", "published")


def test_publishing_is_refused_with_the_problems(admin_client):
    draft = Bundle.objects.create(code="empty", name="空", audience="individual")
    response = admin_client.post(f"/admin/bundles/bundle/{draft.pk}/publish/", follow=True)
    assert "至少要包含一个事项" in response.content.decode()
    draft.refresh_from_db()
    assert draft.state == "draft"


def test_publishing_twice_or_taking_down_twice_says_why_not(admin_client):
    """Two administrators clicking the same button, or a stale page: an answer, never a 500."""
    newborn = Bundle.objects.get(code="newborn")
    published_at = newborn.published_at
    again = admin_client.post(f"/admin/bundles/bundle/{newborn.pk}/publish/", follow=True)
    assert again.status_code == 200
    assert "当前为“已发布”，不能发布" in again.content.decode()
    newborn.refresh_from_db()
    assert (newborn.state, newborn.published_at) == ("published", published_at)
    admin_client.post(f"/admin/bundles/bundle/{newborn.pk}/unpublish/")
    twice = admin_client.post(f"/admin/bundles/bundle/{newborn.pk}/unpublish/", follow=True)
    assert twice.status_code == 200
    assert "当前为“已下架”，不能下架" in twice.content.decode()


def test_a_follow_up_is_never_made_from_a_blank_admin_form(admin_client):
    assert admin_client.get("/admin/feedback/followup/add/").status_code == 403
    assert admin_client.post("/admin/feedback/followup/add/", {}).status_code == 403


def test_changing_a_published_bundle_leaves_applications_in_flight_alone(catalogue, citizen):
    client = api_client(citizen)
    old = apply_newborn(client).json()
    services.advance(old["id"])
    newborn = Bundle.objects.get(code="newborn")
    draft = bundle_services.new_draft_version(newborn)
    draft.items.get(item__code="social_security_card").delete()
    draft.items.get(item__code="medical_insurance").depends_on.set(
        ServiceItem.objects.filter(code="birth_certificate")
    )
    bundle_services.publish(draft)

    new = apply_newborn(client, materials=("parents_id_cards",)).json()
    assert new["bundle"]["version"] == 2 and len(new["subtasks"]) == 4
    assert next(s for s in new["subtasks"] if s["item"]["code"] == "medical_insurance")[
        "depends_on"
    ] == ["birth_certificate"]
    again = client.get(f"/api/v1/applications/{old['id']}/").json()
    assert again["bundle"]["version"] == 1 and len(again["subtasks"]) == 5
    insurance = SubTask.objects.get(application_id=old["id"], item__code="medical_insurance")
    assert insurance.depends_on == ["household_registration"]
    # Unpublishing hides the bundle from new applications and touches no open one.
    bundle_services.unpublish(draft)
    refused = client.post("/api/v1/applications/", {"bundle": "newborn"}, format="json")
    assert refused.status_code == 400 and "bundle" in refused.json()["errors"]
    assert client.get(f"/api/v1/applications/{old['id']}/").json()["status"] == "in_progress"
    assert api_client().get("/api/v1/bundles/newborn/").status_code == 404
