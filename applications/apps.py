from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApplicationsConfig(AppConfig):
    name = "applications"
    verbose_name = _("申请与办理")

    def ready(self):
        from . import heartbeat  # noqa: F401  (connects the worker signals)
