import logging

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .models import Delivery
from .senders import SendError, sender_for

log = logging.getLogger(__name__)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None)
def send_delivery(self, delivery_id: int) -> None:
    """Send one e-mail or SMS; a repeat of a sent one does nothing."""
    delivery = Delivery.objects.select_related("message").filter(pk=delivery_id).first()
    if delivery is None or delivery.status != Delivery.Status.PENDING:
        return
    try:
        sender_for(delivery.channel).send(
            delivery.address, delivery.message.subject, delivery.message.body
        )
    except SendError as exc:
        with transaction.atomic():
            delivery = Delivery.objects.select_for_update().get(pk=delivery_id)
            delivery.attempts += 1
            delivery.last_error = str(exc)[:2000]
            if delivery.attempts >= settings.NOTIFICATION_MAX_ATTEMPTS:
                delivery.status = Delivery.Status.FAILED
            delivery.save()
        if delivery.status == Delivery.Status.PENDING:
            raise self.retry(countdown=min(600, 5 * 2**delivery.attempts)) from exc
        log.warning("giving up on %s after %s attempts", delivery, delivery.attempts)
        return
    Delivery.objects.filter(pk=delivery_id, status=Delivery.Status.PENDING).update(
        status=Delivery.Status.SENT, attempts=delivery.attempts + 1, sent_at=timezone.now()
    )
