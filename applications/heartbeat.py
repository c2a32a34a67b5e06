"""Each Celery worker writes a heartbeat row, so /healthz knows a worker is alive whatever the
broker (kombu's filesystem transport cannot answer a broadcast ping)."""

import socket
import threading

from celery.signals import worker_ready, worker_shutdown

_stop = threading.Event()


def beat_once(hostname: str) -> None:
    from django.utils import timezone

    from .models import WorkerHeartbeat

    WorkerHeartbeat.objects.update_or_create(
        hostname=hostname, defaults={"seen_at": timezone.now()}
    )


def _loop(hostname: str, interval: float) -> None:
    import logging

    from django.db import close_old_connections

    while not _stop.is_set():
        try:
            # This thread keeps its own connection; drop it when it has gone bad.
            close_old_connections()
            beat_once(hostname)
        except Exception:  # a database blip must not end the heartbeat for good
            logging.getLogger(__name__).exception("worker heartbeat failed")
        _stop.wait(interval)


@worker_ready.connect
def start_heartbeat(sender=None, **kwargs):
    from django.conf import settings

    hostname = getattr(sender, "hostname", None) or socket.gethostname()
    interval = max(1.0, settings.WORKER_HEARTBEAT_SECONDS / 3)
    threading.Thread(target=_loop, args=(hostname, interval), daemon=True, name="heartbeat").start()


@worker_shutdown.connect
def stop_heartbeat(**kwargs):
    _stop.set()
