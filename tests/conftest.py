import io
import os

import pytest
from django.conf import settings as django_settings
from rest_framework.test import APIClient

from .processes import Simulator, Worker, wait_for

SIMULATOR_SECRET = "test-simulator-secret"  # noqa: S105

# A PDF and a PNG small enough to build in memory: their first bytes are what counts.
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64

NEWBORN_FORM = {
    "child.name": "王小𠮷",
    "child.gender": "女",
    "child.birth_date": "2026-11-20",
    "child.birth_place": "北京市第一人民医院",
    "mother.name": "王小梅",
    "mother.id_number": "11010119900307002X",
    "father.name": "李䶮",
    "father.id_number": "110101198805120012",
    "contact.mobile": "13800138000",
    "household.head_name": "李䶮",
    "household.address": "北京市东城区东华门街道1号",
}


@pytest.fixture(scope="session")
def simulator():
    sim = Simulator(SIMULATOR_SECRET)
    sim.start()
    yield sim
    sim.stop()


@pytest.fixture
def department_simulator(simulator):
    simulator.reset()
    yield simulator
    simulator.reset()


@pytest.fixture
def catalogue(db, settings, simulator):
    """The demo catalogue, its system-handled departments pointing at the simulator."""
    from bundles.loader import load

    settings.DEPARTMENT_SIMULATOR_URL = simulator.url
    settings.DEPARTMENT_SIMULATOR_SECRET = SIMULATOR_SECRET
    load()


@pytest.fixture
def make_citizen(db):
    from accounts.models import User

    def make(username="citizen", id_number="11010119900307002X", real_name="王小梅"):
        return User.objects.create_user(
            username=username,
            password="Pass-word-2026",
            real_name=real_name,
            id_number=id_number,
            mobile="13800138000",
        )

    return make


@pytest.fixture
def citizen(make_citizen):
    return make_citizen()


@pytest.fixture
def make_staff(db):
    from accounts.models import User
    from departments.models import Department

    def make(department_code, username=None):
        user = User.objects.create_user(
            username=username or f"staff_{department_code}",
            password="Pass-word-2026",
            real_name=f"{department_code} clerk",
        )
        user.departments.add(Department.objects.get(code=department_code))
        return user

    return make


def api_client(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def apply_newborn(
    client, form=None, items=(), submit=True, materials=("parents_id_cards", "child_photo")
):
    """Create a newborn draft, upload its materials, submit; return the last response."""
    response = client.post(
        "/api/v1/applications/",
        {"bundle": "newborn", "form": form or NEWBORN_FORM, "items": list(items)},
        format="json",
    )
    assert response.status_code == 201, response.content
    application_id = response.json()["id"]
    for code in materials:
        content = PNG if code == "child_photo" else PDF
        upload = io.BytesIO(content)
        upload.name = f"{code}.{'png' if content is PNG else 'pdf'}"
        uploaded = client.post(
            f"/api/v1/applications/{application_id}/materials/",
            {"code": code, "file": upload},
            format="multipart",
        )
        assert uploaded.status_code == 201, uploaded.content
    if not submit:
        return response
    return client.post(f"/api/v1/applications/{application_id}/submit/", format="json")


@pytest.fixture(scope="session")
def worker(django_db_setup, django_db_blocker, simulator, live_server, tmp_path_factory):
    """A real Celery worker (with beat) on the test database and the test Redis."""
    db = django_settings.DATABASES["default"]
    env = {
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_BROKER_URL": django_settings.CELERY_BROKER_URL,
        "PORTAL_BASE_URL": live_server.url,
        "POLL_INTERVAL_SECONDS": "1",
        "RECONCILE_INTERVAL_SECONDS": "1",
        "RECONCILE_STALE_SECONDS": "3",
        "DISPATCH_RETRY_BASE_SECONDS": "0.3",
        "DISPATCH_RETRY_MAX_SECONDS": "1.5",
        "DISPATCH_MAX_ATTEMPTS": "4",
        "DEPARTMENT_HTTP_TIMEOUT": "3",
        "WORKER_HEARTBEAT_SECONDS": "6",
        "PORTAL_VAR_DIR": str(tmp_path_factory.mktemp("worker-var")),
    }
    artifacts = os.environ.get("TEST_ARTIFACTS_DIR")
    log_dir = (
        tmp_path_factory.mktemp("worker")
        if not artifacts
        else __import__("pathlib").Path(artifacts)
    )
    log_dir.mkdir(parents=True, exist_ok=True)
    process = Worker(env, log_dir / "celery-worker.log")
    process.start()
    wait_for(lambda: "ready." in process.log_text(), 60, message="the Celery worker to be ready")
    yield process
    process.stop()
