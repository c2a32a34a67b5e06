"""Faults on the real stack: record every acknowledged application, inject a fault, heal it,
and check that each application ends as its departments decided — one case per sub-task at
the department, one valid path of events per sub-task, one end per application.

The worker's settings for the run are in tests/conftest.py (celery_env): dispatch is tried
four times with back-off from 0.3 s, a department call times out after 3 s, beat polls open
cases every second and the reconciler takes work untouched for 3 s as lost.
"""

import threading
from collections import Counter, defaultdict

import pytest

from applications.models import SubTask

from ..processes import wait_for
from .harness import broker, queued_work, restart_worker, terminate_backends

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

#: Applications per test: enough to interleave, few enough for a 2-core machine.
N = 6


def _subtasks(run, item, **conditions):
    return SubTask.objects.filter(application_id__in=run.recorded, item__code=item, **conditions)


def _keys(subtasks) -> set[str]:
    return {str(key) for key in subtasks.values_list("idempotency_key", flat=True)}


def _in_flight(run, simulator) -> set[str]:
    """Keys of the sub-tasks whose case the department has stored while the portal has not
    yet heard back: their create-case call is under way."""
    ready = _keys(SubTask.objects.filter(application_id__in=run.recorded, status="ready"))
    return ready & {case["idempotency_key"] for case in simulator.cases()}


def test_worker_killed_mid_task(fault_run, department_simulator, worker):
    """SIGKILL while create-case calls are in flight: the case exists at the department, the
    portal never heard of it, and the message went down with the worker (late acknowledgement
    keeps it in Redis's unacknowledged set for an hour). The reconciler sends it again, with
    the same idempotency key, once the worker is back."""
    # Slow answers, and no callbacks: nothing but the worker itself moves a sub-task on.
    department_simulator.control(create_latency=2.0, callbacks=False)
    fault_run.submit(N)

    caught = wait_for(
        lambda: _in_flight(fault_run, department_simulator),
        30,
        0.05,
        "a create-case call in flight",
    )
    worker.kill()
    department_simulator.control(create_latency=0)
    restart_worker(worker)

    fault_run.check_all(callbacks_per_case=0)
    left = SubTask.objects.filter(idempotency_key__in=caught)
    assert {st.status for st in left} == {"approved"}


def test_broker_flushed_with_work_queued(fault_run, department_simulator, worker):
    """FLUSHALL while advances and dispatches wait in the queue: the reconciler finds the
    submissions no engine has looked at and the ready parts nobody dispatched.

    The departments send no callbacks, so that nothing but polling and the reconciler moves
    the lost work on (a callback would queue an advance of its own and hide a reconciler that
    does nothing)."""
    department_simulator.control(delay=0.5, callbacks=False)
    # The police window opens once the worker has stopped taking tasks: the clerk's approvals
    # then make the first lot's insurance and social-security parts ready, and their
    # dispatches wait in the queue.
    fault_run.stop_clerk()
    first = fault_run.submit(N // 2)
    wait_for(
        lambda: (
            _subtasks(fault_run, "household_registration", status="dispatched").count()
            == len(first)
        ),
        60,
        0.1,
        "the first household registrations at the police window",
    )
    worker.consume(False)
    fault_run.start_clerk()
    second = fault_run.submit(N - len(first))

    def queued():
        # The second lot's first advances, and the dispatches of the parts the clerk's
        # approvals made ready (two for each application of the first lot).
        work = queued_work()
        kinds = Counter(work.values())
        advances = kinds["advance_application"] >= len(second)
        dispatches = kinds["dispatch_subtask"] >= 2 * len(first)
        return advances and dispatches and work

    lost = wait_for(queued, 30, 0.2, "work in the queue")
    broker().flushall()
    # Gone for good.
    assert not lost.keys() & queued_work().keys()
    worker.consume(True)

    fault_run.check_all(callbacks_per_case=0)


def test_broker_killed_and_restarted(
    fault_run, department_simulator, worker, beat_process, broker_server
):
    """Redis killed, with all it held, while the worker waits on a slow department for one
    case and on the queue for more; then started again on the same port. The worker and beat
    stay up and reconnect; the API takes submissions while Redis is down (queueing them fails
    quietly: the database holds the truth), and the reconciler finds them afterwards."""
    department_simulator.control(department="health", create_latency=2.0)
    fault_run.submit(1)

    def one_case_in_flight():
        elsewhere = _subtasks(fault_run, "vaccination_certificate", status="ready").exists()
        return not elsewhere and _in_flight(fault_run, department_simulator)

    wait_for(one_case_in_flight, 30, 0.05, "a create-case call in flight, and only that")
    processes = worker.process.pid, beat_process.process.pid
    connected = worker.log_text().count("Connected to")
    broker_server.kill()
    second = fault_run.submit(N - 1)
    assert len(second) == N - 1, fault_run.refused
    department_simulator.control(department="health", create_latency=None)
    broker_server.start()
    wait_for(
        lambda: not worker.running or worker.log_text().count("Connected to") > connected,
        60,
        0.2,
        "the worker to reconnect",
    )
    assert worker.running, "the worker ended when the broker went away"

    fault_run.check_all(timeout=120)
    assert (worker.process.pid, beat_process.process.pid) == processes
    assert worker.running and beat_process.running


def test_database_connections_of_the_worker_terminated(
    fault_run, department_simulator, worker, without_beat
):
    """pg_terminate_backend on the worker's connections while it moves sub-tasks on: each task
    cut off runs again by itself (no beat, so no reconciler to rescue it)."""
    killed = []
    stop = threading.Event()

    def terminate():
        from django.db import connection

        try:
            while not stop.wait(0.02):
                killed.extend(
                    state
                    for state in terminate_backends(worker.application_name)
                    if state != "idle"
                )
        finally:
            connection.close()

    killer = threading.Thread(target=terminate, name="pg-terminate", daemon=True)
    killer.start()
    try:
        fault_run.submit(N)
        # Cut off in the middle of its work, several times.
        wait_for(lambda: len(killed) >= 6, 60, 0.1, "worker connections terminated mid-task")
    finally:
        stop.set()
        killer.join(10)

    fault_run.check_all()


def test_department_down_past_some_retries(fault_run, department_simulator, worker, without_beat):
    """The health department answers 503 to every call; it comes back after a sub-task has
    failed twice, before any has used up its tries. Celery's retry alone (no beat) brings
    every sub-task through."""
    department_simulator.control(department="health", outage=True)
    worker.consume(False)
    fault_run.submit(N)
    worker.consume(True)
    wait_for(
        lambda: _subtasks(fault_run, "birth_certificate", attempts__gte=2).exists(),
        30,
        0.02,
        "a second failed attempt",
    )
    department_simulator.control(department="health", outage=None)

    fault_run.check_all()
    retried = _subtasks(fault_run, "birth_certificate", attempts__gte=3)
    assert retried.exists(), "no sub-task went through the outage"


def test_department_slower_than_the_timeout(fault_run, department_simulator, worker):
    """Creating a case takes the health department 4 s, the portal waits 3 s: the case is
    stored at the department all the same. The portal tries again with the same idempotency
    key and finds that case, instead of opening a second one."""
    department_simulator.control(callbacks=False)
    department_simulator.control(department="health", create_latency=4.0)
    fault_run.submit(N)

    def timed_out_yet_created():
        ready = _subtasks(fault_run, "birth_certificate", status="ready", attempts__gte=1)
        return _keys(ready) & {c["idempotency_key"] for c in department_simulator.cases("health")}

    wait_for(timed_out_yet_created, 30, 0.1, "a timed-out call whose case exists anyway")
    department_simulator.control(department="health", create_latency=None)

    fault_run.check_all(callbacks_per_case=0)


def test_department_answers_garbage(fault_run, department_simulator, worker):
    """Departments answer 200 with what is no case — HTML, JSON without a case, a list —
    while the case is stored behind it; they mend before the tries run out. The same key
    finds each case again."""
    department_simulator.control(callbacks=False)
    for department, mode in (
        ("health", "not_json"),
        ("cdc", "not_object"),
        ("healthcare_security", "no_case"),
    ):
        department_simulator.control(department=department, garbage=mode)
    worker.consume(False)
    fault_run.submit(N)
    worker.consume(True)
    for items, departments in (
        (["birth_certificate", "vaccination_certificate"], ["health", "cdc"]),
        (["medical_insurance"], ["healthcare_security"]),
    ):
        wait_for(
            lambda items=items: SubTask.objects.filter(
                application_id__in=fault_run.recorded, item__code__in=items, attempts__gte=2
            ).exists(),
            60,
            0.02,
            f"a second garbled answer to {items}",
        )
        for department in departments:
            department_simulator.control(department=department, garbage=None)

    fault_run.check_all(callbacks_per_case=0)


def test_same_case_reported_twice(fault_run, department_simulator, worker):
    """Every callback comes three times — the same message twice, and once more under a new
    event id — and beat polls the same cases besides: each report changes a sub-task at most
    once."""
    department_simulator.control(duplicate_callbacks=True)
    fault_run.submit(N)

    fault_run.check_all(callbacks_per_case=6)


def test_callbacks_out_of_order(fault_run, department_simulator, worker, without_beat):
    """Each case's final status is reported before its acceptance (no poll to set things
    right); some cases are rejected, cancelling what depends on them."""
    department_simulator.control(reorder_callbacks=True)
    department_simulator.control(department="health", reject_rate=0.3)
    department_simulator.control(department="cdc", reject_rate=0.5)
    fault_run.submit(N)

    fault_run.check_all()
    heard = defaultdict(list)
    for call in department_simulator.callbacks():
        heard[call["case_id"]].append(call["case_status"])
    for statuses in heard.values():
        assert statuses[-1] == "accepted" and statuses[0] in ("approved", "rejected"), statuses
