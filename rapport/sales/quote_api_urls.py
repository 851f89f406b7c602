"""API routes of the sales app: quotes and the sales settings (see docs/sales-plan.md)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from . import quote_api, settings_api

router = SimpleRouter(use_regex_path=False)
router.register("sales/quotes", quote_api.QuoteViewSet, basename="api-sales-quote")

urlpatterns = [
    *router.urls,
    path(
        "sales/settings/",
        settings_api.SalesSettingsViewSet.as_view({"get": "retrieve", "patch": "partial_update"}),
        name="api-sales-settings",
    ),
]
