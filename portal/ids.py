"""Row ids in URLs and forms: ASCII digits only, 1 to 18 of them, no leading zero; and the
catalogue's codes.

Django's ``<int:…>`` takes any number of digits, and DRF's default lookup takes any text
(``int('٣')`` is 3, ``'²'.isdigit()`` is True yet ``int('²')`` fails). One converter for
every id, on the site's pages and the API's routes alike, keeps each of them inside
PostgreSQL's bigint, so an odd id is simply not found (404).
"""

import re

from django.urls import register_converter

ID_PATTERN = r"[1-9][0-9]{0,17}"
_ID = re.compile(ID_PATTERN)
#: Codes of bundles, items and materials (lower-case letters, digits, underscores; 64 at most).
CODE_PATTERN = r"[a-z0-9_]{1,64}"


class IdConverter:
    """``<id:pk>``; the API's routers take it as ``lookup_value_converter = "id"``."""

    regex = ID_PATTERN

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value) -> str:
        return str(value)


class CodeConverter:
    """``<code:code>``, for a bundle's code in the API."""

    regex = CODE_PATTERN

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value) -> str:
        return str(value)


def parse_id(value) -> int | None:
    """The id in ``value`` (a form or query value), or None when it is not one."""
    if isinstance(value, str) and _ID.fullmatch(value):
        return int(value)
    return None


register_converter(IdConverter, "id")
register_converter(CodeConverter, "code")
