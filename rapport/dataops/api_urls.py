from django.urls import path
from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter(use_regex_path=False)
router.register("duplicates/pairs", api.DuplicatePairViewSet, basename="api-duplicate-pair")
router.register("imports", api.ImportViewSet, basename="api-import")

urlpatterns = [
    path("duplicates/check/", api.DuplicateCheckView.as_view(), name="api-duplicate-check"),
    path("duplicates/scan/", api.ScanView.as_view(), name="api-duplicate-scan"),
    path("exports/", api.ExportView.as_view(), name="api-export"),
    path(
        "exports/<int:pk>/download/", api.ExportDownloadView.as_view(), name="api-export-download"
    ),
    *router.urls,
]
