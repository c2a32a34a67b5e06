"""Tell an applicant what happened: an in-site message, then e-mail and SMS on their own."""

from django.db import transaction
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop as N_

from .models import Delivery, Message

#: Subject and body of each kind of message; filled from the event's context.
TEXTS = {
    "submitted": (
        N_("申请已提交：{bundle}"),
        N_("您的“{bundle}”申请已提交，受理编号 {number}。{deadline}我们会在每个事项办结时通知您。"),
    ),
    "supplement_requested": (
        N_("请补正材料：{item}"),
        N_(
            "您申请的“{bundle}”（受理编号 {number}）中，“{item}”需要补正：{reason}"
            "请登录后在“我的申请”中在线补交。"
        ),
    ),
    "part_done": (
        N_("已办结：{item}"),
        N_("您申请的“{bundle}”（受理编号 {number}）中，“{item}”已办结。{outputs}"),
    ),
    "part_rejected": (
        N_("未能办理：{item}"),
        N_("您申请的“{bundle}”（受理编号 {number}）中，“{item}”未能办理：{reason}"),
    ),
    "completed": (
        N_("全部办结：{bundle}"),
        N_("您申请的“{bundle}”（受理编号 {number}）已全部办结。欢迎对本次服务进行评价。"),
    ),
    "partially_completed": (
        N_("部分办结：{bundle}"),
        N_("您申请的“{bundle}”（受理编号 {number}）已办理结束，部分事项未能办理：{reason}"),
    ),
    "rejected": (
        N_("未能办理：{bundle}"),
        N_("您申请的“{bundle}”（受理编号 {number}）未能办理：{reason}"),
    ),
    "follow_up_answered": (N_("您反映的问题已处理"), N_("您反映的问题已处理：{reason}")),
    "mailed": (
        N_("已寄出：{bundle}"),
        N_("您申请的“{bundle}”（受理编号 {number}）的办理结果已寄出，邮寄单号 {reason}。"),
    ),
    "mandate_requested": (
        N_("请确认企业经办人"),
        N_("{reason}"),
    ),
    "due_soon": (
        N_("有 {count} 个事项即将到期或已超期"),
        N_("以下事项即将到期或已超期，请及时办理：{reason}"),
    ),
}


def notify(user, kind: str, application=None, **context) -> Message:
    """Create the in-site message and queue its e-mail and SMS after the transaction commits."""
    subject, body = (_(text) for text in TEXTS[kind])
    values = {
        "bundle": "", "number": "", "item": "", "reason": "", "outputs": "", "deadline": "",
        "count": "",
    }  # fmt: skip
    if application is not None:
        values |= {"bundle": application.bundle.name, "number": application.number or ""}
        if application.deadline:
            values["deadline"] = _("承诺 %(d)s 前办结。") % {"d": date_format(application.deadline)}
    values |= {k: v for k, v in context.items() if v is not None}
    message = Message.objects.create(
        user=user,
        application=application,
        kind=kind,
        subject=subject.format(**values)[:200],
        body=body.format(**values),
    )
    channels = [(Delivery.Channel.EMAIL, user.email), (Delivery.Channel.SMS, user.mobile)]
    deliveries = Delivery.objects.bulk_create(
        Delivery(message=message, channel=channel, address=address)
        for channel, address in channels
        if address
    )
    if deliveries:
        ids = [d.pk for d in deliveries]
        transaction.on_commit(lambda: _queue(ids))
    return message


def _queue(delivery_ids):
    from applications.services import enqueue

    from .tasks import send_delivery

    for delivery_id in delivery_ids:
        enqueue(send_delivery, delivery_id)


def unread_count(user) -> int:
    return Message.objects.filter(user=user, read_at__isnull=True).count()
