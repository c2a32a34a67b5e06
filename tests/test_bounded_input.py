"""One request never stalls the server nor makes it fail: every parser and every field check
does bounded work, whatever it is sent, and says what is wrong with a 400 (or 404 for an id
that names nothing), never a 500.

The field checks and the JSON parser are tested directly (fast, many values); the request
guard, the API's parsers and ids in URLs through the Django test client on PostgreSQL.
"""

import datetime
import json
import time
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import URLPattern, URLResolver, get_resolver
from hypothesis import given, settings
from hypothesis import strategies as st

from bundles.fieldtypes import CLEANERS, FieldSpec, clean_form
from portal import parsers
from portal import text as text_rules

from .fuzzing import rolled_back, timed, within_a_second
from .helpers import (
    NEWBORN_FORM,
    api_client,
    apply_newborn,
    sign_in_with_second_factor,
    web_values,
)
from .schema_values import resident_id

TODAY = datetime.date.today()
NUMBER = FieldSpec(key="seats", label="座位数", type="number", min_value=0)


def cleaned(spec: FieldSpec, value, seconds: float = 0.1):
    """clean_form of one field, which must take less than ``seconds`` (a second try is
    allowed: the machine is shared)."""
    for _attempt in range(2):
        (values, errors), took = timed(lambda: clean_form([spec], {spec.key: value}))
        if took < seconds:
            return values.get(spec.key), errors.get(spec.key, [])
    raise AssertionError(f"{spec.type} took {took:.2f}s on {type(value).__name__}")


# --- numbers ------------------------------------------------------------------------------
OUT_OF_REACH = [
    ("1e2000000", "超出可接受的范围"),
    ("-1E+999999999", "超出可接受的范围"),
    ("1e99999999999999999999999999999", "超出可接受的范围"),
    ("9" * 1_000_000, "数字过长"),
    ("1e-999999", "小数不能超过"),
    ("0.0000001", "小数不能超过"),
    ("NaN", "应为数字"),
    ("Infinity", "应为数字"),
    ("-Infinity", "应为数字"),
    ("٣", "应为数字"),  # an Arabic-Indic digit
    ("1_000", "应为数字"),
    ("0x10", "应为数字"),
    (True, "应为数字"),
    ([1], "应为数字"),
    ({"value": 1}, "应为数字"),
    (float("inf"), "应为数字"),
    (float("nan"), "应为数字"),
    (10**1_000_000, "超出可接受的范围"),
    (Decimal("1e2000000"), "超出可接受的范围"),
    (1e300, "超出可接受的范围"),
    (10**15, "超出可接受的范围"),
    (-1, "不能小于0"),
]


@pytest.mark.parametrize(("value", "says"), OUT_OF_REACH, ids=range(len(OUT_OF_REACH)))
def test_a_number_out_of_reach_is_a_quick_clear_error_naming_the_field(value, says):
    clean, messages = cleaned(NUMBER, value)
    assert clean is None
    assert len(messages) == 1 and messages[0].startswith("座位数：") and says in messages[0]


@pytest.mark.parametrize(
    ("value", "clean"),
    [("12", 12), (" 12.50 ", 12.5), ("１２", 12), ("1e3", 1000), (7, 7), (0.25, 0.25)],
)
def test_ordinary_numbers_still_pass(value, clean):
    assert cleaned(NUMBER, value) == (clean, [])
    assert type(cleaned(NUMBER, value)[0]) is type(clean)


# --- every kind of field ------------------------------------------------------------------
HOSTILE = [
    "x" * 1_000_000,
    " " * 1_000_000 + "x",
    "x" + " " * 1_000_000 + "y",
    "\u200b" * 100_000,
    "1" * 100_000,
    "-" * 100_000,
    "9999999-12-31",
    "+999999-01-01",
    "2026-W01-1",
    "1e2000000",
    10**100_000,
    -(10**100),
    float("nan"),
    True,
    None,
    [],
    [[[]]] * 10_000,
    list(range(100_000)),
    {str(n): n for n in range(100_000)},
    {"province": "北京市", "city": "x" * 1_000_000, "district": "x", "street": "x"},
    [{"name": "x" * 1_000_000}] * 3,
    [{"name": "甲"}] * 100_000,
]
GROUP = FieldSpec(
    key="people",
    label="成员",
    type="group",
    item_fields=(
        FieldSpec(key="name", label="姓名", type="text", max_length=30),
        FieldSpec(key="age", label="年龄", type="number", required=False, min_value=0),
    ),
    max_items=20,
)
SPECS = [GROUP] + [
    FieldSpec(key=kind, label=kind, type=kind, options=("男", "女"), max_length=100)
    for kind in CLEANERS
    if kind != "group"
]


@pytest.mark.parametrize("spec", SPECS, ids=[spec.type for spec in SPECS])
def test_every_kind_of_field_does_bounded_work_whatever_it_is_given(spec):
    for value in HOSTILE:
        clean, messages = cleaned(spec, value, seconds=0.5)
        assert clean is None or messages == [], spec.type
        if messages:
            assert messages[0].startswith(f"{spec.label}：") or "必填" in messages[0]


@pytest.mark.parametrize(
    "value", ["20260102", "2026-W01-1", "٢٠٢٦-٠١-٠٢", "2026-1-2", "99999-01-01", "2026-02-30"]
)
def test_dates_are_yyyy_mm_dd_real_days(value):
    spec = FieldSpec(key="born", label="出生日期", type="date")
    assert cleaned(spec, value)[1] == ["出生日期：日期格式应为 YYYY-MM-DD，且须为真实日期。"]
    assert cleaned(spec, " 2026-01-02 ") == ("2026-01-02", [])


# --- text ---------------------------------------------------------------------------------
INVISIBLE = [
    "\u200b",  # zero-width space
    "\u200c\u200d",  # zero-width (non-)joiner
    "\ufeff",  # byte-order mark
    "\u2060",  # word joiner
    "\u202a\u202e",  # direction embedding and override
    "\u2066\u2069",  # direction isolates
    "\u3000",  # ideographic space
    " \u00a0\t\u3000\u200b ",
    "\u3164\u115f",  # Hangul fillers
    "\u2800",  # blank Braille pattern
    "\ufe0f",  # a variation selector on its own
]
TEXT_KINDS = [spec for spec in SPECS if spec.type in ("text", "id_number", "mobile", "choice")]


@pytest.mark.parametrize("blank", INVISIBLE)
def test_text_of_invisible_characters_only_counts_as_blank(blank):
    for spec in TEXT_KINDS:
        assert cleaned(spec, blank)[1] == [f"“{spec.label}”为必填项。"], spec.type
    assert text_rules.is_blank(blank)


@pytest.mark.parametrize("disguise", ["\u202e", "\u202a", "\u202d", "\u2066", "\u2067", "\u2068"])
def test_direction_overrides_inside_text_are_refused(disguise):
    spec = FieldSpec(key="name", label="姓名", type="text")
    assert cleaned(spec, f"王{disguise}小梅")[1] == [
        "姓名：含有改变文字显示方向的控制字符，可能使内容被伪装。"
    ]


def test_rare_characters_and_trimmed_invisibles_are_ordinary_text():
    spec = FieldSpec(key="name", label="姓名", type="text")
    assert cleaned(spec, "王小𠮷") == ("王小𠮷", [])
    assert cleaned(spec, "李䶮") == ("李䶮", [])
    assert cleaned(spec, "\u200b\ufeff 李䶮\u3000\u200b") == ("李䶮", [])
    assert cleaned(spec, "☺\ufe0f") == ("☺\ufe0f", [])


def test_identifiers_are_ascii_digits():
    from accounts.validators import clean_mobile

    for mobile in ("13٨٠٠١٣٨٠٠٠", "13800138000\n1", "1" * 100_000):
        with pytest.raises(ValidationError):
            clean_mobile(mobile)
    assert clean_mobile(" 138-0013-8000 ") == "13800138000"
    assert clean_mobile("１３８００１３８０００") == "13800138000"  # full-width, as IMEs type


def test_web_form_rows_are_numbered_in_ascii_and_few_digits():
    from django.http import QueryDict

    from bundles.webforms import parse

    posted = QueryDict(mutable=True)
    posted.update({f"people.{'9' * 5000}.name": "甲", "people.٣.name": "乙", "people.2.name": "丙"})
    assert parse([GROUP], posted) == {"people": [{"name": "丙"}]}


# --- the API's JSON parser ----------------------------------------------------------------
REFUSED_BODIES = [
    (b"[" * 100_000 + b"]" * 100_000, "body", "嵌套不能超过32层"),
    (b'{"a":' * 33 + b"1" + b"}" * 33, "body", "嵌套不能超过32层"),
    (b'{"form": {"n": NaN}}', "body", "不能使用 NaN"),
    (b'{"form": {"n": Infinity}}', "body", "不能使用 Infinity"),
    (b"[-Infinity]", "body", "不能使用 -Infinity"),
    (b'{"form": {"n": ' + b"9" * 301 + b"}}", "body", "数字不能超过300位"),
    (b'{"form": {"n": 0.' + b"1" * 400 + b"}}", "body", "数字不能超过300位"),
    (b'{"form": {"n": 1e999999}}', "form.n", "数字超出范围"),
    (b'{"form": {"child.name": "a\\u0000b"}}', "form.child.name", "无法保存的字符"),
    (b'{"form": {"child.name": "a\\ud800b"}}', "form.child.name", "无法保存的字符"),
    (b'{"items": ["ok", "\\udfff"]}', "items.1", "无法保存的字符"),
    (b'{"a\\u0000": 1}', "a\ufffd", "无法保存的字符"),
    (b'"\\ud83d"', "body", "无法保存的字符"),
    (b'{"a": "\\ud800\\\\\\udc00"}', "a", "无法保存的字符"),
    (b'{"a": "\xff\xfe"}', "body", "不是有效的 UTF-8"),
    (b'{"a": "\xc0\xaf"}', "body", "不是有效的 UTF-8"),  # overlong "/"
    (b'{"a": "\xed\xa0\x80"}', "body", "不是有效的 UTF-8"),  # an encoded surrogate
    (b'{"a": }', "body", "不是有效的 JSON（第1行第7列）"),
    (b'"' + b'\\"' * 100_000, "body", "不是有效的 JSON"),
]


@pytest.mark.parametrize(("raw", "where", "says"), REFUSED_BODIES, ids=range(len(REFUSED_BODIES)))
def test_the_json_parser_refuses_what_it_cannot_bound_or_store(raw, where, says):
    started = time.perf_counter()
    with pytest.raises(parsers.InvalidBody) as refused:
        parsers.parse_json(raw)
    assert time.perf_counter() - started < 0.5
    detail = refused.value.detail
    assert says in detail["detail"]
    assert list(detail["errors"]) == [where]


def test_the_json_parser_keeps_what_is_fine():
    assert parsers.parse_json(b"[" * 32 + b"]" * 32)
    assert parsers.parse_json(json.dumps({"a": "[" * 10_000}).encode()) == {"a": "[" * 10_000}
    assert parsers.parse_json('{"name": "王小𠮷 李䶮"}'.encode()) == {"name": "王小𠮷 李䶮"}
    assert parsers.parse_json(b'{"name": "\\ud842\\udfb7"}') == {"name": "𠮷"}
    assert parsers.parse_json(b'{"path": "C:\\\\u0000"}') == {"path": "C:\\u0000"}
    assert parsers.parse_json(b"\xef\xbb\xbf[1.5e3, " + b"9" * 300 + b"]") == [1500.0, 10**300 - 1]


def strings(value):
    """Every key and string in a decoded JSON value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


PIECES = st.sampled_from(["\\", "\x00", "\ud800", "\udc00", "\ud842\udfb7", "a", '"', "u"])
TEXTS = st.lists(PIECES | st.characters(), max_size=8).map("".join)


@settings(max_examples=300, deadline=None)
@given(
    st.recursive(
        TEXTS,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXTS, inner, max_size=3),
        max_leaves=8,
    )
)
def test_the_quick_check_of_escapes_agrees_with_decoding(value):
    """Whatever mix of backslashes, NUL and surrogate halves: refused exactly when a decoded
    string cannot be stored."""
    raw = json.dumps(value).encode()  # \u escapes for everything outside ASCII
    decoded = json.loads(raw)
    unstorable = any(text_rules.UNSTORABLE.search(s) for s in strings(decoded))
    try:
        assert parsers.parse_json(raw) == decoded
        refused = False
    except parsers.InvalidBody:
        refused = True
    assert refused == unstorable


# --- through the API ------------------------------------------------------------------------
@pytest.fixture
def targets(module_db):
    """The objects to aim at, built once for this module; each test runs in a savepoint of
    the module's transaction, so none sees what another did."""
    return module_db


def post_raw(client, path, raw: bytes, content_type="application/json", method="post"):
    """Send ``raw`` (undone afterwards), which must be answered within the second."""

    def attempt():
        with rolled_back():
            return timed(lambda: getattr(client, method)(path, raw, content_type=content_type))

    return within_a_second(attempt, path)


def test_the_api_refuses_each_unbounded_body_with_a_400_naming_where(targets, settings):
    client = api_client(targets.citizen)
    path = f"/api/v1/applications/{targets.draft.pk}/"
    for raw, where, says in REFUSED_BODIES:
        response = post_raw(client, path, raw, method="patch")
        assert response.status_code == 400, (raw[:40], response.content[:200])
        assert says in response.json()["detail"]
        assert list(response.json()["errors"]) == [where]
    too_big = b'{"form": {"child.name": "' + b"x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE + b'"}}'
    assert post_raw(client, path, too_big, method="patch").status_code == 413
    latin = post_raw(client, path, b'{"a": 1}', "application/json; charset=latin-1", "patch")
    assert latin.status_code == 400 and "UTF-8" in latin.json()["detail"]


def test_a_huge_number_answer_is_refused_at_once_naming_the_field(targets):
    """The report that started this: a number of 1e2000000 kept a process busy for minutes."""
    client = api_client(targets.citizen)
    path = f"/api/v1/applications/{targets.restaurant.pk}/"
    for answer in ("1e2000000", "9" * 100_000, "-1e-999999", 10**250):
        body = json.dumps({"form": {"restaurant.seats": answer}}).encode()
        response = post_raw(client, path, body, method="patch")
        assert response.status_code == 400, response.content
        assert list(response.json()["errors"]) == ["form.restaurant.seats"]
        assert response.json()["errors"]["form.restaurant.seats"][0].startswith("就餐座位数")
    targets.restaurant.refresh_from_db()
    assert targets.restaurant.form["restaurant.seats"] == 40


def test_lists_and_objects_are_counted_before_their_entries_are_checked(targets):
    client = api_client(targets.citizen)
    path = f"/api/v1/applications/{targets.draft.pk}/"
    many = {"items": ["maternity_allowance"] * 1_000, "form": {str(n): n for n in range(5_000)}}
    response = post_raw(client, path, json.dumps(many).encode(), method="patch")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"items", "form"}
    clerk = api_client(targets.clerk)
    outputs = {"outputs": {str(n): "x" for n in range(5_000)}}
    url = f"/api/v1/subtasks/{targets.household.pk}/approve/"
    response = post_raw(clerk, url, json.dumps(outputs).encode())
    assert response.status_code == 400 and "outputs" in response.json()["errors"]


def test_form_bodies_to_the_api_are_checked_too(targets):
    client = api_client(targets.citizen)
    path = f"/api/v1/applications/{targets.submitted.pk}/withdraw/"
    for body in (b"reason=a%00b", b"reason=%ff%fe", b"reason%00=x"):
        response = post_raw(client, path, body, "application/x-www-form-urlencoded")
        assert response.status_code == 400, body
        assert "UTF-8" in response.json()["detail"]
    boundary = "b0undary"
    multipart = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="reason"\r\n\r\na\x00b\r\n'
        f"--{boundary}--\r\n"
    ).encode()
    response = post_raw(client, path, multipart, f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 400 and list(response.json()["errors"]) == ["reason"]
    assert targets.submitted.events.filter(to_status="withdrawn").count() == 0


def test_paging_beyond_what_the_database_takes_is_bounded(targets):
    client = api_client(targets.citizen)
    for query in ("limit=99999999999999999999999", "offset=99999999999999999999999&limit=5"):
        response = post_raw(client, f"/api/v1/applications/?{query}", b"", method="get")
        assert response.status_code == 200, query
    assert len(client.get("/api/v1/applications/?limit=100000").json()["results"]) == 4


def test_a_status_filter_names_known_statuses_only(targets):
    clerk = api_client(targets.clerk)
    assert clerk.get("/api/v1/subtasks/?status=dispatched,accepted").status_code == 200
    response = clerk.get("/api/v1/subtasks/?status=" + ",".join(str(n) for n in range(70_000)))
    assert response.status_code == 400 and "status" in response.json()["errors"]


# --- the request guard ----------------------------------------------------------------------
def test_nul_and_undecodable_bytes_never_reach_a_view(client, targets):
    client.force_login(targets.citizen)
    draft_step = f"/applications/{targets.draft.pk}/steps/form-1/"
    cases = [
        ("get", "/applications/%00/", {}, "网址"),
        ("get", "/api/v1/bundles/new%00born/", {}, "网址"),
        ("get", "/?q=%00", {}, "网址参数“q”"),
        ("get", "/?q=%ff", {}, "网址参数“q”"),
        ("get", "/staff/?status=%c0%af", {}, "网址参数“status”"),
        ("get", "/", {"HTTP_COOKIE": "sessionid=abcdefgh\x00ijk"}, "请求头“Cookie”"),
        ("get", "/api/v1/applications/", {"HTTP_AUTHORIZATION": "Token a\x00b"}, "Authorization"),
        ("get", "/?q=a", {"CONTENT_TYPE": "text/plain; charset=unicode_escape"}, "UTF-8"),
    ]
    for method, path, extra, says in cases:
        response = getattr(client, method)(path, **extra)
        assert response.status_code == 400, (path, extra)
        assert says in response.content.decode(), (path, response.content.decode()[:300])
    escaped = "child.name=%5Cud800"  # "\ud800" as text: decoded with unicode_escape, a surrogate
    for content_type in (
        "application/x-www-form-urlencoded; charset=unicode_escape",
        "application/x-www-form-urlencoded; charset=utf-7",
    ):
        response = client.post(draft_step, escaped, content_type=content_type)
        assert response.status_code == 400 and "UTF-8" in response.content.decode()
    for body in (
        b"child.name=a%00b",
        b"child.name=%ff%fe",
        b"child.name=%c0%af",
        b"a%00=1",
        b"child.name=\xff\xfe",  # raw: Django would read the whole body as Latin-1
        b"child.name=\xe7\x8e",
    ):
        response = client.post(draft_step, body, content_type="application/x-www-form-urlencoded")
        assert response.status_code == 400, body
        assert "UTF-8" in response.content.decode()
    # Raw bytes in the query string (WSGI hands them over as Latin-1 text).
    assert client.get("/", QUERY_STRING="q=\xe7\x8e").status_code == 400
    targets.draft.refresh_from_db()
    assert targets.draft.form["child.name"] == NEWBORN_FORM["child.name"]


def test_bodies_are_bounded_before_they_are_read(client, targets, settings):
    from portal.middleware import max_request_bytes

    client.force_login(targets.citizen)
    step = f"/applications/{targets.draft.pk}/steps/form-1/"
    huge = str(max_request_bytes() + 1)
    for path in (step, f"/api/v1/applications/{targets.draft.pk}/materials/"):
        response = client.post(
            path, b"x", content_type="multipart/form-data; boundary=b", CONTENT_LENGTH=huge
        )
        assert response.status_code == 413, path
    # The most a form may carry (DATA_UPLOAD_MAX_MEMORY_SIZE) is handled within the second.
    name = "child.name=" + "%E7%8E%8B" * ((settings.DATA_UPLOAD_MAX_MEMORY_SIZE - 20) // 9)
    response = post_raw(client, step, name.encode(), "application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert "不能超过30个字" in response.content.decode()


def test_walk_in_multipart_with_nul_is_refused_before_anything_is_saved(client, targets):
    from accounts.models import User

    client.force_login(targets.clerk)
    users = User.objects.count()
    person = {"person.id_number": resident_id(datetime.date(1985, 5, 5), sequence="013")}
    person |= {"person.real_name": "张\x00三", "person.mobile": "13900139000"}
    response = client.post("/staff/walk-in/newborn/", person | web_values(NEWBORN_FORM))
    assert response.status_code == 400 and "UTF-8" in response.content.decode()
    assert User.objects.count() == users


# --- ids in URLs ----------------------------------------------------------------------------
ODD_IDS = ["abc", "1.5", "٣", "²", "99999999999999999999999", "-1", "0", "007", "1e3", "%00"]


def routes(patterns=None, prefix=""):
    """Every URL pattern of the site, as its route text."""
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        pattern = entry.pattern
        route = getattr(pattern, "_route", None)
        if route is None:
            route = pattern._regex.lstrip("^").rstrip("$").replace("\\", "")
        if isinstance(entry, URLResolver):
            yield from routes(entry.url_patterns, prefix + route)
        elif isinstance(entry, URLPattern):
            yield "/" + prefix + route


def id_routes():
    """Every URL of the site with an id in it, as a template with ``{id}`` for it."""
    for route in routes():
        for name in ("pk", "subtask_id", "id"):
            route = route.replace(f"<id:{name}>", "{id}")
        if "{id}" in route and "<" not in route:
            yield route


def test_every_id_in_a_url_is_bounded_to_bigint():
    every = list(routes())
    unbounded = [r for r in every if "<int:" in r or "[^/.]+" in r or "<str:" in r]
    assert unbounded == []
    # Only the admin takes any text as an object's id, and answers one it cannot find itself.
    assert all(r.startswith("/admin/") for r in every if "<path:" in r)
    found = set(id_routes())
    assert "/api/v1/applications/{id}/" in found
    assert "/api/v1/subtasks/{id}/accept/" in found
    assert "/staff/subtasks/{id}/" in found
    assert "/applications/{id}/certificates/{id}/" in found
    assert len(found) > 30


def test_the_api_schema_describes_ids_and_codes_as_the_urls_take_them(client, settings):
    from portal.ids import CODE_PATTERN, ID_PATTERN

    overrides = settings.SPECTACULAR_SETTINGS["PATH_CONVERTER_OVERRIDES"]
    assert overrides["code"]["pattern"] == f"^{CODE_PATTERN}$"
    assert ID_PATTERN == "[1-9][0-9]{0,17}" and overrides["id"]["maximum"] == 10**18 - 1
    schema = client.get("/api/schema/?format=json").json()
    (parameter,) = schema["paths"]["/api/v1/applications/{id}/submit/"]["post"]["parameters"]
    assert parameter["schema"] == overrides["id"]


def test_odd_ids_are_not_found_on_every_route(client, targets, django_user_model):
    admin = django_user_model.objects.create_superuser("root", password="Pass-word-2026")
    sign_in_with_second_factor(client, admin)
    token = api_client(admin)
    for route in sorted(set(id_routes())):
        for odd in ODD_IDS:
            path = route.replace("{id}", odd)
            for method in ("get", "post"):
                caller = token if path.startswith("/api/") else client
                response = getattr(caller, method)(path)
                if path.startswith("/admin/") and response.status_code == 302:
                    continue  # the admin's own "no such object" redirect
                # NUL never reaches the URL resolver (the request guard); the rest match no route.
                assert response.status_code == (400 if odd == "%00" else 404), (method, path)


def test_the_report_form_ignores_an_application_that_is_no_id(client, targets):
    from feedback.models import FollowUp

    client.force_login(targets.citizen)
    for chosen in ("²", "٣", "9" * 30, "-1"):
        response = client.post("/report/", {"description": "等了很久", "application": chosen})
        assert response.status_code == 302, chosen
    assert FollowUp.objects.filter(application=None, reporter=targets.citizen).count() == 5


def test_format_suffixes_are_no_routes(targets):
    client = api_client(targets.citizen)
    assert client.post("/api/v1/applications.json").status_code == 404
    assert client.patch(f"/api/v1/applications/{targets.draft.pk}.json").status_code == 404
    assert client.get("/api/v1/applications/?format=json").status_code == 200


def test_a_clerk_acting_on_an_odd_id_gets_404(targets):
    clerk = api_client(targets.clerk)
    for odd in ("abc", "٣", "99999999999999999999999"):
        for action in ("accept", "approve", "retry", "switch-to-manual"):
            assert clerk.post(f"/api/v1/subtasks/{odd}/{action}/").status_code == 404


def test_invisible_answers_are_blank_on_the_web_form_too(client, targets):
    client.force_login(targets.citizen)
    step = f"/applications/{targets.draft.pk}/steps/form-1/"
    response = client.post(step, web_values(NEWBORN_FORM) | {"child.name": "王\u202e小梅"})
    assert response.status_code == 400 and "改变文字显示方向" in response.content.decode()
    targets.draft.refresh_from_db()
    assert targets.draft.form["child.name"] == NEWBORN_FORM["child.name"]
    # A blank answer clears the field, as an empty one does, and the step says it is needed.
    response = client.post(step, web_values(NEWBORN_FORM) | {"child.name": "\u200b\u3000\ufeff"})
    assert response.status_code == 400
    assert "“新生儿姓名”为必填项" in response.content.decode()
    targets.draft.refresh_from_db()
    assert "child.name" not in targets.draft.form


def test_services_refuse_unstorable_and_disguised_text_naming_the_field(targets):
    """Behind the request guard and the parsers, the services check what they store too
    (they are also called from the admin, tasks and the shell)."""
    from applications import services
    from feedback import services as feedback

    calls = {
        "reason": lambda text: services.withdraw(targets.submitted.pk, targets.citizen, text),
        "note": lambda text: services.supply_supplement(
            targets.submitted.pk, targets.citizen, text
        ),
        "description": lambda text: feedback.report_cannot_get_done(targets.citizen, text),
        "resolution": lambda text: feedback.answer(targets.follow_up.pk, targets.supervisor, text),
        "tracking_number": lambda text: services.set_tracking_number(
            targets.submitted.pk, targets.clerk, text
        ),
        "outputs": lambda text: services.staff_action(
            targets.household.pk, targets.clerk, "approve", outputs={"number": text}
        ),
        "delivery.recipient": lambda text: services.update_draft(
            targets.draft,
            delivery={
                "method": "mail",
                "recipient": text,
                "mobile": "13800138000",
                "address": "北京",
            },
        ),
    }
    for field, call in calls.items():
        for text in ("a\x00b", "a\ud800b", "王\u202e小梅", "x" * 5000):
            with pytest.raises(services.ApplicationInvalid) as refused:
                call(text)
            assert field in refused.value.errors, (field, text)
    blank = "\u200b\u3000\ufeff"
    for field in ("reason", "description", "resolution"):
        call = {
            "reason": lambda: services.staff_action(
                targets.household.pk, targets.clerk, "reject", reason=blank
            ),
            "description": lambda: feedback.report_cannot_get_done(targets.citizen, blank),
            "resolution": lambda: feedback.answer(targets.follow_up.pk, targets.supervisor, blank),
        }[field]
        with pytest.raises(services.ApplicationInvalid) as refused:
            call()
        assert field in refused.value.errors
    targets.submitted.refresh_from_db()
    assert targets.submitted.status == "in_progress" and not targets.submitted.tracking_number


def test_the_newborn_still_goes_through(targets):
    response = apply_newborn(api_client(targets.citizen))
    assert response.status_code == 200 and response.json()["form"]["child.name"] == "王小𠮷"
