"""``Idempotency-Key`` on POST: a retry gets the first answer instead of doing the work twice."""

import functools
import hashlib
import json

from django.db import IntegrityError, transaction
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
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    user=request.user, key=key, request_hash=fingerprint
                )
        except IntegrityError:
            record = IdempotencyRecord.objects.get(user=request.user, key=key)
            if record.request_hash != fingerprint:
                return Response(
                    {"detail": _("该 Idempotency-Key 已用于另一个不同的请求。")},
                    status=status.HTTP_422_UNPROCESSABLE_ENTITY,
                )
            if record.status_code is None:
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


def request_fingerprint(data) -> str:
    """A stable hash of a request, to tell a retry from a different request."""
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def _plain(data):
    if hasattr(data, "lists"):
        return {key: [str(v) for v in values] for key, values in data.lists()}
    return data
