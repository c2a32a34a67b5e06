import pytest

from accounts.models import User
from applications.heartbeat import beat_once

from .helpers import PASSWORD

pytestmark = pytest.mark.django_db

TOKEN = "health-token-0123456789abcdef"  # noqa: S105


@pytest.fixture
def health_token(settings):
    settings.HEALTHZ_TOKEN = TOKEN


@pytest.fixture
def broker_down():
    from portal.celery import app

    original = app.conf.broker_url, app.conf.broker_write_url
    # Nothing listens on port 1: the broker is as good as down.
    app.conf.broker_url = app.conf.broker_write_url = "redis://127.0.0.1:1/0"
    yield
    app.conf.broker_url, app.conf.broker_write_url = original


def test_healthz_is_503_without_a_live_worker_and_200_with_one(admin_client):
    response = admin_client.get("/healthz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["database"]["ok"] and checks["broker"]["ok"] and not checks["worker"]["ok"]
    beat_once("worker@test")
    response = admin_client.get("/healthz")
    assert response.status_code == 200, response.json()
    assert response.json()["checks"]["worker"]["detail"] == "worker@test"


def test_healthz_reports_a_broker_that_is_down(admin_client, broker_down):
    beat_once("worker@test")
    response = admin_client.get("/healthz")
    assert response.status_code == 503
    assert not response.json()["checks"]["broker"]["ok"]


def test_anonymous_callers_learn_only_ok_or_unavailable(client, broker_down):
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable"}
    # Neither the broker's address nor the error that reaching it raised.
    assert b"127.0.0.1" not in response.content and b"Error" not in response.content
    assert "no-store" in response["Cache-Control"]


def test_anonymous_callers_see_ok_without_the_workers_names(client):
    beat_once("worker@secret-host")
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert b"secret-host" not in response.content


def test_the_health_token_shows_the_details(client, health_token):
    beat_once("worker@test")
    response = client.get("/healthz", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response.json()["checks"]["worker"]["detail"] == "worker@test"


@pytest.mark.parametrize(
    "header",
    [f"Bearer {TOKEN[:-1]}", f"Bearer {TOKEN}x", "Bearer ", f"Token {TOKEN}", TOKEN],
    ids=["short", "long", "empty", "other-scheme", "no-scheme"],
)
def test_a_wrong_health_token_shows_nothing_more(client, health_token, header):
    beat_once("worker@test")
    response = client.get("/healthz", headers={"Authorization": header})
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_without_a_configured_token_no_token_opens_the_details(client, settings):
    settings.HEALTHZ_TOKEN = ""
    beat_once("worker@test")
    for header in ("Bearer ", "Bearer", "Bearer none"):
        response = client.get("/healthz", headers={"Authorization": header})
        assert response.json() == {"status": "ok"}, header


def test_department_staff_see_the_details_and_citizens_do_not(client, make_citizen):
    beat_once("worker@test")
    clerk = User.objects.create_user("clerk", password=PASSWORD, role="clerk")
    client.force_login(make_citizen())
    assert client.get("/healthz").json() == {"status": "ok"}
    client.force_login(clerk)
    assert client.get("/healthz").json()["checks"]["worker"]["detail"] == "worker@test"
