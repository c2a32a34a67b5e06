"""The bundle engine's decision: a pure function of the sub-task states.

Given the DAG and each item's status, say which waiting items become ready, which are
cancelled because a predecessor will never be approved, and what the application's status
is then. No database, no clock: ``applications.services`` saves and dispatches what this
decides, and the tests run it over many random graphs.
"""

from collections.abc import Mapping
from dataclasses import dataclass

from bundles.dag import Dag, topological_order

from .models import ApplicationStatus as A
from .models import SubTaskStatus as S

#: A predecessor in one of these will never be approved.
DEAD = {S.REJECTED, S.CANCELLED}
TERMINAL = {S.APPROVED, S.REJECTED, S.CANCELLED}


@dataclass(frozen=True)
class Decision:
    make_ready: frozenset[str]
    cancel: frozenset[str]
    application_status: str


def decide(dag: Dag, statuses: Mapping[str, str]) -> Decision:
    """What follows from ``statuses`` (item code → SubTaskStatus) on ``dag``."""
    after = dict(statuses)
    ready: set[str] = set()
    cancel: set[str] = set()
    for code in topological_order(dag):
        if after[code] != S.WAITING:
            continue
        preds = [after[p] for p in dag[code]]
        if any(p in DEAD for p in preds):
            cancel.add(code)
            after[code] = S.CANCELLED
        elif all(p == S.APPROVED for p in preds):
            ready.add(code)
            after[code] = S.READY
    return Decision(frozenset(ready), frozenset(cancel), application_status(after.values()))


def application_status(statuses) -> str:
    statuses = list(statuses)
    if any(s not in TERMINAL for s in statuses):
        if any(s == S.SUPPLEMENT_REQUESTED for s in statuses):
            return A.SUPPLEMENT_REQUESTED
        return A.IN_PROGRESS
    approved = sum(s == S.APPROVED for s in statuses)
    if approved == len(statuses):
        return A.COMPLETED
    return A.PARTIALLY_COMPLETED if approved else A.REJECTED
