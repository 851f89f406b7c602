from django.urls import path
from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter(use_regex_path=False)
router.register("audit/events", api.AuditEventViewSet, basename="api-audit-event")
router.register("audit/alerts", api.AlertViewSet, basename="api-audit-alert")
router.register("audit/rules", api.BehaviourRuleViewSet, basename="api-audit-rule")

urlpatterns = [
    path("audit/verify/", api.VerifyView.as_view(), name="api-audit-verify"),
    *router.urls,
]
