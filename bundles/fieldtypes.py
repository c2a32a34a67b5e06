"""The kinds of form field, each with its JSON Schema and its server-side check.

One definition per kind so that the API's JSON Schema, the server-side validation and (later)
the web form can never disagree.
"""

import datetime
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from accounts.validators import clean_credit_code, clean_mobile, clean_resident_id

#: Control characters other than tab and newline never belong in a form value.
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
BANK_ACCOUNT_RE = re.compile(r"^\d{12,30}$")


@dataclass(frozen=True)
class FieldSpec:
    """A field as the form machinery sees it (built from bundles.models.FormField)."""

    key: str
    label: str
    type: str
    required: bool = True
    options: tuple[str, ...] = ()
    max_length: int = 200
    section: str = ""
    help_text: str = ""


def _text(value: Any, spec: FieldSpec) -> str:
    if not isinstance(value, str):
        raise ValidationError(_("应为文字。"), code="type")
    value = value.strip()
    if CONTROL_CHARS.search(value):
        raise ValidationError(_("含有不可见的控制字符。"), code="control")
    if len(value) > spec.max_length:
        raise ValidationError(_("不能超过%(n)d个字。") % {"n": spec.max_length}, code="max_length")
    return value


def clean_text(value, spec):
    return _text(value, spec)


def clean_number(value, spec):
    if isinstance(value, bool):
        raise ValidationError(_("应为数字。"), code="type")
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationError(_("应为数字。"), code="type") from None
    if not number.is_finite():
        raise ValidationError(_("应为数字。"), code="type")
    return int(number) if number == number.to_integral_value() else float(number)


def clean_date(value, spec):
    if not isinstance(value, str):
        raise ValidationError(_("日期格式应为 YYYY-MM-DD。"), code="type")
    try:
        return datetime.date.fromisoformat(value.strip()).isoformat()
    except ValueError:
        raise ValidationError(
            _("日期格式应为 YYYY-MM-DD，且须为真实日期。"), code="format"
        ) from None


def clean_choice(value, spec):
    if value not in spec.options:
        raise ValidationError(
            _("请从以下选项中选择：%(options)s。") % {"options": "、".join(spec.options)},
            code="choice",
        )
    return value


def clean_id_number(value, spec):
    return clean_resident_id(_text(value, spec))


def clean_credit(value, spec):
    return clean_credit_code(_text(value, spec))


def clean_mobile_number(value, spec):
    return clean_mobile(_text(value, spec))


def clean_bank_account(value, spec):
    compact = re.sub(r"\s", "", _text(value, spec))
    if not BANK_ACCOUNT_RE.match(compact):
        raise ValidationError(_("银行账号应为12至30位数字。"), code="format")
    return compact


CLEANERS = {
    "text": clean_text,
    "number": clean_number,
    "date": clean_date,
    "choice": clean_choice,
    "id_number": clean_id_number,
    "credit_code": clean_credit,
    "mobile": clean_mobile_number,
    "bank_account": clean_bank_account,
}

TYPE_LABELS = {
    "text": "文字",
    "number": "数字",
    "date": "日期",
    "choice": "选项",
    "id_number": "居民身份证号码",
    "credit_code": "统一社会信用代码",
    "mobile": "手机号码",
    "bank_account": "银行账号",
}


def json_schema(spec: FieldSpec) -> dict:
    base = {"title": spec.label}
    if spec.help_text:
        base["description"] = spec.help_text
    match spec.type:
        case "number":
            return base | {"type": "number"}
        case "date":
            return base | {"type": "string", "format": "date"}
        case "choice":
            return base | {"type": "string", "enum": list(spec.options)}
        case "id_number":
            return base | {
                "type": "string",
                "pattern": r"^\d{17}[\dXx]$",
                "x-check": "GB 11643 check digit",
            }
        case "credit_code":
            return base | {
                "type": "string",
                "pattern": r"^[0-9A-HJ-NPQRTUWXY]{18}$",
                "x-check": "GB 32100 check character",
            }
        case "mobile":
            return base | {"type": "string", "pattern": r"^1[3-9]\d{9}$"}
        case "bank_account":
            return base | {"type": "string", "pattern": r"^\d{12,30}$"}
        case _:
            return base | {"type": "string", "maxLength": spec.max_length, "minLength": 1}


def form_schema(specs: list[FieldSpec]) -> dict:
    """The JSON Schema of a whole form, flat keys such as ``child.name``."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {spec.key: json_schema(spec) for spec in specs},
        "required": [spec.key for spec in specs if spec.required],
        "additionalProperties": False,
        "x-sections": _sections(specs),
    }


def _sections(specs: list[FieldSpec]) -> list[dict]:
    sections: dict[str, list[str]] = {}
    for spec in specs:
        sections.setdefault(spec.section or _("其他信息"), []).append(spec.key)
    return [{"title": title, "fields": keys} for title, keys in sections.items()]


def clean_form(specs: list[FieldSpec], data: Any) -> tuple[dict, dict[str, list[str]]]:
    """Check ``data`` against the form; return (clean values, errors by field key)."""
    if not isinstance(data, dict):
        return {}, {"form": [_("表单应为以字段名为键的对象。")]}
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    known = {spec.key: spec for spec in specs}
    for key in data:
        if key not in known:
            errors[key] = [_("本事项不需要此字段。")]
    for spec in specs:
        value = data.get(spec.key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if spec.required:
                errors[spec.key] = [_("“%(label)s”为必填项。") % {"label": spec.label}]
            continue
        try:
            cleaned[spec.key] = CLEANERS[spec.type](value, spec)
        except ValidationError as exc:
            errors[spec.key] = [f"{spec.label}：{message}" for message in exc.messages]
    return cleaned, errors
