"""API routes of the sales app: pipelines, stages, lost reasons and opportunities (see
docs/sales-plan.md)."""

from rest_framework.routers import SimpleRouter

from . import opportunity_api, pipeline_api

router = SimpleRouter(use_regex_path=False)
router.register(
    "sales/opportunities", opportunity_api.OpportunityViewSet, basename="api-sales-opportunity"
)
router.register("sales/pipelines", pipeline_api.PipelineViewSet, basename="api-sales-pipeline")
router.register(
    "sales/lost-reasons", pipeline_api.LostReasonViewSet, basename="api-sales-lost-reason"
)

urlpatterns = [*router.urls]
