"""What a person's text may contain: one rule for the form fields, the API and the services.

Text made only of invisible characters (zero-width spaces, byte-order marks, fillers) is no
answer at all, so it counts as blank. Direction controls that reorder what is shown (the
"Trojan Source" overrides and isolates) disguise text and are refused. NUL and lone UTF-16
surrogates cannot be stored (PostgreSQL refuses NUL; psycopg cannot encode a lone
surrogate), so they are refused before they reach the database. Rare characters outside the
Basic Multilingual Plane (𠮷, 䶮) are ordinary text.
"""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


def _chars(*ranges: tuple[int, int]) -> str:
    return "".join(chr(c) for first, last in ranges for c in range(first, last + 1))


#: Characters that show nothing: Unicode white space (incl. U+3000 ideographic space) and
#: the zero-width and format characters, fillers and blank patterns people paste by mistake.
INVISIBLE = "".join(chr(c) for c in range(0x3100) if chr(c).isspace()) + _chars(
    (0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160), (0x17B4, 0x17B5),
    (0x180E, 0x180E), (0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x2064), (0x2066, 0x206F),
    (0x2800, 0x2800), (0x3164, 0x3164), (0xFEFF, 0xFEFF), (0xFFA0, 0xFFA0),
)  # fmt: skip
#: Also invisible on their own, but they belong to the character before them (variation
#: selectors after a CJK character or an emoji, tag characters in flags): never trimmed.
MODIFIERS = _chars(
    (0x180B, 0x180D), (0x180F, 0x180F), (0xFE00, 0xFE0F), (0xE0000, 0xE007F), (0xE0100, 0xE01EF)
)
#: Embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069): they reorder text.
DIRECTION_CONTROLS = re.compile(r"[\u202a-\u202e\u2066-\u2069]")
#: Control characters other than tab, newline and carriage return.
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
#: What no text column can hold: NUL, and halves of UTF-16 surrogate pairs.
UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")


def trim(text: str) -> str:
    """``text`` without the white space and invisible characters at either end."""
    return text.strip(INVISIBLE)


def is_blank(text: str) -> bool:
    """True for text that shows nothing at all."""
    return not text.strip(INVISIBLE + MODIFIERS)


def check(text: str) -> str:
    """Return ``text`` trimmed, or raise ValidationError saying what it must not contain."""
    if UNSTORABLE.search(text):
        raise ValidationError(
            _("含有无法保存的字符（空字符或不成对的代理字符）。"), code="unstorable"
        )
    if CONTROL_CHARS.search(text):
        raise ValidationError(_("含有不可见的控制字符。"), code="control")
    if DIRECTION_CONTROLS.search(text):
        raise ValidationError(_("含有改变文字显示方向的控制字符，可能使内容被伪装。"), code="bidi")
    return trim(text)


def clean(value, max_length: int) -> str:
    """Free text a person typed (a reason, a comment), trimmed; ValidationError when it is
    not text, too long, or holds what ``check`` refuses. Blank is the caller's to judge."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationError(_("应为文字。"), code="type")
    too_long = ValidationError(_("不能超过%(n)d个字。") % {"n": max_length}, code="max_length")
    if len(value) > max_length + 100:  # before any pattern reads it
        raise too_long
    value = check(value)
    if len(value) > max_length:
        raise too_long
    return value


def first_unreadable(fields) -> str | None:
    """The name of the first field (of a QueryDict or MultiValueDict) whose name or text
    holds NUL, a lone surrogate or U+FFFD (what Django makes of bytes that are not UTF-8)."""
    for key, values in fields.lists():
        for value in (key, *values):
            if isinstance(value, str) and (UNSTORABLE.search(value) or "\ufffd" in value):
                return UNSTORABLE.sub("\ufffd", key)[:50]
    return None
