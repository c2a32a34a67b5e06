"""Departments that take part in bundles, and how each handles its part."""

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from . import connectors


class Department(models.Model):
    code = models.SlugField(_("部门代码"), max_length=32, unique=True)
    name = models.CharField(_("部门名称"), max_length=100)
    handling = models.CharField(
        _("办理方式"), max_length=32, choices=connectors.choices, default="manual"
    )
    base_url = models.URLField(
        _("业务系统地址"), blank=True, help_text=_("部门业务系统的根地址，仅系统对接方式需要。")
    )
    shared_secret = models.CharField(
        _("共享密钥"),
        max_length=128,
        blank=True,
        help_text=_("本部门独有，双方用于 HMAC-SHA256 签名。"),
    )
    previous_secret = models.CharField(
        _("上一个共享密钥"),
        max_length=128,
        blank=True,
        help_text=_(
            "更换密钥期间填写旧密钥：新旧两个密钥都被接受，发出的请求同时带两个签名。"
            "部门业务系统改用新密钥后清空此项。"
        ),
    )

    class Meta:
        verbose_name = _("部门")
        verbose_name_plural = _("部门")
        ordering = ["code"]

    def __str__(self):
        return self.name

    def clean(self):
        try:
            connector = connectors.get(self.handling)
        except LookupError as exc:
            raise ValidationError({"handling": str(exc)}) from None
        missing = {
            name: ValidationError(_("此办理方式必须填写该项。"), code="required")
            for name in connector.required_settings
            if not getattr(self, name)
        }
        if missing:
            raise ValidationError(missing)

    @property
    def connector(self) -> connectors.Connector:
        return connectors.get(self.handling)

    @property
    def signing_secrets(self) -> tuple[str, ...]:
        """The secrets in force: the current one, and the previous one during a rotation."""
        return tuple(secret for secret in (self.shared_secret, self.previous_secret) if secret)


class ServiceHall(models.Model):
    """A service hall (政务服务大厅) where window staff work and applicants pick up results."""

    code = models.SlugField(_("大厅代码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    address = models.CharField(_("地址"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("政务服务大厅")
        verbose_name_plural = _("政务服务大厅")
        ordering = ["code"]

    def __str__(self):
        return self.name


class CallbackReceipt(models.Model):
    """A department callback we have already taken, so that a replay is refused."""

    department = models.ForeignKey(Department, on_delete=models.CASCADE)
    event_id = models.CharField(max_length=64)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["department", "event_id"], name="unique_callback_event")
        ]

    def __str__(self):
        return self.event_id
