from django.urls import path
from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter(use_regex_path=False)
router.register("jobs", api.JobViewSet, basename="api-job")

urlpatterns = [
    path("search/", api.SearchView.as_view(), name="api-search"),
    *router.urls,
]
