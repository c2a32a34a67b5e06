"""Row ids in URLs and forms: ASCII digits only, 1 to 18 of them, no leading zero.

Django's ``<int:…>`` takes any number of digits, and DRF's default lookup takes any text
(``int('٣')`` is 3, ``'²'.isdigit()`` is True yet ``int('²')`` fails). One pattern for every
id keeps each of them inside PostgreSQL's bigint, so an odd id is simply not found (404).
"""

import re

from django.urls import register_converter

#: For DRF viewsets (``lookup_value_regex``) and anything else that matches an id.
ID_PATTERN = r"[1-9][0-9]{0,17}"
_ID = re.compile(ID_PATTERN)


class IdConverter:
    regex = ID_PATTERN

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value) -> str:
        return str(value)


def parse_id(value) -> int | None:
    """The id in ``value`` (a form or query value), or None when it is not one."""
    if isinstance(value, str) and _ID.fullmatch(value):
        return int(value)
    return None


register_converter(IdConverter, "id")
