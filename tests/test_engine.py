"""The engine's decision, with no database: fixed cases and many random DAGs (hypothesis)."""

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from applications.engine import decide
from applications.models import ApplicationStatus as A
from applications.models import SubTaskStatus as S

NEWBORN = {
    "birth": frozenset(),
    "vaccination": frozenset(),
    "household": frozenset({"birth"}),
    "insurance": frozenset({"household"}),
    "card": frozenset({"household"}),
}


def test_first_decision_readies_only_items_without_predecessors():
    decision = decide(NEWBORN, dict.fromkeys(NEWBORN, S.WAITING))
    assert decision.make_ready == {"birth", "vaccination"}
    assert not decision.cancel
    assert decision.application_status == A.IN_PROGRESS


def test_approved_predecessor_unlocks_successor_and_not_grandchildren():
    statuses = dict.fromkeys(NEWBORN, S.WAITING) | {"birth": S.APPROVED, "vaccination": S.ACCEPTED}
    decision = decide(NEWBORN, statuses)
    assert decision.make_ready == {"household"}


def test_rejection_cancels_every_descendant():
    statuses = dict.fromkeys(NEWBORN, S.WAITING) | {"birth": S.REJECTED, "vaccination": S.APPROVED}
    decision = decide(NEWBORN, statuses)
    assert decision.cancel == {"household", "insurance", "card"}
    assert decision.application_status == A.PARTIALLY_COMPLETED


def test_nothing_approved_is_rejected_and_all_approved_is_completed():
    assert decide({"a": frozenset()}, {"a": S.REJECTED}).application_status == A.REJECTED
    done = dict.fromkeys(NEWBORN, S.APPROVED)
    assert decide(NEWBORN, done).application_status == A.COMPLETED


def test_supplement_and_failure_keep_the_application_open():
    statuses = dict.fromkeys(NEWBORN, S.APPROVED) | {"card": S.SUPPLEMENT_REQUESTED}
    assert decide(NEWBORN, statuses).application_status == A.SUPPLEMENT_REQUESTED
    statuses["card"] = S.FAILED
    assert decide(NEWBORN, statuses).application_status == A.IN_PROGRESS


@st.composite
def dags(draw):
    size = draw(st.integers(min_value=1, max_value=12))
    nodes = [f"n{i}" for i in range(size)]
    # Edges only from earlier to later nodes: acyclic by construction, any shape.
    return {
        node: frozenset(pred for pred in nodes[:i] if draw(st.booleans()) and draw(st.booleans()))
        for i, node in enumerate(nodes)
    }


@settings(max_examples=400, deadline=None)
@given(dags(), st.randoms(use_true_random=False), st.floats(min_value=0, max_value=1))
def test_random_runs_end_respect_order_and_leave_nothing_open(
    dag, rnd: random.Random, reject_share
):
    """Play the engine against departments that finish ready work in random orders."""
    statuses = dict.fromkeys(dag, S.WAITING)
    started_after = {}
    for _step in range(10 * len(dag) + 5):
        decision = decide(dag, statuses)
        for code in decision.cancel:
            assert statuses[code] == S.WAITING
            statuses[code] = S.CANCELLED
        for code in decision.make_ready:
            # Nothing starts before every predecessor is approved.
            assert all(statuses[p] == S.APPROVED for p in dag[code])
            statuses[code] = S.READY
            started_after[code] = {p: statuses[p] for p in dag[code]}
        assert not (decision.make_ready & decision.cancel)
        running = [code for code, status in statuses.items() if status == S.READY]
        if not running:
            break
        code = rnd.choice(running)
        statuses[code] = S.REJECTED if rnd.random() < reject_share else S.APPROVED
    final = decide(dag, statuses)
    assert not final.make_ready and not final.cancel
    # Every run ends, nothing is left open.
    assert all(s in (S.APPROVED, S.REJECTED, S.CANCELLED) for s in statuses.values()), statuses
    approved = sum(s == S.APPROVED for s in statuses.values())
    expected = (
        A.COMPLETED if approved == len(dag) else A.PARTIALLY_COMPLETED if approved else A.REJECTED
    )
    assert final.application_status == expected
    # A cancelled item has a predecessor that was rejected or cancelled.
    for code, status in statuses.items():
        if status == S.CANCELLED:
            assert any(statuses[p] in (S.REJECTED, S.CANCELLED) for p in dag[code])


def _expected(dag, statuses):
    """The engine's decision worked out another way, from its definition: an item still
    waiting is cancelled when a predecessor is dead (rejected, cancelled, or itself waiting to
    be cancelled), and made ready when every predecessor is approved."""
    dead = {}

    def is_dead(code):
        if code not in dead:
            status = statuses[code]
            dead[code] = status in (S.REJECTED, S.CANCELLED) or (
                status == S.WAITING and any(is_dead(p) for p in dag[code])
            )
        return dead[code]

    waiting = [code for code, status in statuses.items() if status == S.WAITING]
    cancel = {code for code in waiting if is_dead(code)}
    ready = {
        code
        for code in waiting
        if code not in cancel and all(statuses[p] == S.APPROVED for p in dag[code])
    }
    after = statuses | dict.fromkeys(cancel, S.CANCELLED) | dict.fromkeys(ready, S.READY)
    values = list(after.values())
    if any(s not in (S.APPROVED, S.REJECTED, S.CANCELLED) for s in values):
        application = A.SUPPLEMENT_REQUESTED if S.SUPPLEMENT_REQUESTED in values else A.IN_PROGRESS
    else:
        approved = values.count(S.APPROVED)
        application = (
            A.COMPLETED
            if approved == len(values)
            else A.PARTIALLY_COMPLETED
            if approved
            else A.REJECTED
        )
    return ready, cancel, application, after


@settings(max_examples=600, deadline=None)
@given(dags(), st.data())
def test_decision_over_every_status_and_deciding_again_changes_nothing(dag, data):
    """Any mix of the sub-task statuses — dispatched, accepted, supplement requested and failed
    as well as the ends — gets exactly the decision its definition gives; applying it and
    deciding again changes nothing."""
    statuses = {code: data.draw(st.sampled_from(list(S)), label=code) for code in dag}
    ready, cancel, application, after = _expected(dag, statuses)

    decision = decide(dag, statuses)
    assert decision.make_ready == ready
    assert decision.cancel == cancel
    assert decision.application_status == application
    assert decide(dag, statuses) == decision

    again = decide(dag, after)
    assert not again.make_ready and not again.cancel
    assert again.application_status == application


def test_a_failed_or_open_part_neither_readies_nor_cancels_its_dependents():
    for status in (S.READY, S.DISPATCHED, S.ACCEPTED, S.SUPPLEMENT_REQUESTED, S.FAILED):
        statuses = dict.fromkeys(NEWBORN, S.WAITING) | {"birth": status, "vaccination": status}
        decision = decide(NEWBORN, statuses)
        assert not decision.make_ready and not decision.cancel, status
        expected = A.SUPPLEMENT_REQUESTED if status == S.SUPPLEMENT_REQUESTED else A.IN_PROGRESS
        assert decision.application_status == expected
