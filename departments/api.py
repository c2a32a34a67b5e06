"""Callbacks from department systems: signed, fresh, and taken at most once."""

import json
import logging

from django.db import IntegrityError, transaction
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, status
from rest_framework.response import Response
from rest_framework.views import APIView

from applications import services
from applications.models import SubTask

from .connectors import CaseReport
from .models import CallbackReceipt, Department
from .signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, SignatureError, verify

log = logging.getLogger(__name__)
REQUIRED = ("event_id", "case_id", "idempotency_key", "status")


class CallbackView(APIView):
    """A department system reports a case's new status (see docs/department-protocol.md)."""

    authentication_classes = []
    permission_classes = [permissions.AllowAny]

    @extend_schema(request=None, responses={200: None, 400: None, 401: None, 409: None})
    def post(self, request, code):
        department = get_object_or_404(Department, code=code)
        body = request.body
        if not department.shared_secret:
            return Response({"detail": "department has no shared secret"}, status=401)
        try:
            verify(
                department.shared_secret,
                request.headers.get(TIMESTAMP_HEADER),
                request.headers.get(SIGNATURE_HEADER),
                body,
            )
        except SignatureError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_401_UNAUTHORIZED)
        try:
            message = json.loads(body)
        except ValueError:
            return Response({"detail": "body is not JSON"}, status=400)
        missing = [key for key in REQUIRED if not message.get(key)]
        if missing:
            return Response(
                {
                    "detail": f"missing {', '.join(missing)}",
                    "errors": {k: ["required"] for k in missing},
                },
                status=400,
            )
        if message["status"] not in ("received", "accepted", "approved", "rejected"):
            return Response(
                {"detail": "unknown status", "errors": {"status": ["unknown"]}}, status=400
            )
        subtask = (
            SubTask.objects.filter(
                idempotency_key=_uuid_or_none(message["idempotency_key"]), department=department
            )
            .values_list("pk", flat=True)
            .first()
        )
        if subtask is None:
            return Response({"detail": "no such case"}, status=404)
        try:
            with transaction.atomic():
                CallbackReceipt.objects.create(
                    department=department, event_id=str(message["event_id"])[:64]
                )
                services.apply_department_report(
                    subtask,
                    CaseReport(
                        case_ref=str(message["case_id"]),
                        status=message["status"],
                        outputs=message.get("outputs") or {},
                        reason=message.get("reason") or "",
                    ),
                )
        except IntegrityError:
            return Response({"detail": "replayed event refused"}, status=status.HTTP_409_CONFLICT)
        return Response({"status": "ok"})


def _uuid_or_none(value):
    import uuid

    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None
