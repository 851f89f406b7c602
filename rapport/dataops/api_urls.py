from django.urls import path
from rest_framework.routers import SimpleRouter

from . import api, privacy_api, quality_api

router = SimpleRouter(use_regex_path=False)
router.register("duplicates/pairs", api.DuplicatePairViewSet, basename="api-duplicate-pair")
router.register("imports", api.ImportViewSet, basename="api-import")
router.register(
    "privacy/requests", privacy_api.SubjectRequestViewSet, basename="api-subject-request"
)
router.register(
    "privacy/retention", privacy_api.RetentionPolicyViewSet, basename="api-retention-policy"
)
router.register("quality/scores", quality_api.ScoreViewSet, basename="api-quality-score")

urlpatterns = [
    path("quality/summary/", quality_api.SummaryView.as_view(), name="api-quality-summary"),
    path("quality/rules/", quality_api.RuleListView.as_view(), name="api-quality-rules"),
    path(
        "quality/rules/<str:object_type>/",
        quality_api.RuleDetailView.as_view(),
        name="api-quality-rule",
    ),
    path("quality/compute/", quality_api.ComputeView.as_view(), name="api-quality-compute"),
    path("duplicates/check/", api.DuplicateCheckView.as_view(), name="api-duplicate-check"),
    path("duplicates/scan/", api.ScanView.as_view(), name="api-duplicate-scan"),
    path("exports/", api.ExportView.as_view(), name="api-export"),
    path(
        "exports/<int:pk>/download/", api.ExportDownloadView.as_view(), name="api-export-download"
    ),
    *router.urls,
]
