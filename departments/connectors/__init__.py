"""How a department's part of an application is handled, one connector per kind.

A connector turns a case order into a request to the department (or into nothing, for work
done by window staff) and reads a case's status back. Connectors see plain data only — the
engine in ``applications.services`` does the saving — so a new kind is one module with one
``@register`` class.
"""

from . import http, manual  # noqa: E402,F401  (register the built-in kinds)
from .base import (
    CaseOrder,
    CaseReport,
    Connector,
    PermanentError,
    TransientError,
    choices,
    get,
    register,
)

__all__ = [
    "CaseOrder",
    "CaseReport",
    "Connector",
    "PermanentError",
    "TransientError",
    "choices",
    "get",
    "register",
]
