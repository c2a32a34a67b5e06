"""System checks of the departments' set-up (``manage.py check --deploy``)."""

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.db import DatabaseError

from .models import Department
from .signing import DOCUMENTED_SIMULATOR_SECRET, department_secret


@register(Tags.security, deploy=True)
def department_secrets(app_configs, **kwargs):
    """A department system that signs with no secret, or one anyone can read, is open to all.

    The documented simulator secret is readable in README, and so is every secret drawn from
    it; both are refused for departments whose cases the portal sends while DEBUG is off.
    """
    if settings.DEBUG:
        return []
    try:
        departments = list(Department.objects.order_by("code"))
    except DatabaseError as exc:  # before the first migrate, say
        return [
            Warning(
                f"Could not read the departments to check their secrets: {exc}",
                id="departments.W001",
            )
        ]
    errors = []
    for department in departments:
        try:
            sends = department.connector.sends
        except LookupError:
            continue  # an unknown handling kind is the model's own validation's business
        if not sends:
            continue
        readable = {
            DOCUMENTED_SIMULATOR_SECRET,
            department_secret(DOCUMENTED_SIMULATOR_SECRET, department.code),
        }
        if not department.shared_secret:
            problem = "has no shared secret"
        elif department.shared_secret in readable or department.previous_secret in readable:
            problem = "uses the documented simulator secret (or one drawn from it)"
        else:
            continue
        errors.append(
            Error(
                f"Department {department.code!r} ({department.handling}) {problem}.",
                hint="Set a long random shared secret of its own in the admin, and give the "
                "department system the same one.",
                obj=department,
                id="departments.E001",
            )
        )
    return errors
