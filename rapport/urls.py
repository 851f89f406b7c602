from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from rapport.core import views as core_views

api_v1 = [
    path("", include("rapport.identity.api_urls")),
    path("", include("rapport.audit.api_urls")),
    path("", include("rapport.customers.api_urls")),
    path("", include("rapport.service.api_urls")),
    path("", include("rapport.sales.api_urls")),
    path("", include("rapport.automation.api_urls")),
    path("", include("rapport.dataops.api_urls")),
    path("", include("rapport.web.api_urls")),
]

urlpatterns = [
    path("healthz", core_views.healthz, name="healthz"),
    path("readyz", core_views.readyz, name="readyz"),
    path("accounts/", include("allauth.urls")),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("rapport.identity.urls")),
    path("", include("rapport.audit.urls")),
    path("", include("rapport.customers.urls")),
    path("", include("rapport.service.urls")),
    path("", include("rapport.service.help_urls")),  # public help pages, no sign-in
    path("", include("rapport.sales.urls")),
    path("", include("rapport.automation.urls")),
    path("", include("rapport.automation.approval_urls")),
    path("", include("rapport.dataops.urls")),
    path("", include("rapport.web.urls")),
]

handler404 = "rapport.core.views.not_found"
