from django.urls import path

from . import views

app_name = "dataops"

urlpatterns = [
    path("data/duplicates/", views.duplicate_list, name="duplicate_list"),
    path("data/duplicates/<int:pk>/dismiss/", views.duplicate_dismiss, name="duplicate_dismiss"),
    path("data/duplicates/scan/", views.scan_now, name="scan_now"),
]
