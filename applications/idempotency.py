"""``Idempotency-Key`` on POST: a retry gets the first answer instead of doing the work twice."""

import datetime
import functools
import hashlib
import json

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.response import Response

from .models import IdempotencyRecord

HEADER = "Idempotency-Key"


def idempotent(view_method):
    @functools.wraps(view_method)
    def wrapper(self, request, *args, **kwargs):
        key = request.headers.get(HEADER, "").strip()
        if not key:
            return view_method(self, request, *args, **kwargs)
        if len(key) > 128:
            return Response(
                {"detail": _("Idempotency-Key 不能超过128个字符。")},
                status=status.HTTP_400_BAD_REQUEST,
            )
        fingerprint = request_fingerprint({"path": request.path, "data": _plain(request.data)})
        record, ours = _claim(request.user, key, fingerprint)
        if not ours:
            if record is not None and record.request_hash != fingerprint:
                return Response(
                    {"detail": _("该 Idempotency-Key 已用于另一个不同的请求。")},
                    status=status.HTTP_422_UNPROCESSABLE_ENTITY,
                )
            if record is None or record.status_code is None:
                return Response(
                    {"detail": _("相同的请求正在处理中，请稍后重试。")},
                    status=status.HTTP_409_CONFLICT,
                )
            response = Response(record.response, status=record.status_code)
            response["Idempotent-Replayed"] = "true"
            return response
        try:
            response = view_method(self, request, *args, **kwargs)
        except Exception:
            record.delete()
            raise
        if response.status_code >= 500:
            record.delete()
        else:
            record.status_code = response.status_code
            record.response = response.data
            record.save(update_fields=["status_code", "response"])
        return response

    return wrapper


def _claim(user, key: str, fingerprint: str):
    """The key's record, and whether this request is the one to do the work.

    The record is committed before the work starts, so a second request with the key finds it
    (the unique index makes it wait for the first insert). A record with no answer long after
    any request could still be running belongs to a process that died mid-request: the same
    request takes it over rather than being told "in progress" for ever.
    """
    record = None
    for _attempt in range(2):
        try:
            with transaction.atomic():
                return IdempotencyRecord.objects.create(
                    user=user, key=key, request_hash=fingerprint
                ), True
        except IntegrityError:
            record = IdempotencyRecord.objects.filter(user=user, key=key).first()
        if record is None:
            continue  # the first request failed and gave its key back meanwhile
        abandoned = timezone.now() - datetime.timedelta(
            seconds=settings.IDEMPOTENCY_ABANDONED_SECONDS
        )
        if not (
            record.status_code is None
            and record.request_hash == fingerprint
            and record.created_at < abandoned
        ):
            return record, False
        # Only one of several retries deletes it; the others find the new record.
        IdempotencyRecord.objects.filter(pk=record.pk, status_code=None).delete()
    return record, False


def request_fingerprint(data) -> str:
    """A stable hash of a request, to tell a retry from a different request."""
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def _plain(data):
    if hasattr(data, "lists"):
        return {key: [str(v) for v in values] for key, values in data.lists()}
    return data
