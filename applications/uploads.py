"""Checks on uploaded materials: the type is read from the content, never from the name."""

import hashlib

from django.conf import settings
from django.utils.translation import gettext as _

from .services import ApplicationInvalid

#: Leading bytes of each accepted kind of file, and the type we record for it.
SIGNATURES = {
    "pdf": (b"%PDF-", "application/pdf"),
    "png": (b"\x89PNG\r\n\x1a\n", "image/png"),
    "jpg": (b"\xff\xd8\xff", "image/jpeg"),
}
DEFAULT_TYPES = ["pdf", "jpg", "png"]


def sniff(head: bytes) -> str | None:
    for kind, (magic, _mime) in SIGNATURES.items():
        if head.startswith(magic):
            return kind
    return None


def check_upload(upload, material) -> tuple[str, str]:
    """Return (content type, sha256) of an acceptable upload, or raise ApplicationInvalid."""
    limit = min(material.max_size_mb * 1024 * 1024, settings.UPLOAD_MAX_BYTES)
    if upload.size == 0:
        raise ApplicationInvalid({"file": [_("文件是空的。")]})
    if upload.size > limit:
        raise ApplicationInvalid(
            {"file": [_("文件不能超过%(mb).1f MB。") % {"mb": limit / 1024 / 1024}]}
        )
    accepted = [t.lower() for t in (material.accepted_types or DEFAULT_TYPES)]
    upload.seek(0)
    kind = sniff(upload.read(16))
    if kind not in accepted:
        raise ApplicationInvalid(
            {
                "file": [
                    _("文件内容不是可接受的类型（%(types)s）。") % {"types": "、".join(accepted)}
                ]
            }
        )
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return SIGNATURES[kind][1], digest.hexdigest()
