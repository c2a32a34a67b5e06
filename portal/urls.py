from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from accounts.api import RegisterView, TokenView
from applications.api import ApplicationViewSet, SubTaskViewSet
from applications.views import application_detail, apply
from bundles.api import BundleViewSet
from bundles.views import bundle_detail, home
from departments.api import CallbackView

from .health import healthz

router = DefaultRouter()
router.register("bundles", BundleViewSet, basename="bundle")
router.register("applications", ApplicationViewSet, basename="application")
router.register("subtasks", SubTaskViewSet, basename="subtask")

api = [
    path("auth/register/", RegisterView.as_view(), name="register"),
    path("auth/token/", TokenView.as_view(), name="token"),
    path("departments/<slug:code>/callbacks/", CallbackView.as_view(), name="department-callback"),
    path("", include(router.urls)),
]

urlpatterns = [
    path("", home, name="home"),
    path("bundles/<slug:code>/", bundle_detail, name="bundle-page"),
    path("bundles/<slug:code>/apply/", apply, name="apply"),
    path("applications/<int:pk>/", application_detail, name="application-page"),
    path("healthz", healthz, name="healthz"),
    path("api/v1/", include(api)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]
