from django.utils.translation import gettext_lazy as _

from .base import Connector, register


@register("manual", _("窗口人工办理"))
class ManualConnector(Connector):
    """The sub-task waits in the department's queue; window staff report every step."""
