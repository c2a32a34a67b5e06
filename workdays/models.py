"""Holidays and adjusted working days that administrators enter themselves.

The State Council publishes each year's schedule only in the autumn before it, and the
``chinese-calendar`` package can lag behind. A year entered here is complete: its weekends
are days off and its weekdays working days, except for the days listed.
"""

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _


class CalendarYear(models.Model):
    year = models.PositiveSmallIntegerField(_("年份"), unique=True)
    source = models.CharField(
        _("依据"), max_length=200, help_text=_("如：国务院办公厅关于2027年部分节假日安排的通知")
    )

    class Meta:
        verbose_name = _("年度节假日安排")
        verbose_name_plural = _("年度节假日安排")
        ordering = ["-year"]

    def __str__(self):
        return str(self.year)


class CalendarDay(models.Model):
    """A day that is not what its weekday says: a holiday, or a working weekend day (调休)."""

    class Kind(models.TextChoices):
        HOLIDAY = "holiday", _("放假")
        WORKDAY = "workday", _("调休上班")

    calendar = models.ForeignKey(CalendarYear, on_delete=models.CASCADE, related_name="days")
    date = models.DateField(_("日期"), unique=True)
    kind = models.CharField(_("类别"), max_length=8, choices=Kind.choices)
    name = models.CharField(_("节日"), max_length=32, blank=True)

    class Meta:
        verbose_name = _("节假日或调休日")
        verbose_name_plural = _("节假日与调休日")
        ordering = ["date"]

    def __str__(self):
        return f"{self.date} {self.get_kind_display()} {self.name}"

    def clean(self):
        """A day belongs to the year it is listed under: lookups go by the date's year."""
        try:
            calendar = self.calendar
        except CalendarYear.DoesNotExist:
            return  # reported as a missing field by field validation
        if self.date and calendar.year and self.date.year != calendar.year:
            error = ValidationError(
                _("%(date)s不在%(year)s年内。"),
                code="wrong_year",
                params={"date": self.date.isoformat(), "year": calendar.year},
            )
            raise ValidationError({"date": error})
