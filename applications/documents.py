"""PDF documents with Chinese text: electronic certificates (and, later, receipts).

The font is a TrueType font with Chinese glyphs (``PDF_FONT_PATH``, by default Debian's
WenQuanYi Zen Hei), embedded so that any viewer shows the text. Where that file is missing
the PDF falls back to the standard Chinese font STSong-Light, which viewers supply.
"""

import hashlib
import hmac
import io
from pathlib import Path

from django.conf import settings
from django.utils import timezone
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

_font_name = None


def chinese_font() -> str:
    global _font_name
    if _font_name is None:
        path = Path(settings.PDF_FONT_PATH)
        if path.exists():
            pdfmetrics.registerFont(TTFont("PortalCJK", str(path), subfontIndex=0))
            _font_name = "PortalCJK"
        else:
            pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
            _font_name = "STSong-Light"
    return _font_name


def verification_code(*parts: str) -> str:
    """A short code that shows the document came from this portal (HMAC over its facts)."""
    message = "|".join(parts).encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()[:16].upper()


def certificate_pdf(subtask) -> bytes:
    """An approved sub-task's result as an electronic certificate."""
    application = subtask.application
    font = chinese_font()
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    pdf.setTitle(f"{subtask.item.name} {application.number}")
    width, height = A4
    y = height - 30 * mm
    pdf.setFont(font, 22)
    pdf.drawCentredString(width / 2, y, f"{subtask.item.name}（电子证照）")
    y -= 18 * mm
    lines = [
        ("受理编号", application.number or ""),
        ("一件事", application.bundle.name),
        ("申请人", application.applicant.real_name or application.applicant.username),
        *[(label, str(value)) for label, value in subtask.labelled_outputs],
        ("发证部门", subtask.department.name),
        ("办结时间", f"{timezone.localtime(subtask.updated_at):%Y年%m月%d日}"),
    ]
    pdf.setFont(font, 13)
    for label, value in lines:
        pdf.drawString(30 * mm, y, f"{label}：{value}")
        y -= 10 * mm
    code = verification_code(
        application.number or "",
        subtask.item.code,
        *(f"{k}={v}" for k, v in sorted(subtask.outputs.items())),
    )
    pdf.setFont(font, 10)
    pdf.drawString(
        30 * mm,
        25 * mm,
        f"验证码：{code}  本电子证照由高效办成一件事平台生成，与纸质证照具有同等效力。",
    )
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()
