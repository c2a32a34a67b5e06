"""A worker outlives its Redis going away: what Celery does to a connection whose broker is
gone — collect it, then close it — ends without error, even while a channel holds an
unacknowledged message and waits on a BRPOP, as a worker does while it runs one task and
waits for the next. kombu's own Redis transport raises AttributeError there, and Celery ends
the worker for it (portal/broker.py); test_faults.py shows the same end to end.
"""

import contextlib

import pytest
from kombu import Connection, Consumer, Exchange, Producer, Queue

from ..redis_server import RedisServer

MENDED = "portal.broker:Transport"


def close_after_the_broker_went(transport: str) -> None:
    """A worker's connection as Redis dies: a task's message received and not yet
    acknowledged, a BRPOP waiting for the next, a broadcast channel (the remote control's)
    beside it; then the broker killed, and the connection collected and closed as Celery's
    consumer does on a connection loss."""
    server = RedisServer().start()
    try:
        connection = Connection(f"{server.url}/0", transport=transport)
        tasks = connection.default_channel
        queue = Queue("celery", channel=tasks)
        queue.declare()
        Producer(tasks).publish({"task": "one"}, routing_key="celery")
        running = []
        Consumer(
            tasks, [queue], callbacks=[lambda body, message: running.append(message)]
        ).consume()
        connection.drain_events(timeout=5)
        assert len(running) == 1
        control = connection.channel()
        fanout = Queue("control", Exchange("control", type="fanout"), auto_delete=True)
        Consumer(control, [fanout]).consume()
        tasks._brpop_start()

        server.kill()
        # Celery's consumer ignores whatever collecting raises.
        with contextlib.suppress(Exception):
            connection.collect(socket_timeout=1)
        connection.close()
    finally:
        server.stop()


def test_the_portal_transport_closes_cleanly_after_the_broker_went():
    close_after_the_broker_went(MENDED)


def test_kombus_own_transport_still_needs_the_mend():
    """When this fails, kombu has mended the fault itself: portal/broker.py can go."""
    with pytest.raises(AttributeError):
        close_after_the_broker_went("redis")


def test_celery_uses_the_mended_transport_for_redis():
    from portal.broker import Transport
    from portal.celery import app

    with app.connection_for_write() as connection:
        assert isinstance(connection.transport, Transport)
