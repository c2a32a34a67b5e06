"""Dashboard figures computed ahead, so that a supervisor's page does not wait for a GROUP BY
over years of history."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class DashboardSnapshot(models.Model):
    """The figures of one period for one scope (the centre, or a set of departments)."""

    key = models.CharField(max_length=200, unique=True)
    computed_at = models.DateTimeField(_("统计时间"))
    data = models.JSONField()

    class Meta:
        verbose_name = _("统计快照")
        verbose_name_plural = _("统计快照")

    def __str__(self):
        return self.key
