"""API routes of the sales app: targets, attainment and the forecast (docs/sales-plan.md)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from . import target_api

router = SimpleRouter(use_regex_path=False)
router.register("sales/targets", target_api.TargetViewSet, basename="api-sales-target")

urlpatterns = [
    *router.urls,
    path("sales/attainment/", target_api.AttainmentView.as_view(), name="api-sales-attainment"),
    path("sales/forecast/", target_api.ForecastView.as_view(), name="api-sales-forecast"),
    path(
        "sales/reports/pipeline/",
        target_api.PipelineReportView.as_view(),
        name="api-sales-pipeline-report",
    ),
]
