"""The home page and the Django admin over every model."""

import pytest
from django.apps import apps
from django.contrib import admin

from .helpers import api_client, apply_newborn, sign_in_with_second_factor

pytestmark = pytest.mark.django_db


def test_home_lists_published_bundles_and_searches_them(client, catalogue):
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "新生儿出生一件事" in html and 'href="/bundles/newborn/"' in html
    assert 'lang="zh-hans"' in html
    assert "新生儿出生一件事" in client.get("/", {"q": "出生"}).content.decode()
    assert "新生儿出生一件事" not in client.get("/", {"q": "破产"}).content.decode()


def test_bundle_page_shows_items_departments_materials_time_and_picture(client, catalogue):
    html = client.get("/bundles/newborn/").content.decode()
    assert "公安局" in html and "户口登记" in html
    assert "<svg" in html and 'data-code="household_registration"' in html
    assert "父母居民身份证" in html
    assert client.get("/bundles/nothing/").status_code == 404


def test_every_model_is_in_the_admin_and_its_pages_open(client, catalogue, citizen, admin_user):
    apply_newborn(api_client(citizen))
    ours = [
        m
        for m in apps.get_models()
        if m._meta.app_label
        in {
            "accounts",
            "departments",
            "bundles",
            "applications",
            "notifications",
            "feedback",
            "workdays",
            "workbench",
            "privacy",
        }
    ]
    inline_only = {"bundleitem", "eligibilityrule", "calendarday"}
    sign_in_with_second_factor(client, admin_user)
    for model in ours:
        name = model._meta.model_name
        if name in inline_only:
            continue
        assert model in admin.site._registry, f"{name} is not in the admin"
        changelist = f"/admin/{model._meta.app_label}/{name}/"
        assert client.get(changelist).status_code == 200, changelist
        first = model.objects.first()
        if first is not None:
            assert client.get(f"{changelist}{first.pk}/change/").status_code == 200


def test_status_fields_are_read_only_in_the_admin(client, catalogue, citizen, admin_user):
    from applications.models import Application, SubTask

    body = apply_newborn(api_client(citizen)).json()
    sign_in_with_second_factor(client, admin_user)
    for model, pk in ((Application, body["id"]), (SubTask, body["subtasks"][0]["id"])):
        model_admin = admin.site._registry[model]
        assert "status" in model_admin.get_readonly_fields(None)
        page = client.get(f"/admin/applications/{model._meta.model_name}/{pk}/change/")
        assert b'name="status"' not in page.content


def test_draft_is_saved_as_you_go_and_checked(catalogue, citizen):
    client = api_client(citizen)
    draft = client.post(
        "/api/v1/applications/",
        {"bundle": "newborn", "form": {"child.name": "小明"}},
        format="json",
    ).json()
    url = f"/api/v1/applications/{draft['id']}/"
    saved = client.patch(url, {"form": {"child.gender": "男"}}, format="json").json()
    assert saved["form"] == {"child.name": "小明", "child.gender": "男"}
    bad = client.patch(url, {"form": {"contact.mobile": "123"}}, format="json")
    assert bad.status_code == 400 and "form.contact.mobile" in bad.json()["errors"]
    wrong_item = client.patch(url, {"items": ["no_such_item"]}, format="json")
    assert wrong_item.status_code == 400 and "items" in wrong_item.json()["errors"]
    assert client.get(url).json()["form"] == {"child.name": "小明", "child.gender": "男"}


def test_the_interface_speaks_english_when_asked(client, catalogue):
    html = client.get("/bundles/newborn/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'lang="en"' in html and "Promised completion within" in html
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert 'lang="zh-hans"' in html and "搜索一件事" in html


# --- lists come in pages -----------------------------------------------------------------------
def _rows(html: str, marker: str) -> int:
    return html.count(marker)


def test_a_long_list_comes_in_pages_and_none_is_cut_off(
    client, catalogue, citizen, make_staff, monkeypatch
):
    """The worklist, one's applications and the inbox: every entry is on some page, the links
    between pages keep the list's filters, and a page number that is no page gives a page."""
    from applications import services
    from departments.models import Department
    from notifications.models import Message
    from portal import paging

    monkeypatch.setattr(paging, "PAGE_SIZE", 2)
    Department.objects.update(handling="manual")
    made = []
    for _ in range(5):
        application = apply_newborn(api_client(citizen)).json()["id"]
        services.advance(application)
        for subtask in services.SubTask.objects.filter(application_id=application, status="ready"):
            services.dispatch(subtask.pk)
        made.append(application)

    client.force_login(make_staff("health"))
    parts = set(
        services.SubTask.objects.filter(
            application_id__in=made, department__code="health"
        ).values_list("pk", flat=True)
    )
    assert len(parts) == 5  # the birth certificates
    shown = []
    for number in (1, 2, 3):
        page = client.get("/staff/", {"status": "dispatched", "page": number}).content.decode()
        shown += [pk for pk in parts if f'href="/staff/subtasks/{pk}/"' in page]
        assert f"第 {number} 页，共 3 页" in page
        if number < 3:
            assert f'href="?status=dispatched&amp;page={number + 1}"' in page
    assert sorted(shown) == sorted(parts)
    assert "第 1 页，共 3 页" in client.get("/staff/", {"page": "abc"}).content.decode()
    assert "第 3 页，共 3 页" in client.get("/staff/", {"page": "99999"}).content.decode()

    client.force_login(citizen)
    listed = [
        client.get("/applications/", {"page": number}).content.decode() for number in (1, 2, 3)
    ]
    for application in services.Application.objects.filter(pk__in=made):
        assert sum(application.number in page for page in listed) == 1, application.number

    Message.objects.filter(user=citizen).update(read_at=None)
    unread = Message.objects.filter(user=citizen).count()
    assert unread > 2
    client.get("/messages/")
    assert Message.objects.filter(user=citizen, read_at=None).count() == unread - 2
