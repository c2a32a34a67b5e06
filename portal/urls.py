from django.contrib import admin
from django.shortcuts import redirect
from django.urls import include, path, reverse
from django.utils.http import urlencode
from django_otp.admin import OTPAdminSite
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from accounts import views as account_views
from accounts.api import LogoutAllView, LogoutView, RegisterVerifyView, RegisterView, TokenView
from applications import views as application_views
from applications import wizard
from applications.api import ApplicationViewSet, SubTaskViewSet
from bundles.api import BundleViewSet
from bundles.views import bundle_detail, home
from departments.api import CallbackView
from feedback import views as feedback_views
from notifications.views import inbox
from supervision import views as supervision_views
from workbench import views as workbench_views

from .health import healthz
from .ids import IdConverter  # noqa: F401  (registers the <id:…> converter)


class PortalAdminSite(OTPAdminSite):
    """The admin asks for the second factor too (django-otp); one signs in through the portal's
    own login, where failures are counted and the second factor is set up or given."""

    def login(self, request, extra_context=None):
        target = request.GET.get("next") or reverse("admin:index", current_app=self.name)
        return redirect(f"{reverse('login')}?{urlencode({'next': target})}")


admin.site.__class__ = PortalAdminSite

# Routes with path converters: ids and codes as the site's own pages take them (portal.ids).
# No ".json" suffix routes: the API speaks JSON only, and its views take no `format`
# argument (a suffix was a 500).
router = DefaultRouter(use_regex_path=False)
router.include_format_suffixes = False
router.register("bundles", BundleViewSet, basename="bundle")
router.register("applications", ApplicationViewSet, basename="application")
router.register("subtasks", SubTaskViewSet, basename="subtask")

api = [
    path("auth/register/", RegisterView.as_view(), name="api-register"),
    path("auth/register/verify/", RegisterVerifyView.as_view(), name="api-register-verify"),
    path("auth/token/", TokenView.as_view(), name="api-token"),
    path("auth/logout/", LogoutView.as_view(), name="api-logout"),
    path("auth/logout-all/", LogoutAllView.as_view(), name="api-logout-all"),
    path("departments/<slug:code>/callbacks/", CallbackView.as_view(), name="department-callback"),
    path("", include(router.urls)),
]

staff = [
    path("", workbench_views.worklist, name="staff-worklist"),
    path("subtasks/<id:pk>/", workbench_views.subtask_detail, name="staff-subtask"),
    path("subtasks/<id:pk>/claim/", workbench_views.claim, name="staff-claim"),
    path("subtasks/<id:pk>/reveal/", workbench_views.reveal, name="staff-reveal"),
    path("subtasks/<id:pk>/retry/", workbench_views.retry, name="staff-retry"),
    path("subtasks/<id:pk>/tracking/", workbench_views.tracking, name="staff-tracking"),
    path(
        "subtasks/<id:pk>/manual/",
        workbench_views.retry,
        {"manual": True},
        name="staff-manual",
    ),
    path("subtasks/<id:pk>/<slug:action>/", workbench_views.act, name="staff-act"),
    path("applications/<id:pk>/receipt/", workbench_views.receipt, name="staff-receipt"),
    path("applications/<id:pk>/notice/", workbench_views.notice, name="staff-notice"),
    path("mandates/", workbench_views.mandates, name="staff-mandates"),
    path("mandates/<id:pk>/decide/", workbench_views.mandate_decide, name="staff-mandate-decide"),
    path("walk-in/", workbench_views.walk_in, name="staff-walk-in"),
    path("walk-in/<slug:code>/", workbench_views.walk_in, name="staff-walk-in-bundle"),
    path("walk-in/done/<id:pk>/", workbench_views.walk_in_done, name="staff-walk-in-done"),
    path("follow-ups/", supervision_views.follow_ups, name="staff-follow-ups"),
    path("follow-ups/<id:pk>/", supervision_views.follow_up, name="staff-follow-up"),
    path(
        "follow-ups/<id:pk>/answer/",
        supervision_views.answer,
        name="staff-follow-up-answer",
    ),
    path("dashboard/", supervision_views.dashboard, name="staff-dashboard"),
]

urlpatterns = [
    path("", home, name="home"),
    path("bundles/<slug:code>/", bundle_detail, name="bundle-page"),
    path("bundles/<slug:code>/apply/", wizard.start, name="apply"),
    path("applications/", application_views.my_applications, name="my-applications"),
    path("applications/<id:pk>/", application_views.application_detail, name="application-page"),
    path("applications/<id:pk>/steps/<slug:slug>/", wizard.step, name="application-step"),
    path(
        "applications/<id:pk>/supplement/",
        application_views.supplement,
        name="application-supplement",
    ),
    path("applications/<id:pk>/withdraw/", application_views.withdraw, name="application-withdraw"),
    path(
        "applications/<id:pk>/materials/",
        application_views.upload_pending,
        name="application-pending",
    ),
    path("applications/<id:pk>/receipt/", application_views.receipt, name="application-receipt"),
    path("applications/<id:pk>/rate/", feedback_views.rate, name="application-rate"),
    path(
        "applications/<id:pk>/certificates/<id:subtask_id>/",
        application_views.certificate,
        name="application-certificate",
    ),
    path("uploads/<id:pk>/", application_views.download_upload, name="upload-download"),
    path("messages/", inbox, name="inbox"),
    path("staff/", include(staff)),
    path("report/", feedback_views.report, name="report"),
    path("accounts/register/", account_views.register, name="register"),
    path("accounts/register/verify/", account_views.register_verify, name="register-verify"),
    path("accounts/login/", account_views.login_view, name="login"),
    path("accounts/second-factor/", account_views.second_factor_verify, name="second-factor"),
    path(
        "accounts/second-factor/setup/",
        account_views.second_factor_setup,
        name="second-factor-setup",
    ),
    path(
        "accounts/second-factor/disable/",
        account_views.second_factor_disable,
        name="second-factor-disable",
    ),
    path("accounts/me/", account_views.account, name="account"),
    path(
        "accounts/mandates/<id:pk>/answer/",
        account_views.answer_mandate,
        name="mandate-answer",
    ),
    path(
        "accounts/mandates/<id:pk>/revoke/",
        account_views.revoke_mandate,
        name="mandate-revoke",
    ),
    path("dev/outbox/", account_views.dev_outbox, name="dev-outbox"),
    path("healthz", healthz, name="healthz"),
    path("api/v1/", include((api, "api"))),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its start-up script from a URL instead of inline (see the CSP).
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="schema", template_name="api/swagger_ui.html"),
        name="swagger-ui",
    ),
    path("accounts/", include("django.contrib.auth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]
