"""Pages of the sales app: pipelines and opportunities (see docs/sales-plan.md)."""

from django.urls import path

from . import opportunity_views, pipeline_views

urlpatterns = [
    path("sales/opportunities/", opportunity_views.opportunity_list, name="opportunity_list"),
    path(
        "sales/opportunities/board/", opportunity_views.opportunity_board, name="opportunity_board"
    ),
    path(
        "sales/opportunities/board/more/",
        opportunity_views.opportunity_board_more,
        name="opportunity_board_more",
    ),
    path(
        "sales/opportunities/new/", opportunity_views.opportunity_create, name="opportunity_create"
    ),
    path(
        "sales/opportunities/<int:pk>/",
        opportunity_views.opportunity_detail,
        name="opportunity_detail",
    ),
    path(
        "sales/opportunities/<int:pk>/edit/",
        opportunity_views.opportunity_edit,
        name="opportunity_edit",
    ),
    path(
        "sales/opportunities/<int:pk>/move/",
        opportunity_views.opportunity_move,
        name="opportunity_move",
    ),
    path(
        "sales/opportunities/<int:pk>/assign/",
        opportunity_views.opportunity_assign,
        name="opportunity_assign",
    ),
    path("sales/admin/pipelines/", pipeline_views.pipeline_list, name="pipeline_list"),
    path("sales/admin/pipelines/<int:pk>/", pipeline_views.pipeline_detail, name="pipeline_detail"),
    path("sales/admin/stages/<int:pk>/", pipeline_views.stage_edit, name="stage_edit"),
    path(
        "sales/admin/stages/<int:pk>/move/",
        pipeline_views.pipeline_stage_move,
        name="stage_move",
    ),
    path("sales/admin/stages/<int:pk>/delete/", pipeline_views.stage_delete, name="stage_delete"),
    path("sales/admin/lost-reasons/", pipeline_views.lost_reason_list, name="lost_reason_list"),
    path(
        "sales/admin/lost-reasons/<int:pk>/",
        pipeline_views.lost_reason_edit,
        name="lost_reason_edit",
    ),
]
