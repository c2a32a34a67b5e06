from django import forms
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from portal import text as text_rules

from .lockout import locked
from .models import Enterprise, User
from .validators import clean_credit_code, clean_mobile, clean_resident_id


class LoginForm(AuthenticationForm):
    """Django's login form, saying plainly when an account is locked."""

    def clean(self):
        username = self.cleaned_data.get("username")
        user = User.objects.filter(username=username).first() if username else None
        if user is not None and locked(user):
            minutes = max(1, int((user.locked_until - timezone.now()).total_seconds() // 60) + 1)
            raise ValidationError(
                ngettext(
                    "连续多次登录失败，账户已暂时锁定，请 %(m)d 分钟后再试。",
                    "连续多次登录失败，账户已暂时锁定，请 %(m)d 分钟后再试。",
                    minutes,
                )
                % {"m": minutes},
                code="locked",
            )
        return super().clean()


class RegistrationForm(UserCreationForm):
    """Real-name registration; a business user also names the enterprise they act for."""

    real_name = forms.CharField(label=_("真实姓名"), max_length=64)
    id_number = forms.CharField(label=_("居民身份证号码"), max_length=18)
    mobile = forms.CharField(label=_("手机号码"), max_length=20)
    email = forms.EmailField(label=_("电子邮箱（选填）"), required=False)
    account_type = forms.ChoiceField(
        label=_("办事身份"),
        choices=[("individual", _("个人")), ("enterprise", _("企业经办人"))],
        widget=forms.RadioSelect,
        initial="individual",
    )
    credit_code = forms.CharField(label=_("企业统一社会信用代码"), max_length=18, required=False)
    enterprise_name = forms.CharField(label=_("企业名称"), max_length=100, required=False)

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ["username", "real_name", "id_number", "mobile", "email"]

    def clean_real_name(self):
        try:
            name = text_rules.check(self.cleaned_data["real_name"])
        except ValidationError as exc:
            raise ValidationError(exc.messages) from None
        if text_rules.is_blank(name):
            raise ValidationError(_("请填写真实姓名。"), code="required")
        return name

    def clean_id_number(self):
        value = clean_resident_id(self.cleaned_data["id_number"])
        existing = User.objects.filter(id_number=value).first()
        if existing is not None and existing.has_usable_password():
            raise ValidationError(_("该身份证号码已注册，请直接登录。"))
        return value

    def clean_mobile(self):
        return clean_mobile(self.cleaned_data["mobile"])

    def clean(self):
        data = super().clean()
        if data.get("account_type") == "enterprise":
            code = data.get("credit_code", "")
            if not code:
                self.add_error("credit_code", _("企业经办人须填写统一社会信用代码。"))
            else:
                try:
                    data["credit_code"] = clean_credit_code(code)
                except ValidationError as exc:
                    self.add_error("credit_code", exc)
            name = data.get("enterprise_name", "")
            if text_rules.is_blank(name):
                self.add_error("enterprise_name", _("请填写企业名称。"))
            else:
                try:
                    data["enterprise_name"] = text_rules.check(name)
                except ValidationError as exc:
                    self.add_error("enterprise_name", exc.messages)
        # A citizen served at a window has an account without a password: registering online
        # with the same name and number takes it over, with its applications.
        existing = User.objects.filter(id_number=data.get("id_number") or "-").first()
        if existing is not None:
            if existing.real_name != data.get("real_name"):
                self.add_error("real_name", _("姓名与该身份证号码在窗口登记的姓名不一致。"))
            if existing.mobile and existing.mobile != data.get("mobile"):
                self.add_error("mobile", _("手机号码与在窗口登记的号码不一致。"))
            self.instance = existing
        return data

    def save(self, commit=True):
        user = super().save(commit=commit)
        if commit and self.cleaned_data.get("account_type") == "enterprise":
            enterprise, _created = Enterprise.objects.get_or_create(
                credit_code=self.cleaned_data["credit_code"],
                defaults={"name": self.cleaned_data["enterprise_name"]},
            )
            user.enterprises.add(enterprise)
        return user
