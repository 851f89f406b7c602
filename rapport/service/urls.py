from django.urls import path

from . import (
    calendar_views,
    category_views,
    complaint_views,
    knowledge_views,
    queue_views,
    sla_views,
    survey_views,
    ticket_views,
)

app_name = "service"

urlpatterns = [
    path("service/tickets/", ticket_views.ticket_list, name="ticket_list"),
    path("service/tickets/new/", ticket_views.ticket_create, name="ticket_create"),
    path("service/board/", ticket_views.ticket_board, name="ticket_board"),
    path("service/complaints/", complaint_views.complaint_report_page, name="complaint_report"),
    path(
        "service/satisfaction/",
        survey_views.satisfaction_dashboard,
        name="satisfaction_dashboard",
    ),
    # the customer's survey link: short, public, no login
    path("s/<str:token>/", survey_views.survey_answer, name="survey_answer"),
    path("service/tickets/<int:pk>/", ticket_views.ticket_detail, name="ticket_detail"),
    path("service/tickets/<int:pk>/edit/", ticket_views.ticket_edit, name="ticket_edit"),
    path("service/tickets/<int:pk>/messages/", ticket_views.ticket_message, name="ticket_message"),
    path("service/tickets/<int:pk>/status/", ticket_views.ticket_status, name="ticket_status"),
    path("service/tickets/<int:pk>/assign/", ticket_views.ticket_assign, name="ticket_assign"),
    path("service/tickets/<int:pk>/take/", ticket_views.ticket_take, name="ticket_take"),
    path("service/tickets/<int:pk>/merge/", ticket_views.ticket_merge, name="ticket_merge"),
    path("service/tickets/<int:pk>/split/", ticket_views.ticket_split, name="ticket_split"),
    path(
        "service/tickets/<int:pk>/complaint/",
        complaint_views.complaint_edit,
        name="complaint_edit",
    ),
    path(
        "service/ticket-files/<int:pk>/",
        ticket_views.ticket_attachment,
        name="ticket_attachment",
    ),
    path("service/availability/", queue_views.availability, name="availability"),
    path(
        "service/queues/<int:pk>/distribute/",
        queue_views.queue_distribute,
        name="queue_distribute",
    ),
    path("admin/service-queues/", queue_views.queue_list, name="queue_list"),
    path("admin/service-queues/<int:pk>/", queue_views.queue_edit, name="queue_edit"),
    path("admin/service-agents/<int:pk>/", queue_views.agent_edit, name="agent_edit"),
    path("admin/complaint-causes/", complaint_views.cause_list, name="complaint_cause_list"),
    path(
        "admin/complaint-causes/<int:pk>/",
        complaint_views.cause_edit,
        name="complaint_cause_edit",
    ),
    path(
        "admin/complaint-causes/<int:pk>/active/",
        complaint_views.cause_active,
        name="complaint_cause_active",
    ),
    path("admin/ticket-categories/", category_views.category_list, name="category_list"),
    path("admin/ticket-categories/<int:pk>/", category_views.category_edit, name="category_edit"),
    path(
        "admin/ticket-categories/<int:pk>/active/",
        category_views.category_active,
        name="category_active",
    ),
    # knowledge base
    path("service/kb/", knowledge_views.article_list, name="article_list"),
    path("service/kb/new/", knowledge_views.article_create, name="article_create"),
    path("service/kb/<int:pk>/", knowledge_views.article_detail, name="article_detail"),
    path("service/kb/<int:pk>/edit/", knowledge_views.article_edit, name="article_edit"),
    path("service/kb/<int:pk>/vote/", knowledge_views.article_vote, name="article_vote"),
    path("service/kb/<int:pk>/<slug:step>/", knowledge_views.article_step, name="article_step"),
    path(
        "service/tickets/<int:pk>/suggestions/",
        knowledge_views.ticket_suggestions,
        name="ticket_suggestions",
    ),
    path(
        "admin/article-categories/",
        knowledge_views.article_category_list,
        name="article_category_list",
    ),
    path(
        "admin/article-categories/<int:pk>/",
        knowledge_views.article_category_edit,
        name="article_category_edit",
    ),
    path(
        "admin/article-categories/<int:pk>/active/",
        knowledge_views.article_category_active,
        name="article_category_active",
    ),
    path("admin/sla-policies/", sla_views.sla_policy_list, name="sla_policy_list"),
    path("admin/sla-policies/new/", sla_views.sla_policy_create, name="sla_policy_create"),
    path("admin/sla-policies/<int:pk>/", sla_views.sla_policy_edit, name="sla_policy_edit"),
    path("admin/calendars/", calendar_views.calendar_list, name="calendar_list"),
    path("admin/calendars/new/", calendar_views.calendar_create, name="calendar_create"),
    path("admin/calendars/<int:pk>/", calendar_views.calendar_edit, name="calendar_edit"),
    path(
        "admin/calendars/<int:pk>/days/", calendar_views.calendar_day_set, name="calendar_day_set"
    ),
    path(
        "admin/calendars/<int:pk>/days/remove/",
        calendar_views.calendar_day_remove,
        name="calendar_day_remove",
    ),
]
