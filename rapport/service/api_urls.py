from rest_framework.routers import SimpleRouter

from . import (
    calendar_api,
    category_api,
    complaint_api,
    knowledge_api,
    queue_api,
    sla_api,
    survey_api,
    ticket_api,
)

router = SimpleRouter(use_regex_path=False)
router.register("service/tickets", ticket_api.TicketViewSet, basename="api-service-ticket")
router.register(
    "service/ticket-categories",
    category_api.TicketCategoryViewSet,
    basename="api-service-ticket-category",
)
router.register("service/sla-policies", sla_api.SlaPolicyViewSet, basename="api-service-sla-policy")
router.register(
    "service/calendars", calendar_api.BusinessCalendarViewSet, basename="api-service-calendar"
)
router.register("service/surveys", survey_api.SurveyViewSet, basename="api-service-survey")
router.register(
    "service/complaints", complaint_api.ComplaintViewSet, basename="api-service-complaint"
)
router.register(
    "service/complaint-causes",
    complaint_api.ComplaintCauseViewSet,
    basename="api-service-complaint-cause",
)
router.register("service/articles", knowledge_api.ArticleViewSet, basename="api-service-article")
router.register(
    "service/article-categories",
    knowledge_api.ArticleCategoryViewSet,
    basename="api-service-article-category",
)
router.register("service/queues", queue_api.QueueViewSet, basename="api-service-queue")
router.register("service/agents", queue_api.AgentViewSet, basename="api-service-agent")

urlpatterns = [*router.urls]
