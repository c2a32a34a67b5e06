"""The fault suite's harness, after the set tests of distributed systems: record every
application the portal acknowledged, inject a fault, heal it, then check that each recorded
application ends in the state its departments decided — with one case per sub-task at the
department and an event log that is one valid path through the state machines.

The applicants and the police clerk act through the API, as people do; the Celery worker,
beat, the department simulator, Redis and PostgreSQL are the real processes of the run.
"""

import io
import threading
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise

import redis
from django.conf import settings
from django.db import connection

from applications.models import Application, Event, SubTask

from ..helpers import NEWBORN_FORM, PDF, PNG, api_client
from ..processes import wait_for

#: The sub-task state machine as the README draws it: ``waiting → ready → dispatched →
#: accepted ⇄ supplement_requested → approved | rejected``, plus cancelled and failed. Written
#: out here rather than read from the model, so that the log is checked against the promise.
SUBTASK_MOVES = {
    "waiting": {"ready", "cancelled"},
    "ready": {"dispatched", "failed", "cancelled"},
    "dispatched": {"accepted", "rejected", "failed", "cancelled"},
    "accepted": {"supplement_requested", "approved", "rejected", "failed", "cancelled"},
    "supplement_requested": {"accepted", "rejected", "failed", "cancelled"},
    "failed": {"ready", "cancelled"},
}
SUBTASK_FINAL = {"approved", "rejected", "cancelled"}
APPLICATION_FINAL = {"completed", "partially_completed", "rejected", "withdrawn"}
APPLICATION_MOVES = {
    "draft": {"submitted", "withdrawn"},
    "submitted": {"in_progress", "supplement_requested"} | APPLICATION_FINAL,
    "in_progress": {"supplement_requested"} | APPLICATION_FINAL,
    "supplement_requested": {"in_progress"} | APPLICATION_FINAL,
}
#: Work the portal queues for itself, as opposed to beat's periodic tasks.
APPLICATION_TASKS = (
    "applications.tasks.advance_application",
    "applications.tasks.dispatch_subtask",
)


def path_problem(path: list[tuple[str, str]], moves: dict, start: str) -> str | None:
    """What is wrong with ``path`` (from, to) as a walk through the machine ``moves`` from
    ``start``; None when nothing is."""
    if not path:
        return "no events"
    if path[0][0] != start:
        return f"starts from {path[0][0]}, not {start}"
    for before, after in path:
        if after not in moves.get(before, ()):
            return f"{before} → {after} is no move of the state machine"
    for (_before, after), (then, _after) in pairwise(path):
        if then != after:
            return f"the path breaks: it went to {after}, the next move is from {then}"
    return None


def http_client(user):
    """An API client for ``user`` that, like a browser, sees only the answer: a server error
    is a 500 to note, and an error raised elsewhere in this process meanwhile (a department's
    callback to the live server) is not taken for its own."""
    client = api_client(user)
    client.raise_request_exception = False
    return client


def broker() -> redis.Redis:
    """The run's own Redis (tests/redis_server.py), never a shared one."""
    return redis.Redis.from_url(settings.CELERY_BROKER_URL)


def queued_work() -> dict[str, str]:
    """The advance and dispatch messages waiting in the Celery queue: task name by id."""
    import json

    headers = (json.loads(m)["headers"] for m in broker().lrange("celery", 0, -1))
    return {
        h["id"]: h["task"].rsplit(".", 1)[-1] for h in headers if h["task"] in APPLICATION_TASKS
    }


def restart_worker(worker, timeout: float = 60) -> None:
    """Start the worker again and wait until it says it is ready."""
    ready_before = worker.log_text().count(" ready.")
    worker.start()
    wait_for(
        lambda: worker.log_text().count(" ready.") > ready_before,
        timeout,
        0.2,
        "the restarted worker to be ready",
    )


def terminate_backends(application_name: str) -> list[str]:
    """pg_terminate_backend on the connections of this test database that call themselves
    ``application_name`` (the Celery worker's), never this process's own; return the state
    each was in when it went."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT state FROM (
                SELECT state, pg_terminate_backend(pid) AS gone FROM pg_stat_activity
                WHERE datname = current_database() AND application_name = %s
                  AND pid <> pg_backend_pid()
            ) AS killed WHERE gone
            """,
            [application_name],
        )
        return [state for (state,) in cursor.fetchall()]


class FaultRun:
    """Applications submitted and recorded, a clerk at the police window, and the check."""

    def __init__(self, simulator, applicants, police_clerk):
        self.simulator = simulator
        self.applicants = applicants
        self.police_clerk = police_clerk
        #: Ids of the applications the portal acknowledged (answered 200 to the submission).
        self.recorded: list[int] = []
        #: Submissions the portal did not acknowledge, with what it answered.
        self.refused: list[str] = []
        #: Anything the clerk was refused: the clerk works only parts that are theirs to work.
        self.clerk_errors: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._clerk = None

    # --- applicants -----------------------------------------------------------------------
    def submit(self, count: int, threads: int = 3) -> list[int]:
        """``count`` newborn applications through the API, a few at once; return the ids of
        those acknowledged (each is recorded as soon as its answer comes)."""
        applicants = [self.applicants[i % len(self.applicants)] for i in range(count)]
        with ThreadPoolExecutor(threads) as pool:
            ids = list(pool.map(self._submit_one, applicants))
        return [i for i in ids if i is not None]

    def _submit_one(self, applicant) -> int | None:
        client = http_client(applicant)
        try:
            created = client.post(
                "/api/v1/applications/",
                {"bundle": "newborn", "form": NEWBORN_FORM, "items": []},
                format="json",
            )
            if created.status_code != 201:
                return self._refused("create", created)
            application_id = created.json()["id"]
            for code, content, suffix in (
                ("parents_id_cards", PDF, "pdf"),
                ("child_photo", PNG, "png"),
            ):
                upload = io.BytesIO(content)
                upload.name = f"{code}.{suffix}"
                uploaded = client.post(
                    f"/api/v1/applications/{application_id}/materials/",
                    {"code": code, "file": upload},
                    format="multipart",
                )
                if uploaded.status_code != 201:
                    return self._refused("upload", uploaded)
            submitted = client.post(f"/api/v1/applications/{application_id}/submit/")
            if submitted.status_code != 200:
                return self._refused("submit", submitted)
            with self._lock:
                self.recorded.append(application_id)
            return application_id
        finally:
            connection.close()

    def _refused(self, step: str, response) -> None:
        with self._lock:
            self.refused.append(f"{step}: {response.status_code} {response.content[:300]!r}")

    # --- the police window ----------------------------------------------------------------
    def start_clerk(self) -> None:
        """The police clerk accepts and approves each household registration that reaches
        the window, for the recorded applications."""
        self._stop.clear()
        self._clerk = threading.Thread(target=self._work_window, name="police-clerk", daemon=True)
        self._clerk.start()

    def stop_clerk(self) -> None:
        self._stop.set()
        if self._clerk is not None:
            self._clerk.join(timeout=30)

    def _work_window(self) -> None:
        client = http_client(self.police_clerk)
        try:
            while not self._stop.wait(0.2):
                with self._lock:
                    recorded = list(self.recorded)
                waiting = SubTask.objects.filter(
                    application_id__in=recorded,
                    item__code="household_registration",
                    status__in=["dispatched", "accepted"],
                ).values_list("pk", "status")
                for subtask_id, status in waiting:
                    url = f"/api/v1/subtasks/{subtask_id}"
                    steps = [("accept", {})] if status == "dispatched" else []
                    steps.append(("approve", {"outputs": {"household_number": "110101000123"}}))
                    for action, body in steps:
                        answer = client.post(f"{url}/{action}/", body, format="json")
                        if answer.status_code != 200:
                            self.clerk_errors.append(
                                f"{action} {subtask_id}: {answer.status_code} {answer.content!r}"
                            )
                            break
        except Exception as exc:  # seen by check_all, not lost in a thread
            self.clerk_errors.append(f"the clerk stopped: {exc!r}")
            raise
        finally:
            connection.close()

    # --- the check ------------------------------------------------------------------------
    def check_all(self, timeout: float = 90, callbacks_per_case: int | None = 2) -> dict:
        """Wait (at most ``timeout`` seconds) until every recorded application has ended, then
        check each one; return the final statuses by application id.

        ``callbacks_per_case``: the messages each case's department sends (two status
        changes, three times each when it repeats itself; 0 when it does not call back). The
        check waits for all of them, so that a late or repeated report has had its chance to
        spoil the log.
        """
        assert not self.refused, f"submissions the portal did not acknowledge: {self.refused}"
        assert self.recorded, "nothing was submitted"
        recorded = sorted(self.recorded)
        try:
            wait_for(
                lambda: (
                    not Application.objects.filter(pk__in=recorded)
                    .exclude(status__in=APPLICATION_FINAL)
                    .exists()
                ),
                timeout,
                0.3,
                "every recorded application to end",
            )
        except AssertionError:
            clerk = f"\nthe clerk: {self.clerk_errors}" if self.clerk_errors else ""
            raise AssertionError(f"stuck or lost:\n{self.describe(recorded)}{clerk}") from None
        cases = self._settled_cases(callbacks_per_case)
        assert not self.clerk_errors, self.clerk_errors

        applications = {a.pk: a for a in Application.objects.filter(pk__in=recorded)}
        assert sorted(applications) == recorded, "an acknowledged application was lost"
        numbers = {a.number: a.pk for a in applications.values()}
        # The simulator was reset when the test began: every case there is one of ours.
        strays = [c for c in cases if c["request"]["application_number"] not in numbers]
        assert not strays, f"cases for no recorded application: {strays}"
        per_part = Counter((c["request"]["application_number"], c["item_code"]) for c in cases)
        doubled = {part: n for part, n in per_part.items() if n > 1}
        assert not doubled, f"more than one case for one sub-task: {doubled}"
        by_key = defaultdict(list)
        for case in cases:
            by_key[case["idempotency_key"]].append(case)

        outcomes = {}
        for application in applications.values():
            self._check_application(application, by_key)
            outcomes[application.pk] = application.status
        return outcomes

    def _settled_cases(self, callbacks_per_case: int | None) -> list[dict]:
        """The simulator's cases, once each has reached its final status and sent (or given up
        sending) every callback it was going to send."""

        def settled():
            cases = self.simulator.cases()
            if any(c["status"] not in ("approved", "rejected") for c in cases):
                return None
            if callbacks_per_case:
                done = Counter(
                    c["case_id"]
                    for c in self.simulator.callbacks()
                    if c["outcome"] in ("delivered", "gave_up")
                )
                if any(done[c["case_id"]] < callbacks_per_case for c in cases):
                    return None
            return cases

        cases = wait_for(settled, 30, 0.3, "the departments to finish their cases and callbacks")
        calls = self.simulator.callbacks()
        if callbacks_per_case is not None:
            counts = Counter(c["case_id"] for c in calls if c["outcome"] != "will_retry")
            assert all(counts[c["case_id"]] == callbacks_per_case for c in cases), counts
        # Each report is taken once: a new one is answered 200, a replayed one 409 — never a
        # server error, which would make the department send it again and again.
        answered = set()
        for call in calls:
            expected = 409 if call["event_id"] in answered else 200
            assert call["status_code"] == expected, f"callback answered wrongly: {call}"
            answered.add(call["event_id"])
        return cases

    def _check_application(self, application, cases_by_key) -> None:
        label = f"application {application.pk} ({application.number})"
        subtasks = {
            st.item.code: st
            for st in SubTask.objects.filter(application=application).select_related("item")
        }
        events = list(Event.objects.filter(application=application).order_by("id"))
        by_subtask = defaultdict(list)
        for event in events:
            by_subtask[event.subtask_id].append(event)

        # The state the departments decided, and the engine's rules applied to it.
        expected = {}
        while len(expected) < len(subtasks):
            for code, st in subtasks.items():
                if code in expected or any(p not in expected for p in st.depends_on):
                    continue
                if any(expected[p] != "approved" for p in st.depends_on):
                    expected[code] = "cancelled"
                elif st.handling == "http":
                    found = cases_by_key.get(str(st.idempotency_key), [])
                    expected[code] = found[0]["status"] if found else "a case at the department"
                else:
                    expected[code] = "approved"  # the police clerk approves what comes
        actual = {code: st.status for code, st in subtasks.items()}
        assert actual == expected, f"{label}: sub-tasks {actual}, departments decided {expected}"
        approved = sum(s == "approved" for s in expected.values())
        should_be = (
            "completed"
            if approved == len(expected)
            else ("partially_completed" if approved else "rejected")
        )
        assert application.status == should_be, f"{label}: {application.status}, not {should_be}"

        # One case per sub-task that reached its department, none for any other.
        for code, st in subtasks.items():
            found = cases_by_key.get(str(st.idempotency_key), [])
            reached = any(e.to_status == "dispatched" for e in by_subtask[st.pk])
            wanted = 1 if st.handling == "http" and reached else 0
            assert len(found) == wanted, f"{label} {code}: {len(found)} cases, not {wanted}"
            if found:
                assert found[0]["case_id"] == st.case_ref, f"{label} {code}: another case_ref"

        # Each sub-task's events: one valid path from waiting to where it is now.
        for code, st in subtasks.items():
            path = [(e.from_status, e.to_status) for e in by_subtask[st.pk]]
            problem = path_problem(path, SUBTASK_MOVES, "waiting")
            assert problem is None, f"{label} {code}: {problem}: {path}"
            assert path[-1][1] == st.status, f"{label} {code}: log ends {path[-1]}, is {st.status}"
            finals = [after for _before, after in path if after in SUBTASK_FINAL]
            assert finals in ([], [path[-1][1]]), f"{label} {code}: moves after the end: {path}"

        # The application's own events: one path from draft, one end, and that end last.
        path = [(e.from_status, e.to_status) for e in by_subtask[None]]
        problem = path_problem(path, APPLICATION_MOVES, "draft")
        assert problem is None, f"{label}: {problem}: {path}"
        ends = [after for _before, after in path if after in APPLICATION_FINAL]
        assert ends == [application.status], f"{label}: ends {ends}, is {application.status}"
        end_event = by_subtask[None][-1]
        last_part = max(e.pk for e in events if e.subtask_id is not None)
        assert end_event.pk > last_part, f"{label}: ended before all its parts had ended"

        # The join: a part became ready only after every part it depends on was approved.
        first = {}
        for event in events:
            first.setdefault((event.subtask_id, event.to_status), event.pk)
        for code, st in subtasks.items():
            ready = first.get((st.pk, "ready"))
            for pred in st.depends_on:
                approved_at = first.get((subtasks[pred].pk, "approved"))
                if ready is not None:
                    assert approved_at is not None and approved_at < ready, (
                        f"{label}: {code} became ready before {pred} was approved"
                    )

    def describe(self, application_ids) -> str:
        """Where each application stands: for the message of a failed wait."""
        lines = []
        for application in Application.objects.filter(pk__in=application_ids):
            parts = SubTask.objects.filter(application=application).select_related("item")
            lines.append(
                f"  {application.pk} {application.status}: "
                + ", ".join(
                    f"{st.item.code}={st.status}"
                    + (f" (attempts {st.attempts}, {st.last_error[:80]})" if st.attempts else "")
                    for st in parts
                )
            )
        missing = set(application_ids) - {a.pk for a in Application.objects.all()}
        if missing:
            lines.append(f"  missing: {sorted(missing)}")
        return "\n".join(lines)
