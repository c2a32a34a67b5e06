"""The API's one JSON parser: bounded work and storable text, whatever the body.

Python's ``json`` recurses once per level of nesting, turns ``NaN``/``Infinity`` into floats
that PostgreSQL's jsonb refuses, converts any number of digits, and lets ``"\\u0000"`` and
``"\\ud800"`` through, which PostgreSQL and psycopg cannot store. Each of these became a 500
or a busy process. Here each is a 400 that says what is wrong and, where it can, where.
"""

import io
import json
import math
import re
from itertools import accumulate

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework import parsers, status
from rest_framework.exceptions import APIException, ParseError

from .text import UNSTORABLE, first_unreadable

MAX_DEPTH = 32
#: Digits of a number literal; far more than any field holds, far less than slow parsing.
MAX_NUMBER_CHARS = 300
#: A JSON string, or the rest of the body after an unclosed quote. It always matches at a
#: quote, so removing strings takes one pass however the body is made.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
_LONG_NUMBER = re.compile(rf"[0-9]{{{MAX_NUMBER_CHARS + 1}}}")
_EXPONENT = re.compile(r"[0-9][eE]")
#: In valid JSON whose escaped backslashes are blanked out, every backslash left starts an
#: escape: NUL, a high surrogate not followed by a low one, a low one not after a high one.
_UNSTORABLE_ESCAPE = re.compile(
    r"\\u0000"
    r"|\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
    r"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}"
)
#: Looking for where a problem is stops after this many values (then: "body").
_SEARCH_LIMIT = 20_000


class InvalidBody(ParseError):
    """A body the API will not read: ``{"detail": …, "errors": {where: [...]}}``, 400."""

    def __init__(self, message: str, where: str = "body"):
        super().__init__({"detail": message, "errors": {where: [message]}})


class BodyTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE

    def __init__(self, limit: int):
        message = _("请求内容不能超过%(kb)d KB。") % {"kb": limit // 1024}
        super().__init__({"detail": message, "errors": {"body": [message]}})


class _Refused(Exception):
    def __init__(self, message: str):
        self.message = message


def _constant(name: str):
    raise _Refused(_("JSON 中不能使用 %(c)s。") % {"c": name})


def nesting_depth(text: str) -> int:
    """How deeply arrays and objects nest in ``text``, brackets inside strings not counted.

    A linear scan at C speed, made before ``json.loads`` so that it never recurses deeply.
    """
    return _depth(_STRING.sub("", text))


def _depth(outside_strings: str) -> int:
    skeleton = _NOT_BRACKET.sub("", outside_strings)
    return max(accumulate(map(_STEP.__getitem__, skeleton)), default=0)


def first_problem(data) -> tuple[str, str] | None:
    """Where in ``data`` (as ``a.b.0``) a key or string cannot be stored (NUL, a lone
    surrogate) or a number is not finite, and which of the two: "text" or "number"."""
    pending = [({"body": data}, ())]
    budget = _SEARCH_LIMIT
    while pending and budget > 0:
        container, where = pending.pop()
        budget -= len(container)
        items = container.items() if isinstance(container, dict) else enumerate(container)
        for key, item in items:
            if isinstance(key, str) and UNSTORABLE.search(key):
                return _path(where, key), "text"
            if isinstance(item, str):
                if UNSTORABLE.search(item):
                    return _path(where, key), "text"
            elif isinstance(item, float):
                if not math.isfinite(item):
                    return _path(where, key), "number"
            elif isinstance(item, dict | list):
                pending.append((item, (*where, key)))
    return None


def _path(where: tuple, key) -> str:
    """``a.b.0`` for the body's key ``a``; the outermost ``body`` is left out but for the
    body itself."""
    parts = (*where, key)[1:] or ("body",)
    # Said back in the answer, so without the characters that could not be sent back either.
    return UNSTORABLE.sub("\ufffd", ".".join(map(str, parts))[:100])


def parse_json(raw: bytes):
    """The value of a JSON body, or InvalidBody saying what is wrong with it."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidBody(
            _("请求内容不是有效的 UTF-8 文本（第%(n)d个字节）。") % {"n": exc.start + 1}
        ) from None
    text = text.removeprefix("\ufeff")
    outside_strings = _STRING.sub("", text)
    if _depth(outside_strings) > MAX_DEPTH:
        raise InvalidBody(_("JSON 的嵌套不能超过%(n)d层。") % {"n": MAX_DEPTH})
    if _LONG_NUMBER.search(outside_strings):
        raise InvalidBody(_("数字不能超过%(n)d位。") % {"n": MAX_NUMBER_CHARS})
    try:
        data = json.loads(text, parse_constant=_constant)
    except _Refused as exc:
        raise InvalidBody(exc.message) from None
    except json.JSONDecodeError as exc:
        raise InvalidBody(
            _("请求内容不是有效的 JSON（第%(line)d行第%(col)d列）。")
            % {"line": exc.lineno, "col": exc.colno}
        ) from None
    except (ValueError, RecursionError):
        raise InvalidBody(_("请求内容不是有效的 JSON。")) from None
    # Cheap checks of the whole body first; the search for where runs only on a problem.
    unstorable = _UNSTORABLE_ESCAPE.search(text.replace("\\\\", ".."))
    if unstorable or (_EXPONENT.search(outside_strings) and not _finite(data)):
        where, kind = first_problem(data) or (
            "body",
            "text" if unstorable else "number",
        )
        if kind == "text":
            message = _("“%(where)s”含有无法保存的字符（空字符或不成对的代理字符）。")
        else:
            message = _("“%(where)s”的数字超出范围。")
        raise InvalidBody(message % {"where": where}, where)
    return data


def _finite(data) -> bool:
    try:
        json.dumps(data, allow_nan=False)
    except ValueError:
        return False
    return True


def _read(stream) -> bytes:
    """The body, at most DATA_UPLOAD_MAX_MEMORY_SIZE of it (as Django bounds its own forms);
    a larger one is refused (413) before it is read whole."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    raw = stream.read(limit + 1) if limit is not None else stream.read()
    if limit is not None and len(raw) > limit:
        raise BodyTooLarge(limit)
    return raw


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser with the bounds above."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding") or settings.DEFAULT_CHARSET
        if encoding.lower().replace("_", "-") not in ("utf-8", "utf8"):
            raise InvalidBody(_("JSON 请求内容只接受 UTF-8 编码。"))
        return parse_json(_read(stream))


def _checked(result):
    data = getattr(result, "data", result)
    files = getattr(result, "files", None)
    for fields in (data, files):
        name = first_unreadable(fields) if fields is not None else None
        if name is not None:
            raise InvalidBody(
                _("“%(name)s”含有空字符或无法识别的字节（应为 UTF-8 编码的文字）。")
                % {"name": name},
                name,
            )
    return result


class FormParser(parsers.FormParser):
    """DRF's form parser, bounded like Django's own (DATA_UPLOAD_MAX_MEMORY_SIZE); a body
    that is not UTF-8 (Django would read it as Latin-1) or a field with NUL is a 400."""

    def parse(self, stream, media_type=None, parser_context=None):
        raw = _read(stream)
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidBody(
                _("请求内容不是有效的 UTF-8 文本（第%(n)d个字节）。") % {"n": exc.start + 1}
            ) from None
        return _checked(super().parse(io.BytesIO(raw), media_type, parser_context))


class MultiPartParser(parsers.MultiPartParser):
    """DRF's multipart parser; a field with NUL or bytes that are not UTF-8 is a 400, and so
    is a part it cannot read (an unknown RFC 2231 charset)."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            result = super().parse(stream, media_type, parser_context)
        except (ValueError, LookupError, UnicodeError):
            raise InvalidBody(_("表单内容无法解析。")) from None
        return _checked(result)
