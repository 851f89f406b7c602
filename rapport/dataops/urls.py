from django.urls import path

from . import privacy_views, quality_views, views

app_name = "dataops"

urlpatterns = [
    path("data/quality/", quality_views.quality_dashboard, name="quality_dashboard"),
    path("data/quality/compute/", quality_views.quality_compute, name="quality_compute"),
    path("data/quality/rules/", quality_views.quality_rules, name="quality_rules"),
    path("data/duplicates/", views.duplicate_list, name="duplicate_list"),
    path("data/duplicates/<int:pk>/dismiss/", views.duplicate_dismiss, name="duplicate_dismiss"),
    path("data/duplicates/scan/", views.scan_now, name="scan_now"),
    path("data/exports/", views.export_start, name="export_start"),
    path("data/exports/<int:pk>/", views.export_detail, name="export_detail"),
    path("data/exports/<int:pk>/download/", views.export_download, name="export_download"),
    path("data/backups/", views.backup_list, name="backup_list"),
    path("data/imports/", views.import_list, name="import_list"),
    path("data/imports/<int:pk>/", views.import_detail, name="import_detail"),
    path("data/imports/<int:pk>/start/", views.import_start, name="import_start"),
    path("data/imports/<int:pk>/failed-rows/", views.import_failed_rows, name="import_failed_rows"),
    path("data/imports/<int:pk>/rollback/", views.import_rollback, name="import_rollback"),
    path("data/privacy/requests/", privacy_views.request_list, name="privacy_request_list"),
    path("data/privacy/requests/new/", privacy_views.request_create, name="privacy_request_create"),
    path(
        "data/privacy/requests/<int:pk>/",
        privacy_views.request_detail,
        name="privacy_request_detail",
    ),
    path(
        "data/privacy/requests/<int:pk>/bundle/",
        privacy_views.bundle_download,
        name="privacy_bundle_download",
    ),
    path(
        "data/privacy/requests/<int:pk>/<slug:action>/",
        privacy_views.request_action,
        name="privacy_request_action",
    ),
    path("data/privacy/retention/", privacy_views.retention, name="privacy_retention"),
    path("data/privacy/retention/run/", privacy_views.retention_run, name="privacy_retention_run"),
]
