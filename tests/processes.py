"""Real processes the tests run beside themselves: the department simulator, a Celery worker."""

import os
import secrets
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from departments.signing import department_secret

ROOT = Path(__file__).resolve().parent.parent
#: The simulator's master secret in the tests, and DEPARTMENT_SIMULATOR_SECRET (tests/settings.py).
SIMULATOR_SECRET = "test-simulator-secret"  # noqa: S105


def wait_for(predicate, timeout: float, interval: float = 0.1, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")


class Simulator:
    """The department simulator as its own process, with its control API at hand."""

    def __init__(self, secret: str, *extra_args: str, control_token: bool = True):
        self.secret = secret
        self.extra_args = extra_args or ("--delay", "0.5")
        #: A fresh bearer token for the control API, or None: the control API is then off.
        self.control_token = secrets.token_urlsafe(24) if control_token else None
        self.url = ""
        self.process = None

    def start(self):
        # Port 0: the system picks a free port and the "listening on" line names it, so no
        # other process can take the port between choosing and binding it.
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "departments.simulator",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--secret",
                self.secret,
                # One argument: a token may begin with "-", which argparse would take for
                # an option of its own.
                *([f"--control-token={self.control_token}"] if self.control_token else []),
                *self.extra_args,
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
            env={
                **{k: v for k, v in os.environ.items() if k != "SIMULATOR_CONTROL_TOKEN"},
                "PYTHONUNBUFFERED": "1",
            },
        )
        ready, _, _ = select.select([self.process.stdout], [], [], 15)
        line = self.process.stdout.readline() if ready else ""
        if "listening on " not in line:
            self.process.kill()
            raise RuntimeError(f"simulator did not start: {line!r}")
        self.url = line.strip().rsplit(" ", 1)[-1]

    def stop(self) -> int | None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                return self.process.wait(timeout=10)
            finally:
                if self.process.poll() is None:
                    self.process.kill()
        return self.process.returncode if self.process else None

    @property
    def control_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.control_token}"}

    def _control_call(self, method: str, path: str, **kwargs) -> dict:
        response = requests.request(
            method, f"{self.url}{path}", headers=self.control_headers, timeout=5, **kwargs
        )
        response.raise_for_status()
        return response.json()

    def control(self, **settings):
        return self._control_call("POST", "/_control", json=settings)

    def reset(self):
        self._control_call("POST", "/_reset")

    def cases(self, department: str | None = None) -> list[dict]:
        params = {"department": department} if department else {}
        return self._control_call("GET", "/_cases", params=params)["cases"]

    def callbacks(self) -> list[dict]:
        return self._control_call("GET", "/_callbacks")["callbacks"]

    def department_url(self, code: str) -> str:
        return f"{self.url}/departments/{code}"

    def department_secret(self, code: str) -> str:
        """The secret this simulator expects of department ``code`` (unless told others)."""
        return department_secret(self.secret, code)


class _CeleryProcess:
    """A Celery program in its own process group, so that it can be killed whole."""

    program = ""

    def __init__(self, env: dict[str, str], log_path: Path):
        self.env = env
        self.log_path = log_path
        self.process = None

    def arguments(self) -> list[str]:
        raise NotImplementedError

    @property
    def application_name(self) -> str:
        """What its database connections call themselves (pg_stat_activity.application_name),
        so that a test can find them — and only them — among the run's connections."""
        return f"portal-test-celery-{self.program}"

    def start(self):
        log = open(self.log_path, "a")  # noqa: SIM115  (held open by the child)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "portal", *self.arguments()],
            cwd=ROOT,
            # libpq reads PGAPPNAME: every connection the program opens carries the name.
            env={**os.environ, **self.env, "PGAPPNAME": self.application_name},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self):
        """SIGKILL the whole process group, children included: no chance to clean up."""
        if self.running:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self):
        if self.running:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


class Beat(_CeleryProcess):
    """Celery beat, on its own as in production: the poll, the reconciler, the reminders."""

    program = "beat"

    def arguments(self) -> list[str]:
        schedule = self.log_path.with_suffix(".schedule")
        return ["beat", "--loglevel", "INFO", "--schedule", str(schedule)]

    def sent(self, task_name: str) -> int:
        """How many times beat has sent ``task_name`` so far."""
        return self.log_text().count(f"Sending due task {task_name} ")


class Worker(_CeleryProcess):
    """A Celery worker (prefork, two children); beat runs apart from it (see Beat)."""

    program = "worker"

    def arguments(self) -> list[str]:
        self.hostname = f"test-{time.monotonic_ns()}@{socket.gethostname()}"
        return [
            "worker", "--loglevel", "INFO", "--concurrency", "2", "--pool", "prefork",
            "--hostname", self.hostname,
        ]  # fmt: skip

    def consume(self, on: bool):
        """Start or stop taking tasks from the queue (Celery's remote control)."""
        from portal.celery import app

        command = app.control.add_consumer if on else app.control.cancel_consumer
        command("celery", destination=[self.hostname], reply=True, timeout=5)

    def wait_idle(self, timeout: float = 30):
        """Wait until the worker runs no task: the database is then left alone."""
        from portal.celery import app

        if not self.running:
            return  # ended (a test killed it, or it died): it runs nothing

        def idle():
            active = app.control.inspect([self.hostname], timeout=2).active()
            return active is not None and not any(active.values())

        wait_for(idle, timeout, 0.3, "the worker to finish its tasks")
