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
