from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from bundles.services import chosen_bundle_items, form_specs
from privacy import policy

from . import department_view
from .models import Application, ApplicationStatus, Event, SubTask, Upload

CODE_LENGTH = 64


class LengthFirst:
    """Count a list's or an object's entries before checking each one (DRF counts after),
    so that a body of a hundred thousand entries is refused at once."""

    def __init__(self, *args, max_entries: int, **kwargs):
        self.max_entries = max_entries
        super().__init__(*args, **kwargs)

    def run_child_validation(self, data):
        if len(data) > self.max_entries:
            raise serializers.ValidationError(
                _("最多%(n)d项，收到%(m)d项。") % {"n": self.max_entries, "m": len(data)}
            )
        return super().run_child_validation(data)


class BoundedListField(LengthFirst, serializers.ListField):
    pass


class BoundedDictField(LengthFirst, serializers.DictField):
    pass


def codes(help_text=None, **kwargs):
    """A list of catalogue codes (optional items, materials)."""
    return BoundedListField(
        child=serializers.CharField(max_length=CODE_LENGTH),
        max_entries=50,
        help_text=help_text,
        **kwargs,
    )


class ItemRefSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class SubTaskSerializer(serializers.ModelSerializer):
    item = ItemRefSerializer(read_only=True)
    department = ItemRefSerializer(read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)

    class Meta:
        model = SubTask
        fields = [
            "id",
            "item",
            "department",
            "status",
            "status_display",
            "depends_on",
            "outputs",
            "reason",
            "supplement_materials",
            "deadline",
            "updated_at",
        ]


class EventSerializer(serializers.ModelSerializer):
    item = serializers.SerializerMethodField()
    actor_display = serializers.CharField(source="get_actor_display", read_only=True)
    time = serializers.DateTimeField(source="at")
    to = serializers.CharField(source="to_status")
    from_ = serializers.CharField(source="from_status")

    class Meta:
        model = Event
        fields = ["time", "subtask", "item", "from_", "to", "actor", "actor_display", "reason"]

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")
        return fields

    def get_item(self, event) -> str | None:
        return event.subtask.item.code if event.subtask_id else None


class UploadSerializer(serializers.ModelSerializer):
    code = serializers.CharField(source="material.code")
    name = serializers.CharField(source="material.name")

    class Meta:
        model = Upload
        fields = ["id", "code", "name", "original_name", "content_type", "size", "uploaded_at"]


class BundleRefSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    version = serializers.IntegerField()


class ApplicationSerializer(serializers.ModelSerializer):
    bundle = BundleRefSerializer(read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    subtasks = SubTaskSerializer(many=True, read_only=True)
    events = EventSerializer(many=True, read_only=True)
    uploads = UploadSerializer(many=True, read_only=True)
    enterprise = serializers.SerializerMethodField()
    form = serializers.SerializerMethodField()

    class Meta:
        model = Application
        fields = [
            "id",
            "number",
            "bundle",
            "enterprise",
            "status",
            "status_display",
            "form",
            "chosen_items",
            "delivery",
            "deadline",
            "deadline_note",
            "outcome_reason",
            "tracking_number",
            "created_at",
            "submitted_at",
            "finished_at",
            "subtasks",
            "events",
            "uploads",
        ]

    def get_form(self, application) -> dict:
        # The applicant edits a draft with every value in full; once it is submitted the
        # answers are shown with identifiers masked, like everywhere else.
        if application.status == ApplicationStatus.DRAFT:
            return application.form
        specs = form_specs(chosen_bundle_items(application.bundle, application.chosen_items))
        return policy.masked_form(specs, application.form)

    def get_enterprise(self, application) -> dict | None:
        enterprise = application.acting_for
        return (
            {"credit_code": enterprise.credit_code, "name": enterprise.name} if enterprise else None
        )


class ApplicationListSerializer(serializers.ModelSerializer):
    bundle = BundleRefSerializer(read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)

    class Meta:
        model = Application
        fields = [
            "id",
            "number",
            "bundle",
            "status",
            "status_display",
            "deadline",
            "created_at",
            "submitted_at",
            "finished_at",
        ]


#: Entries of an application's form: more than any bundle asks.
FORM_ENTRIES = 500


class ApplicationCreateSerializer(serializers.Serializer):
    bundle = serializers.CharField(max_length=CODE_LENGTH, help_text=_("一件事代码，如 newborn"))
    form = BoundedDictField(required=False, default=dict, max_entries=FORM_ENTRIES)
    items = codes(required=False, default=list, help_text=_("选办事项的代码"))
    delivery = BoundedDictField(required=False, default=dict, max_entries=10)
    enterprise = serializers.CharField(
        required=False,
        default=None,
        max_length=32,
        help_text=_("企业事项：以哪个企业（统一社会信用代码）的名义办理"),
    )
    submit = serializers.BooleanField(required=False, default=False)


class ApplicationUpdateSerializer(serializers.Serializer):
    form = BoundedDictField(required=False, max_entries=FORM_ENTRIES)
    items = codes(required=False)
    delivery = BoundedDictField(required=False, max_entries=10)


class MaterialUploadSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=CODE_LENGTH)
    file = serializers.FileField()


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class StaffActionSerializer(ReasonSerializer):
    outputs = BoundedDictField(required=False, default=dict, max_entries=20)
    materials = codes(
        required=False, default=list, help_text=_("补正时：需要申请人重新上传的材料代码")
    )


class StaffSubTaskSerializer(SubTaskSerializer):
    application = serializers.SerializerMethodField()
    form = serializers.SerializerMethodField()
    events = EventSerializer(many=True, read_only=True)

    class Meta(SubTaskSerializer.Meta):
        fields = [
            *SubTaskSerializer.Meta.fields,
            "application",
            "handling",
            "case_ref",
            "inputs",
            "attempts",
            "last_error",
            "form",
            "events",
        ]

    def get_application(self, subtask) -> dict:
        application = subtask.application
        return {
            "id": application.pk,
            "number": application.number,
            "bundle": application.bundle.code,
            "applicant": department_view.applicant_summary(subtask),
            "submitted_at": application.submitted_at,
        }

    def get_form(self, subtask) -> dict:
        # Only what the item needs, identifiers masked: POST …/reveal/ shows one, recorded.
        return department_view.staff_form(subtask)


class RevealSerializer(serializers.Serializer):
    field = serializers.CharField(
        max_length=200,
        help_text=_("要完整显示的字段，如 mother.id_number 或 enterprise.shareholders.0.id_number"),
    )
