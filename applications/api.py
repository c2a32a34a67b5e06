"""The applications API: thin views over ``applications.services``."""

from django.db.models import Prefetch
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import fields as drf_fields
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from portal.throttling import throttle
from privacy.models import Disclosure

from . import department_view, services
from .idempotency import idempotent
from .models import Application, Event, SubTask, SubTaskStatus
from .serializers import (
    ApplicationCreateSerializer,
    ApplicationListSerializer,
    ApplicationSerializer,
    ApplicationUpdateSerializer,
    MaterialUploadSerializer,
    ReasonSerializer,
    RevealSerializer,
    StaffActionSerializer,
    StaffSubTaskSerializer,
    UploadSerializer,
)

EVENTS = Prefetch("events", queryset=Event.objects.select_related("subtask__item"))


class ApplicationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The caller's own applications; anyone else's answer 404."""

    # Only the model, for the API schema: get_queryset decides what a caller sees.
    queryset = Application.objects.none()
    lookup_value_converter = "id"

    #: Actions worth flooding, and the rate limit (settings.RATE_LIMITS) each counts against.
    RATE_LIMITED = {"create": "applications", "materials": "uploads"}

    def get_throttles(self):
        scope = self.RATE_LIMITED.get(self.action)
        return [throttle(scope)()] if scope else []

    def get_queryset(self):
        queryset = Application.objects.filter(applicant=self.request.user).select_related(
            "bundle", "acting_for"
        )
        if self.action == "list":
            return queryset
        return queryset.prefetch_related(
            Prefetch("subtasks", queryset=SubTask.objects.select_related("item", "department")),
            EVENTS,
            Prefetch("uploads", queryset=services.Upload.objects.select_related("material")),
        )

    def get_serializer_class(self):
        return ApplicationListSerializer if self.action == "list" else ApplicationSerializer

    def _detail(self, application_id, code=status.HTTP_200_OK):
        application = self.get_queryset().get(pk=application_id)
        return Response(ApplicationSerializer(application).data, status=code)

    @extend_schema(request=ApplicationCreateSerializer, responses={201: ApplicationSerializer})
    @idempotent
    def create(self, request):
        data = ApplicationCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        application = services.create_application(request.user, **data.validated_data)
        return self._detail(application.pk, status.HTTP_201_CREATED)

    @extend_schema(request=ApplicationUpdateSerializer, responses=ApplicationSerializer)
    def partial_update(self, request, pk=None):
        """Save more of a draft (form values, chosen optional items, delivery)."""
        data = ApplicationUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.update_draft(self.get_object(), **data.validated_data)
        return self._detail(pk)

    @extend_schema(
        request={"multipart/form-data": MaterialUploadSerializer}, responses={201: UploadSerializer}
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def materials(self, request, pk=None):
        application = self.get_object()
        data = MaterialUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = services.attach_material(
            application, data.validated_data["code"], data.validated_data["file"], request.user
        )
        return Response(UploadSerializer(upload).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=ApplicationSerializer)
    @action(detail=True, methods=["post"])
    @idempotent
    def submit(self, request, pk=None):
        services.submit(self.get_object().pk, request.user)
        return self._detail(pk)

    @extend_schema(request=ReasonSerializer, responses=ApplicationSerializer)
    @action(detail=True, methods=["post"])
    @idempotent
    def withdraw(self, request, pk=None):
        data = ReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.withdraw(self.get_object().pk, request.user, data.validated_data["reason"])
        return self._detail(pk)

    @extend_schema(request=ReasonSerializer, responses=ApplicationSerializer)
    @action(detail=True, methods=["post"])
    @idempotent
    def supplement(self, request, pk=None):
        """Say that the missing materials are now uploaded; waiting parts resume."""
        data = ReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.supply_supplement(
            self.get_object().pk, request.user, data.validated_data["reason"]
        )
        return self._detail(pk)


class IsDepartmentStaff(permissions.BasePermission):
    message = "只有部门工作人员可以访问。"

    def has_permission(self, request, view):
        user = request.user
        return bool(
            user and user.is_authenticated and (user.is_superuser or user.departments.exists())
        )


class SubTaskViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Sub-tasks of the caller's departments; another department's answer 404."""

    # Only the model, for the API schema: get_queryset decides what a caller sees.
    queryset = SubTask.objects.none()
    permission_classes = [IsDepartmentStaff]
    serializer_class = StaffSubTaskSerializer
    lookup_value_converter = "id"

    def get_queryset(self):
        queryset = (
            services.subtasks_for_staff(self.request.user)
            .select_related("item", "department", "application__bundle", "application__applicant")
            .prefetch_related("item__fields", EVENTS)
            .order_by("deadline", "id")
        )
        wanted = self.request.query_params.get("status")
        if wanted:
            statuses = set(wanted.split(","))
            unknown = statuses - set(SubTaskStatus.values)
            if unknown:
                raise ValidationError(
                    {
                        "status": [
                            _("没有这种状态：%(s)s。可选：%(all)s。")
                            % {
                                "s": "、".join(sorted(unknown)[:5])[:100],
                                "all": ",".join(SubTaskStatus.values),
                            }
                        ]
                    }
                )
            queryset = queryset.filter(status__in=statuses)
        return queryset

    @extend_schema(parameters=[OpenApiParameter("status", str, description="逗号分隔的状态")])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def _act(self, request, pk, action_name):
        data = StaffActionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.staff_action(int(pk), request.user, action_name, **data.validated_data)
        return Response(self.get_serializer(self.get_queryset().get(pk=pk)).data)

    @extend_schema(request=StaffActionSerializer, responses=StaffSubTaskSerializer)
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        """受理"""
        return self._act(request, pk, "accept")

    @extend_schema(request=StaffActionSerializer, responses=StaffSubTaskSerializer)
    @action(detail=True, methods=["post"], url_path="request-supplement")
    def request_supplement(self, request, pk=None):
        """补正：reason says what is missing."""
        return self._act(request, pk, "request-supplement")

    @extend_schema(request=StaffActionSerializer, responses=StaffSubTaskSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        """办结, with the outputs (e.g. a certificate number)."""
        return self._act(request, pk, "approve")

    @extend_schema(request=StaffActionSerializer, responses=StaffSubTaskSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        """不予办理, with the reason."""
        return self._act(request, pk, "reject")

    @extend_schema(
        request=RevealSerializer,
        responses={
            200: inline_serializer(
                "Revealed", {"field": drf_fields.CharField(), "value": drf_fields.CharField()}
            )
        },
    )
    @action(detail=True, methods=["post"])
    def reveal(self, request, pk=None):
        """Show one masked identifier in full; every such view is recorded."""
        data = RevealSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        path = data.validated_data["field"]
        try:
            value = department_view.reveal(
                self.get_object(), request.user, path, Disclosure.Channel.API
            )
        except department_view.NotAnIdentifier:
            raise services.ApplicationInvalid(
                {"field": [_("本事项没有可显示的此字段。")]}
            ) from None
        return Response({"field": path, "value": value})

    @extend_schema(request=None, responses=StaffSubTaskSerializer)
    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        """Send a failed sub-task to its department system again."""
        services.retry_failed(int(pk), request.user)
        return Response(self.get_serializer(self.get_queryset().get(pk=pk)).data)

    @extend_schema(request=None, responses=StaffSubTaskSerializer)
    @action(detail=True, methods=["post"], url_path="switch-to-manual")
    def switch_to_manual(self, request, pk=None):
        """Take a failed sub-task over at the window."""
        services.retry_failed(int(pk), request.user, to_manual=True)
        return Response(self.get_serializer(self.get_queryset().get(pk=pk)).data)
