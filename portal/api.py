"""How domain errors become HTTP answers, for every API view."""

from django.core.exceptions import (
    ObjectDoesNotExist,
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.utils.translation import gettext as _
from django_fsm import ConcurrentTransition
from rest_framework import status
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from applications.services import ActionNotAllowed, ApplicationInvalid


def exception_handler(exc, context):
    if isinstance(exc, ApplicationInvalid):
        first = next(iter(exc.errors.values()), [""])[0]
        return Response(
            {"detail": first or _("提交的内容有误。"), "errors": exc.errors},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, ActionNotAllowed):
        return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, ConcurrentTransition):
        return Response(
            {"detail": _("该事项刚被他人处理，请刷新后查看最新状态。")},
            status=status.HTTP_409_CONFLICT,
        )
    if isinstance(exc, ObjectDoesNotExist):
        return Response({"detail": _("未找到。")}, status=status.HTTP_404_NOT_FOUND)
    if isinstance(exc, RequestDataTooBig | TooManyFieldsSent | TooManyFilesSent):
        # Django's own bounds on a body, met while DRF reads it: said in JSON, not a page.
        too_big = isinstance(exc, RequestDataTooBig)
        message = _("请求内容过大。") if too_big else _("表单字段或文件过多。")
        return Response(
            {"detail": message, "errors": {"body": [message]}},
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE if too_big else 400,
        )
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(response.data, dict) and "detail" not in response.data:
        # Field errors from serializers: keep them by field, and say the first one plainly.
        errors = {k: v if isinstance(v, list) else [v] for k, v in response.data.items()}
        first = next(iter(errors.values()), [""])[0]
        response.data = {"detail": str(first), "errors": errors}
    return response


class Pagination(LimitOffsetPagination):
    """Every API list: 50 a page by default, never more than 100 whatever ``limit`` asks, and
    an ``offset`` PostgreSQL can take (a larger one was a 500)."""

    max_limit = 100
    max_offset = 10**15

    def get_offset(self, request):
        return min(super().get_offset(request), self.max_offset)
