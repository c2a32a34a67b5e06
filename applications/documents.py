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

from privacy.policy import mask

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


def _document(title: str, lines: list[tuple[str, str]], footer: str) -> bytes:
    """One A4 page: a title, labelled lines (wrapped), and a footer."""
    font = chinese_font()
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    pdf.setTitle(title)
    width, height = A4
    y = height - 30 * mm
    pdf.setFont(font, 20)
    pdf.drawCentredString(width / 2, y, title)
    y -= 16 * mm
    pdf.setFont(font, 12)
    for label, value in lines:
        text = f"{label}：{value}" if label else value
        for chunk in _wrap(text, 38):
            if y < 35 * mm:
                pdf.showPage()
                pdf.setFont(font, 12)
                y = height - 25 * mm
            pdf.drawString(25 * mm, y, chunk)
            y -= 8 * mm
    pdf.setFont(font, 9)
    for number, chunk in enumerate(_wrap(footer, 60)):
        pdf.drawString(25 * mm, 22 * mm - number * 5 * mm, chunk)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _wrap(text: str, width: int) -> list[str]:
    """Chinese text has no spaces to break at: cut every ``width`` characters."""
    return [text[i : i + width] for i in range(0, len(text), width)] or [""]


def _applicant(application) -> str:
    """The applicant as documents name them: the name, and the ID number masked."""
    applicant = application.applicant
    name = applicant.real_name or applicant.username
    return f"{name}（身份证 {mask(applicant.id_number)}）" if applicant.id_number else name


def _date(value) -> str:
    return f"{timezone.localtime(value):%Y年%m月%d日}" if value else "—"


def certificate_pdf(subtask) -> bytes:
    """An approved sub-task's result as an electronic certificate."""
    application = subtask.application
    code = verification_code(
        application.number or "",
        subtask.item.code,
        *(f"{k}={v}" for k, v in sorted(subtask.outputs.items())),
    )
    return _document(
        f"{subtask.item.name}（电子证照）",
        [
            ("受理编号", application.number or ""),
            ("一件事", application.bundle.name),
            ("申请人", application.applicant.real_name or application.applicant.username),
            *[(label, str(value)) for label, value in subtask.labelled_outputs],
            ("发证部门", subtask.department.name),
            ("办结时间", _date(subtask.finished_at or subtask.updated_at)),
        ],
        f"验证码：{code}  本电子证照由高效办成一件事平台生成，与纸质证照具有同等效力。",
    )


def receipt_lines(application) -> list[tuple[str, str]]:
    """受理回执's lines: what was applied for and received, what may follow (容缺), the
    promise, the applicant named with the ID number masked."""
    from bundles.models import MaterialType

    subtasks = list(application.subtasks.select_related("item", "department"))
    uploads = list(application.uploads.select_related("material"))
    pending = MaterialType.objects.filter(code__in=application.pending_materials)
    lines = [
        ("受理编号", application.number or ""),
        ("一件事", application.bundle.name),
        ("申请人", _applicant(application)),
        ("受理时间", _date(application.submitted_at)),
        (
            "承诺办结",
            f"{application.deadline:%Y年%m月%d日}"
            if application.deadline
            else application.deadline_note or "—",
        ),
        ("", "办理事项："),
        *[
            ("", f"  {st.item.name}（{st.department.name}，{st.item.time_limit_days}个工作日）")
            for st in subtasks
        ],
        ("", "已收材料："),
        *[("", f"  {u.material.name}") for u in uploads],
    ]
    if pending:
        due = f"{application.pending_due:%Y年%m月%d日}" if application.pending_due else "—"
        lines += [("", f"容缺受理，请于{due}前在线补交：")]
        lines += [("", f"  {m.name}") for m in pending]
    if application.filed_by_id:
        lines.append(("经办人", str(application.filed_by)))
    return lines


def receipt_pdf(application) -> bytes:
    """受理回执 as a PDF."""
    code = verification_code(application.number or "", "receipt")
    return _document(
        "受理回执", receipt_lines(application), f"验证码：{code}  可凭受理编号在网上查询办理进度。"
    )


def completion_notice_pdf(application) -> bytes:
    """办结通知书: how each part ended, with its results."""
    lines = [
        ("受理编号", application.number or ""),
        ("一件事", application.bundle.name),
        ("申请人", _applicant(application)),
        ("办理结果", application.get_status_display()),
        ("办结时间", _date(application.finished_at)),
    ]
    for subtask in application.subtasks.select_related("item", "department"):
        lines.append(
            (
                "",
                f"{subtask.item.name}（{subtask.department.name}）：{subtask.get_status_display()}",
            )
        )
        lines += [("", f"  {label}：{value}") for label, value in subtask.labelled_outputs]
        if subtask.reason and subtask.status in ("rejected", "cancelled"):
            lines.append(("", f"  说明：{subtask.reason}"))
    code = verification_code(application.number or "", "notice", application.status)
    return _document("办结通知书", lines, f"验证码：{code}")
