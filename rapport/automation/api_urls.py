from django.urls import path
from rest_framework.routers import SimpleRouter

from . import api, approval_api, webhooks

router = SimpleRouter(use_regex_path=False)
router.register("automation/rules", api.RuleViewSet, basename="api-automation-rule")
router.register("automation/runs", api.RuleRunViewSet, basename="api-automation-run")
router.register(
    "automation/approval-processes",
    approval_api.ApprovalProcessViewSet,
    basename="api-approval-process",
)
router.register(
    "automation/approvals", approval_api.ApprovalRequestViewSet, basename="api-approval"
)
router.register(
    "automation/approval-tasks", approval_api.ApprovalTaskViewSet, basename="api-approval-task"
)
router.register(
    "automation/approval-delegations",
    approval_api.ApprovalDelegationViewSet,
    basename="api-approval-delegation",
)

urlpatterns = [
    *router.urls,
    path("automation/hooks/<str:token>/", webhooks.HookView.as_view(), name="api-automation-hook"),
]
