from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkdaysConfig(AppConfig):
    name = "workdays"
    verbose_name = _("工作日历")

    def ready(self):
        """Keep the in-memory working-day cache in step with what administrators enter."""
        from . import calendar

        calendar.connect_signals()
