"""Two-factor sign-in (TOTP, django-otp): always for administrators, and for members of staff
who turn it on. A password alone then opens nothing but the second-factor pages."""

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django_otp import user_has_device
from django_otp.plugins.otp_totp.models import TOTPDevice

SESSION_KEY = "second_factor_required"
#: Pages a signed-in person reaches before the second factor: the factor itself, leaving.
OPEN_URL_NAMES = ("second-factor", "second-factor-setup", "logout", "set_language")


def required(user) -> bool:
    """Whether ``user`` must give a one-time code as well as the password."""
    return user.is_superuser or user_has_device(user, confirmed=True)


def may_enable(user) -> bool:
    """Staff may turn the second factor on for themselves (administrators always have it)."""
    return user.is_superuser or user.is_staff or user.is_department_staff


@receiver(user_logged_in)
def remember_requirement(sender, request, user, **kwargs):
    # Decided once per login, so the middleware asks nothing of the database per request.
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_KEY] = required(user)


class SecondFactorMiddleware:
    """Send a signed-in person who owes a second factor to give it (or to set one up)."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.open_paths = None

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and request.session.get(SESSION_KEY)
            and not user.is_verified()
            and not self._open(request.path)
        ):
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": _("请先完成两步验证。")}, status=403)
            return redirect(f"{reverse('second-factor')}?{urlencode({'next': request.path})}")
        return self.get_response(request)

    def _open(self, path: str) -> bool:
        if self.open_paths is None:
            self.open_paths = tuple(reverse(name) for name in OPEN_URL_NAMES)
        return path.startswith(self.open_paths) or path.startswith("/static/")


def unconfirmed_device(user) -> TOTPDevice:
    """The device being set up (one per account), made on first use."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=_("身份验证器"), confirmed=False)
    return device


def confirmed_device(user) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


def check_token(user, token: str) -> TOTPDevice | None:
    """The confirmed device that accepts ``token`` (a token is accepted once only)."""
    token = (token or "").strip()
    if not token.isascii() or not token.isdigit() or len(token) != 6:
        return None
    device = confirmed_device(user)
    if device is None:
        return None
    allowed, _why = device.verify_is_allowed()
    return device if allowed and device.verify_token(token) else None
