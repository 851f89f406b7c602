from rest_framework.routers import SimpleRouter

from . import calendar_api

router = SimpleRouter(use_regex_path=False)
router.register(
    "service/calendars", calendar_api.BusinessCalendarViewSet, basename="api-service-calendar"
)

urlpatterns = [*router.urls]
