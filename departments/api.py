"""Callbacks from department systems: signed, fresh, well-formed, and taken at most once."""

import json
import logging

from django.db import IntegrityError, transaction
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from applications import services
from applications.models import SubTask

from .models import CallbackReceipt, Department
from .reports import CallbackSerializer
from .signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, SignatureError, verify

log = logging.getLogger(__name__)


class CallbackView(APIView):
    """A department system reports a case's new status (see docs/department-protocol.md)."""

    authentication_classes = []
    permission_classes = [permissions.AllowAny]

    # The department's secrets are locals here and in signing.verify below: an error report
    # must not show them.
    @sensitive_variables("secrets", "secret", "accepted", "expected")
    @extend_schema(request=None, responses={200: None, 400: None, 401: None, 409: None})
    def post(self, request, code):
        department = get_object_or_404(Department, code=code)
        secrets = department.signing_secrets
        if not secrets:
            return Response({"detail": "department has no shared secret"}, status=401)
        body = request.body
        try:
            verify(
                secrets,
                request.headers.get(TIMESTAMP_HEADER),
                request.headers.get(SIGNATURE_HEADER),
                body,
            )
        except SignatureError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_401_UNAUTHORIZED)
        try:
            message = json.loads(body)
        except (ValueError, RecursionError):
            # RecursionError: JSON nested deeper than the parser goes.
            return _invalid({api_settings.NON_FIELD_ERRORS_KEY: [_("请求体不是有效的 JSON。")]})
        serializer = CallbackSerializer(data=message)
        if not serializer.is_valid():
            return _invalid(serializer.errors)
        data = serializer.validated_data
        subtask = (
            SubTask.objects.filter(idempotency_key=data["idempotency_key"], department=department)
            .values_list("pk", flat=True)
            .first()
        )
        if subtask is None:
            return Response({"detail": "no such case"}, status=404)
        try:
            with transaction.atomic():
                CallbackReceipt.objects.create(department=department, event_id=data["event_id"])
                services.apply_department_report(subtask, serializer.report())
        except IntegrityError:
            return Response({"detail": "replayed event refused"}, status=status.HTTP_409_CONFLICT)
        return Response({"status": "ok"})


def _invalid(errors) -> Response:
    errors = {field: [str(text) for text in texts] for field, texts in errors.items()}
    first = next(iter(errors.values()), [""])[0]
    return Response({"detail": first, "errors": errors}, status=status.HTTP_400_BAD_REQUEST)
