from django.urls import path

from . import views

app_name = "dataops"

urlpatterns = [
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
]
