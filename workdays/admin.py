"""Where administrators enter a year's holidays and adjusted working days (调休)."""

from django.contrib import admin, messages
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from . import calendar
from .models import CalendarDay, CalendarYear


class CalendarDayInline(admin.TabularInline):
    """The days that differ from their weekday; every other day follows the Mon–Fri rule."""

    model = CalendarDay
    fields = ["date", "kind", "name"]
    extra = 3


@admin.register(CalendarYear)
class CalendarYearAdmin(admin.ModelAdmin):
    list_display = ["year", "source", "day_count", "package_status"]
    readonly_fields = ["package_status"]
    fields = ["year", "source", "package_status"]
    inlines = [CalendarDayInline]
    search_fields = ["year", "source"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(day_count=Count("days"))

    @admin.display(description=_("列明的天数"), ordering="day_count")
    def day_count(self, obj):
        return obj.day_count

    @admin.display(description=_("chinese-calendar 是否包含该年"))
    def package_status(self, obj):
        # Tells the administrator whether this entry overrides the package or fills a gap.
        if obj is None or obj.year is None:
            return "-"
        if calendar.package_knows(obj.year):
            return gettext("已包含（此处录入的安排优先）")
        return gettext("未包含（以此处录入的安排为准）")

    def changelist_view(self, request, extra_context=None):
        self._warn_about_missing_years(request)
        return super().changelist_view(request, extra_context)

    def _warn_about_missing_years(self, request):
        """Say which of this year and next has no calendar: deadlines there cannot be set."""
        this_year = timezone.localdate().year
        for year in (this_year, this_year + 1):
            if calendar.calendar_status(year) == "missing":
                messages.warning(
                    request,
                    gettext("%(year)s年的节假日安排尚未录入，截止日期落在该年的事项无法计算期限。")
                    % {"year": year},
                )
