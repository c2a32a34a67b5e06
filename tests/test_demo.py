"""`make run`'s demo on its embedded defaults — SQLite and kombu's filesystem broker, no
server at all — started as the README says, and a newborn application taken to the end."""

import os
import signal
import subprocess

import pytest
import requests

from .helpers import NEWBORN_FORM, PDF, PNG
from .processes import ROOT, wait_for

pytestmark = pytest.mark.slow


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def demo(tmp_path):
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
    env |= {
        "PORT": str(port),
        "SIMULATOR_PORT": str(simulator_port),
        "PORTAL_VAR_DIR": str(tmp_path / "var"),
        "PY": str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv").exists() else "python3",
    }
    log = open(tmp_path / "demo.log", "w")  # noqa: SIM115  (held by the child)
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
        yield base
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        log.close()


def test_the_demo_runs_a_newborn_application_to_the_end_on_sqlite(demo):
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
