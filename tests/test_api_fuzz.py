"""Schemathesis over every operation of the OpenAPI schema (/api/schema/), as a citizen and as
a clerk of the police: valid data, data that breaks the schema on purpose (wrong JSON types,
odd strings, missing and extra fields), the coverage phase's boundary values and unexpected
methods. No answer may be a 5xx, and none may take a second.

The WSGI application runs in-process on the test database. Each generated request is sent
twice: with the path parameters as generated (mostly ids that name nothing), and with a real
id or code of the role's own objects, so that detail, PATCH, materials, submit and the
clerk's actions meet a real draft, a real application in progress and a real sub-task. Each
request is rolled back afterwards, so every one meets the same state.
"""

import json
import zlib
from collections import Counter

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from knox.models import AuthToken
from schemathesis.checks import not_a_server_error

from .fuzzing import in_process_requests, rolled_back, timed, within_a_second
from .helpers import ARTIFACTS

#: Cases of the fuzzing phase per operation and role; the examples and coverage phases add
#: their own (the coverage phase's negative cases are most of the run).
MAX_EXAMPLES = 15
CONFIG = {
    "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "deterministic": True},
    "phases": {
        "examples": {"enabled": True},
        "coverage": {"enabled": True},
        "fuzzing": {"enabled": True},
        "stateful": {"enabled": False},
    },
}
#: Every operation the API has; the run fails if the schema loses or gains one unnoticed.
OPERATIONS = 25


pytestmark = pytest.mark.django_db

#: Requests sent per role and operation, over the whole module (see the last test).
CALLS: dict[str, Counter] = {"citizen": Counter(), "clerk": Counter()}

schema = schemathesis.openapi.from_wsgi(
    "/api/schema/?format=json",
    get_wsgi_application(),
    config=schemathesis.Config.from_dict(CONFIG),
)


@pytest.fixture(params=["citizen", "clerk"])
def role(request):
    return request.param


@pytest.fixture
def caller(role, module_db):
    """The user of ``role``, their token, and the ids and codes their objects have."""
    targets = module_db
    user = targets.citizen if role == "citizen" else targets.clerk
    own = {
        "citizen": [targets.draft, targets.restaurant, targets.submitted, targets.finished],
        "clerk": [targets.submitted],
    }[role]
    with in_process_requests():
        yield {
            "role": role,
            "token": AuthToken.objects.create(user=user)[1],
            "ids": {
                "applications": [application.pk for application in own],
                "subtasks": [targets.household.pk],
            },
            "codes": {
                "bundles": ["newborn", "open_restaurant"],
                "departments": ["police", "health"],
            },
        }


def real_path(case, caller) -> dict | None:
    """The case's path parameters with a real id or code of the caller's instead (one of
    them, chosen by the case's content so that each is used), or None for a path without."""
    parameters = dict(case.path_parameters or {})
    collection = case.path.split("/")[3]  # /api/v1/<collection>/{…}/
    for name, pool in (("id", caller["ids"]), ("code", caller["codes"])):
        if name in parameters and collection in pool:
            choices = pool[collection]
            seed = zlib.crc32(repr((case.body, case.query, case.method)).encode())
            parameters[name] = choices[seed % len(choices)]
            return parameters
    return None


def send(case, caller):
    headers = {"Authorization": f"Token {caller['token']}"}

    def attempt():
        with rolled_back():
            return timed(lambda: case.call(headers=headers))

    response = within_a_second(attempt, f"{case.method} {case.formatted_path}")
    # By the operation generated for: the coverage phase also sends other methods to its path.
    CALLS[caller["role"]][case.operation.label] += 1
    case.validate_response(response, checks=[not_a_server_error])
    return response


@schema.parametrize()
@settings(
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
)
def test_no_operation_fails_or_stalls(case, caller):
    send(case, caller)
    real = real_path(case, caller)
    if real is not None:
        case.path_parameters = real
        send(case, caller)


def test_every_operation_was_tried_as_each_role():
    """After the run above: each of the schema's operations had requests as either role
    (kept in test-artifacts/ as schemathesis-<role>.json)."""
    if not any(CALLS.values()):
        pytest.skip("the schemathesis run was not selected")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for role, counted in CALLS.items():
        (ARTIFACTS / f"schemathesis-{role}.json").write_text(
            json.dumps(dict(sorted(counted.items())), ensure_ascii=False, indent=1)
        )
        assert len(counted) == OPERATIONS, (role, sorted(counted))
        assert min(counted.values()) >= 10, (role, counted)
