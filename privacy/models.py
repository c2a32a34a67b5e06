"""The record of every full view of personal data: who or what saw which value, when, how."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Disclosure(models.Model):
    """One full view of a personal identifier or an uploaded material, never edited."""

    class Channel(models.TextChoices):
        WEB = "web", _("网页查看")
        API = "api", _("接口查看")
        CASE_ORDER = "case_order", _("推送部门业务系统")
        UPLOAD = "upload", _("下载材料")

    at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)
    channel = models.CharField(_("途径"), max_length=16, choices=Channel.choices)
    #: The member of staff who looked, or none when a department system received it.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        verbose_name=_("查看人"),
    )
    department = models.ForeignKey(
        "departments.Department",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        verbose_name=_("部门"),
    )
    application = models.ForeignKey(
        "applications.Application", on_delete=models.CASCADE, verbose_name=_("申请")
    )
    subtask = models.ForeignKey(
        "applications.SubTask", on_delete=models.CASCADE, null=True, blank=True
    )
    #: The field's path (``mother.id_number``, ``shareholders.0.id_number``) or a material code.
    field = models.CharField(_("字段"), max_length=200)

    class Meta:
        verbose_name = _("个人信息查看记录")
        verbose_name_plural = _("个人信息查看记录")
        ordering = ["-at", "-id"]

    def __str__(self):
        return f"{self.user or self.department} · {self.field}"
