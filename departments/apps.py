from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DepartmentsConfig(AppConfig):
    name = "departments"
    verbose_name = _("部门")

    def ready(self):
        # Importing the package registers the built-in connectors.
        from . import connectors  # noqa: F401
