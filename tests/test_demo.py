"""`make run`'s demo, started as the README says, on both of its paths — the embedded
defaults (SQLite and kombu's filesystem broker, no server at all) and PostgreSQL with Redis —
and a newborn application taken to the end; beat must send its scheduled tasks on both."""

import os
import signal
import subprocess

import psycopg
import pytest
import requests

from .helpers import NEWBORN_FORM, PDF, PNG
from .processes import ROOT, wait_for
from .redis_server import broker_url, free_port

pytestmark = pytest.mark.slow


@pytest.fixture
def postgres_and_redis():
    """A fresh PostgreSQL database (``createdb``, as the README says) and a Redis database."""
    name = f"portal_demo_{os.getpid()}"
    admin = "postgres://postgres@127.0.0.1:5432/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')
    yield {
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{name}",
        "CELERY_BROKER_URL": f"{broker_url()}/3",
    }
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgres"])
def demo(request, tmp_path):
    port, simulator_port = free_port(), free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key
        not in {
            "DATABASE_URL",
            "CELERY_BROKER_URL",
            "DJANGO_SETTINGS_MODULE",
            "SECRET_KEY",
            "DEBUG",
        }
    }
    if request.param == "postgres":
        env |= request.getfixturevalue("postgres_and_redis")
    env |= {
        "PORT": str(port),
        "SIMULATOR_PORT": str(simulator_port),
        # A folder that does not exist yet, as on a fresh clone.
        "PORTAL_VAR_DIR": str(tmp_path / "var"),
        "PY": str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv").exists() else "python3",
    }
    log_path = tmp_path / "demo.log"
    log = open(log_path, "w")  # noqa: SIM115  (held by the child)
    process = subprocess.Popen(
        ["bash", "scripts/run-demo.sh"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"

    def up():
        try:
            return requests.get(f"{base}/healthz", timeout=2).json()["status"] == "ok"
        except (requests.RequestException, ValueError):
            return False

    try:
        wait_for(up, 90, 0.5, "the demo to answer /healthz with everything ok")
        yield base, log_path
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        log.close()


def test_the_demo_runs_a_newborn_application_to_the_end(demo):
    demo, log_path = demo

    def token(user):
        response = requests.post(
            f"{demo}/api/v1/auth/token/",
            json={"username": user, "password": "Demo-2026"},
            timeout=5,
        )
        return {"Authorization": f"Token {response.json()['token']}"}

    citizen, police = token("citizen"), token("staff_police")

    created = requests.post(
        f"{demo}/api/v1/applications/", json={"bundle": "newborn", "form": NEWBORN_FORM},
        headers=citizen, timeout=10,
    ).json()  # fmt: skip
    for code, content in (("parents_id_cards", PDF), ("child_photo", PNG)):
        uploaded = requests.post(
            f"{demo}/api/v1/applications/{created['id']}/materials/",
            data={"code": code}, files={"file": ("f", content)}, headers=citizen, timeout=10,
        )  # fmt: skip
        assert uploaded.status_code == 201, uploaded.text
    submitted = requests.post(
        f"{demo}/api/v1/applications/{created['id']}/submit/", headers=citizen, timeout=10
    )
    assert submitted.status_code == 200, submitted.text

    def at_police():
        listed = requests.get(
            f"{demo}/api/v1/subtasks/?status=dispatched", headers=police, timeout=5
        ).json()["results"]
        return listed[0]["id"] if listed else None

    subtask = wait_for(at_police, 60, 0.5, "the household registration at the police window")
    assert requests.post(f"{demo}/api/v1/subtasks/{subtask}/accept/", headers=police, timeout=5).ok
    approved = requests.post(
        f"{demo}/api/v1/subtasks/{subtask}/approve/", json={"outputs": {"household_number": "1"}},
        headers=police, timeout=5,
    )  # fmt: skip
    assert approved.ok, approved.text

    def finished():
        body = requests.get(
            f"{demo}/api/v1/applications/{created['id']}/", headers=citizen, timeout=5
        ).json()
        return body["status"] if body["status"] == "completed" else None

    assert wait_for(finished, 60, 0.5, "the application to complete") == "completed"

    # Beat sent its scheduled tasks, and the worker ran them.
    def beat_ran():
        text = log_path.read_text(errors="replace")
        return all(
            f"Sending due task {name} " in text for name in ("poll-open-cases", "reconcile")
        ) and ("applications.tasks.reconcile[" in text and "succeeded" in text)

    wait_for(
        beat_ran, 60, 0.5, "beat to send the poll and the reconciler, and the worker to run them"
    )
