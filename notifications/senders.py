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

    def add(self, channel: str, address: str, subject: str, body: str) -> None:
        import json

        from django.utils import timezone

        line = json.dumps(
            {"at": timezone.now().isoformat(), "channel": channel, "to": address,
             "subject": subject, "body": body},
            ensure_ascii=False,
        )  # fmt: skip
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
