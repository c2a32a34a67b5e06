"""Hypothesis over every web form of the site: what a browser would never send, posted with the
Django test client — raw bytes that are not UTF-8 (b"\\xff\\xfe", overlong and surrogate
encodings), NUL, invisible and direction characters, huge numbers, very long text, fields
missing, repeated or unknown, file parts with odd names and contents.

Every answer is below 500 and comes within a second, and where an error is shown (a 400 page,
or an error message on the page it leads to) nothing was saved. What is stored is always what
the checks let through: every draft's answers pass its form's checks again.
"""

import datetime
from dataclasses import dataclass, field
from urllib.parse import quote, quote_from_bytes

import pytest
from django.contrib import messages
from django.contrib.messages import get_messages
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .fuzzing import rolled_back, timed, within_a_second
from .helpers import NEWBORN_FORM, PDF, PNG
from .schema_values import resident_id

pytestmark = pytest.mark.django_db

EXAMPLES = 30

# --- what is sent -------------------------------------------------------------------------
ODD_TEXT = [
    "",
    " ",
    "\u200b",
    "\u200b\u200c\u200d\ufeff\u2060",
    "\u3000",
    "王\u202e小梅",
    "\u2066x\u2069",
    "王小𠮷",
    "李䶮",
    "1e2000000",
    "-1e-999999",
    "NaN",
    "-Infinity",
    "0",
    "-1",
    "٣",
    "²",
    "99999999999999999999999",
    "1.5",
    "2026-02-30",
    "9999-12-31",
    "+999999-01-01",
    "<script>alert(1)</script>",
    "'; DROP TABLE accounts_user; --",
    "../../etc/passwd",
    "\\",
    "%00",
    "男",
    "newborn",
    "maternity_allowance",
    "mail",
    "pickup",
    "electronic",
    "birth_certificate",
    "child.name",
    "accept",
    "dispatched",
    "5",
    "13800138000",
    "11010119900307002X",
    "91110000600037341L",
    "北京市",
]
#: Byte strings no browser sends: not UTF-8, overlong "/", an encoded surrogate, beyond
#: U+10FFFF, NUL, a bare high byte, a stray continuation byte.
ODD_BYTES = [
    b"\xff\xfe",
    b"\xc0\xaf",
    b"\xed\xa0\x80",
    b"\xf4\x90\x80\x80",
    b"\x00",
    b"a\x00b",
    b"\xe4\xb8",
    b"\x80",
]
LONG = st.sampled_from(["x", "9", "王", " ", "\u200b", "1e9", "a\n"]).flatmap(
    lambda unit: st.integers(min_value=500, max_value=60_000).map(lambda n: unit * n)
)
TEXT = st.one_of(st.sampled_from(ODD_TEXT), st.text(max_size=40), LONG)
#: One value as bytes in the body: text (percent-encoded as a browser does), or raw bytes,
#: percent-encoded or not at all.
RAW_VALUE = st.one_of(
    TEXT.map(lambda text: quote(text).encode()),
    st.sampled_from(ODD_BYTES).map(quote_from_bytes).map(str.encode),
    st.sampled_from(ODD_BYTES),
    st.binary(max_size=12),
)
FILE = st.one_of(
    st.sampled_from([PDF, PNG, b"MZ\x90\x00 not a document", b"", b"%PDF-" + b"x" * 200_000]),
    st.binary(max_size=64),
)
FILE_NAME = st.one_of(
    st.sampled_from(["id.pdf", "照片.png", "", ".", "../../x.pdf", "a\x00b.pdf", "x" * 500]),
    st.text(max_size=20),
)


@dataclass(frozen=True)
class Form:
    name: str
    user: str  # who posts it: anonymous, citizen, clerk or supervisor
    path: str  # {draft}, {restaurant}, {submitted}, {finished}, {household}, {follow_up}
    fields: tuple[str, ...]
    files: tuple[str, ...] = ()
    method: str = "post"
    extra: dict = field(default_factory=dict)


NEWBORN_FIELDS = tuple(NEWBORN_FORM)
RESTAURANT_FIELDS = (
    "enterprise.type",
    "enterprise.address.province",
    "enterprise.address.city",
    "enterprise.address.district",
    "enterprise.address.street",
    "enterprise.registered_capital",
    "enterprise.business_scope",
    "enterprise.shareholders.0.name",
    "enterprise.shareholders.0.certificate_number",
    "enterprise.shareholders.0.contribution",
    "enterprise.shareholders.0.contribution_date",
    "enterprise.shareholders.1.contribution",
    "enterprise.shareholders.99999999999.name",
    "enterprise.shareholders.٣.name",
    "legal_rep.name",
    "legal_rep.id_number",
    "contact.mobile",
    "restaurant.category",
    "restaurant.business_area",
    "restaurant.seats",
    "sign.content",
    "sign.size",
)
DELIVERY = (
    "delivery.method",
    "delivery.recipient",
    "delivery.mobile",
    "delivery.address",
    "delivery.hall",
)
MATERIALS = ("parents_id_cards", "child_photo", "marriage_certificate", "household_register")
STAFF_ACTION = (
    "reason",
    "reason_choice",
    "output_name_0",
    "output_value_0",
    "output_name_1",
    "output_value_1",
    "output_name_2",
    "output_value_2",
    "materials",
)
STEP = "/applications/{draft}/steps/"
FORMS = [
    Form(
        "register",
        "anonymous",
        "/accounts/register/",
        (
            "username",
            "password1",
            "password2",
            "real_name",
            "id_number",
            "mobile",
            "email",
            "account_type",
            "credit_code",
            "enterprise_name",
            "next",
        ),
    ),
    Form("login", "anonymous", "/accounts/login/", ("username", "password", "next")),
    Form("apply", "citizen", "/bundles/newborn/apply/", ("enterprise",)),
    Form("apply for a business", "citizen", "/bundles/open_restaurant/apply/", ("enterprise",)),
    Form("step: items", "citizen", STEP + "items/", ("items", "_more", "_later")),
    Form("step: the form", "citizen", STEP + "form-1/", NEWBORN_FIELDS + ("_more", "_later")),
    Form(
        "step: a business's form",
        "citizen",
        "/applications/{restaurant}/steps/form-1/",
        RESTAURANT_FIELDS + ("_more",),
    ),
    Form(
        "step: a business's form, page 2",
        "citizen",
        "/applications/{restaurant}/steps/form-2/",
        RESTAURANT_FIELDS,
    ),
    Form("step: materials", "citizen", STEP + "materials/", ("_more",), MATERIALS),
    Form("step: delivery", "citizen", STEP + "delivery/", DELIVERY),
    Form("step: review", "citizen", STEP + "review/", ("_later",)),
    Form(
        "supplement",
        "citizen",
        "/applications/{submitted}/supplement/",
        ("note",),
        ("household_register", "parents_id_cards"),
    ),
    Form("materials to follow", "citizen", "/applications/{submitted}/materials/", (), MATERIALS),
    Form("withdraw", "citizen", "/applications/{submitted}/withdraw/", ("reason",)),
    Form("rate", "citizen", "/applications/{finished}/rate/", ("score", "comment")),
    Form("report", "citizen", "/report/", ("description", "application")),
    Form("report (page)", "citizen", "/report/", ("application",), method="get"),
    Form("search", "anonymous", "/", ("q",), method="get"),
    Form(
        "walk-in",
        "clerk",
        "/staff/walk-in/newborn/",
        ("person.real_name", "person.id_number", "person.mobile", "items", "delivery.method")
        + NEWBORN_FIELDS
        + ("_more",),
        MATERIALS,
        extra={
            "person.real_name": "赵一",
            "person.id_number": resident_id(datetime.date(1988, 8, 8), sequence="031"),
            "person.mobile": "13900139000",
        },
    ),
    *(
        Form(f"staff: {action}", "clerk", f"/staff/subtasks/{{household}}/{action}/", STAFF_ACTION)
        for action in ("accept", "request-supplement", "approve", "reject", "sign")
    ),
    Form("staff: tracking", "clerk", "/staff/subtasks/{household}/tracking/", ("tracking_number",)),
    Form("staff: reveal", "clerk", "/staff/subtasks/{household}/reveal/", ("field",)),
    Form("staff: claim", "clerk", "/staff/subtasks/{household}/claim/", ()),
    Form("staff: retry", "clerk", "/staff/subtasks/{household}/retry/", ()),
    Form("worklist", "clerk", "/staff/", ("status", "bundle", "due"), method="get"),
    Form(
        "follow-up answer",
        "supervisor",
        "/staff/follow-ups/{follow_up}/answer/",
        ("resolution",),
    ),
    Form("follow-ups", "supervisor", "/staff/follow-ups/", ("status",), method="get"),
    Form(
        "dashboard",
        "supervisor",
        "/staff/dashboard/",
        ("period", "format", "table", "fresh"),
        method="get",
    ),
]


@st.composite
def posted(draw, form: Form):
    """(name, raw value) pairs: some of the form's fields, missing, repeated or unknown ones,
    the form's own good values now and then, and files."""
    names = [name.encode() for name in form.fields]
    pairs = []
    for name in draw(st.lists(st.sampled_from(names), max_size=len(names) + 3)) if names else []:
        pairs.append((name, draw(RAW_VALUE)))
    for name in draw(st.lists(st.sampled_from([b"", b"%00", b"\xff", b"a" * 300, b"x.0.y"]))):
        pairs.append((name, draw(RAW_VALUE)))
    if draw(st.booleans()):
        pairs += [(quote(k).encode(), quote(v).encode()) for k, v in form.extra.items()]
    files = []
    for name in draw(st.lists(st.sampled_from(form.files), max_size=3)) if form.files else []:
        files.append((name, draw(FILE_NAME), draw(FILE)))
    return pairs, files


def urlencoded(pairs) -> bytes:
    return b"&".join(name + b"=" + value for name, value in pairs)


def multipart(pairs, files, boundary=b"fuzzBoundary7MA4YWxkTrZu0gW") -> bytes:
    """A multipart body as the parts are, bytes and all (the values are sent undecoded)."""
    from urllib.parse import unquote_to_bytes

    parts = []
    for name, value in pairs:
        parts.append(
            b'Content-Disposition: form-data; name="'
            + unquote_to_bytes(name).replace(b'"', b"")
            + b'"\r\n\r\n'
            + unquote_to_bytes(value)
        )
    for name, file_name, content in files:
        header = f'Content-Disposition: form-data; name="{name}"; filename="{file_name}"'
        parts.append(
            header.encode("utf-8", "surrogatepass")
            + b"\r\nContent-Type: application/octet-stream\r\n\r\n"
            + content
        )
    body = b"".join(b"--" + boundary + b"\r\n" + part + b"\r\n" for part in parts)
    return body + b"--" + boundary + b"--\r\n"


# --- what must hold -----------------------------------------------------------------------
def state():
    """What any form might change, to compare before and after an error."""
    from accounts.models import Enterprise, User
    from applications.models import Application, Event, SubTask, Upload
    from feedback.models import FollowUp, Rating
    from privacy.models import Disclosure

    return (
        list(User.objects.order_by("pk").values_list("pk", "real_name", "id_number", "mobile")),
        list(Enterprise.objects.order_by("pk").values_list("pk", "name")),
        list(
            Application.objects.order_by("pk").values_list(
                "pk", "status", "form", "chosen_items", "delivery", "tracking_number"
            )
        ),
        list(SubTask.objects.order_by("pk").values_list("pk", "status", "outputs", "reason")),
        Event.objects.count(),
        Upload.objects.count(),
        list(FollowUp.objects.order_by("pk").values_list("pk", "status", "resolution")),
        Rating.objects.count(),
        Disclosure.objects.count(),
    )


def stored_drafts_are_clean():
    """Every draft's answers pass the checks of its form as they stand (optional fields)."""
    from dataclasses import replace

    from applications.models import Application
    from bundles.fieldtypes import clean_form
    from bundles.services import chosen_bundle_items, form_specs

    for draft in Application.objects.filter(status="draft").select_related("bundle"):
        items = chosen_bundle_items(draft.bundle, draft.chosen_items)
        specs = [replace(spec, required=False) for spec in form_specs(items)]
        cleaned, errors = clean_form(specs, draft.form)
        assert not errors, (draft.pk, errors)
        assert cleaned == draft.form, draft.pk


def error_shown(response) -> bool:
    if response.status_code == 400:
        return True
    return any(m.level == messages.ERROR for m in get_messages(response.wsgi_request))


@pytest.fixture
def people(module_db, client):
    """A logged-in test client for each kind of user."""
    from django.test import Client

    clients = {"anonymous": client}
    for role in ("citizen", "clerk", "supervisor"):
        clients[role] = Client()
        clients[role].force_login(getattr(module_db, role))
    return clients


def path_of(form: Form, targets) -> str:
    return form.path.format(
        draft=targets.draft.pk,
        restaurant=targets.restaurant.pk,
        submitted=targets.submitted.pk,
        finished=targets.finished.pk,
        household=targets.household.pk,
        follow_up=targets.follow_up.pk,
    )


@pytest.mark.parametrize("form", FORMS, ids=[form.name for form in FORMS])
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(data=st.data())
def test_no_form_fails_stalls_or_half_saves(form, data, module_db, people):
    pairs, files = data.draw(posted(form))
    client = people[form.user]
    path = path_of(form, module_db)
    as_multipart = bool(files) or (form.files and data.draw(st.booleans()))
    if form.method == "get":
        query = urlencoded(pairs).decode("latin-1")

        def send():  # the query's bytes as they are (WSGI hands them over as Latin-1)
            return client.get(path, QUERY_STRING=query)
    else:
        if as_multipart:
            body = multipart(pairs, files)
            content_type = "multipart/form-data; boundary=fuzzBoundary7MA4YWxkTrZu0gW"
        else:
            body, content_type = urlencoded(pairs), "application/x-www-form-urlencoded"

        def send():
            return client.post(path, body, content_type=content_type)

    def attempt():
        client.cookies.pop("messages", None)  # only this request's messages count
        with rolled_back():
            before = state()
            response, took = timed(send)
            assert response.status_code < 500, (form.name, pairs, files)
            if error_shown(response) and form.method == "post":
                after = state()
                if form.name.startswith("step: ") and "form" in form.name:
                    # A form step saves the answers that pass as the draft (and then says
                    # what is still missing); a refused answer leaves the draft as it was.
                    after, before = after[:2] + after[3:], before[:2] + before[3:]
                assert after == before, (form.name, pairs)
            stored_drafts_are_clean()
        return response, took

    within_a_second(attempt, form.name)
