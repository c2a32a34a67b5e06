"""Department simulator: a stand-in for the many department systems the portal talks to.

One process hosts any number of departments, each under ``/departments/{dept_code}``. It
speaks the protocol in ``docs/department-protocol.md``: signed requests, idempotent case
creation, a timed ``received → accepted → approved | rejected`` progression, and signed
callbacks with retries. Each department has a secret of its own, drawn from the master
secret and its code (``departments.signing.department_secret``), as the catalogue loader
draws it for the portal. Control endpoints under ``/_``, behind a bearer token, let tests
and the demo inject delays, rejections, outages, slow, garbled or reordered answers and
duplicate callbacks, and set a department's secrets to play a key rotation.

Standard library only, and no Django import, so it runs as its own process exactly like a
real department would::

    SIMULATOR_SECRET=… SIMULATOR_CONTROL_TOKEN=… python -m departments.simulator --port 8765
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import re
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from departments.signing import (
    MAX_SIGNATURES,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    SignatureError,
    department_secret,
    signed_headers,
    verify,
)

#: Timestamps are shown in Beijing time, the clock the departments and applicants live by.
CHINA_TZ = timezone(timedelta(hours=8), name="CST")

DEPT_CODE_RE = re.compile(r"[a-z0-9_-]+")
CASES_PATH_RE = re.compile(r"/departments/(?P<dept>[a-z0-9_-]+)/cases")
CASE_PATH_RE = re.compile(r"/departments/(?P<dept>[a-z0-9_-]+)/cases/(?P<case_id>[^/]+)")
DEPT_PREFIX_RE = re.compile(r"/departments/(?P<dept>[^/]*)(?:/.*)?")

IDEMPOTENCY_HEADER = "Idempotency-Key"
REJECT_REASON = "模拟拒绝：材料不符合要求"
MAX_BODY_BYTES = 1_000_000
MAX_KEY_LENGTH = 200

#: How often the scheduler looks for status changes to announce and deliveries to retry.
TICK_SECONDS = 0.1
#: A failed callback is tried again this many times (so at most 1 + 5 attempts) ...
CALLBACK_RETRIES = 5
#: ... waiting this long between attempts.
CALLBACK_BACKOFF_SECONDS = 0.5
#: A receiver that hangs must not hold a case's outbox forever.
CALLBACK_TIMEOUT_SECONDS = 5.0

DEFAULT_SETTINGS: dict[str, Any] = {
    "delay": 1.0,
    "reject_rate": 0.0,
    "reject_items": [],
    "outage": False,
    "create_latency": 0.0,
    "duplicate_callbacks": False,
    "callbacks": True,
    "garbage": False,
    "reorder_callbacks": False,
}

#: What a department answers, with 200, in ``garbage`` mode (a broken gateway, a half-done
#: upgrade): text that is not JSON, JSON without a case, JSON that is not an object.
GARBAGE_BODIES: dict[str, tuple[str, bytes]] = {
    "not_json": ("text/html; charset=utf-8", "<html><body>系统维护中</body></html>".encode()),
    "no_case": ("application/json", b'{"result": "ok", "message": "processing"}'),
    "not_object": ("application/json", b'["ok"]'),
}


# --------------------------------------------------------------------------- settings


class InvalidRequest(Exception):
    """A client sent something we refuse; becomes a 400 naming ``field``."""

    def __init__(self, message: str, field_name: str | None = None):
        super().__init__(message)
        self.field = field_name


def _is_number(value: Any) -> bool:
    # bool is an int subclass, but "delay": true is a mistake, not one second.
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_non_negative_number(key: str, value: Any) -> float:
    if not _is_number(value) or value < 0:
        raise InvalidRequest(f"{key} must be a number of seconds >= 0", key)
    return float(value)


def _check_rate(key: str, value: Any) -> float:
    if not _is_number(value) or not 0 <= value <= 1:
        raise InvalidRequest(f"{key} must be a number between 0 and 1", key)
    return float(value)


def _check_bool(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise InvalidRequest(f"{key} must be true or false", key)
    return value


def _check_item_list(key: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidRequest(f"{key} must be a list of item codes (strings)", key)
    return list(value)


def _check_garbage(key: str, value: Any) -> str | bool:
    if value is False or (isinstance(value, str) and value in GARBAGE_BODIES):
        return value
    modes = ", ".join(f'"{mode}"' for mode in GARBAGE_BODIES)
    raise InvalidRequest(f"{key} must be false or one of {modes}", key)


def _check_secrets(key: str, value: Any) -> list[str]:
    if (
        not isinstance(value, list)
        or not 1 <= len(value) <= MAX_SIGNATURES
        or not all(isinstance(secret, str) and secret for secret in value)
    ):
        raise InvalidRequest(
            f"{key} must be a list of 1 to {MAX_SIGNATURES} non-empty strings", key
        )
    return list(value)


SETTING_CHECKS = {
    "delay": _check_non_negative_number,
    "reject_rate": _check_rate,
    "reject_items": _check_item_list,
    "outage": _check_bool,
    "create_latency": _check_non_negative_number,
    "duplicate_callbacks": _check_bool,
    "callbacks": _check_bool,
    "garbage": _check_garbage,
    "reorder_callbacks": _check_bool,
}


def parse_settings_update(payload: Any) -> tuple[str | None, dict[str, Any]]:
    """Validate a ``POST /_control`` body; return (department or None, checked changes).

    In a per-department update a value of null removes that override, so the department
    follows the global setting again. ``secrets`` (a department's secrets, replacing the
    one drawn from the master secret) can only be set per department.
    """
    if not isinstance(payload, dict):
        raise InvalidRequest("body must be a JSON object")
    changes = dict(payload)
    department = changes.pop("department", None)
    if department is not None and (
        not isinstance(department, str) or not DEPT_CODE_RE.fullmatch(department)
    ):
        raise InvalidRequest("department must be a code matching [a-z0-9_-]+", "department")
    checked: dict[str, Any] = {}
    if "secrets" in changes:
        if department is None:
            raise InvalidRequest("secrets can only be set for one department", "secrets")
        value = changes.pop("secrets")
        checked["secrets"] = None if value is None else _check_secrets("secrets", value)
    for key, value in changes.items():
        check = SETTING_CHECKS.get(key)
        if check is None:
            raise InvalidRequest(f"unknown setting {key!r}", key)
        if value is None and department is not None:
            checked[key] = None
        else:
            checked[key] = check(key, value)
    return department, checked


# --------------------------------------------------------------------------- cases


def isoformat(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, CHINA_TZ).isoformat(timespec="milliseconds")


def key_fraction(idempotency_key: str) -> float:
    """A stable number in [0, 1) drawn from the key, so rejections repeat run after run."""
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()
    return int(digest, 16) / 2**256


def certificate_number(department: str, item_code: str, idempotency_key: str) -> str:
    """A certificate number that is the same every time the same case is approved."""
    digest = hashlib.sha256(b"certificate:" + idempotency_key.encode()).hexdigest()
    serial = int(digest, 16) % 1_000_000
    return f"{department}-{item_code}-{serial:06d}".upper()


#: GB 32100: the characters of a unified social credit code and the weights of its check.
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def credit_code(idempotency_key: str) -> str:
    """A unified social credit code with a right check character, the same for the same case."""
    digest = int(hashlib.sha256(b"uscc:" + idempotency_key.encode()).hexdigest(), 16)
    body = "91110000" + "".join(USCC_ALPHABET[(digest >> (5 * i)) % 31] for i in range(9))
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(body, USCC_WEIGHTS, strict=True))
    return body + USCC_ALPHABET[(31 - total % 31) % 31]


def resident_id(idempotency_key: str, born) -> str:
    """A GB 11643 resident ID number with a right check digit, the same for the same case."""
    serial = int(hashlib.sha256(b"rid:" + idempotency_key.encode()).hexdigest(), 16) % 1000
    body = f"110101{born:%Y%m%d}{serial:03d}"
    total = sum(int(c) * (2 ** (17 - i) % 11) for i, c in enumerate(body))
    return body + "10X98765432"[total % 11]


def result_value(kind: str, idempotency_key: str, issued) -> Any:
    """A plausible value of ``kind`` (a portal field type) for a declared result."""
    serial = int(hashlib.sha256(b"result:" + idempotency_key.encode()).hexdigest(), 16)
    return {
        "credit_code": lambda: credit_code(idempotency_key),
        "id_number": lambda: resident_id(idempotency_key, issued),
        "date": issued.isoformat,
        "number": lambda: serial % 1_000_000,
        "mobile": lambda: f"139{serial % 10**8:08d}",
    }.get(kind, lambda: f"R{serial % 10**10:010d}")()


@dataclass
class Case:
    """One case a department has received, with its fate fixed when it was created."""

    case_id: str
    department: str
    idempotency_key: str
    item_code: str
    request: dict[str, Any]
    callback_url: str | None
    created_at: float
    delay: float
    rejected: bool
    #: How many status changes (accepted, then the final one) were already announced.
    announced: int = 0

    @property
    def transitions(self) -> list[tuple[str, float]]:
        """The status changes after ``received``, each with the moment it happens."""
        final = "rejected" if self.rejected else "approved"
        return [
            ("accepted", self.created_at + self.delay / 2),
            (final, self.created_at + self.delay),
        ]

    def status_at(self, now: float) -> str:
        status = "received"
        for name, moment in self.transitions:
            if now >= moment:
                status = name
        return status

    def outputs_for(self, status: str) -> dict[str, Any]:
        if status != "approved":
            return {}
        issued = datetime.fromtimestamp(self.created_at + self.delay, CHINA_TZ).date()
        outputs = {
            "certificate_number": certificate_number(
                self.department, self.item_code, self.idempotency_key
            ),
            "issued_at": issued.isoformat(),
        }
        # The results the portal said the item issues, each a valid value of its kind.
        for result in self.request.get("results") or ():
            outputs[result["key"]] = result_value(result["type"], self.idempotency_key, issued)
        return outputs

    def body(self, now: float) -> dict[str, Any]:
        """The case as the department API shows it."""
        status = self.status_at(now)
        return {
            "case_id": self.case_id,
            "idempotency_key": self.idempotency_key,
            "item_code": self.item_code,
            "status": status,
            "outputs": self.outputs_for(status),
            "reason": REJECT_REASON if status == "rejected" else "",
            "created_at": isoformat(self.created_at),
        }


def _optional(payload: dict, name: str, kind: type, kind_text: str) -> None:
    value = payload.get(name)
    if value is not None and not isinstance(value, kind):
        raise InvalidRequest(f"{name} must be {kind_text}", name)


def parse_create_request(raw: bytes, header_key: str | None) -> dict[str, Any]:
    """Check a ``POST /cases`` body; return it with ``idempotency_key`` filled in."""
    try:
        payload = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InvalidRequest("body is not valid JSON") from None
    if not isinstance(payload, dict):
        raise InvalidRequest("body must be a JSON object")

    body_key = payload.get("idempotency_key")
    if body_key is not None and header_key and body_key != header_key:
        raise InvalidRequest(
            f"idempotency_key in the body differs from the {IDEMPOTENCY_HEADER} header",
            "idempotency_key",
        )
    key = body_key if body_key is not None else header_key
    if not isinstance(key, str) or not key.strip():
        raise InvalidRequest("idempotency_key is required", "idempotency_key")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidRequest(
            f"idempotency_key is longer than {MAX_KEY_LENGTH} characters", "idempotency_key"
        )

    item_code = payload.get("item_code")
    if not isinstance(item_code, str) or not item_code.strip():
        raise InvalidRequest("item_code is required", "item_code")

    for name in ("item_name", "application_number", "callback_url"):
        _optional(payload, name, str, "a string")
    for name in ("applicant", "form", "inputs"):
        _optional(payload, name, dict, "a JSON object")
    _optional(payload, "results", list, "a list")
    for result in payload.get("results") or ():
        if not (
            isinstance(result, dict)
            and isinstance(result.get("key"), str)
            and isinstance(result.get("type"), str)
        ):
            raise InvalidRequest("each of results must be an object with key and type", "results")

    callback_url = payload.get("callback_url")
    if callback_url and urlsplit(callback_url).scheme not in ("http", "https"):
        raise InvalidRequest("callback_url must be an http or https URL", "callback_url")

    return {**payload, "idempotency_key": key}


# --------------------------------------------------------------------------- callbacks


@dataclass
class Delivery:
    """One callback message waiting in a case's outbox, with its attempts so far."""

    url: str
    event: dict[str, Any]
    attempts: int = 0
    next_attempt_at: float = 0.0


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # A redirect would turn our POST into a GET; treat it as a failed delivery instead.
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


#: Callbacks go straight to the portal: no proxies from the environment, no redirects.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirects())


def post_callback(url: str, body: bytes, secrets: list[str]) -> tuple[int | None, str | None]:
    """POST one callback signed with each of ``secrets``; return (status, None) or (None, error)."""
    headers = {"Content-Type": "application/json", **signed_headers(secrets, body)}
    # The URL's scheme was checked to be http(s) when the case was created.
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with _OPENER.open(request, timeout=CALLBACK_TIMEOUT_SECONDS) as response:
            return response.status, None
    except urllib.error.HTTPError as error:
        return error.code, None
    except (urllib.error.URLError, OSError, ValueError) as error:
        return None, f"{type(error).__name__}: {error}"


# --------------------------------------------------------------------------- state


class Simulator:
    """Everything the simulator knows: settings, cases and callback traffic.

    One lock guards all of it; HTTP handler threads, the scheduler and callback workers
    take it briefly and never hold it across network I/O or sleeps.
    """

    def __init__(self, master_secret: str, defaults: dict[str, Any] | None = None):
        self.master_secret = master_secret
        self.defaults = {**DEFAULT_SETTINGS, **(defaults or {})}
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self._scheduler: threading.Thread | None = None
        self._reset_state()

    def _reset_state(self) -> None:
        self.global_settings: dict[str, Any] = json.loads(json.dumps(self.defaults))
        self.department_settings: dict[str, dict[str, Any]] = {}
        # Secrets set through /_control; other departments use the one drawn from the master.
        self.department_secrets: dict[str, list[str]] = {}
        self.cases: dict[str, Case] = {}  # insertion order is creation order
        self.by_key: dict[tuple[str, str], str] = {}
        # Cases with a callback_url and status changes not yet announced; the scheduler
        # looks only at these so its tick stays cheap however many cases pile up.
        self.unannounced: set[str] = set()
        self.outboxes: dict[str, deque[Delivery]] = {}
        self.in_flight: set[str] = set()
        self.callback_log: list[dict[str, Any]] = []
        # Workers that were mid-delivery when /_reset came must not write into the new state.
        self.generation = getattr(self, "generation", 0) + 1

    def reset(self) -> None:
        with self.lock:
            self._reset_state()

    # ----- settings

    def settings_for(self, department: str) -> dict[str, Any]:
        """The settings in force for ``department``: global ones plus its overrides."""
        return {**self.global_settings, **self.department_settings.get(department, {})}

    def settings_view(self) -> dict[str, Any]:
        with self.lock:
            return json.loads(
                json.dumps(
                    {
                        "global": self.global_settings,
                        "departments": self.department_settings,
                        # Which departments have secrets set; the secrets are not shown.
                        "explicit_secrets": sorted(self.department_secrets),
                    }
                )
            )

    def secrets_for(self, department: str) -> list[str]:
        """The secrets ``department`` signs with and accepts (two during a rotation)."""
        with self.lock:
            explicit = self.department_secrets.get(department)
        return list(explicit) if explicit else [department_secret(self.master_secret, department)]

    def setting(self, department: str, key: str) -> Any:
        with self.lock:
            return self.settings_for(department)[key]

    def update_settings(self, department: str | None, changes: dict[str, Any]) -> None:
        with self.lock:
            if department is not None and "secrets" in changes:
                secrets = changes.pop("secrets")
                if secrets is None:
                    self.department_secrets.pop(department, None)
                else:
                    self.department_secrets[department] = secrets
            if department is None:
                self.global_settings.update(changes)
                return
            overrides = self.department_settings.setdefault(department, {})
            for key, value in changes.items():
                if value is None:
                    overrides.pop(key, None)
                else:
                    overrides[key] = value
            if not overrides:
                self.department_settings.pop(department, None)

    def in_outage(self, department: str) -> bool:
        with self.lock:
            return self.settings_for(department)["outage"]

    # ----- cases

    def create_case(self, department: str, request: dict[str, Any]) -> tuple[Case, bool, float]:
        """Store a new case, or find the one with the same key; return (case, is_new, latency)."""
        key = request["idempotency_key"]
        now = time.time()
        with self.lock:
            settings = self.settings_for(department)
            existing = self.by_key.get((department, key))
            if existing is not None:
                return self.cases[existing], False, settings["create_latency"]
            item_code = request["item_code"]
            case = Case(
                case_id=uuid.uuid4().hex,
                department=department,
                idempotency_key=key,
                item_code=item_code,
                request=request,
                callback_url=request.get("callback_url") or None,
                created_at=now,
                delay=settings["delay"],
                rejected=item_code in settings["reject_items"]
                or key_fraction(key) < settings["reject_rate"],
            )
            self.cases[case.case_id] = case
            self.by_key[(department, key)] = case.case_id
            if case.callback_url:
                self.unannounced.add(case.case_id)
            return case, True, settings["create_latency"]

    def case_body(self, department: str, case_id: str) -> dict[str, Any] | None:
        with self.lock:
            case = self.cases.get(case_id)
            if case is None or case.department != department:
                return None
            return case.body(time.time())

    def list_cases(self, department: str | None) -> list[dict[str, Any]]:
        now = time.time()
        with self.lock:
            return [
                {**case.body(now), "department": case.department, "request": case.request}
                for case in self.cases.values()
                if department is None or case.department == department
            ]

    def list_callbacks(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.callback_log)

    # ----- scheduler

    def start(self) -> None:
        self._scheduler = threading.Thread(target=self._run, name="scheduler", daemon=True)
        self._scheduler.start()

    def stop(self) -> None:
        self._stop.set()
        if self._scheduler is not None:
            self._scheduler.join(timeout=2)

    def _run(self) -> None:
        while not self._stop.wait(TICK_SECONDS):
            self.tick()

    def tick(self, now: float | None = None) -> None:
        """Announce status changes that came due and start deliveries that may go now."""
        now = time.time() if now is None else now
        to_send: list[tuple[str, Delivery, int]] = []
        with self.lock:
            for case_id in list(self.unannounced):
                case = self.cases[case_id]
                self._announce_due(case, now)
                if case.announced == len(case.transitions):
                    self.unannounced.discard(case_id)
            for case_id, outbox in self.outboxes.items():
                if not outbox or case_id in self.in_flight:
                    continue
                case = self.cases[case_id]
                if self.settings_for(case.department)["outage"]:
                    continue  # a department that is down sends nothing either
                if outbox[0].next_attempt_at <= now:
                    self.in_flight.add(case_id)
                    to_send.append((case_id, outbox[0], self.generation))
        for case_id, delivery, generation in to_send:
            threading.Thread(
                target=self._deliver, args=(case_id, delivery, generation), daemon=True
            ).start()

    def _announce_due(self, case: Case, now: float) -> None:
        settings = self.settings_for(case.department)
        if settings["outage"]:
            return  # held back; announced once the department is up again
        due = [(s, moment) for s, moment in case.transitions[case.announced :] if moment <= now]
        if settings["reorder_callbacks"]:
            if case.announced + len(due) < len(case.transitions):
                return  # the early news waits until the final one can overtake it
            due.reverse()
        case.announced += len(due)
        if not settings["callbacks"]:
            return  # this department does not call back; the portal must poll
        outbox = self.outboxes.setdefault(case.case_id, deque())
        for status, moment in due:
            event = self._event(case, status, moment)
            events = [event]
            if settings["duplicate_callbacks"]:
                # The same message twice (a retried send) and once more as a new event
                # (a department that answers twice), so the portal must dedupe both ways.
                events += [dict(event), {**event, "event_id": uuid.uuid4().hex}]
            outbox.extend(Delivery(case.callback_url, item) for item in events)
        if not outbox:
            del self.outboxes[case.case_id]

    def _event(self, case: Case, status: str, moment: float) -> dict[str, Any]:
        return {
            "event_id": uuid.uuid4().hex,
            "case_id": case.case_id,
            "idempotency_key": case.idempotency_key,
            "item_code": case.item_code,
            "department": case.department,
            "status": status,
            "outputs": case.outputs_for(status),
            "reason": REJECT_REASON if status == "rejected" else "",
            "occurred_at": isoformat(moment),
        }

    def _deliver(self, case_id: str, delivery: Delivery, generation: int) -> None:
        body = json.dumps(delivery.event, ensure_ascii=False).encode()
        secrets = self.secrets_for(delivery.event["department"])
        status_code, error = post_callback(delivery.url, body, secrets)
        with self.lock:
            if generation != self.generation:
                return  # the simulator was reset while this was on the wire
            self.in_flight.discard(case_id)
            delivery.attempts += 1
            delivered = status_code is not None and 200 <= status_code < 300
            client_error = status_code is not None and 400 <= status_code < 500
            if delivered:
                outcome = "delivered"
            elif client_error or delivery.attempts > CALLBACK_RETRIES:
                outcome = "gave_up"
            else:
                outcome = "will_retry"
            self.callback_log.append(
                {
                    "url": delivery.url,
                    "event_id": delivery.event["event_id"],
                    "case_id": case_id,
                    "department": delivery.event["department"],
                    "case_status": delivery.event["status"],
                    "attempt": delivery.attempts,
                    "status_code": status_code,
                    "error": error,
                    "outcome": outcome,
                    "at": isoformat(time.time()),
                }
            )
            if outcome == "will_retry":
                delivery.next_attempt_at = time.time() + CALLBACK_BACKOFF_SECONDS
                return
            outbox = self.outboxes[case_id]
            outbox.popleft()
            if not outbox:
                del self.outboxes[case_id]


# --------------------------------------------------------------------------- HTTP


class SimulatorServer(ThreadingHTTPServer):
    """The HTTP server, carrying the simulator state for its handlers."""

    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        simulator: Simulator,
        verbose: bool = False,
        control_token: str | None = None,
    ):
        super().__init__(address, Handler)
        self.simulator = simulator
        self.verbose = verbose
        #: Bearer token of the control API; without one the control API is off.
        self.control_token = control_token or None


class Handler(BaseHTTPRequestHandler):
    """Routes requests to the department API or to the control endpoints."""

    server: SimulatorServer
    protocol_version = "HTTP/1.1"
    server_version = "DepartmentSimulator/1.0"

    @property
    def sim(self) -> Simulator:
        return self.server.simulator

    # ----- plumbing

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            sys.stderr.write(f"{self.address_string()} - {format % args}\n")

    def send_json(self, status: int, payload: Any) -> None:
        body = json.dumps(payload, ensure_ascii=False).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (e.g. timed out during create_latency); nothing to tell it.
            self.close_connection = True

    def send_error_json(self, status: int, message: str, field_name: str | None = None) -> None:
        payload: dict[str, Any] = {"error": message}
        if status == HTTPStatus.BAD_REQUEST:
            payload["field"] = field_name
        self.send_json(status, payload)

    def read_body(self) -> bytes | None:
        """The raw request body, or None after answering 411/413 for a body we won't read."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            self.close_connection = True
            self.send_error_json(HTTPStatus.LENGTH_REQUIRED, "send a Content-Length body")
            return None
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY_BYTES:
            self.close_connection = True
            self.send_error_json(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "body too large")
            return None
        return self.rfile.read(length) if length else b""

    # ----- dispatch

    def do_GET(self) -> None:
        self.dispatch("GET")

    def do_POST(self) -> None:
        self.dispatch("POST")

    def do_PUT(self) -> None:
        self.dispatch("PUT")

    def do_PATCH(self) -> None:
        self.dispatch("PATCH")

    def do_DELETE(self) -> None:
        self.dispatch("DELETE")

    def dispatch(self, method: str) -> None:
        # Read the body first so a keep-alive connection stays in step whatever we answer.
        body = self.read_body()
        if body is None:
            return
        url = urlsplit(self.path)
        path = url.path.rstrip("/") or "/"
        try:
            if path.startswith("/departments/"):
                self.handle_department(method, path, body)
            elif path in CONTROL_ROUTES:
                self.handle_control(method, path, body, parse_qs(url.query))
            else:
                self.send_error_json(HTTPStatus.NOT_FOUND, "not found")
        except InvalidRequest as error:
            self.send_error_json(HTTPStatus.BAD_REQUEST, str(error), error.field)
        except Exception as error:
            # One line, not a traceback: a parent that pipes our output but never reads it
            # must not see the pipe fill up and stall us.
            sys.stderr.write(f"simulator error on {method} {self.path}: {error!r}\n")
            self.send_error_json(HTTPStatus.INTERNAL_SERVER_ERROR, "internal simulator error")

    # ----- department API

    def handle_department(self, method: str, path: str, body: bytes) -> None:
        prefix = DEPT_PREFIX_RE.fullmatch(path)
        department = prefix["dept"] if prefix else ""
        if not DEPT_CODE_RE.fullmatch(department):
            self.send_error_json(HTTPStatus.NOT_FOUND, "unknown department code")
            return
        if self.sim.in_outage(department):
            self.send_error_json(HTTPStatus.SERVICE_UNAVAILABLE, "department system unavailable")
            return
        try:
            verify(
                self.sim.secrets_for(department),
                self.headers.get(TIMESTAMP_HEADER),
                self.headers.get(SIGNATURE_HEADER),
                body,
            )
        except SignatureError as error:
            self.send_error_json(HTTPStatus.UNAUTHORIZED, str(error))
            return

        if CASES_PATH_RE.fullmatch(path):
            if method != "POST":
                self.send_error_json(HTTPStatus.METHOD_NOT_ALLOWED, "use POST to create a case")
                return
            self.create_case(department, body)
        elif match := CASE_PATH_RE.fullmatch(path):
            if method != "GET":
                self.send_error_json(HTTPStatus.METHOD_NOT_ALLOWED, "use GET to read a case")
                return
            self.show_case(department, match["case_id"])
        else:
            self.send_error_json(HTTPStatus.NOT_FOUND, "not found")

    def create_case(self, department: str, body: bytes) -> None:
        request = parse_create_request(body, self.headers.get(IDEMPOTENCY_HEADER))
        case, is_new, latency = self.sim.create_case(department, request)
        if latency:
            # The case is already stored: a client that times out now has left a case
            # behind, and must find it again with the same idempotency key.
            time.sleep(latency)
        if self.send_garbage(department):
            return  # stored all the same: the same key finds it once the answers mend
        status = HTTPStatus.CREATED if is_new else HTTPStatus.OK
        self.send_json(status, self.sim.case_body(department, case.case_id))

    def show_case(self, department: str, case_id: str) -> None:
        case = self.sim.case_body(department, case_id)
        if case is None:
            self.send_error_json(HTTPStatus.NOT_FOUND, "no such case in this department")
        elif not self.send_garbage(department):
            self.send_json(HTTPStatus.OK, case)

    def send_garbage(self, department: str) -> bool:
        """In ``garbage`` mode, answer 200 with a body that is no case; say whether we did."""
        mode = self.sim.setting(department, "garbage")
        if not mode:
            return False
        content_type, body = GARBAGE_BODIES[mode]
        try:
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        return True

    # ----- control API

    def control_allowed(self) -> bool:
        """Whether the request carries the control token; if not, answer 401 or 403."""
        token = self.server.control_token
        if token is None:
            self.send_error_json(
                HTTPStatus.FORBIDDEN,
                "the control API is off: start the simulator with --control-token "
                "or SIMULATOR_CONTROL_TOKEN",
            )
            return False
        given = self.headers.get("Authorization", "")
        # Bytes on both sides: compare_digest refuses non-ASCII str, and a header may carry
        # any byte (http.server decodes it as latin-1).
        if not hmac.compare_digest(
            given.encode("utf-8", "replace"), f"Bearer {token}".encode("utf-8", "replace")
        ):
            self.send_error_json(
                HTTPStatus.UNAUTHORIZED, "send the control token: Authorization: Bearer <token>"
            )
            return False
        return True

    def handle_control(
        self, method: str, path: str, body: bytes, query: dict[str, list[str]]
    ) -> None:
        # Only the health check is open: the rest changes behaviour or shows applicants' data.
        if path != "/_health" and not self.control_allowed():
            return
        allowed = CONTROL_ROUTES[path]
        if method not in allowed:
            self.send_error_json(
                HTTPStatus.METHOD_NOT_ALLOWED, f"use {' or '.join(sorted(allowed))}"
            )
            return
        if path == "/_health":
            self.send_json(HTTPStatus.OK, {"status": "ok"})
        elif path == "/_control" and method == "GET":
            self.send_json(HTTPStatus.OK, self.sim.settings_view())
        elif path == "/_control":
            try:
                payload = json.loads(body or b"{}")
            except (UnicodeDecodeError, json.JSONDecodeError):
                raise InvalidRequest("body is not valid JSON") from None
            department, changes = parse_settings_update(payload)
            self.sim.update_settings(department, changes)
            self.send_json(HTTPStatus.OK, self.sim.settings_view())
        elif path == "/_cases":
            department = query.get("department", [None])[0]
            self.send_json(HTTPStatus.OK, {"cases": self.sim.list_cases(department)})
        elif path == "/_callbacks":
            self.send_json(HTTPStatus.OK, {"callbacks": self.sim.list_callbacks()})
        elif path == "/_reset":
            self.sim.reset()
            self.send_json(HTTPStatus.OK, self.sim.settings_view())


CONTROL_ROUTES = {
    "/_health": {"GET"},
    "/_control": {"GET", "POST"},
    "/_cases": {"GET"},
    "/_callbacks": {"GET"},
    "/_reset": {"POST"},
}


# --------------------------------------------------------------------------- CLI


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m departments.simulator",
        description="Simulate department systems for the 高效办成一件事 portal.",
    )
    parser.add_argument("--host", default=os.environ.get("SIMULATOR_HOST", "127.0.0.1"))
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("SIMULATOR_PORT", "8765")),
        help="0 picks a free port; the listening line says which",
    )
    parser.add_argument(
        "--secret",
        default=os.environ.get("SIMULATOR_SECRET"),
        help="master secret; each department's is drawn from it and its code "
        "(default: $SIMULATOR_SECRET)",
    )
    parser.add_argument(
        "--control-token",
        default=os.environ.get("SIMULATOR_CONTROL_TOKEN"),
        help="bearer token of the control API under /_ (default: $SIMULATOR_CONTROL_TOKEN); "
        "without one the control API is off",
    )
    parser.add_argument("--delay", type=float, default=DEFAULT_SETTINGS["delay"])
    parser.add_argument("--reject-rate", type=float, default=DEFAULT_SETTINGS["reject_rate"])
    parser.add_argument("--verbose", action="store_true", help="log requests to stderr")
    args = parser.parse_args(argv)
    if not args.secret:
        parser.error("a master secret is required: --secret or SIMULATOR_SECRET")
    if args.delay < 0:
        parser.error("--delay must be >= 0")
    if not 0 <= args.reject_rate <= 1:
        parser.error("--reject-rate must be between 0 and 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    simulator = Simulator(
        args.secret, defaults={"delay": args.delay, "reject_rate": args.reject_rate}
    )
    server = SimulatorServer(
        (args.host, args.port), simulator, verbose=args.verbose, control_token=args.control_token
    )

    def stop(signum: int, frame: Any) -> None:
        # shutdown() waits for serve_forever() to return, which runs in this very thread,
        # so it has to be asked from another one.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    simulator.start()
    host, port = server.server_address[:2]
    print(f"department simulator listening on http://{host}:{port}", flush=True)
    if server.control_token is None:
        sys.stderr.write("no control token given: the control API under /_ is off\n")
    try:
        server.serve_forever()
    finally:
        simulator.stop()
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
