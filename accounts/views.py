from django.contrib.auth import login
from django.contrib.auth.views import LoginView
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from .forms import LoginForm, RegistrationForm


def register(request):
    form = RegistrationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="accounts.lockout.LockoutBackend")
        target = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(target, {request.get_host()}):
            target = "home"
        return redirect(target)
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "registration/register.html",
        {"form": form, "next": request.GET.get("next", "")},
        status=status,
    )


class PortalLoginView(LoginView):
    """Django's login, saying when an account is locked; staff land on their worklist."""

    authentication_form = LoginForm

    def get_default_redirect_url(self):
        user = self.request.user
        if user.is_department_staff or user.is_superuser:
            return reverse("staff-worklist")
        return super().get_default_redirect_url()
