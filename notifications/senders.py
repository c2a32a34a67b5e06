"""Pluggable senders for e-mail and SMS. Settings name one class per channel.

E-mail goes through Django's e-mail backend (the console backend in development); SMS has
no standard, so a province plugs in its gateway's class (``SMS_SENDER``). The log sender
writes the text to the log, for development and tests.
"""

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.utils.module_loading import import_string

log = logging.getLogger(__name__)


class SendError(Exception):
    """Sending failed; the task tries again later."""


class LogSender:
    """Development and tests: the message goes to the log and to the development outbox."""

    def send(self, address: str, subject: str, body: str) -> None:
        log.info("message to %s: %s — %s", address, subject, body)
        outbox.add("log", address, subject, body)


class HttpGatewaySender:
    """An SMS gateway reached over HTTPS: ``POST SMS_GATEWAY_URL`` with a JSON body
    ``{"to", "subject", "text"}`` and ``Authorization: Bearer SMS_GATEWAY_TOKEN``; any 2xx is
    sent. A province whose gateway speaks otherwise subclasses this and changes ``payload``."""

    timeout = 5

    def payload(self, address: str, subject: str, body: str) -> dict:
        return {"to": address, "subject": subject, "text": body}

    def send(self, address: str, subject: str, body: str) -> None:
        import requests

        try:
            response = requests.post(
                settings.SMS_GATEWAY_URL,
                json=self.payload(address, subject, body),
                headers={"Authorization": f"Bearer {settings.SMS_GATEWAY_TOKEN}"},
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            raise SendError(f"SMS gateway unreachable: {exc.__class__.__name__}") from exc
        if not 200 <= response.status_code < 300:
            raise SendError(f"SMS gateway answered HTTP {response.status_code}")


class EmailSender:
    def send(self, address: str, subject: str, body: str) -> None:
        try:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [address])
        except OSError as exc:
            raise SendError(str(exc)) from exc


def sender_for(channel: str):
    path = {"email": settings.EMAIL_SENDER, "sms": settings.SMS_SENDER}[channel]
    return import_string(path)()


class _Outbox:
    """What the development senders 'sent', one JSON line each, for the development page
    /dev/outbox/ and for tests that read a code the way a person reads their phone."""

    @property
    def path(self):
        return settings.VAR_DIR / "dev-outbox.jsonl"

    #: The outbox is kept short: past this size only its newer half is kept.
    max_bytes = 1_000_000

    def add(self, channel: str, address: str, subject: str, body: str) -> None:
        import json

        from django.utils import timezone

        line = json.dumps(
            {"at": timezone.now().isoformat(), "channel": channel, "to": address,
             "subject": subject, "body": body},
            ensure_ascii=False,
        )  # fmt: skip
        if self.path.exists() and self.path.stat().st_size > self.max_bytes:
            lines = self.path.read_text(encoding="utf-8").splitlines()
            self.path.write_text("\n".join(lines[len(lines) // 2 :]) + "\n", encoding="utf-8")
        with open(self.path, "a", encoding="utf-8") as out:
            out.write(line + "\n")

    def tail(self, count: int) -> list[str]:
        if not self.path.exists():
            return []
        return self.path.read_text(encoding="utf-8").splitlines()[-count:][::-1]


outbox = _Outbox()


def send_sms(address: str, subject: str, body: str) -> None:
    """Send a text message now, through the configured SMS sender (a one-time code cannot wait
    for a queue); raises SendError when it could not be sent."""
    sender_for("sms").send(address, subject, body)
