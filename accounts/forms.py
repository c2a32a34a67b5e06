from django import forms
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from portal import text as text_rules

from .models import User
from .validators import clean_credit_code, clean_mobile, clean_resident_id


class LoginForm(AuthenticationForm):
    """Django's login form; repeated failures are counted and locked by django-axes."""


class RegistrationForm(UserCreationForm):
    """Real-name registration; a business user also names the enterprise they act for.

    A valid form opens nothing yet: a code sent by SMS completes it (accounts.services), so
    that what the form says of an ID number is the same whoever holds it.
    """

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
        return clean_resident_id(self.cleaned_data["id_number"])

    def clean_mobile(self):
        return clean_mobile(self.cleaned_data["mobile"])

    def validate_unique(self):
        # The ID number is not checked against other accounts here: whatever it matches, the
        # answer must be the same (see accounts.services.start_registration).
        pass

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
            data["credit_code"] = data["enterprise_name"] = ""
        return data

    def registration_data(self) -> dict:
        """What completing the registration needs; the password only as its hash."""
        data = self.cleaned_data
        return {
            "username": data["username"],
            "password_hash": make_password(data["password1"]),
            "real_name": data["real_name"],
            "id_number": data["id_number"],
            "mobile": data["mobile"],
            "email": data.get("email") or "",
            "credit_code": data.get("credit_code") or "",
            "enterprise_name": (data.get("enterprise_name") or "").strip(),
        }


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("短信验证码"),
        max_length=6,
        min_length=6,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )


class MandateRequestForm(forms.Form):
    credit_code = forms.CharField(label=_("企业统一社会信用代码"), max_length=18)
    enterprise_name = forms.CharField(label=_("企业名称"), max_length=100)

    def clean_credit_code(self):
        return clean_credit_code(self.cleaned_data["credit_code"])
