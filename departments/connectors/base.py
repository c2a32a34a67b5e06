from dataclasses import dataclass, field
from typing import Any, ClassVar

_registry: dict[str, "Connector"] = {}


class TransientError(Exception):
    """The department could not be reached or answered 5xx: worth trying again later."""


class PermanentError(Exception):
    """The department refused the request itself (4xx): trying again will not help."""


@dataclass(frozen=True)
class CaseOrder:
    """Everything a department needs to open its case for one sub-task."""

    department_code: str
    base_url: str
    #: The department's secrets in force (two during a rotation); kept out of repr() so that
    #: no log line or error report of an order shows them.
    secrets: tuple[str, ...] = field(repr=False)
    idempotency_key: str
    item_code: str
    item_name: str
    application_number: str
    applicant: dict[str, Any]
    form: dict[str, Any]
    inputs: dict[str, Any]
    callback_url: str | None = None
    #: What approving the item must report (key, label, type of each result).
    results: list[dict[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class CaseReport:
    """What a department says of a case: its reference, status, outputs and reason."""

    case_ref: str
    status: str  # received | accepted | approved | rejected
    outputs: dict[str, Any] = field(default_factory=dict)
    reason: str = ""


class Connector:
    """One way of handling a department's part. Subclasses join with ``@register``."""

    kind: ClassVar[str]
    label: ClassVar[str]
    #: Whether the portal sends the case to a system (True) or staff pick it up (False).
    sends: ClassVar[bool] = False
    #: Whether open cases are polled for their status.
    polls: ClassVar[bool] = False
    #: Settings a department of this kind must have, by model field name.
    required_settings: ClassVar[tuple[str, ...]] = ()

    def send(self, order: CaseOrder) -> CaseReport | None:
        """Open the case; return the department's first report, or None when staff take it."""
        return None

    def fetch(self, order: CaseOrder, case_ref: str) -> CaseReport:
        raise NotImplementedError(f"{self.kind} departments are not polled")


def register(kind: str, label: str):
    def decorator(cls: type[Connector]) -> type[Connector]:
        cls.kind = kind
        cls.label = label
        _registry[kind] = cls()
        return cls

    return decorator


def get(kind: str) -> Connector:
    try:
        return _registry[kind]
    except KeyError:
        raise LookupError(f"no connector is registered for handling kind {kind!r}") from None


def choices() -> list[tuple[str, str]]:
    return [(kind, connector.label) for kind, connector in _registry.items()]
