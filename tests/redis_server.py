"""A Redis server of the test run's own, so that flushing it or restarting it (as the fault
tests do) disturbs no other work on the machine."""

import atexit
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

PR_SET_PDEATHSIG = 1


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _die_with_parent():
    # The server goes when the test run goes, however the run ends.
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class RedisServer:
    """``redis-server`` on a free port of loopback, keeping nothing on disk."""

    def __init__(self):
        self.port = 0
        self.process = None
        self.folder = tempfile.mkdtemp(prefix="portal-test-redis-")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def start(self, port: int | None = None) -> "RedisServer":
        """Start (again, on the same port when it ran before)."""
        for _attempt in range(5):
            self.port = port or self.port or free_port()
            self.process = subprocess.Popen(
                [
                    shutil.which("redis-server") or "redis-server",
                    "--bind",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    self.folder,
                ],  # fmt: skip
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                preexec_fn=_die_with_parent,
            )
            if self._wait_ready():
                return self
            self.stop()
            if port is not None:
                break
            self.port = 0
        raise RuntimeError("could not start a private redis-server")

    def _wait_ready(self, timeout: float = 10) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return True
            except OSError:
                pass
            time.sleep(0.05)
        return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def kill(self) -> None:
        """Gone at once, as a crashed broker is: whatever it held is lost."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()


_server: RedisServer | None = None


def broker_url() -> str:
    """The run's Redis, started on first use; child processes inherit its address."""
    global _server
    if os.environ.get("PORTAL_TEST_REDIS_URL"):
        return os.environ["PORTAL_TEST_REDIS_URL"]
    _server = RedisServer().start()
    atexit.register(_server.stop)
    os.environ["PORTAL_TEST_REDIS_URL"] = _server.url
    return _server.url


def server() -> RedisServer | None:
    """The server this process started (None in a child process that inherited it)."""
    return _server
