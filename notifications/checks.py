"""Deployment checks of the notification senders."""

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def sms_sender(app_configs, **kwargs):
    """The development SMS sender writes one-time codes into the log and reaches nobody: a
    production deployment must plug its gateway in."""
    if settings.DEBUG or not settings.SMS_SENDER.endswith(".LogSender"):
        return []
    return [
        Error(
            "SMS_SENDER is the development LogSender: registration codes would go to the log "
            "and no text message would reach anyone.",
            hint="Set SMS_SENDER to the province's gateway (e.g. "
            "notifications.senders.HttpGatewaySender with SMS_GATEWAY_URL and SMS_GATEWAY_TOKEN).",
            id="notifications.E001",
        )
    ]
