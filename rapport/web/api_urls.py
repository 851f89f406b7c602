from django.urls import path
from rest_framework.routers import SimpleRouter

from . import api, notification_api

router = SimpleRouter(use_regex_path=False)
router.register("jobs", api.JobViewSet, basename="api-job")
router.register(
    "me/notifications", notification_api.MyNotificationViewSet, basename="api-my-notification"
)

urlpatterns = [
    path("search/", api.SearchView.as_view(), name="api-search"),
    *router.urls,
]
