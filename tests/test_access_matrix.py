"""Who may do what, on every URL: each URL name of the URL conf and each operation of the API
schema is called as each of nine people, on real objects, and every answer is compared with
docs/access.md — the one table of the intended rules. A URL without a row fails."""

import copy
import json
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.contrib import admin
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.urls.exceptions import NoReverseMatch, Resolver404

TABLE = Path(__file__).resolve().parent.parent / "docs" / "access.md"
PERSONAS = ("anon", "A", "B", "agent", "clerk X", "clerk Y", "dept sup", "centre sup", "admin")
CLASSES = ("2xx", "302", "302 login", "302 second factor", "4xx-input", "401", "403", "404", "405")
HEADER = ["name", "methods", "object", *PERSONAS, "notes"]
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
#: What every page (not the API) must have a row for.
PAGE_METHODS = ("GET", "POST")
#: Only the admin may be covered by a family row (``admin:*``).
FAMILY = "admin:*"
#: Bodies for requests whose body is checked before the object's owner: without one, a refused
#: body would hide whether the object is the caller's.
BODIES = {
    "staff-reveal": {"field": "mother.id_number"},
    "api:subtask-reveal": {"field": "mother.id_number"},
    "staff-follow-up-answer": {"resolution": "已电话回访，说明了所缺的材料。"},
}


# --- the table ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Row:
    name: str
    methods: tuple[str, ...]
    obj: str
    expected: dict
    line: int


def read_table(path: Path = TABLE) -> tuple[list[Row], list[str]]:
    """The rows of every table of ``path`` whose header is HEADER, and what is wrong in them."""
    rows, problems, in_table = [], [], False
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.startswith("|"):
            in_table = False
            continue
        cells = [cell.strip() for cell in line.strip()[1:-1].split("|")]
        if cells[:2] == ["name", "methods"]:
            in_table = cells == HEADER
            if not in_table:
                problems.append(f"line {number}: the header must be {' | '.join(HEADER)}")
            continue
        if not in_table or set(line) <= set("|-: "):
            continue
        if len(cells) != len(HEADER):
            problems.append(f"line {number}: {len(cells)} cells, not {len(HEADER)}")
            continue
        name, methods, obj = (cells[0].strip("`"), cells[1].split(), cells[2].strip("`"))
        expected = dict(zip(PERSONAS, cells[3:12], strict=True))
        for persona, cell in expected.items():
            if cell not in CLASSES:
                problems.append(f"line {number}: {persona}: {cell!r} is not one of {CLASSES}")
        for method in methods:
            if method not in METHODS:
                problems.append(f"line {number}: {method!r} is not an HTTP method")
        if name.endswith("*") and name != FAMILY:
            problems.append(f"line {number}: only the admin is a family ({FAMILY}): {name}")
        rows.append(Row(name, tuple(methods), obj, expected, number))
    seen = {}
    for row in rows:
        for method in row.methods:
            key = (row.name, method, row.obj)
            if key in seen:
                problems.append(
                    f"line {row.line}: {row.name} {method} on {row.obj} is on line {seen[key]} too"
                )
            seen[key] = row.line
    return rows, problems


def rows_for(rows: list[Row], name: str, method: str) -> list[Row]:
    """The rows of ``name`` for ``method`` (one per object asked about); an admin URL without
    rows of its own: the family's."""
    for wanted in (name, FAMILY if name.startswith("admin:") else None):
        found = [row for row in rows if row.name == wanted and method in row.methods]
        if found:
            return found
    return []


# --- the URL conf and the schema ----------------------------------------------------------------
@dataclass
class Route:
    name: str | None
    namespace: str
    route: str
    pattern: URLPattern
    methods: tuple[str, ...]


def served_methods(callback) -> tuple[str, ...]:
    """An API view: the methods it serves. A page: GET and POST, whatever it does with them."""
    if getattr(callback, "actions", None):  # a DRF viewset's route
        return tuple(sorted(m.upper() for m in callback.actions if m.upper() in METHODS))
    cls = getattr(callback, "cls", None)  # a DRF APIView
    if cls is not None:
        return tuple(method for method in METHODS if hasattr(cls, method.lower()))
    return PAGE_METHODS


def all_routes() -> list[Route]:
    """Every URL pattern of the URL conf, first come first served per name (as reverse does)."""
    found: list[Route] = []

    def walk(patterns, namespace, prefix):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = ":".join(part for part in (namespace, pattern.namespace) if part)
                walk(pattern.url_patterns, inner, prefix + str(pattern.pattern))
                continue
            name = pattern.name and ":".join(p for p in (namespace, pattern.name) if p)
            route = prefix + str(pattern.pattern)
            # The admin: GET, for everyone (see docs/access.md).
            methods = ("GET",) if namespace == "admin" else served_methods(pattern.callback)
            found.append(Route(name, namespace, route, pattern, methods))

    walk(get_resolver().url_patterns, "", "/")
    unique, names = [], set()
    for route in found:
        if route.name is None or route.name not in names:
            unique.append(route)
            names.add(route.name)
    return unique


def is_admin(route: Route) -> bool:
    return route.namespace == "admin" or (route.name or "").startswith("admin:")


def schema_operations() -> list[tuple[str, str]]:
    """(path, method) of every operation of the OpenAPI schema served at /api/schema/."""
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    return [
        (path, method.upper())
        for path, operations in schema["paths"].items()
        for method in operations
        if method.upper() in METHODS
    ]


def name_of_path(path: str) -> str | None:
    """The URL name a schema path resolves to, whatever its parameters' converters."""
    for sample in ("1", "a"):
        try:
            match = resolve(re.sub(r"\{[^}]+\}", sample, path))
        except Resolver404:
            continue
        return match.view_name
    return None


def test_every_url_and_api_operation_has_a_row():
    """A new URL, or a new method of an API view, fails here until the table says who may use
    it; a row of a URL that is gone fails too."""
    rows, problems = read_table()
    routes = all_routes()
    for route in routes:
        if route.name is None:
            if not is_admin(route):
                problems.append(f"the URL {route.route} has no name: give it one, and a row")
            continue
        for method in route.methods:
            if not rows_for(rows, route.name, method):
                problems.append(
                    f"no row for {route.name} {method} ({route.route}): add one to docs/access.md"
                )
    for path, method in schema_operations():
        name = name_of_path(path)
        if name is None:
            problems.append(f"the schema's {method} {path} matches no URL")
        elif not rows_for(rows, name, method):
            problems.append(f"no row for {name} {method} (the API's {method} {path})")
    names = {route.name for route in routes}
    for row in rows:
        if row.name != FAMILY and row.name not in names:
            problems.append(f"line {row.line}: there is no URL named {row.name}")
    assert not problems, (
        f"{len(problems)} problems in docs/access.md, the first: {problems[0]}\n"
        + "\n".join(problems)
    )


# --- the scenario -------------------------------------------------------------------------------
@dataclass
class Scenario:
    users: dict  # persona → user (anon: None)
    objects: dict  # the table's object → the URL's arguments


def build_scenario(newborn_catalogue) -> Scenario:
    """Citizen A's newborn application with parts at the police (X) and health (Y), her draft,
    an upload, messages, a follow-up, mandates for an enterprise, a walk-in; and the nine
    people. Built with the services, as the pages and the API build them."""
    from django.utils import timezone

    from accounts.models import Enterprise, Mandate, User
    from applications import services
    from applications.models import SubTask, Upload, WorkerHeartbeat
    from applications.wizard import steps_of
    from bundles.loader import load
    from departments.models import Department
    from feedback import services as feedback
    from notifications.models import Message

    from .helpers import PASSWORD, api_client, apply_newborn

    load(newborn_catalogue)
    # Every part at the window: the test needs no department system.
    Department.objects.update(handling="manual")

    def citizen(username, id_number, mobile, real_name):
        return User.objects.create_user(
            username=username,
            password=PASSWORD,
            real_name=real_name,
            id_number=id_number,
            mobile=mobile,
        )

    def staff(username, role, department=None):
        user = User.objects.create_user(
            username=username, password=PASSWORD, real_name=username, role=role
        )
        if department:
            user.departments.add(Department.objects.get(code=department))
        return user

    a = citizen("citizen_a", "11010119900307002X", "13800138000", "王小梅")
    b = citizen("citizen_b", "330106199208150042", "13900139000", "赵敏")
    agent = citizen("agent", "110105198001010016", "13700137000", "钱经办")
    users = {
        "anon": None,
        "A": a,
        "B": b,
        "agent": agent,
        "clerk X": staff("clerk_police", User.Role.CLERK, "police"),
        "clerk Y": staff("clerk_health", User.Role.CLERK, "health"),
        "dept sup": staff("supervisor_police", User.Role.DEPARTMENT_SUPERVISOR, "police"),
        "centre sup": staff("supervisor_centre", User.Role.CENTRE_SUPERVISOR),
        "admin": User.objects.create_superuser("admin", "admin@example.com", PASSWORD),
    }

    enterprise = Enterprise.objects.create(
        credit_code="91110000600037341L",
        name="北京示例餐饮有限公司",
        legal_rep_name=a.real_name,
        legal_rep_id_number=a.id_number,
        legal_rep_mobile=a.mobile,
    )
    verified = Mandate.objects.create(agent=agent, enterprise=enterprise)
    verified.verify(Mandate.Proof.LEGAL_REP, by=a)
    verified.save()
    pending = Mandate.objects.create(agent=b, enterprise=enterprise)

    submitted = apply_newborn(api_client(a))
    assert submitted.status_code == 200, submitted.content
    application_id = submitted.json()["id"]
    services.advance(application_id)
    for ready in SubTask.objects.filter(application_id=application_id, status="ready"):
        services.dispatch(ready.pk)
    birth = SubTask.objects.get(application_id=application_id, item__code="birth_certificate")
    services.staff_action(birth.pk, users["clerk Y"], "accept")
    services.staff_action(
        birth.pk, users["clerk Y"], "approve", outputs={"certificate_number": "Q110012345"}
    )
    police = SubTask.objects.get(application_id=application_id, item__code="household_registration")
    services.dispatch(police.pk)
    police.refresh_from_db()
    assert police.status == "dispatched", police.status
    # A second application, whose police part still waits for its birth certificate.
    waiting = apply_newborn(api_client(a)).json()["id"]
    services.advance(waiting)
    for ready in SubTask.objects.filter(application_id=waiting, status="ready"):
        services.dispatch(ready.pk)
    waiting_police = SubTask.objects.get(
        application_id=waiting, item__code="household_registration", status="waiting"
    )
    upload = Upload.objects.get(application_id=application_id, material__code="parents_id_cards")
    follow_up = feedback.report_cannot_get_done(
        a, "窗口说材料不全，但没说缺什么。", birth.application
    )
    draft = services.create_application(a, "newborn")
    walk_in = services.create_application(b, "newborn", filed_by=users["clerk X"])
    assert Message.objects.filter(user=a).exists()
    # A worker has just been seen: /healthz answers "ok".
    WorkerHeartbeat.objects.create(hostname="matrix@test", seen_at=timezone.now())

    objects = {
        "—": {},
        "bundle": {"code": "newborn"},
        "application": {"pk": application_id},
        "draft": {"pk": draft.pk, "slug": steps_of(draft)[0].slug},
        "certificate": {"pk": application_id, "subtask_id": birth.pk},
        "upload": {"pk": upload.pk},
        "police part": {"pk": police.pk},
        "police part: accept": {"pk": police.pk, "action": "accept"},
        "waiting police part": {"pk": waiting_police.pk},
        "waiting application": {"pk": waiting},
        "follow-up": {"pk": follow_up.pk},
        "verified mandate": {"pk": verified.pk},
        "pending mandate": {"pk": pending.pk},
        "walk-in": {"pk": walk_in.pk},
        "health department": {"code": "health"},
        "reset link": {"uidb64": "MQ", "token": "not-a-valid-token"},
    }
    return Scenario(users, objects)


def admin_arguments(route: Route, scenario: Scenario) -> list[dict]:
    """Arguments for one admin URL: each app's label, a model's first row, an application's
    "view on site"; none for a model without rows. ValueError: arguments the test cannot fill."""
    from django.contrib.contenttypes.models import ContentType

    from applications.models import Application

    needed = set(route.pattern.pattern.regex.groupindex)
    if not needed:
        return [{}]
    if needed == {"app_label"}:
        return [{"app_label": label} for label in sorted({m._meta.app_label for m in registry()})]
    if needed == {"content_type_id", "object_id"}:
        application = scenario.objects["application"]["pk"]
        kind = ContentType.objects.get_for_model(Application).pk
        return [{"content_type_id": kind, "object_id": application}]
    model = model_of(route.pattern.callback)
    if model is None or len(needed) != 1 or not needed <= {"object_id", "id", "pk"}:
        raise ValueError(f"the test cannot fill {sorted(needed)} of {route.name} ({route.route})")
    first = model.objects.order_by("pk").first()
    return [{needed.pop(): first.pk}] if first is not None else []


def registry():
    return list(admin.site._registry)


def model_of(view):
    """The model of the ModelAdmin whose (wrapped) method ``view`` is."""
    while view is not None:
        owner = getattr(view, "model_admin", None) or getattr(view, "__self__", None)
        if isinstance(owner, admin.ModelAdmin):
            return owner.model
        view = getattr(view, "__wrapped__", None)
    return None


def planned_calls(rows: list[Row], scenario: Scenario):
    """(route, method, row, url) of every request the table asks for, and the rows whose
    object the scenario cannot give."""
    plan, problems = [], []
    for route in all_routes():
        if route.name is None:
            continue
        own = [row for row in rows if row.name == route.name]
        family = [row for row in rows if row.name == FAMILY] if is_admin(route) else []
        methods = sorted({m for row in own + family for m in row.methods})
        for method, row in ((m, row) for m in methods for row in rows_for(rows, route.name, m)):
            try:
                if row.obj == "admin model":
                    arguments = admin_arguments(route, scenario)
                else:
                    arguments = [scenario.objects[row.obj]]
            except (KeyError, ValueError) as exc:
                problems.append(f"line {row.line}: {route.name}: no object to ask about: {exc}")
                continue
            for kwargs in arguments:
                try:
                    plan.append((route, method, row, reverse(route.name, kwargs=kwargs)))
                except NoReverseMatch:
                    problems.append(
                        f"line {row.line}: {route.name} takes other arguments than "
                        f"{row.obj!r} gives ({sorted(kwargs)}; the route is {route.route})"
                    )
    return plan, problems


# --- calling ------------------------------------------------------------------------------------
def answer_class(response) -> str:
    status = response.status_code
    if 200 <= status < 300:
        return "2xx"
    if 300 <= status < 400:
        target = urlsplit(response.get("Location", "")).path
        if target in (reverse("login"), reverse("admin:login")):
            return "302 login"
        return "302 second factor" if target == reverse("second-factor") else "302"
    if status in (400, 409):
        return "4xx-input"
    return str(status)


def call(client: Client, method: str, url: str, name: str):
    """One request, in a savepoint rolled back afterwards, with the client's cookies kept as
    they were: whatever it changed (a withdrawal, a sign-out) the next call starts afresh."""
    body = BODIES.get(name, {})
    cookies = copy.deepcopy(client.cookies)
    try:
        with transaction.atomic():
            try:
                if name.startswith("api:"):
                    return client.generic(
                        method, url, json.dumps(body), content_type="application/json"
                    )
                return client.get(url) if method == "GET" else client.post(url, body)
            finally:
                transaction.set_rollback(True)
    finally:
        client.cookies = cookies


def signed_in(persona: str, user) -> Client:
    """A browser of ``persona``: sessions for pages and API alike (the API takes the session as
    it takes a token); the administrator has given the second factor."""
    from .helpers import sign_in_with_second_factor

    client = Client(raise_request_exception=False)
    if persona == "admin":
        sign_in_with_second_factor(client, user)
    elif user is not None:
        client.force_login(user)
    return client


def difference(route, method, url, row, persona, expected, response) -> str:
    where = response.get("Location", "")
    return (
        f"{route.name} {method} {url} ({row.obj if row else '—'}) as {persona}: expected "
        f"{expected}, got {answer_class(response)} "
        f"({response.status_code}{' → ' + where if where else ''})"
    )


def open_before_second_factor(path: Path = TABLE) -> set[str]:
    """The URL names of the table "open before the second factor" of docs/access.md."""
    names, in_table = set(), False
    for line in path.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip()[1:-1].split("|")]
        if not line.startswith("|"):
            in_table = False
        elif cells[0] == "open before the second factor":
            in_table = True
        elif in_table and not set(line) <= set("|-: "):
            names.add(cells[0].strip("`"))
    return names


@pytest.mark.django_db
def test_every_answer_is_the_one_the_table_gives(newborn_catalogue, settings):
    """Each URL name (each admin URL) and method of the table, as each of the nine people, on
    the scenario's objects; then every URL as an administrator who has given the password but
    not the second factor. Every answer that differs from docs/access.md is listed."""
    # The scenario's worker heartbeat stays fresh for the whole run: /healthz answers "ok".
    settings.WORKER_HEARTBEAT_SECONDS = 3600
    # Some three thousand requests: sessions are saved only when they change (no access rule
    # depends on the session's expiry being pushed on).
    settings.SESSION_SAVE_EVERY_REQUEST = False
    rows, problems = read_table()
    assert not problems, problems
    scenario = build_scenario(newborn_catalogue)
    plan, mismatches = planned_calls(rows, scenario)
    clients = {persona: signed_in(persona, user) for persona, user in scenario.users.items()}
    for route, method, row, url in plan:
        for persona, client in clients.items():
            response = call(client, method, url, route.name)
            if answer_class(response) != row.expected[persona]:
                mismatches.append(
                    difference(route, method, url, row, persona, row.expected[persona], response)
                )

    half = Client(raise_request_exception=False)
    half.force_login(scenario.users["admin"])  # the password only
    open_names = open_before_second_factor()
    assert open_names, "docs/access.md has no table 'open before the second factor'"
    urls = {url: route for route, method, _row, url in plan if method == "GET"}
    for url, route in urls.items():
        if route.name in open_names:
            continue
        expected = "403" if url.startswith("/api/") else "302 second factor"
        response = call(half, "GET", url, route.name)
        if answer_class(response) != expected:
            mismatches.append(
                difference(route, "GET", url, None, "admin, no second factor", expected, response)
            )
    assert len(plan) * len(clients) > 1000, len(plan)
    assert not mismatches, (
        f"{len(mismatches)} answers differ from docs/access.md, the first: {mismatches[0]}\n"
        + "\n".join(mismatches)
    )
