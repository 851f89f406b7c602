from rest_framework.routers import SimpleRouter

from . import calendar_api, sla_api, ticket_api

router = SimpleRouter(use_regex_path=False)
router.register("service/tickets", ticket_api.TicketViewSet, basename="api-service-ticket")
router.register("service/sla-policies", sla_api.SlaPolicyViewSet, basename="api-service-sla-policy")
router.register(
    "service/calendars", calendar_api.BusinessCalendarViewSet, basename="api-service-calendar"
)

urlpatterns = [*router.urls]
