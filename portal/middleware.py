"""One guard in front of every view: what cannot be stored never gets further than here.

PostgreSQL refuses NUL in text, and psycopg cannot encode a lone UTF-16 surrogate: either,
carried from a request into a query, was a 500. They come in through the URL, the query
string, headers (cookies: a session key is looked up in the database) and form bodies, and
through a charset such as ``unicode_escape`` named in Content-Type, which Django would use to
decode them. Each is answered here with a 400 that says what was wrong, before any view, any
session lookup or any form sees it. Bytes that are not UTF-8 count the same: Django turns
them into U+FFFD, or reads a whole body or query string as Latin-1 — text nobody wrote.
A body larger than any form and its uploads can be is refused (413) before it is read.

JSON and the API's form bodies are checked by the API's parsers (``portal.parsers``); their
bodies are left unread here, since some API views read the raw body (signed callbacks).
"""

from django.conf import settings
from django.core.handlers.wsgi import get_bytes_from_wsgi
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from .text import UNSTORABLE, first_unreadable

#: Charsets a request may name: the only one whose decoding cannot produce the above.
UTF8 = {"utf-8", "utf8"}
FORM_TYPES = {"application/x-www-form-urlencoded", "multipart/form-data"}


class RefuseUnstorableInput:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if _content_length(request) > max_request_bytes():
            message = _("请求内容不能超过%(mb)d MB。") % {"mb": max_request_bytes() // 2**20}
            return refuse(request, "body", message, status=413)
        problem = self.request_problem(request)
        if problem is not None:
            return refuse(request, *problem)
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if _is_api_view(view_func) or request.content_type not in FORM_TYPES:
            return None
        if request.method not in ("POST", "PUT", "PATCH"):
            return None
        try:
            fields, files = request.POST, request.FILES
        except (ValueError, LookupError, UnicodeError):
            # e.g. a file name in an RFC 2231 charset Python does not know.
            return refuse(request, "body", _("表单内容无法解析。"))
        if request.content_type == "application/x-www-form-urlencoded" and not _utf8(request.body):
            return refuse(request, "body", _not_utf8())
        found = _first_bad_field(fields, _("表单字段“%(name)s”")) or _first_bad_field(
            files, _("上传文件“%(name)s”")
        )
        return refuse(request, *found) if found else None

    def request_problem(self, request) -> tuple[str, str] | None:
        charset = request.content_params.get("charset")
        if charset is not None and charset.strip().lower().replace("_", "-") not in UTF8:
            return "Content-Type", _("请求内容只接受 UTF-8 编码。")
        if UNSTORABLE.search(request.path_info):
            return "path", _("网址中含有不允许的字符。")
        for key, value in request.META.items():
            if (key.startswith("HTTP_") or key.startswith("CONTENT_")) and "\x00" in str(value):
                name = key.removeprefix("HTTP_").replace("_", "-").title()
                return name, _("请求头“%(name)s”含有空字符。") % {"name": name}
        if not _utf8(get_bytes_from_wsgi(request.META, "QUERY_STRING", "")):
            return "query", _not_utf8()
        return _first_bad_field(request.GET, _("网址参数“%(name)s”"))


def max_request_bytes() -> int:
    """The largest body taken at all: the form fields Django reads into memory, and ten
    materials of the largest size an upload may have. Anything larger is refused before a
    byte of it is read (Django would otherwise spool any upload, however large, to disk)."""
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10 * settings.UPLOAD_MAX_BYTES


def _content_length(request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _utf8(raw: bytes) -> bool:
    """Whether raw bytes are UTF-8. Django would read them as Latin-1 otherwise (a whole
    body or query string at once), turning them into text nobody wrote."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _not_utf8() -> str:
    return _("请求内容含有无法识别的字节（应为 UTF-8 编码的文字）。")


def _first_bad_field(fields, what: str) -> tuple[str, str] | None:
    name = first_unreadable(fields)
    if name is None:
        return None
    message = _("%(what)s含有空字符或无法识别的字节（应为 UTF-8 编码的文字）。") % {
        "what": what % {"name": name}
    }
    return name, message


def _is_api_view(view_func) -> bool:
    from rest_framework.views import APIView

    cls = getattr(view_func, "cls", None)
    return isinstance(cls, type) and issubclass(cls, APIView)


def refuse(request, where: str, message: str, status: int = 400):
    """A 400 saying ``message``: JSON for the API, a plain page for people."""
    if request.path_info.startswith("/api/"):
        return JsonResponse(
            {"detail": message, "errors": {where: [message]}},
            status=status,
            json_dumps_params={"ensure_ascii": False},
        )
    # A page of its own, without the site's context: the request may not even have a
    # session that can be looked up.
    page = render_to_string("bad_request.html", {"message": message})
    return HttpResponse(page, status=status)
