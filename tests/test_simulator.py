"""The department simulator, run as a real process and spoken to over real HTTP.

The simulator imports no Django; these tests need no database.
One simulator process serves the whole module; every test starts from ``POST /_reset``.
"""

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from departments.signing import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    SignatureError,
    department_secret,
    signed_headers,
    verify,
)
from departments.simulator import REJECT_REASON

from .processes import ROOT as REPO_ROOT
from .processes import Simulator

SECRET = "test-simulator-secret"


def secret_of(dept: str) -> str:
    """The secret the simulator gives department ``dept``, drawn from its master secret."""
    return department_secret(SECRET, dept)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def simulator_process() -> Iterator[Simulator]:
    process = Simulator(SECRET, "--delay", "0.3")
    process.start()
    yield process
    process.stop()


@pytest.fixture
def sim(simulator_process: Simulator) -> Iterator["SimulatorClient"]:
    client = SimulatorClient(simulator_process.url, simulator_process.control_token)
    client.control_post("/_reset")
    yield client
    client.session.close()


class SimulatorClient:
    """Talks to the simulator the way the portal would: signed JSON over HTTP.

    ``secret`` is the department's own secret (or its secrets), drawn from the master
    secret unless a test passes others.
    """

    def __init__(self, url: str, control_token: str | None = None):
        self.url = url
        self.control_token = control_token
        self.session = requests.Session()
        self.session.trust_env = False  # a proxy from the environment must not see localhost

    def dept_url(self, dept: str, path: str = "") -> str:
        return f"{self.url}/departments/{dept}{path}"

    def signed_post(self, dept: str, path: str, payload, secret=None, **kwargs):
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        secret = secret_of(dept) if secret is None else secret
        headers = {"Content-Type": "application/json", **signed_headers(secret, body)}
        headers.update(kwargs.pop("headers", {}))
        return self.session.post(self.dept_url(dept, path), data=body, headers=headers, **kwargs)

    def signed_get(self, dept: str, path: str, secret=None):
        secret = secret_of(dept) if secret is None else secret
        return self.session.get(self.dept_url(dept, path), headers=signed_headers(secret, b""))

    def create(self, dept: str = "gongan", key: str | None = None, timeout=5.0, **fields):
        payload = {
            "idempotency_key": key or uuid.uuid4().hex,
            "item_code": "HUKOU_MOVE",
            "item_name": "户口迁移",
            "application_number": "YJS-0001",
            "applicant": {"name": "张三"},
            "form": {},
            "inputs": {},
            "callback_url": None,
            **fields,
        }
        return self.signed_post(dept, "/cases", payload, timeout=timeout)

    def case(self, dept: str, case_id: str) -> dict:
        response = self.signed_get(dept, f"/cases/{case_id}")
        assert response.status_code == 200, response.text
        return response.json()

    @property
    def control_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.control_token}"} if self.control_token else {}

    def control_get(self, path: str, **params) -> dict:
        response = self.session.get(self.url + path, params=params, headers=self.control_headers)
        assert response.status_code == 200, response.text
        return response.json()

    def control_post(self, path: str, payload: dict | None = None) -> requests.Response:
        return self.session.post(self.url + path, json=payload or {}, headers=self.control_headers)

    def cases_of(self, dept: str) -> list[str]:
        return [case["case_id"] for case in self.control_get("/_cases", department=dept)["cases"]]

    def configure(self, **settings) -> dict:
        response = self.control_post("/_control", settings)
        assert response.status_code == 200, response.text
        return response.json()

    def wait_final(self, dept: str, case_id: str, timeout: float = 5.0) -> list[str]:
        """Poll a case until it is approved or rejected; return every status seen."""
        seen = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.case(dept, case_id)["status"]
            if not seen or seen[-1] != status:
                seen.append(status)
            if status in ("approved", "rejected"):
                return seen
            time.sleep(0.02)
        raise AssertionError(f"case {case_id} never finished; statuses seen: {seen}")


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


class CallbackReceiver:
    """A tiny HTTP server standing in for the portal's callback endpoint.

    ``answers`` is a list of status codes to reply with, one per request; once it runs
    out every request gets 200.
    """

    def __init__(self):
        self.received: list[dict] = []
        self.answers: list[int] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    receiver.received.append(
                        {
                            "body": body,
                            "timestamp": self.headers.get(TIMESTAMP_HEADER),
                            "signature": self.headers.get(SIGNATURE_HEADER),
                        }
                    )
                    status = receiver.answers.pop(0) if receiver.answers else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/callback"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self) -> list[dict]:
        with self.lock:
            return [json.loads(message["body"]) for message in self.received]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[CallbackReceiver]:
    server = CallbackReceiver()
    yield server
    server.close()


# --------------------------------------------------------------------------- signatures


def test_health_and_control_need_no_signature(sim):
    assert sim.control_get("/_health") == {"status": "ok"}
    settings = sim.control_get("/_control")
    assert settings["global"]["delay"] == 0.3  # from the --delay flag
    assert settings["departments"] == {}


def test_each_department_has_its_own_secret_drawn_from_the_master(sim, receiver):
    payload = {"idempotency_key": "k", "item_code": "A", "callback_url": receiver.url}
    for wrong in (SECRET, secret_of("cdc")):  # the master itself, another department's
        assert sim.signed_post("health", "/cases", payload, secret=wrong).status_code == 401
    created = sim.signed_post("health", "/cases", payload, secret=secret_of("health"))
    assert created.status_code == 201
    assert sim.signed_post("cdc", "/cases", payload, secret=secret_of("cdc")).status_code == 201

    wait_until(lambda: len(receiver.events()) >= 4)
    for message in receiver.received:
        department = json.loads(message["body"])["department"]
        verify(secret_of(department), message["timestamp"], message["signature"], message["body"])
        other = "cdc" if department == "health" else "health"
        with pytest.raises(SignatureError):
            verify(secret_of(other), message["timestamp"], message["signature"], message["body"])


def test_a_departments_secrets_can_be_set_to_play_a_rotation(sim, receiver):
    payload = {"idempotency_key": "k", "item_code": "A", "callback_url": receiver.url}
    settings = sim.configure(department="health", secrets=["new", "old"])
    assert settings["explicit_secrets"] == ["health"]
    assert "old" not in json.dumps(settings)  # the view says which, never the secrets
    assert (
        sim.signed_post("health", "/cases", payload, secret=secret_of("health")).status_code == 401
    )
    assert sim.signed_post("health", "/cases", payload, secret="old").status_code == 201
    assert sim.signed_get("health", f"/cases/{sim.cases_of('health')[0]}", secret="new").ok
    assert sim.signed_post("cdc", "/cases", payload).status_code == 201  # others keep theirs

    # Callbacks carry one signature per secret: a portal on either one alone takes them.
    wait_until(lambda: len(receiver.events()) >= 4)
    for message in receiver.received:
        if json.loads(message["body"])["department"] == "health":
            assert message["signature"].count("sha256=") == 2
            for secret in ("new", "old"):
                verify(secret, message["timestamp"], message["signature"], message["body"])

    settings = sim.configure(department="health", secrets=None)
    assert settings["explicit_secrets"] == []
    assert sim.signed_post("health", "/cases", payload, secret="old").status_code == 401
    assert sim.signed_post("health", "/cases", payload).status_code == 200  # the same key

    sim.configure(department="health", secrets=["new"])
    sim.control_post("/_reset")
    assert sim.control_get("/_control")["explicit_secrets"] == []


def test_secrets_are_set_per_department_as_a_short_list_of_strings(sim):
    for body in (
        {"secrets": ["x"]},
        {"department": "health", "secrets": "x"},
        {"department": "health", "secrets": []},
        {"department": "health", "secrets": [""]},
        {"department": "health", "secrets": [1]},
        {"department": "health", "secrets": ["x"] * 6},
    ):
        response = sim.control_post("/_control", body)
        assert response.status_code == 400, body
        assert response.json()["field"] == "secrets"
    assert sim.control_get("/_control")["explicit_secrets"] == []


# --------------------------------------------------------------------------- control token


CONTROL_CALLS = [("GET", "/_control"), ("POST", "/_control"), ("GET", "/_cases"),
                 ("GET", "/_callbacks"), ("POST", "/_reset")]  # fmt: skip


def test_the_control_api_needs_the_token_but_health_does_not(sim):
    sim.create(applicant={"name": "张三", "id_number": "11010119900307002X"})
    for authorization in (None, "Bearer wrong", f"Bearer {sim.control_token}x",
                          sim.control_token, "Bearer \xff\xfe", "Bearer"):  # fmt: skip
        headers = {} if authorization is None else {"Authorization": authorization}
        for method, path in CONTROL_CALLS:
            response = sim.session.request(
                method, sim.url + path, headers=headers, json={"outage": True}
            )
            assert response.status_code == 401, (authorization, path)
            assert "11010119900307002X" not in response.text
    assert sim.session.get(sim.url + "/_health").json() == {"status": "ok"}
    # Nothing of that reached the simulator: no outage, no reset.
    assert sim.control_get("/_control")["global"]["outage"] is False
    assert len(sim.control_get("/_cases")["cases"]) == 1


def test_without_a_token_the_control_api_is_off():
    process = Simulator(SECRET, control_token=False)
    process.start()
    try:
        client = SimulatorClient(process.url, "anything")
        assert client.control_get("/_health") == {"status": "ok"}
        for method, path in CONTROL_CALLS:
            response = client.session.request(
                method, process.url + path, headers=client.control_headers
            )
            assert response.status_code == 403, path
            assert "control-token" in response.json()["error"]
    finally:
        process.stop()


def test_the_token_may_come_from_the_environment():
    token = "token-from-the-environment"
    env = {**os.environ, "SIMULATOR_CONTROL_TOKEN": token, "PYTHONUNBUFFERED": "1"}
    child = subprocess.Popen(
        [sys.executable, "-m", "departments.simulator", "--port", "0", "--secret", SECRET],
        cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        url = child.stdout.readline().strip().rsplit(" ", 1)[-1]
        assert SimulatorClient(url, token).control_get("/_control")["departments"] == {}
        other = SimulatorClient(url, "other")
        assert other.session.get(url + "/_cases", headers=other.control_headers).status_code == 401
    finally:
        child.terminate()
        child.wait(timeout=10)


def test_unsigned_request_is_refused(sim):
    response = sim.session.post(sim.dept_url("gongan", "/cases"), json={"x": 1})
    assert response.status_code == 401
    assert "missing" in response.json()["error"]
    assert sim.session.get(sim.dept_url("gongan", "/cases/abc")).status_code == 401


def test_stale_timestamp_is_refused(sim):
    body = json.dumps({"idempotency_key": "k", "item_code": "A"}).encode()
    headers = signed_headers(secret_of("gongan"), body, now=time.time() - 3600)
    response = sim.session.post(sim.dept_url("gongan", "/cases"), data=body, headers=headers)
    assert response.status_code == 401
    assert "stale" in response.json()["error"]


def test_wrong_secret_is_refused(sim):
    response = sim.signed_post(
        "gongan", "/cases", {"idempotency_key": "k", "item_code": "A"}, secret="not-it"
    )
    assert response.status_code == 401
    assert sim.signed_get("gongan", "/cases/abc", secret="not-it").status_code == 401
    assert sim.control_get("/_cases")["cases"] == []


# --------------------------------------------------------------------------- creating cases


def test_create_then_repeat_returns_the_same_case(sim):
    first = sim.create(key="key-1", item_code="HUKOU_MOVE")
    assert first.status_code == 201
    case = first.json()
    assert case["status"] == "received"
    assert case["idempotency_key"] == "key-1"
    assert case["item_code"] == "HUKOU_MOVE"
    assert case["outputs"] == {} and case["reason"] == ""
    assert case["created_at"]

    # A retry, even with a different payload, finds the first case and creates nothing.
    again = sim.create(key="key-1", item_code="SOMETHING_ELSE")
    assert again.status_code == 200
    assert again.json()["case_id"] == case["case_id"]
    assert again.json()["item_code"] == "HUKOU_MOVE"

    cases = sim.control_get("/_cases")["cases"]
    assert [c["case_id"] for c in cases] == [case["case_id"]]
    assert cases[0]["department"] == "gongan"
    assert cases[0]["request"]["applicant"] == {"name": "张三"}


def test_same_key_in_another_department_is_another_case(sim):
    a = sim.create("gongan", key="shared").json()
    b = sim.create("minzheng", key="shared").json()
    assert a["case_id"] != b["case_id"]
    assert len(sim.control_get("/_cases", department="minzheng")["cases"]) == 1


def test_idempotency_key_from_header(sim):
    payload = {"item_code": "A"}
    headers = {"Idempotency-Key": "from-header"}
    response = sim.signed_post("gongan", "/cases", payload, headers=headers)
    assert response.status_code == 201
    assert response.json()["idempotency_key"] == "from-header"

    clash = sim.signed_post(
        "gongan", "/cases", {"idempotency_key": "other", "item_code": "A"}, headers=headers
    )
    assert clash.status_code == 400
    assert clash.json()["field"] == "idempotency_key"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"item_code": "A"}, "idempotency_key"),
        ({"idempotency_key": "k"}, "item_code"),
        ({"idempotency_key": "k", "item_code": "A", "form": []}, "form"),
        ({"idempotency_key": "k", "item_code": "A", "callback_url": "file:///x"}, "callback_url"),
    ],
)
def test_bad_create_request_names_the_field(sim, payload, field):
    response = sim.signed_post("gongan", "/cases", payload)
    assert response.status_code == 400
    assert response.json()["field"] == field
    assert field in response.json()["error"]


def test_invalid_json_is_400(sim):
    response = sim.signed_post("gongan", "/cases", b"{not json")
    assert response.status_code == 400
    assert "JSON" in response.json()["error"]


def test_unknown_case_and_other_departments_case_are_404(sim):
    case = sim.create("gongan").json()
    assert sim.signed_get("gongan", "/cases/no-such-case").status_code == 404
    assert sim.signed_get("minzheng", f"/cases/{case['case_id']}").status_code == 404
    assert sim.signed_get("gongan", f"/cases/{case['case_id']}").status_code == 200


@pytest.mark.parametrize(
    "mode, check",
    [
        ("not_json", lambda r: r.headers["Content-Type"].startswith("text/html")),
        ("no_case", lambda r: "case_id" not in r.json() and "status" not in r.json()),
        ("not_object", lambda r: isinstance(r.json(), list)),
    ],
)
def test_garbage_answers_200_with_no_case_but_the_case_is_stored(sim, mode, check):
    sim.configure(department="health", garbage=mode)
    answer = sim.create("health", key="garbled")
    assert answer.status_code == 200 and check(answer)
    (case,) = sim.control_get("/_cases", department="health")["cases"]
    read = sim.signed_get("health", f"/cases/{case['case_id']}")
    assert read.status_code == 200 and check(read)
    assert sim.create("gongan").status_code == 201  # other departments answer properly

    sim.configure(department="health", garbage=None)
    again = sim.create("health", key="garbled")
    assert again.status_code == 200 and again.json()["case_id"] == case["case_id"]


def test_garbage_takes_false_or_a_known_mode(sim):
    for value in (True, "nonsense", 1):
        response = sim.control_post("/_control", {"garbage": value})
        assert response.status_code == 400 and response.json()["field"] == "garbage"
    assert sim.configure(garbage="no_case")["global"]["garbage"] == "no_case"
    assert sim.configure(garbage=False)["global"]["garbage"] is False


def test_case_is_stored_before_a_slow_answer(sim):
    sim.configure(create_latency=1.0)
    with pytest.raises(requests.Timeout):
        sim.create(key="slow", timeout=0.3)
    assert [c["idempotency_key"] for c in sim.control_get("/_cases")["cases"]] == ["slow"]


# --------------------------------------------------------------------------- progression


def test_status_progresses_to_approved(sim):
    sim.configure(delay=0.6)
    case = sim.create("gongan", key="progress", item_code="hukou_move").json()
    assert case["status"] == "received"

    assert sim.wait_final("gongan", case["case_id"]) == ["received", "accepted", "approved"]
    final = sim.case("gongan", case["case_id"])
    assert final["outputs"]["certificate_number"].startswith("GONGAN-HUKOU_MOVE-")
    assert len(final["outputs"]["certificate_number"].rsplit("-", 1)[1]) == 6
    assert final["outputs"]["issued_at"]
    assert final["reason"] == ""


def test_reject_items_are_rejected_with_a_reason(sim):
    sim.configure(reject_items=["BAD_ITEM"])
    good = sim.create(item_code="GOOD_ITEM").json()
    bad = sim.create(item_code="BAD_ITEM").json()
    assert sim.wait_final("gongan", bad["case_id"])[-1] == "rejected"
    rejected = sim.case("gongan", bad["case_id"])
    assert rejected["reason"] == REJECT_REASON
    assert rejected["outputs"] == {}
    assert sim.wait_final("gongan", good["case_id"])[-1] == "approved"


def test_reject_rate_one_rejects_everything(sim):
    sim.configure(reject_rate=1.0, delay=0.0)
    case = sim.create().json()
    assert sim.case("gongan", case["case_id"])["status"] == "rejected"


def test_per_department_override(sim):
    sim.configure(department="minzheng", reject_rate=1.0, delay=0.0)
    settings = sim.control_get("/_control")
    assert settings["departments"] == {"minzheng": {"reject_rate": 1.0, "delay": 0.0}}
    assert settings["global"]["reject_rate"] == 0.0

    rejected = sim.create("minzheng").json()
    assert sim.case("minzheng", rejected["case_id"])["status"] == "rejected"
    other = sim.create("gongan").json()
    assert sim.wait_final("gongan", other["case_id"])[-1] == "approved"

    # null drops the override again
    assert sim.configure(department="minzheng", reject_rate=None, delay=None)["departments"] == {}


def test_outage_then_recovery(sim):
    sim.configure(outage=True)
    response = sim.create()
    assert response.status_code == 503
    assert response.json() == {"error": "department system unavailable"}
    assert sim.signed_get("gongan", "/cases/x").status_code == 503

    sim.configure(outage=False)
    assert sim.create().status_code == 201


# --------------------------------------------------------------------------- callbacks


def test_callbacks_are_signed_and_follow_the_statuses(sim, receiver):
    case = sim.create(key="cb", callback_url=receiver.url).json()
    wait_until(lambda: len(receiver.received) >= 2)
    time.sleep(0.2)  # anything extra would show up now

    assert len(receiver.received) == 2
    for message in receiver.received:
        verify(secret_of("gongan"), message["timestamp"], message["signature"], message["body"])
    events = receiver.events()
    assert [e["status"] for e in events] == ["accepted", "approved"]
    approved = events[1]
    assert approved["case_id"] == case["case_id"]
    assert approved["idempotency_key"] == "cb"
    assert approved["department"] == "gongan"
    assert approved["item_code"] == "HUKOU_MOVE"
    assert approved["outputs"]["certificate_number"].startswith("GONGAN-")
    assert approved["reason"] == "" and approved["occurred_at"]
    assert len({e["event_id"] for e in events}) == 2

    log = sim.control_get("/_callbacks")["callbacks"]
    assert [(d["status_code"], d["outcome"]) for d in log] == [(200, "delivered")] * 2
    assert {d["url"] for d in log} == {receiver.url}


def test_duplicate_callbacks(sim, receiver):
    sim.configure(duplicate_callbacks=True, delay=0.0)
    sim.create(callback_url=receiver.url)
    wait_until(lambda: len(receiver.received) >= 6)

    events = receiver.events()
    for status in ("accepted", "approved"):
        ids = [e["event_id"] for e in events if e["status"] == status]
        assert len(ids) == 3
        assert len(set(ids)) == 2  # one event sent twice, plus the same news as a new event
    assert len(sim.control_get("/_callbacks")["callbacks"]) == 6


def test_reordered_callbacks_bring_the_final_status_first(sim, receiver):
    sim.configure(reorder_callbacks=True, reject_items=["REFUSED"])
    sim.create(key="first", callback_url=receiver.url)
    sim.create(key="second", item_code="REFUSED", callback_url=receiver.url)
    wait_until(lambda: len(receiver.received) >= 4)
    time.sleep(0.2)  # anything extra would show up now

    by_key: dict[str, list[str]] = {}
    for event in receiver.events():
        by_key.setdefault(event["idempotency_key"], []).append(event["status"])
    assert by_key == {"first": ["approved", "accepted"], "second": ["rejected", "accepted"]}


def test_reordered_callbacks_can_come_twice_too(sim, receiver):
    sim.configure(department="gongan", reorder_callbacks=True, duplicate_callbacks=True)
    sim.create(callback_url=receiver.url)
    wait_until(lambda: len(receiver.received) >= 6)
    statuses = [event["status"] for event in receiver.events()]
    assert statuses == ["approved"] * 3 + ["accepted"] * 3


def test_no_callbacks_when_switched_off(sim, receiver):
    sim.configure(callbacks=False, delay=0.0)
    case = sim.create(callback_url=receiver.url).json()
    assert sim.case("gongan", case["case_id"])["status"] == "approved"
    time.sleep(0.3)
    assert receiver.received == []


def test_failed_callback_is_retried_but_4xx_is_not(sim, receiver):
    sim.configure(delay=0.0)
    receiver.answers = [500, 404]
    sim.create(callback_url=receiver.url)
    # accepted: 500 then 404 -> given up; approved: 200.
    wait_until(lambda: len(receiver.received) >= 3)
    time.sleep(0.7)  # a retry after the 404 would have come by now

    log = sim.control_get("/_callbacks")["callbacks"]
    outcomes = [(d["case_status"], d["attempt"], d["status_code"], d["outcome"]) for d in log]
    assert outcomes == [
        ("accepted", 1, 500, "will_retry"),
        ("accepted", 2, 404, "gave_up"),
        ("approved", 1, 200, "delivered"),
    ]


def test_unreachable_callback_url_is_recorded(sim):
    sim.configure(delay=0.0)
    sim.create(callback_url="http://127.0.0.1:9/unreachable")  # discard port: refused
    wait_until(lambda: len(sim.control_get("/_callbacks")["callbacks"]) >= 1)
    first = sim.control_get("/_callbacks")["callbacks"][0]
    assert first["status_code"] is None
    assert first["error"]
    assert first["outcome"] == "will_retry"


def test_outage_holds_callbacks_back(sim, receiver):
    case = sim.create(callback_url=receiver.url).json()
    sim.configure(outage=True)
    time.sleep(0.5)  # past the whole 0.3 s timeline
    assert receiver.received == []

    sim.configure(outage=False)
    wait_until(lambda: len(receiver.received) >= 2)
    assert [e["status"] for e in receiver.events()] == ["accepted", "approved"]
    assert receiver.events()[0]["case_id"] == case["case_id"]


# --------------------------------------------------------------------------- control API


def test_control_rejects_unknown_keys_and_wrong_types(sim):
    unknown = sim.control_post("/_control", {"dealy": 1})
    assert unknown.status_code == 400
    assert unknown.json()["field"] == "dealy"

    for key, value in [("delay", "fast"), ("reject_rate", 2), ("outage", 1), ("reject_items", "A")]:
        response = sim.control_post("/_control", {key: value})
        assert response.status_code == 400, key
        assert response.json()["field"] == key

    assert sim.control_get("/_control")["global"]["delay"] == 0.3


def test_reset_clears_everything(sim, receiver):
    sim.configure(delay=0.0, reject_items=["X"])
    sim.configure(department="gongan", outage=True)
    sim.create("minzheng", callback_url=receiver.url)
    wait_until(lambda: len(sim.control_get("/_callbacks")["callbacks"]) >= 2)

    response = sim.control_post("/_reset")
    assert response.status_code == 200
    assert sim.control_get("/_cases")["cases"] == []
    assert sim.control_get("/_callbacks")["callbacks"] == []
    settings = sim.control_get("/_control")
    assert settings["departments"] == {}
    assert settings["global"]["delay"] == 0.3  # back to the CLI default, not the built-in one
    assert settings["global"]["reject_items"] == []


# --------------------------------------------------------------------------- process


def test_sigterm_stops_the_process_cleanly():
    process = Simulator(SECRET)
    process.start()
    assert SimulatorClient(process.url).control_get("/_health") == {"status": "ok"}
    assert process.stop() == 0


def test_missing_secret_is_a_usage_error():
    env = {k: v for k, v in os.environ.items() if k != "SIMULATOR_SECRET"}
    result = subprocess.run(
        [sys.executable, "-m", "departments.simulator", "--port", "0"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert result.returncode == 2
    assert "secret" in result.stderr
