"""What window staff need beside the sub-tasks: reasons to choose from, and a record of who
looked at whose full ID number."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class RejectionReason(models.Model):
    """A reason a clerk picks when refusing a part (不予办理), with free text added."""

    department = models.ForeignKey(
        "departments.Department",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        help_text=_("空表示所有部门通用。"),
    )
    text = models.CharField(_("理由"), max_length=100)
    position = models.PositiveSmallIntegerField(_("排序"), default=0)

    class Meta:
        verbose_name = _("不予办理理由")
        verbose_name_plural = _("不予办理理由")
        ordering = ["position", "id"]

    def __str__(self):
        return self.text


class DisclosureLog(models.Model):
    """One showing of an unmasked personal identifier to a member of staff."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    subtask = models.ForeignKey("applications.SubTask", on_delete=models.CASCADE)
    field = models.CharField(_("字段"), max_length=64)
    at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("敏感信息查看记录")
        verbose_name_plural = _("敏感信息查看记录")
        ordering = ["-at"]

    def __str__(self):
        return f"{self.user} · {self.field}"
