"""The kinds of form field, each with its JSON Schema and its server-side check.

One definition per kind, so that the API's JSON Schema, the server-side validation and the
web form (``bundles.webforms``) can never disagree.
"""

import datetime
import math
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.validators import clean_credit_code, clean_mobile, clean_resident_id
from portal import text as text_rules

BANK_ACCOUNT_RE = re.compile(r"[0-9]{12,30}")
DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
NUMBER_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
#: What any number field can hold, whatever its own bounds: magnitudes below 10^15 (exact
#: in a double, and in JavaScript) with at most 6 decimals. Checked before any arithmetic,
#: so that "1e2000000" or a million digits cost nothing.
NUMBER_LIMIT = Decimal("1e15")
NUMBER_DECIMALS = 6
NUMBER_MAX_CHARS = 40

#: The 34 provincial-level divisions, as an address's province must name one.
PROVINCES = (
    "北京市", "天津市", "河北省", "山西省", "内蒙古自治区", "辽宁省", "吉林省", "黑龙江省",
    "上海市", "江苏省", "浙江省", "安徽省", "福建省", "江西省", "山东省", "河南省", "湖北省",
    "湖南省", "广东省", "广西壮族自治区", "海南省", "重庆市", "四川省", "贵州省", "云南省",
    "西藏自治区", "陕西省", "甘肃省", "青海省", "宁夏回族自治区", "新疆维吾尔自治区",
    "台湾省", "香港特别行政区", "澳门特别行政区",
)  # fmt: skip
ADDRESS_PARTS = (
    ("province", gettext_lazy("省份")),
    ("city", gettext_lazy("城市")),
    ("district", gettext_lazy("区县")),
    ("street", gettext_lazy("街道门牌")),
)

TYPE_LABELS = {
    "text": gettext_lazy("文字"),
    "number": gettext_lazy("数字"),
    "date": gettext_lazy("日期"),
    "choice": gettext_lazy("选项"),
    "address": gettext_lazy("地址"),
    "id_number": gettext_lazy("居民身份证号码"),
    "credit_code": gettext_lazy("统一社会信用代码"),
    "mobile": gettext_lazy("手机号码"),
    "bank_account": gettext_lazy("银行账号"),
    "group": gettext_lazy("重复分组"),
}


@dataclass(frozen=True)
class FieldSpec:
    """A field as the form machinery sees it (built from bundles.models.FormField)."""

    key: str
    label: str
    type: str
    required: bool = True
    options: tuple[str, ...] = ()
    max_length: int = 200
    min_value: float | None = None
    max_value: float | None = None
    item_fields: tuple["FieldSpec", ...] = field(default=())
    min_items: int = 1
    max_items: int = 20
    section: str = ""
    help_text: str = ""
    #: Shown masked like an identifier (privacy.policy), whatever its type.
    sensitive: bool = False


def spec_from_dict(data: dict) -> FieldSpec:
    """A sub-field of a group, from its definition in the dictionary."""
    if data.get("type") not in TYPE_LABELS or data["type"] == "group":
        raise ValueError(f"sub-field {data.get('key')!r}: type must be a plain field type")
    if not re.fullmatch(r"[a-z][a-z0-9_]*", str(data.get("key", ""))):
        raise ValueError(f"sub-field key {data.get('key')!r} must be lower-case words, no dots")
    known = set(FieldSpec.__dataclass_fields__) - {"item_fields", "min_items", "max_items"}
    unknown = set(data) - known
    if unknown:
        raise ValueError(f"sub-field {data['key']}: unknown keys {sorted(unknown)}")
    return FieldSpec(**{**data, "options": tuple(data.get("options", ()))})


# --- cleaning: each takes the raw value and the spec, returns the clean value ----------------
def _text(value: Any, spec: FieldSpec) -> str:
    if not isinstance(value, str):
        raise ValidationError(_("应为文字。"), code="type")
    too_long = ValidationError(_("不能超过%(n)d个字。") % {"n": spec.max_length}, code="max_length")
    # Bounded before any pattern looks at it; a little room for spaces around the answer.
    if len(value) > spec.max_length + 100:
        raise too_long
    value = text_rules.check(value)
    if len(value) > spec.max_length:
        raise too_long
    return value


def clean_number(value, spec):
    """An int or a float; bounded work whatever the input (huge exponents, long digits)."""
    not_a_number = ValidationError(_("应为数字。"), code="type")
    out_of_range = ValidationError(
        _("数值超出可接受的范围（绝对值应小于10的15次方）。"), code="range"
    )
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise not_a_number
    if isinstance(value, int):
        if value.bit_length() > 64:  # before any conversion of a huge int to text
            raise out_of_range
        number = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise not_a_number
        number = Decimal(repr(value))
    elif isinstance(value, Decimal):
        number = value
    else:
        compact = value.strip()
        if len(compact) > NUMBER_MAX_CHARS:
            raise ValidationError(_("数字过长。"), code="length")
        # Full-width digits typed with a Chinese input method count; other scripts do not.
        compact = unicodedata.normalize("NFKC", compact)
        if not NUMBER_RE.fullmatch(compact):
            raise not_a_number
        try:
            number = Decimal(compact)
        except InvalidOperation:  # an exponent beyond what decimal can represent at all
            raise out_of_range from None
    if not number.is_finite():
        raise not_a_number
    # copy_abs and comparisons need no arithmetic context, so a huge exponent cannot overflow.
    if number.copy_abs() >= NUMBER_LIMIT:
        raise out_of_range
    if _decimals(number) > NUMBER_DECIMALS:
        raise ValidationError(_("小数不能超过%(n)d位。") % {"n": NUMBER_DECIMALS}, code="decimals")
    if spec.min_value is not None and number < Decimal(str(spec.min_value)):
        raise ValidationError(
            _("不能小于%(v)s。") % {"v": _plain_number(spec.min_value)}, code="min"
        )
    if spec.max_value is not None and number > Decimal(str(spec.max_value)):
        raise ValidationError(
            _("不能大于%(v)s。") % {"v": _plain_number(spec.max_value)}, code="max"
        )
    return int(number) if number == number.to_integral_value() else float(number)


def _decimals(number: Decimal) -> int:
    """Digits after the point, trailing zeros not counted ("1.50" has one)."""
    _sign, digits, exponent = number.as_tuple()
    significant = "".join(map(str, digits)).rstrip("0")
    if not significant:
        return 0
    return max(0, -(exponent + len(digits) - len(significant)))


def _plain_number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def clean_date(value, spec):
    if not isinstance(value, str):
        raise ValidationError(_("日期格式应为 YYYY-MM-DD。"), code="type")
    compact = value.strip()
    try:
        if not DATE_RE.fullmatch(compact):
            raise ValueError(compact)
        return datetime.date.fromisoformat(compact).isoformat()
    except ValueError:
        raise ValidationError(
            _("日期格式应为 YYYY-MM-DD，且须为真实日期。"), code="format"
        ) from None


def clean_choice(value, spec):
    if not isinstance(value, str) or value not in spec.options:
        raise ValidationError(
            _("请从以下选项中选择：%(options)s。") % {"options": "、".join(spec.options)},
            code="choice",
        )
    return value


def clean_address(value, spec):
    if not isinstance(value, dict):
        raise ValidationError(_("地址应包含省份、城市、区县和街道门牌。"), code="type")
    unknown = set(value) - {part for part, _label in ADDRESS_PARTS}
    if unknown:
        named = "、".join(str(part)[:20] for part in sorted(unknown)[:5])
        raise ValidationError(_("地址中有无法识别的部分：%(p)s。") % {"p": named})
    clean = {}
    for part, label in ADDRESS_PARTS:
        text = value.get(part)
        if not isinstance(text, str) or text_rules.is_blank(text):
            raise ValidationError(_("请填写地址中的%(part)s。") % {"part": label}, code="required")
        clean[part] = _text(
            text, FieldSpec(key=part, label=str(label), type="text", max_length=100)
        )
    if clean["province"] not in PROVINCES:
        raise ValidationError(
            _("“%(p)s”不是省级行政区的全称，如“浙江省”“北京市”。") % {"p": clean["province"]}
        )
    return clean


def clean_id_number(value, spec):
    return clean_resident_id(_text(value, spec))


def clean_credit(value, spec):
    return clean_credit_code(_text(value, spec))


def clean_mobile_number(value, spec):
    return clean_mobile(_text(value, spec))


def clean_bank_account(value, spec):
    compact = re.sub(r"\s", "", _text(value, spec))
    if not BANK_ACCOUNT_RE.fullmatch(compact):
        raise ValidationError(_("银行账号应为12至30位数字。"), code="format")
    return compact


def clean_group(value, spec):
    if not isinstance(value, list):
        raise ValidationError(_("应为若干条记录的列表。"), code="type")
    if len(value) < spec.min_items:
        raise ValidationError(_("至少填写%(n)d条。") % {"n": spec.min_items}, code="min_items")
    if len(value) > spec.max_items:
        raise ValidationError(_("最多填写%(n)d条。") % {"n": spec.max_items}, code="max_items")
    rows = []
    for number, row in enumerate(value, start=1):
        if not isinstance(row, dict):
            raise ValidationError(_("第%(n)d条应为一条记录。") % {"n": number}, code="row")
        cleaned, errors = clean_form(list(spec.item_fields), row)
        if errors:
            first_key, messages = next(iter(errors.items()))
            raise ValidationError(
                _("第%(n)d条：%(m)s") % {"n": number, "m": messages[0]}, code="row"
            )
        rows.append(cleaned)
    return rows


CLEANERS = {
    "text": lambda value, spec: _text(value, spec),
    "number": clean_number,
    "date": clean_date,
    "choice": clean_choice,
    "address": clean_address,
    "id_number": clean_id_number,
    "credit_code": clean_credit,
    "mobile": clean_mobile_number,
    "bank_account": clean_bank_account,
    "group": clean_group,
}


def is_blank(value) -> bool:
    """No answer: nothing, an empty list or object, or text that shows nothing (only white
    space or invisible characters such as U+200B)."""
    return (
        value is None
        or value == []
        or value == {}
        or (isinstance(value, str) and text_rules.is_blank(value))
    )


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
        if is_blank(value):
            if spec.required:
                errors[spec.key] = [_("“%(label)s”为必填项。") % {"label": spec.label}]
            continue
        try:
            cleaned[spec.key] = CLEANERS[spec.type](value, spec)
        except ValidationError as exc:
            errors[spec.key] = [f"{spec.label}：{message}" for message in exc.messages]
    return cleaned, errors


# --- JSON Schema ------------------------------------------------------------------------------
def json_schema(spec: FieldSpec) -> dict:
    base = {"title": spec.label, "x-type": spec.type}
    if spec.help_text:
        base["description"] = spec.help_text
    match spec.type:
        case "number":
            bounds = {"minimum": spec.min_value, "maximum": spec.max_value}
            return base | {"type": "number"} | {k: v for k, v in bounds.items() if v is not None}
        case "date":
            return base | {"type": "string", "format": "date"}
        case "choice":
            return base | {"type": "string", "enum": list(spec.options)}
        case "address":
            return base | {
                "type": "object",
                "properties": {
                    part: {"title": str(label), "type": "string", "minLength": 1, "maxLength": 100}
                    for part, label in ADDRESS_PARTS
                }
                | {"province": {"title": "省份", "type": "string", "enum": list(PROVINCES)}},
                "required": [part for part, _label in ADDRESS_PARTS],
                "additionalProperties": False,
            }
        case "id_number":
            return base | {
                "type": "string",
                "pattern": r"^\d{17}[\dXx]$",
                "description": "GB 11643 resident ID number; the last character is a check digit",
            }
        case "credit_code":
            return base | {
                "type": "string",
                "pattern": r"^[0-9A-HJ-NPQRTUWXY]{18}$",
                "description": "GB 32100 unified social credit code; the last character is a check",
            }
        case "mobile":
            return base | {"type": "string", "pattern": r"^1[3-9]\d{9}$"}
        case "bank_account":
            return base | {"type": "string", "pattern": r"^\d{12,30}$"}
        case "group":
            return base | {
                "type": "array",
                "minItems": spec.min_items,
                "maxItems": spec.max_items,
                "items": object_schema(list(spec.item_fields)),
            }
        case _:
            return base | {"type": "string", "maxLength": spec.max_length, "minLength": 1}


def object_schema(specs: list[FieldSpec]) -> dict:
    return {
        "type": "object",
        "properties": {spec.key: json_schema(spec) for spec in specs},
        "required": [spec.key for spec in specs if spec.required],
        "additionalProperties": False,
    }


def form_schema(specs: list[FieldSpec]) -> dict:
    """The JSON Schema of a whole form, flat keys such as ``child.name``."""
    return (
        {"$schema": "https://json-schema.org/draft/2020-12/schema"}
        | object_schema(specs)
        | {"x-sections": _sections(specs)}
    )


def _sections(specs: list[FieldSpec]) -> list[dict]:
    sections: dict[str, list[str]] = {}
    for spec in specs:
        sections.setdefault(spec.section or _("其他信息"), []).append(spec.key)
    return [{"title": title, "fields": keys} for title, keys in sections.items()]
