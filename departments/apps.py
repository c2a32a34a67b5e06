from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DepartmentsConfig(AppConfig):
    name = "departments"
    verbose_name = _("部门")

    def ready(self):
        # Importing these registers the built-in connectors and the system checks.
        from . import checks, connectors  # noqa: F401
