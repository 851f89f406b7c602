"""API routes of the sales app: leads, lead pools and assignment rules (see
docs/sales-plan.md)."""

from rest_framework.routers import SimpleRouter

from . import lead_api

router = SimpleRouter(use_regex_path=False)
router.register("sales/leads", lead_api.LeadViewSet, basename="api-sales-lead")
router.register("sales/lead-pools", lead_api.LeadPoolViewSet, basename="api-sales-lead-pool")
router.register("sales/lead-rules", lead_api.LeadRuleViewSet, basename="api-sales-lead-rule")

urlpatterns = [*router.urls]
