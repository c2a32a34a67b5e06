"""What the hostile-input tests share: a catalogue with every kind of field, people and objects
worth aiming at, and a way to try any number of requests against the same starting state.

Every request runs inside a savepoint that is rolled back afterwards, so each generated input
meets the same draft, the same submitted application and the same sub-task at the window; and
``transaction.on_commit`` work (Celery) is never queued. Nothing here needs the worker or the
department simulator.
"""

import io
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from django.db import close_old_connections, transaction

from .helpers import PASSWORD, PDF, PNG, api_client, apply_newborn

#: What every request must stay within, whatever it carries.
LIMIT_SECONDS = 1.0


@pytest.fixture(scope="session")
def fuzz_catalogue_dir(tmp_path_factory):
    """Newborn (for citizens, with a window department) and opening a restaurant (for
    businesses: numbers, an address, a repeating group)."""
    from bundles.loader import DEFAULT_DIRECTORY

    folder = tmp_path_factory.mktemp("fuzz-catalogue")
    (folder / "bundles").mkdir()
    for name in (
        "departments.yaml",
        "fields.yaml",
        "materials.yaml",
        "bundles/newborn.yaml",
        "bundles/open_restaurant.yaml",
    ):
        shutil.copy(DEFAULT_DIRECTORY / name, folder / name)
    return folder


#: Departments of kind http point here; these tests never send anything to them.
NOWHERE = "http://127.0.0.1:9"


@pytest.fixture
def fuzz_catalogue(db, settings, fuzz_catalogue_dir):
    from bundles.loader import load

    settings.DEPARTMENT_SIMULATOR_URL = NOWHERE
    load(fuzz_catalogue_dir)


RESTAURANT_FORM = {
    "enterprise.type": "有限责任公司",
    "enterprise.address": {
        "province": "北京市",
        "city": "北京市",
        "district": "东城区",
        "street": "东华门街道1号",
    },
    "enterprise.registered_capital": 50,
    "enterprise.shareholders": [
        {
            "name": "王小梅",
            "certificate_number": "11010119900307002X",
            "contribution": 50,
            "contribution_date": "2030-12-31",
        }
    ],
    "restaurant.seats": 40,
}


@dataclass
class Targets:
    """Real objects for generated requests to reach (ids for paths, people to act as)."""

    citizen: object
    clerk: object  # of the police, who handle household registration at the window
    supervisor: object
    draft: object  # the citizen's newborn draft, with both required materials uploaded
    restaurant: object  # the citizen's draft for her business: numbers, address, group
    submitted: object  # in progress; its household registration waits at the police window
    household: object  # that sub-task, dispatched to the police
    finished: object  # a completed application, to rate
    follow_up: object  # a 办不成事 report to answer


@pytest.fixture
def targets(fuzz_catalogue) -> Targets:
    return build_targets()


@pytest.fixture(scope="module")
def module_targets(django_db_setup, django_db_blocker, fuzz_catalogue_dir, tmp_path_factory):
    """The same objects, built once for a whole module of generated requests (each of which
    is rolled back), inside a transaction undone when the module is done. Its tests are
    marked ``django_db`` (each then runs in a savepoint of this transaction) and take
    ``module_db``."""
    from django.test import override_settings

    from bundles.loader import load

    with (
        django_db_blocker.unblock(),
        override_settings(
            DEPARTMENT_SIMULATOR_URL=NOWHERE, MEDIA_ROOT=tmp_path_factory.mktemp("uploads")
        ),
        transaction.atomic(),
    ):
        load(fuzz_catalogue_dir)
        yield build_targets()
        transaction.set_rollback(True)


@pytest.fixture
def module_db(module_targets, db):
    return module_targets


def build_targets() -> Targets:
    from accounts.models import Enterprise, User
    from applications.models import Application, SubTask
    from departments.models import Department
    from feedback.services import report_cannot_get_done

    citizen = User.objects.create_user(
        username="citizen",
        password=PASSWORD,
        real_name="王小梅",
        id_number="11010119900307002X",
        mobile="13800138000",
    )
    citizen.enterprises.add(
        Enterprise.objects.create(credit_code="91110000600037341L", name="北京示例餐饮有限公司")
    )
    Department.objects.exclude(code="police").update(handling="manual")
    client = api_client(citizen)
    draft = Application.objects.get(pk=apply_newborn(client, submit=False).json()["id"])
    submitted = _in_police_queue(apply_newborn(client).json()["id"])
    restaurant = client.post(
        "/api/v1/applications/",
        {"bundle": "open_restaurant", "form": RESTAURANT_FORM},
        format="json",
    )
    assert restaurant.status_code == 201, restaurant.content
    finished = apply_newborn(client).json()["id"]
    _finish(finished)
    supervisor = User.objects.create_user(
        username="supervisor", password=PASSWORD, role=User.Role.CENTRE_SUPERVISOR
    )
    follow_up = report_cannot_get_done(citizen, "窗口说材料不全，但没说缺什么。")
    return Targets(
        citizen=citizen,
        clerk=_clerk("police"),
        supervisor=supervisor,
        draft=draft,
        restaurant=Application.objects.get(pk=restaurant.json()["id"]),
        submitted=Application.objects.get(pk=submitted),
        household=SubTask.objects.get(
            application_id=submitted, item__code="household_registration"
        ),
        finished=Application.objects.get(pk=finished),
        follow_up=follow_up,
    )


def _clerk(code):
    from accounts.models import User
    from departments.models import Department

    clerk, created = User.objects.get_or_create(
        username=f"staff_{code}", defaults={"real_name": f"{code} clerk"}
    )
    if created:
        clerk.set_password(PASSWORD)
        clerk.save()
        clerk.departments.add(Department.objects.get(code=code))
    return clerk


def _in_police_queue(application_id) -> int:
    """Approve the birth certificate at the window, so household registration reaches the
    police (dispatched, not yet accepted)."""
    from applications import services
    from applications.models import SubTask

    services.advance(application_id)
    birth = SubTask.objects.get(application_id=application_id, item__code="birth_certificate")
    services.dispatch(birth.pk)
    health = _clerk("health")
    services.staff_action(birth.pk, health, "accept")
    services.staff_action(birth.pk, health, "approve", outputs={"certificate_number": "Q1"})
    household = SubTask.objects.get(
        application_id=application_id, item__code="household_registration"
    )
    services.dispatch(household.pk)
    _clerk("police")
    return application_id


def _finish(application_id):
    """Every part approved at its window, in the order the engine releases them."""
    from applications import services
    from applications.models import Application, SubTask

    services.advance(application_id)
    for _round in range(5):
        for subtask in SubTask.objects.filter(application_id=application_id, status="ready"):
            services.dispatch(subtask.pk)
        for subtask in SubTask.objects.filter(application_id=application_id, status="dispatched"):
            clerk = _clerk(subtask.department.code)
            services.staff_action(subtask.pk, clerk, "accept")
            services.staff_action(subtask.pk, clerk, "approve", outputs={"number": "1"})
    assert Application.objects.get(pk=application_id).status == "completed"


@contextmanager
def rolled_back():
    """Run a request, then undo whatever it did to the database."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


@contextmanager
def in_process_requests():
    """Let a WSGI client (schemathesis's) call Django inside the test's transaction: Django
    closes a connection at the end of each request unless told otherwise, as its own test
    client does."""
    from django.core.signals import request_finished, request_started

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def timed(call):
    """(result, seconds) of ``call()``."""
    started = time.perf_counter()
    result = call()
    return result, time.perf_counter() - started


def within_a_second(attempt, what=""):
    """Run ``attempt()`` — a request from a fixed starting state, returning (result,
    seconds) — and require it to take less than LIMIT_SECONDS. An attempt over the limit is
    made once more from the same state: a slow path is slow again, while a machine that
    four test runs share may stall once."""
    result, took = attempt()
    if took >= LIMIT_SECONDS:
        result, took = attempt()
    assert took < LIMIT_SECONDS, f"{what}: {took:.2f}s, twice"
    return result


def upload(code="parents_id_cards", content=PDF, name="id.pdf"):
    file = io.BytesIO(content if code != "child_photo" else PNG)
    file.name = name
    return file
