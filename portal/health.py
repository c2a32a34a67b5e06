"""``/healthz``: is the database up, the broker reachable, a worker alive?

Anyone may ask, and learns only ``ok`` (200) or ``unavailable`` (503). What each check found —
database vendor, broker, worker hostnames, exception texts — describes the installation, so
it goes only to signed-in staff and to a monitor that presents ``HEALTHZ_TOKEN``.
"""

import datetime
import logging
import secrets

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache

logger = logging.getLogger(__name__)


def _database() -> tuple[bool, str]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True, connection.vendor
    except Exception as exc:
        return False, f"{exc.__class__.__name__}: {exc}"


def _broker() -> tuple[bool, str]:
    from portal.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True, app.conf.broker_url.split("://")[0]
    except Exception as exc:
        return False, f"{exc.__class__.__name__}: {exc}"


def _worker() -> tuple[bool, str]:
    from applications.models import WorkerHeartbeat

    try:
        since = timezone.now() - datetime.timedelta(seconds=settings.WORKER_HEARTBEAT_SECONDS)
        alive = list(
            WorkerHeartbeat.objects.filter(seen_at__gte=since).values_list("hostname", flat=True)
        )
    except Exception as exc:
        return False, f"{exc.__class__.__name__}: {exc}"
    return bool(alive), ", ".join(alive) if alive else "no worker heartbeat"


def may_see_details(request) -> bool:
    """Signed-in staff (superusers, department staff), or a caller with the health token."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    # Constant time: the comparison must not tell how much of a guess was right.
    if (
        settings.HEALTHZ_TOKEN
        and scheme.lower() == "bearer"
        and secrets.compare_digest(token.strip().encode(), settings.HEALTHZ_TOKEN.encode())
    ):
        return True
    user = request.user
    return user.is_authenticated and (user.is_superuser or user.is_department_staff)


@never_cache
def healthz(request):
    checks = {}
    for name, check in (("database", _database), ("broker", _broker), ("worker", _worker)):
        ok, detail = check()
        checks[name] = {"ok": ok, "detail": detail}
    healthy = all(c["ok"] for c in checks.values())
    if not healthy:
        # Anonymous monitors see only "unavailable": the reason is in the log.
        logger.warning(
            "healthz: %s",
            "; ".join(f"{name}: {c['detail']}" for name, c in checks.items() if not c["ok"]),
        )
    body = {"status": "ok" if healthy else "unavailable"}
    if may_see_details(request):
        body["checks"] = checks
    return JsonResponse(body, status=200 if healthy else 503)
