"""What window staff need beside the sub-tasks: reasons to choose from when refusing."""

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
