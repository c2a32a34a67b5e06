"""Account pages: registration with an SMS code, login with django-axes and the second
factor, the account page with its enterprises and mandates, the development outbox."""

import base64
import json

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django_otp import login as otp_login

from notifications.senders import outbox
from portal.throttling import rate_limited
from privacy.policy import mask

from . import second_factor, services
from .forms import CodeForm, LoginForm, MandateRequestForm, RegistrationForm
from .models import Mandate

VERIFICATION_SESSION_KEY = "registration_verification"


def _safe_next(request, target: str, default: str = "home") -> str:
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}):
        return target
    return reverse(default)


@rate_limited("register")
def register(request):
    """Step one: the details; a code goes by SMS (the same answer whatever they match)."""
    form = RegistrationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        verification, sent = services.start_registration(form.registration_data())
        request.session[VERIFICATION_SESSION_KEY] = str(verification.pk)
        request.session["registration_next"] = request.POST.get("next", "")
        messages.info(request, sent)
        return redirect("register-verify")
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "registration/register.html",
        {"form": form, "next": request.GET.get("next", "")},
        status=status,
    )


@rate_limited("register")
def register_verify(request):
    """Step two: the code from the SMS opens the account (or takes a window account over)."""
    verification_id = request.session.get(VERIFICATION_SESSION_KEY)
    if not verification_id:
        return redirect("register")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.complete_registration(verification_id, form.cleaned_data["code"])
        except services.AccountRefused as exc:
            for field, problems in exc.errors.items():
                for problem in problems:
                    form.add_error("code" if field == "code" else None, problem)
        else:
            target = request.session.pop("registration_next", "")
            request.session.pop(VERIFICATION_SESSION_KEY, None)
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, _("注册成功。"))
            return redirect(_safe_next(request, target))
    return render(
        request,
        "registration/register_verify.html",
        {"form": form},
        status=400 if form.errors else 200,
    )


class PortalLoginView(LoginView):
    """Django's login (failures counted by django-axes); staff land on their worklist, and
    whoever owes a second factor gives it next."""

    authentication_form = LoginForm

    def get_default_redirect_url(self):
        user = self.request.user
        if user.is_department_staff or user.is_superuser:
            return reverse("staff-worklist")
        return super().get_default_redirect_url()


login_view = rate_limited("login")(PortalLoginView.as_view())


def locked_out(request, original_response=None, credentials=None, *args, **kwargs):
    """Too many failed logins for this account from this address: the same answer whether or
    not the account exists."""
    minutes = settings.LOGIN_LOCK_MINUTES
    message = _("登录失败次数过多，请 %(m)d 分钟后再试，或找回密码。") % {"m": minutes}
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message}, status=429)
    return render(request, "too_many.html", {"message": message}, status=429)


@login_required
def second_factor_verify(request):
    """The one-time code of the authenticator app, after the password."""
    target = _safe_next(request, request.GET.get("next") or request.POST.get("next", ""))
    if request.user.is_verified():
        return redirect(target)
    if second_factor.confirmed_device(request.user) is None:
        return redirect(f"{reverse('second-factor-setup')}?next={target}")
    error = ""
    if request.method == "POST":
        device = second_factor.check_token(request.user, request.POST.get("token", ""))
        if device is not None:
            otp_login(request, device)
            return redirect(target)
        error = _("验证码不正确，或尝试过于频繁，请稍后再试。")
    return render(
        request,
        "registration/second_factor.html",
        {"error": error, "next": target},
        status=400 if error else 200,
    )


@login_required
def second_factor_setup(request):
    """Set up an authenticator app: scan the code, then give one code to confirm."""
    if not second_factor.may_enable(request.user):
        raise Http404
    if second_factor.confirmed_device(request.user) is not None:
        # One authenticator per account: another is set up only after turning this one off,
        # which takes its current code — a session left open cannot enrol a stranger's app.
        if not request.user.is_verified():
            return redirect("second-factor")
        messages.info(request, _("两步验证已开启；如需更换身份验证器，请先用当前验证码关闭。"))
        return redirect("account")
    device = second_factor.unconfirmed_device(request.user)
    target = _safe_next(request, request.GET.get("next") or request.POST.get("next", ""), "account")
    error = ""
    if request.method == "POST":
        token = request.POST.get("token", "").strip()
        if token.isascii() and token.isdigit() and device.verify_token(token):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            otp_login(request, device)
            request.session[second_factor.SESSION_KEY] = True
            messages.success(request, _("两步验证已开启。"))
            return redirect(target)
        error = _("验证码不正确，请查看身份验证器上当前的6位数字。")
    # Inline SVG markup: a picture with no script, style or data: address for the CSP to allow.
    picture = segno.make(device.config_url, error="m").svg_inline(scale=4, border=2)
    return render(
        request,
        "registration/second_factor_setup.html",
        {
            "secret": base64.b32encode(device.bin_key).decode(),
            "qr": mark_safe(picture),  # noqa: S308  (segno's own markup, no user text)
            "error": error,
            "next": target,
        },
        status=400 if error else 200,
    )


@login_required
@require_POST
def second_factor_disable(request):
    """Staff may turn the second factor off again with a current code; admins may not."""
    if request.user.is_superuser:
        raise Http404
    if second_factor.check_token(request.user, request.POST.get("token", "")) is None:
        messages.error(request, _("验证码不正确，两步验证仍然开启。"))
    else:
        from django_otp.plugins.otp_totp.models import TOTPDevice

        TOTPDevice.objects.filter(user=request.user).delete()
        request.session[second_factor.SESSION_KEY] = False
        messages.success(request, _("两步验证已关闭。"))
    return redirect("account")


@login_required
def account(request):
    """My account: my details (masked), my enterprises and their mandates, agents waiting for
    me as an enterprise's legal representative, and sign-in security."""
    user = request.user
    form = MandateRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            mandate = services.request_mandate(
                user, form.cleaned_data["credit_code"], form.cleaned_data["enterprise_name"]
            )
        except services.AccountRefused as exc:
            for field, problems in exc.errors.items():
                for problem in problems:
                    form.add_error(field if field in form.fields else None, problem)
        else:
            if mandate.status == Mandate.Status.VERIFIED:
                messages.success(request, _("已确认您是该企业登记的法定代表人，可以企业名义办事。"))
            else:
                messages.info(request, PENDING_HINT)
            return redirect("account")
    return render(
        request,
        "registration/account.html",
        {
            "id_number": mask(user.id_number) if user.id_number else "",
            "mobile": mask(user.mobile) if user.mobile else "",
            "mandates": user.mandates.select_related("enterprise"),
            "awaiting": services.awaiting_legal_rep(user),
            "form": form,
            "may_enable_2fa": second_factor.may_enable(user),
            "has_2fa": second_factor.confirmed_device(user) is not None,
            "pending_hint": PENDING_HINT,
        },
        status=400 if form.errors else 200,
    )


#: Lazy: made once at import, said in the language of each request.
PENDING_HINT = gettext_lazy(
    "经办关系待确认：请企业登记的法定代表人登录本平台在“我的账户”中确认，或携营业执照原件和"
    "授权委托书到市场监管窗口核验。确认前不能以企业名义办事。"
)


@login_required
@require_POST
def answer_mandate(request, pk):
    """The legal representative confirms or refuses an agent."""
    accept = request.POST.get("answer") == "accept"
    return _on_mandate(
        request,
        lambda: services.answer_as_legal_rep(
            pk, request.user, accept, request.POST.get("note", "")
        ),
        _("已确认。") if accept else _("已拒绝。"),
    )


@login_required
@require_POST
def revoke_mandate(request, pk):
    return _on_mandate(request, lambda: services.revoke(pk, request.user), _("授权已撤销。"))


def _on_mandate(request, act, done: str):
    """Do ``act`` on a mandate of the account page; say how it went there."""
    try:
        act()
    except Mandate.DoesNotExist:
        raise Http404 from None
    except services.AccountRefused as exc:
        for problem in exc.messages:
            messages.error(request, problem)
    else:
        messages.success(request, done)
    return redirect("account")


def dev_outbox(request):
    """Development only (DEBUG): the SMS and e-mails the development senders 'sent'."""
    if not settings.DEBUG:
        raise Http404
    entries = [json.loads(line) for line in outbox.tail(50)]
    return render(request, "registration/dev_outbox.html", {"entries": entries})
