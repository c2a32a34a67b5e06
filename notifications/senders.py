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
    def send(self, address: str, subject: str, body: str) -> None:
        log.info("message to %s: %s — %s", address, subject, body)


class EmailSender:
    def send(self, address: str, subject: str, body: str) -> None:
        try:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [address])
        except OSError as exc:
            raise SendError(str(exc)) from exc


def sender_for(channel: str):
    path = {"email": settings.EMAIL_SENDER, "sms": settings.SMS_SENDER}[channel]
    return import_string(path)()
