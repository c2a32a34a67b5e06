"""``/healthz``: is the database up, the broker reachable, a worker alive?"""

import datetime

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.utils import timezone


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


def healthz(request):
    checks = {}
    for name, check in (("database", _database), ("broker", _broker), ("worker", _worker)):
        ok, detail = check()
        checks[name] = {"ok": ok, "detail": detail}
    healthy = all(c["ok"] for c in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", "checks": checks},
        status=200 if healthy else 503,
    )
