"""Checks for Chinese identifiers, shared by accounts, forms and the API.

The check-digit arithmetic lives in python-stdnum; this module only turns its exceptions
into messages a person can act on.
"""

import re
import unicodedata

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from stdnum import exceptions as stdnum_errors
from stdnum.cn import ric, uscc

MOBILE_RE = re.compile(r"1[3-9][0-9]{9}")
#: Longer input is refused at once, before stdnum walks it character by character.
MAX_INPUT = 64


def clean_resident_id(value: str) -> str:
    """Return the 18-character resident ID number (GB 11643), or raise ValidationError."""
    compact = ric.compact(value or "").upper() if len(value or "") <= MAX_INPUT else ""
    if len(compact) != 18:
        raise ValidationError(_("居民身份证号码应为18位。"), code="length")
    try:
        return ric.validate(compact)
    except stdnum_errors.InvalidChecksum:
        raise ValidationError(_("居民身份证号码校验位不正确，请核对。"), code="checksum") from None
    except stdnum_errors.InvalidComponent:
        raise ValidationError(_("居民身份证号码中的出生日期无效。"), code="birth_date") from None
    except stdnum_errors.ValidationError:
        raise ValidationError(_("居民身份证号码格式不正确。"), code="format") from None


def clean_credit_code(value: str) -> str:
    """Return the unified social credit code (GB 32100), or raise ValidationError."""
    compact = uscc.compact(value or "").upper() if len(value or "") <= MAX_INPUT else ""
    if len(compact) != 18:
        raise ValidationError(_("统一社会信用代码应为18位。"), code="length")
    try:
        return uscc.validate(compact)
    except stdnum_errors.InvalidChecksum:
        raise ValidationError(
            _("统一社会信用代码校验位不正确，请核对。"), code="checksum"
        ) from None
    except stdnum_errors.ValidationError:
        raise ValidationError(_("统一社会信用代码格式不正确。"), code="format") from None


def clean_mobile(value: str) -> str:
    """Return a mainland mobile number of 11 digits, or raise ValidationError."""
    # Full-width digits typed with a Chinese input method count (NFKC); other scripts do not.
    compact = value or ""
    compact = (
        re.sub(r"[\s-]", "", unicodedata.normalize("NFKC", compact))
        if len(compact) <= MAX_INPUT
        else ""
    )
    if compact.startswith("+86"):
        compact = compact[3:]
    if not MOBILE_RE.fullmatch(compact):
        raise ValidationError(_("手机号码应为以1开头的11位数字。"), code="format")
    return compact


def validate_resident_id(value: str) -> None:
    clean_resident_id(value)


def validate_mobile(value: str) -> None:
    clean_mobile(value)


def validate_credit_code(value: str) -> None:
    clean_credit_code(value)
