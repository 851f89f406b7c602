"""Pages of the sales app: leads, the pool, conversion, pools and rules administration, and
the public lead form (see docs/sales-plan.md)."""

from django.urls import path

from . import lead_public_views, lead_views

urlpatterns = [
    path("sales/leads/", lead_views.lead_list, name="lead_list"),
    path("sales/leads/new/", lead_views.lead_create, name="lead_create"),
    path("sales/leads/pool/", lead_views.lead_pool, name="lead_pool"),
    path("sales/leads/<int:pk>/", lead_views.lead_detail, name="lead_detail"),
    path("sales/leads/<int:pk>/edit/", lead_views.lead_edit, name="lead_edit"),
    path("sales/leads/<int:pk>/claim/", lead_views.lead_claim, name="lead_claim"),
    path("sales/leads/<int:pk>/release/", lead_views.lead_release, name="lead_release"),
    path("sales/leads/<int:pk>/assign/", lead_views.lead_assign, name="lead_assign"),
    path("sales/leads/<int:pk>/delete/", lead_views.lead_delete, name="lead_delete"),
    path("sales/leads/<int:pk>/status/", lead_views.lead_status, name="lead_status"),
    path("sales/leads/<int:pk>/qualify/", lead_views.lead_qualify, name="lead_qualify"),
    path("sales/leads/<int:pk>/disqualify/", lead_views.lead_disqualify, name="lead_disqualify"),
    path("sales/leads/<int:pk>/follow-ups/", lead_views.lead_follow_up, name="lead_follow_up"),
    path("sales/leads/<int:pk>/convert/", lead_views.lead_convert, name="lead_convert"),
    path("admin/lead-pools/", lead_views.pool_list, name="lead_pool_list"),
    path("admin/lead-pools/<int:pk>/", lead_views.pool_edit, name="lead_pool_edit"),
    path("admin/lead-rules/", lead_views.rule_list, name="lead_rule_list"),
    path("admin/lead-rules/<int:pk>/", lead_views.rule_edit, name="lead_rule_edit"),
    # public, no sign-in: people ask to be contacted
    path("forms/lead/", lead_public_views.lead_form, name="lead_public_form"),
]
