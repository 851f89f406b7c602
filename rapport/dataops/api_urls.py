from django.urls import path

from . import api

urlpatterns = [
    path("duplicates/check/", api.DuplicateCheckView.as_view(), name="api-duplicate-check"),
]
