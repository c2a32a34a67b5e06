"""Department systems: signatures and secrets, their rotation, the settings and checks that
refuse a readable secret, and the HTTP connector against the simulator's faults."""

import hashlib
import hmac
import os
import subprocess
import sys
import time

import pytest
from django.core.checks import run_checks
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from applications import services
from applications.models import SubTask
from departments.connectors import PermanentError, TransientError, get
from departments.models import Department
from departments.signing import (
    DOCUMENTED_SIMULATOR_SECRET,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    SignatureError,
    department_secret,
    sign,
    signed_headers,
    verify,
)

from .helpers import SIMULATOR_SECRET, api_client, apply_newborn
from .processes import ROOT

NOW = 1_700_000_000
BODY = b'{"status": "approved"}'


def headers_for(secrets, body=BODY, now=NOW):
    signed = signed_headers(secrets, body, now)
    return signed[TIMESTAMP_HEADER], signed[SIGNATURE_HEADER]


# --------------------------------------------------------------------------- signatures


def test_one_secret_gives_one_signature_that_verifies():
    timestamp, signature = headers_for("s3cret")
    assert signature == sign("s3cret", NOW, BODY)
    assert "," not in signature
    verify("s3cret", timestamp, signature, BODY, now=NOW)
    with pytest.raises(SignatureError, match="does not match"):
        verify("other", timestamp, signature, BODY, now=NOW)
    with pytest.raises(SignatureError, match="does not match"):
        verify("s3cret", timestamp, signature, BODY + b" ", now=NOW)


def test_during_a_rotation_either_side_may_know_only_one_of_the_secrets():
    # The sender holds both: a receiver with the old one only, or the new one only, accepts.
    timestamp, signature = headers_for(["new", "old"])
    assert signature == f"{sign('new', NOW, BODY)}, {sign('old', NOW, BODY)}"
    verify("old", timestamp, signature, BODY, now=NOW)
    verify(["new"], timestamp, signature, BODY, now=NOW)
    with pytest.raises(SignatureError):
        verify("neither", timestamp, signature, BODY, now=NOW)
    # The receiver holds both: a sender with either one alone gets through.
    for sender in ("old", "new"):
        verify(["new", "old"], *headers_for(sender), BODY, now=NOW)
    with pytest.raises(SignatureError):
        verify(["new", "old"], *headers_for("stranger"), BODY, now=NOW)
    # A blank previous secret is no secret at all.
    with pytest.raises(SignatureError, match="no secret"):
        verify(["", ""], *headers_for("x"), BODY, now=NOW)


def test_each_department_secret_is_drawn_from_the_master_and_its_code():
    health, cdc = department_secret("master", "health"), department_secret("master", "cdc")
    assert health != cdc and len(health) == 64
    assert health == department_secret("master", "health")
    assert department_secret("other-master", "health") != health
    # The formula docs/department-protocol.md gives, so a real system can compute it too.
    assert health == hmac.new(b"master", b"health", hashlib.sha256).hexdigest()


GOOD = sign("s3cret", NOW, BODY)


@pytest.mark.parametrize(
    "timestamp, signature",
    [
        ("", GOOD),
        (str(NOW), ""),
        (None, GOOD),
        ("\xff\xfe", GOOD),
        ("١٧٠٠٠٠٠٠٠٠", GOOD),  # other scripts' digits, which int() would take
        (f" {NOW}", GOOD),
        ("1_700_000_000", GOOD),
        ("9" * 400, GOOD),  # int() takes it, float() of it overflows
        ("9" * 5000, GOOD),
        ("-1", GOOD),
        (str(NOW), "sha256=\xff\xfe"),
        (str(NOW), "sha256=" + "é" * 64),
        (str(NOW), GOOD.upper()),
        (str(NOW), GOOD[len("sha256=") :]),
        (str(NOW), GOOD + "0"),
        (str(NOW), ","),
        (str(NOW), "," * 10_000),
        (str(NOW), ", ".join([GOOD] * 6)),
        (str(NOW), GOOD + "," * 100_000),
        (str(NOW), "md5=" + "0" * 64),
    ],
)
def test_a_malformed_header_is_a_signature_error_and_nothing_else(timestamp, signature):
    with pytest.raises(SignatureError):
        verify("s3cret", timestamp, signature, BODY, now=NOW)


def test_uppercase_hex_and_spaces_around_values_are_taken():
    upper = "sha256=" + GOOD[len("sha256=") :].upper()
    verify("s3cret", str(NOW), f" {upper} , {sign('x', NOW, BODY)}", BODY, now=NOW)


def test_a_stale_message_is_refused():
    timestamp, signature = headers_for("s3cret", now=NOW - 301)
    with pytest.raises(SignatureError, match="stale"):
        verify("s3cret", timestamp, signature, BODY, now=NOW)
    verify("s3cret", *headers_for("s3cret", now=NOW - 299), BODY, now=NOW)


# --------------------------------------------------------------------------- settings and checks


def settings_in_a_fresh_process(tmp_path, **env):
    """Import portal.settings as a server would; return (exit code, output)."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DEBUG", "DEPARTMENT_SIMULATOR_SECRET", "DJANGO_SETTINGS_MODULE"}
    }
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from django.conf import settings; print(settings.DEPARTMENT_SIMULATOR_SECRET)",
        ],
        cwd=ROOT,
        env=clean
        | {"DJANGO_SETTINGS_MODULE": "portal.settings", "PORTAL_VAR_DIR": str(tmp_path)}
        | env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result.returncode, result.stdout + result.stderr


def test_with_debug_off_the_documented_simulator_secret_stops_the_portal(tmp_path):
    for env in (
        {"DEBUG": "0"},
        {"DEBUG": "0", "DEPARTMENT_SIMULATOR_SECRET": "simulator-shared-secret"},
    ):
        code, output = settings_in_a_fresh_process(tmp_path, **env)
        assert code != 0, env
        assert "ImproperlyConfigured" in output
        assert "set the environment variable DEPARTMENT_SIMULATOR_SECRET" in output


def test_debug_keeps_the_demo_default_and_a_real_secret_is_taken(tmp_path):
    code, output = settings_in_a_fresh_process(tmp_path, DEBUG="1")
    assert (code, output.strip()) == (0, DOCUMENTED_SIMULATOR_SECRET)
    code, output = settings_in_a_fresh_process(
        tmp_path, DEBUG="0", DEPARTMENT_SIMULATOR_SECRET="a-long-random-value"
    )
    assert (code, output.strip()) == (0, "a-long-random-value")


def secret_errors():
    return [
        message.obj.code
        for message in run_checks(include_deployment_checks=True, tags=["security"])
        if message.id == "departments.E001"
    ]


@pytest.mark.django_db
def test_deploy_check_refuses_sending_departments_with_no_or_a_readable_secret(settings):
    def department(code, handling, secret, previous=""):
        Department.objects.create(
            code=code, name=code, handling=handling, base_url="https://x.example/",
            shared_secret=secret, previous_secret=previous,
        )  # fmt: skip

    department("blank", "http", "")
    department("documented", "http", DOCUMENTED_SIMULATOR_SECRET)
    department("drawn", "http", department_secret(DOCUMENTED_SIMULATOR_SECRET, "drawn"))
    department("old_one", "http", "a-good-secret", previous=DOCUMENTED_SIMULATOR_SECRET)
    department("fine", "http", "a-good-secret")
    department("window", "manual", "")  # staff handle it: nothing is signed
    assert secret_errors() == ["blank", "documented", "drawn", "old_one"]
    settings.DEBUG = True
    assert secret_errors() == []


# --------------------------------------------------------------------------- the admin


@pytest.mark.django_db
def test_the_admin_shows_the_previous_secret_and_hides_posted_secrets_from_error_reports(
    admin_client,
):
    health = Department.objects.create(
        code="health", name="卫生健康委员会", handling="http",
        base_url="https://health.example/", shared_secret="old",
    )  # fmt: skip
    page = admin_client.get(f"/admin/departments/department/{health.pk}/change/")
    assert 'name="previous_secret"' in page.content.decode()
    assert "新旧两个密钥都被接受" in page.content.decode()

    response = admin_client.post(
        f"/admin/departments/department/{health.pk}/change/",
        {
            "code": "health", "name": "卫生健康委员会", "handling": "http",
            "base_url": "https://health.example/", "shared_secret": "new",
            "previous_secret": "old",
        },
    )  # fmt: skip
    assert response.status_code == 302
    health.refresh_from_db()
    assert health.signing_secrets == ("new", "old")
    assert set(response.wsgi_request.sensitive_post_parameters) == {
        "shared_secret",
        "previous_secret",
    }


# --------------------------------------------------------------------------- the HTTP connector


@pytest.fixture
def ready_birth(catalogue, citizen, department_simulator):
    """The birth certificate ready to go to the health commission, played by the simulator."""
    application_id = apply_newborn(api_client(citizen)).json()["id"]
    services.advance(application_id)
    birth = SubTask.objects.get(application_id=application_id, item__code="birth_certificate")
    assert birth.status == "ready"
    return birth


def test_the_catalogue_gives_each_simulated_department_its_own_secret(catalogue):
    secrets = dict(Department.objects.filter(handling="http").values_list("code", "shared_secret"))
    assert len(secrets) >= 2 and len(set(secrets.values())) == len(secrets)
    for code, secret in secrets.items():
        assert secret == department_secret(SIMULATOR_SECRET, code)


@pytest.mark.parametrize("mode", ["not_json", "no_case", "not_object"])
def test_an_answer_that_is_no_case_is_tried_again_and_the_case_is_found(
    ready_birth, department_simulator, mode
):
    department_simulator.control(department="health", garbage=mode)
    outcome = services.dispatch(ready_birth.pk)
    birth = SubTask.objects.get(pk=ready_birth.pk)
    assert not outcome.done and outcome.retry_in
    assert (birth.status, birth.attempts) == ("ready", 1)
    assert ("not JSON" if mode == "not_json" else "unexpected answer") in birth.last_error
    # Polling a case meets the same answer: also worth another try, not a crash.
    order = services.case_order(birth)
    case_id = department_simulator.cases("health")[0]["case_id"]
    with pytest.raises(TransientError):
        get("http").fetch(order, case_id)

    department_simulator.control(department="health", garbage=None)
    assert services.dispatch(ready_birth.pk).done
    birth = SubTask.objects.get(pk=ready_birth.pk)
    assert (birth.status, birth.case_ref) == ("dispatched", case_id)
    assert len(department_simulator.cases("health")) == 1


def test_an_answer_slower_than_the_timeout_is_tried_again_with_the_same_key(
    ready_birth, department_simulator, settings
):
    settings.DEPARTMENT_HTTP_TIMEOUT = 0.3
    department_simulator.control(create_latency=1.0)
    started = time.monotonic()
    outcome = services.dispatch(ready_birth.pk)
    assert time.monotonic() - started < 1.0
    assert not outcome.done
    assert "Timeout" in SubTask.objects.get(pk=ready_birth.pk).last_error

    department_simulator.control(create_latency=0)
    assert services.dispatch(ready_birth.pk).done
    (case,) = department_simulator.cases("health")  # the one the first try left behind
    birth = SubTask.objects.get(pk=ready_birth.pk)
    assert birth.case_ref == case["case_id"] and birth.status != "ready"


def test_outgoing_requests_carry_both_secrets_while_a_department_rotates(
    ready_birth, department_simulator
):
    old = department_secret(SIMULATOR_SECRET, "health")
    Department.objects.filter(code="health").update(shared_secret="new-secret", previous_secret=old)
    department_simulator.control(department="health", secrets=["new-secret"])
    assert services.dispatch(ready_birth.pk).done  # the system already on the new secret
    birth = SubTask.objects.get(pk=ready_birth.pk)
    department_simulator.control(department="health", secrets=[old])
    order = services.case_order(birth)  # the system still on the old one
    assert order.secrets == ("new-secret", old)
    assert old not in repr(order) and "new-secret" not in repr(order)  # e.g. in a log line
    assert get("http").fetch(order, birth.case_ref).case_ref == birth.case_ref

    # The rotation ends on the portal: a system still on the old secret refuses the portal.
    Department.objects.filter(code="health").update(previous_secret="")
    birth = SubTask.objects.get(pk=ready_birth.pk)
    with pytest.raises(PermanentError, match="401"):
        get("http").fetch(services.case_order(birth), birth.case_ref)


@pytest.mark.django_db(transaction=True)
def test_a_demo_database_on_the_old_shared_secret_moves_to_secrets_of_their_own(settings):
    """Departments that still carry the simulator's master secret itself (the scheme before
    migration 0003) get the secret the simulator now expects of them; others keep theirs."""
    before, after = ("departments", "0002_servicehall"), ("departments", "0003_previous_secret")
    executor = MigrationExecutor(connection)
    executor.migrate([before])
    old = executor.loader.project_state([before]).apps.get_model("departments", "Department")
    master = settings.DEPARTMENT_SIMULATOR_SECRET
    for code, base_url, secret in [
        ("health", "http://127.0.0.1:8765/departments/health", master),
        ("cdc", "http://127.0.0.1:8765/departments/cdc/", "its-own"),
        ("real", "https://real.example.gov.cn/yjs", master),
    ]:
        old.objects.create(
            code=code, name=code, handling="http", base_url=base_url, shared_secret=secret
        )
    executor = MigrationExecutor(connection)
    executor.migrate([after])
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    assert dict(Department.objects.values_list("code", "shared_secret")) == {
        "health": department_secret(master, "health"),
        "cdc": "its-own",
        "real": master,
    }
