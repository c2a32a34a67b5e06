"""kombu's Redis transport with one fault mended, so that a worker outlives a Redis restart.

kombu 5.7's Redis channel, when it is closed while a BRPOP waits for the next message, first
reads that BRPOP's answer. From a broker that has just gone the read raises a connection
error, and ``close()`` ends there: the channel is not marked closed, its unacknowledged
messages are not handed back. Celery then lets go of the transport and closes the connection
once more; this time the channel gets as far as handing the messages back, needs the
transport it no longer has, and raises ``AttributeError`` — which Celery counts as
unrecoverable, so the worker exits instead of reconnecting. That happens whenever Redis goes
away while a worker runs a task and waits for more (tests/faults/test_faults.py, the broker
killed and restarted).

Here a connection error from that last read means what it says — there is nothing left to
read — and ``close()`` goes on while the transport is still there.
"""

from queue import Empty

from kombu.transport import redis


class Channel(redis.Channel):
    def close(self):
        if self._in_poll:
            try:
                self._brpop_read()
            except (Empty, *self.connection_errors):
                pass
        super().close()


class Transport(redis.Transport):
    Channel = Channel
