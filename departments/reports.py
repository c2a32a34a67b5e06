"""What a department system says of a case, checked before anything of it is saved.

One definition for both ways the portal hears it: the answer to creating or reading a case
(``CaseReportSerializer``) and a callback (``CallbackSerializer``, which also names the event
and the sub-task). Whatever JSON arrives — the wrong type, strings PostgreSQL cannot store,
values too long for their column — ends as errors by field, never as a failure later on.
"""

import math

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from .connectors.base import CaseReport

STATUSES = ("received", "accepted", "approved", "rejected")
#: SubTask.case_ref and CallbackReceipt.event_id are this long.
MAX_CASE_ID_LENGTH = 64
MAX_EVENT_ID_LENGTH = 64
MAX_OUTPUTS = 50
MAX_OUTPUT_NAME_LENGTH = 100
MAX_TEXT_LENGTH = 2000


def storable(text: str) -> bool:
    """Whether PostgreSQL can keep ``text``: no NUL character, no lone surrogate."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class StrictCharField(serializers.CharField):
    """A CharField that takes strings only: DRF's own turns 12 into "12".

    DRF's CharField already refuses NUL characters and lone surrogates.
    """

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class OutputsField(serializers.Field):
    """A case's results: an object of names to strings, numbers or true/false."""

    default_error_messages = {
        "not_object": _("办理结果应为“名称: 值”的对象。"),
        "too_many": _("办理结果最多 {max_count} 项。"),
        "bad_name": _("办理结果的名称应为 1–{max_length} 个字符的文本。"),
        "bad_value": _("办理结果“{name}”的值应为文本、数字或 true/false。"),
        "bad_text": _("办理结果“{name}”的文本过长或含有无法保存的字符。"),
    }

    def to_internal_value(self, data):
        if data is None:
            return {}
        if not isinstance(data, dict):
            self.fail("not_object")
        if len(data) > MAX_OUTPUTS:
            self.fail("too_many", max_count=MAX_OUTPUTS)
        for name, value in data.items():
            if not (0 < len(name) <= MAX_OUTPUT_NAME_LENGTH and storable(name)):
                self.fail("bad_name", max_length=MAX_OUTPUT_NAME_LENGTH)
            if isinstance(value, str):
                if len(value) > MAX_TEXT_LENGTH or not storable(value):
                    self.fail("bad_text", name=name)
            elif isinstance(value, float):
                if not math.isfinite(value):  # json.loads takes NaN and Infinity
                    self.fail("bad_value", name=name)
            elif not isinstance(value, int):  # bool is an int
                self.fail("bad_value", name=name)
        return dict(data)

    def to_representation(self, value):
        return value


class CaseReportSerializer(serializers.Serializer):
    """A case as a department system shows it (docs/department-protocol.md)."""

    case_id = StrictCharField(max_length=MAX_CASE_ID_LENGTH)
    status = serializers.ChoiceField(choices=STATUSES)
    outputs = OutputsField(required=False, allow_null=True)
    reason = StrictCharField(
        required=False, allow_blank=True, allow_null=True, max_length=MAX_TEXT_LENGTH
    )

    def report(self) -> CaseReport:
        data = self.validated_data
        return CaseReport(
            case_ref=data["case_id"],
            status=data["status"],
            outputs=data.get("outputs") or {},
            reason=data.get("reason") or "",
        )


class CallbackSerializer(CaseReportSerializer):
    """A callback: the case's news, the event's id, and the sub-task's idempotency key."""

    event_id = StrictCharField(max_length=MAX_EVENT_ID_LENGTH)
    idempotency_key = serializers.UUIDField()

    def validate_idempotency_key(self, value):
        # UUIDField also takes an integer; the protocol sends the key as text.
        if not isinstance(self.initial_data.get("idempotency_key"), str):
            raise serializers.ValidationError(_("应为 UUID 文本。"))
        return value
