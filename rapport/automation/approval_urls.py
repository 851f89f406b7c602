from django.urls import path

from . import approval_views as views

app_name = "approvals"

urlpatterns = [
    path("approvals/", views.inbox, name="inbox"),
    path("approvals/delegation/", views.delegation_set, name="delegation_set"),
    path("approvals/delegation/<int:pk>/end/", views.delegation_end, name="delegation_end"),
    path("approvals/requests/<int:pk>/", views.request_detail, name="request_detail"),
    path("approvals/requests/<int:pk>/cancel/", views.request_cancel, name="request_cancel"),
    path("approvals/tasks/<int:pk>/decide/", views.task_decide, name="task_decide"),
    # An e-mail's approve / reject link: shows what is decided, decides only on POST.
    path("approvals/decide/<str:token>/", views.decide_by_token, name="decide_by_token"),
    path(
        "approvals/submit/<str:object_type>/<int:pk>/",
        views.record_submit,
        name="record_submit",
    ),
    path("approvals/monitor/", views.process_monitor, name="monitor"),
    path("approvals/processes/", views.process_list, name="process_list"),
    path("approvals/processes/new/", views.process_edit, name="process_create"),
    path("approvals/processes/<int:pk>/", views.process_edit, name="process_edit"),
    path(
        "approvals/processes/<int:pk>/active/",
        views.process_set_active,
        name="process_set_active",
    ),
]
