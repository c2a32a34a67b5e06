import pytest

from applications.heartbeat import beat_once

pytestmark = pytest.mark.django_db


def test_healthz_is_503_without_a_live_worker_and_200_with_one(client):
    response = client.get("/healthz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["database"]["ok"] and checks["broker"]["ok"] and not checks["worker"]["ok"]
    beat_once("worker@test")
    response = client.get("/healthz")
    assert response.status_code == 200, response.json()
    assert response.json()["checks"]["worker"]["detail"] == "worker@test"


def test_healthz_reports_a_broker_that_is_down(client, settings):
    from portal.celery import app

    beat_once("worker@test")
    original = app.conf.broker_url, app.conf.broker_write_url
    # Nothing listens on port 1: the broker is as good as down.
    app.conf.broker_url = app.conf.broker_write_url = "redis://127.0.0.1:1/0"
    try:
        response = client.get("/healthz")
    finally:
        app.conf.broker_url, app.conf.broker_write_url = original
    assert response.status_code == 503
    assert not response.json()["checks"]["broker"]["ok"]
