from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from accounts.api import RegisterView, TokenView
from accounts.views import PortalLoginView, register
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
    path("auth/token/", TokenView.as_view(), name="api-token"),
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
    path("accounts/register/", register, name="register"),
    path("accounts/login/", PortalLoginView.as_view(), name="login"),
    path("healthz", healthz, name="healthz"),
    path("api/v1/", include((api, "api"))),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]
