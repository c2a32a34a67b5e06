"""Every kind of field refuses a bad value with a clear message on that field — through the
API and on the web form alike, since both use the same definition and the same check."""

import datetime
import html

import pytest

from .helpers import api_client
from .schema_values import resident_id, valid_form

pytestmark = pytest.mark.django_db

TODAY = datetime.date.today()
GOOD_ID = resident_id(datetime.date(1990, 3, 7))
BAD_ID = GOOD_ID[:-1] + ("0" if GOOD_ID[-1] != "0" else "1")

#: One bad value per kind of field, with what the message must say.
BAD = {
    # NUL never reaches a field: the API's parser and the request guard refuse it first
    # (tests/test_bounded_input.py); other control characters are the field's to refuse.
    "text": ("bad\x07value", "控制字符"),
    "number": ("abc", "应为数字"),
    "date": ("2026-02-30", "真实日期"),
    "choice": ("不存在的选项", "请从以下选项中选择"),
    "address": (
        {"province": "火星省", "city": "某市", "district": "某区", "street": "1号"},
        "不是省级行政区",
    ),
    "id_number": (BAD_ID, "校验位不正确"),
    "credit_code": ("91110000600037341A", "校验位不正确"),
    "mobile": ("12345", "手机号码应为"),
    "bank_account": ("12ab", "银行账号应为"),
}


def fields_by_type(bundles):
    """The first (bundle, key, schema) of each kind of field in the catalogue that the
    applicant types (the enterprise's name and code come from the proven enterprise)."""
    from applications.services import ENTERPRISE_FIELDS

    found = {}
    for bundle in bundles:
        for key, schema in bundle["form_schema"]["properties"].items():
            if bundle["audience"] == "enterprise" and key in ENTERPRISE_FIELDS:
                continue
            found.setdefault(schema["x-type"], (bundle, key, schema))
    return found


@pytest.fixture
def catalogue_fields(full_catalogue):
    bundles = api_client().get("/api/v1/bundles/", {"limit": 100}).json()["results"]
    return fields_by_type(bundles)


def bad_group_row(schema):
    """A row of a repeating group whose first checkable sub-field is wrong."""
    row = valid_form({"properties": schema["items"]["properties"]}, TODAY)
    for sub, sub_schema in schema["items"]["properties"].items():
        if sub_schema["x-type"] in BAD:
            row[sub] = BAD[sub_schema["x-type"]][0]
            return row, BAD[sub_schema["x-type"]][1]
    raise AssertionError("a group with nothing to check")


def bad_value(kind, schema):
    if kind == "group":
        row, says = bad_group_row(schema)
        return [row], says
    return BAD[kind]


def test_the_catalogue_uses_every_kind_of_field(catalogue_fields):
    assert set(catalogue_fields) == {*BAD, "group"}


def test_api_refuses_a_bad_value_of_every_kind_naming_the_field(catalogue_fields, citizen):
    for kind, (bundle, key, schema) in catalogue_fields.items():
        value, says = bad_value(kind, schema)
        optional = [i["code"] for i in bundle["items"] if i["optional"]]
        response = api_client(citizen).post(
            "/api/v1/applications/",
            {"bundle": bundle["code"], "form": {key: value}, "items": optional},
            format="json",
        )
        assert response.status_code == 400, kind
        errors = response.json()["errors"]
        assert list(errors) == [f"form.{key}"], kind
        assert says in errors[f"form.{key}"][0], kind
        assert schema["title"] in errors[f"form.{key}"][0], kind


def web_data(key, kind, value):
    if kind == "address":
        return {f"{key}.{part}": text for part, text in value.items()}
    if kind == "group":
        return {f"{key}.0.{sub}": text for sub, text in value[0].items()}
    return {key: value}


def test_web_form_shows_the_same_message_on_the_field(client, catalogue_fields, citizen):
    client.force_login(citizen)
    for kind, (bundle, key, schema) in catalogue_fields.items():
        check_web_form(client, citizen, kind, bundle, key, schema)


def check_web_form(client, citizen, kind, bundle, key, schema):
    from applications.models import Application
    from applications.services import update_draft
    from applications.wizard import steps_of

    value, _says = bad_value(kind, schema)
    optional = [i["code"] for i in bundle["items"] if i["optional"]]
    api_message = (
        api_client(citizen)
        .post(
            "/api/v1/applications/",
            {"bundle": bundle["code"], "form": {key: value}, "items": optional},
            format="json",
        )
        .json()["errors"][f"form.{key}"][0]
    )
    assert client.post(f"/bundles/{bundle['code']}/apply/").status_code == 302
    draft = Application.objects.get(applicant=citizen, bundle__code=bundle["code"], status="draft")
    update_draft(draft, items=optional)
    step = next(s for s in steps_of(draft) if key in s.keys)
    response = client.post(
        f"/applications/{draft.pk}/steps/{step.slug}/", web_data(key, kind, value)
    )
    assert response.status_code == 400, kind
    page = html.unescape(response.content.decode())
    field_id = "f-" + "".join(c if c.isalnum() else "-" for c in key)
    error_at = page.index(f'id="{field_id}-error"')
    assert api_message in page[error_at : error_at + 500], kind
    summary = page[page.index("error-summary") :]
    assert f'href="#{field_id}"' in summary, kind


def test_a_good_id_number_passes_where_a_wrong_check_digit_fails(citizen, catalogue):
    client = api_client(citizen)
    ok = client.post(
        "/api/v1/applications/",
        {"bundle": "newborn", "form": {"mother.id_number": GOOD_ID}},
        format="json",
    )
    assert ok.status_code == 201


def test_eligibility_is_explained_on_the_field(citizen, catalogue):
    too_old = (TODAY - datetime.timedelta(days=400)).isoformat()
    response = api_client(citizen).post(
        "/api/v1/applications/",
        {"bundle": "newborn", "form": {"child.birth_date": too_old}},
        format="json",
    )
    assert response.status_code == 400
    assert "未满一年" in response.json()["errors"]["form.child.birth_date"][0]


def test_web_form_reads_addresses_and_repeating_groups_like_the_api():
    from django.http import QueryDict

    from bundles.fieldtypes import FieldSpec
    from bundles.webforms import parse, render

    specs = [
        FieldSpec(key="home", label="地址", type="address"),
        FieldSpec(
            key="people",
            label="成员",
            type="group",
            item_fields=(
                FieldSpec(key="name", label="姓名", type="text"),
                FieldSpec(key="age", label="年龄", type="number", required=False),
            ),
        ),
    ]
    posted = QueryDict(mutable=True)
    posted.update({"home.province": "浙江省", "home.city": "杭州市", "home.district": "西湖区"})
    posted.update({"home.street": "文三路1号", "people.0.name": "甲", "people.2.name": "乙"})
    posted.update({"people.1.name": " ", "people.2.age": "7"})
    form = parse(specs, posted)
    assert form == {
        "home": {
            "province": "浙江省",
            "city": "杭州市",
            "district": "西湖区",
            "street": "文三路1号",
        },
        "people": [{"name": "甲"}, {"name": "乙", "age": "7"}],
    }
    # Drawn again with one blank row more, so that a row can be added without JavaScript.
    group = render(specs, form, {})[0]["fields"][1]
    assert len(group.rows) == 3 and group.rows[2][0].name == "people.2.name"
