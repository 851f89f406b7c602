from django.urls import path, re_path

from . import bulk_views, detail_views, list_views, merge_views, option_views, tag_views, views

app_name = "customers"
KIND = "(?P<kind>accounts|contacts)"

# Under /customers/: allauth owns /accounts/.
urlpatterns = [
    path("customers/accounts/", list_views.account_list, name="account_list"),
    path("customers/accounts/new/", views.account_create, name="account_create"),
    path("customers/accounts/lookup/", views.account_lookup, name="account_lookup"),
    path("customers/contacts/lookup/", views.contact_lookup, name="contact_lookup"),
    path("customers/accounts/<int:pk>/", detail_views.account_detail, name="account_detail"),
    path("customers/accounts/<int:pk>/history/", views.account_history, name="account_history"),
    path("customers/accounts/<int:pk>/edit/", views.account_edit, name="account_edit"),
    path(
        "customers/accounts/<int:pk>/deactivate/",
        views.account_deactivate,
        name="account_deactivate",
    ),
    path(
        "customers/accounts/<int:pk>/reactivate/",
        views.account_reactivate,
        name="account_reactivate",
    ),
    path("customers/contacts/", list_views.contact_list, name="contact_list"),
    path("customers/contacts/new/", views.contact_create, name="contact_create"),
    path("customers/contacts/<int:pk>/", detail_views.contact_detail, name="contact_detail"),
    path("customers/contacts/<int:pk>/history/", views.contact_history, name="contact_history"),
    path("customers/contacts/<int:pk>/edit/", views.contact_edit, name="contact_edit"),
    path(
        "customers/contacts/<int:pk>/deactivate/",
        views.contact_deactivate,
        name="contact_deactivate",
    ),
    path(
        "customers/contacts/<int:pk>/reactivate/",
        views.contact_reactivate,
        name="contact_reactivate",
    ),
    re_path(rf"^customers/{KIND}/(?P<pk>[0-9]+)/merge/$", merge_views.merge_start, name="merge"),
    re_path(
        rf"^customers/{KIND}/(?P<pk>[0-9]+)/merge/run/$", merge_views.merge_run, name="merge_run"
    ),
    path("customers/merges/<int:pk>/", merge_views.merge_detail, name="merge_detail"),
    path("customers/merges/<int:pk>/undo/", merge_views.merge_undo, name="merge_undo"),
    re_path(
        rf"^customers/{KIND}/(?P<pk>[0-9]+)/timeline/$",
        detail_views.timeline_more,
        name="timeline_more",
    ),
    re_path(
        rf"^customers/{KIND}/(?P<pk>[0-9]+)/history/restore/$",
        views.record_restore,
        name="record_restore",
    ),
    re_path(
        rf"^customers/{KIND}/(?P<pk>[0-9]+)/log/$",
        detail_views.interaction_log,
        name="interaction_log",
    ),
    re_path(
        rf"^customers/{KIND}/(?P<pk>[0-9]+)/tasks/new/$", detail_views.task_add, name="task_add"
    ),
    path(
        "customers/accounts/<int:pk>/contacts/<int:contact_pk>/role/",
        detail_views.contact_role,
        name="contact_role",
    ),
    path("customers/tasks/", detail_views.task_list, name="task_list"),
    path(
        "customers/attachments/<int:pk>/",
        detail_views.attachment_download,
        name="attachment_download",
    ),
    path(
        "customers/attachments/<int:pk>/remove/",
        detail_views.attachment_remove,
        name="attachment_remove",
    ),
    path(
        "customers/interactions/<int:pk>/attach/",
        detail_views.attachment_add,
        name="attachment_add",
    ),
    path(
        "customers/contacts/<int:pk>/consent/",
        detail_views.consent_record,
        name="consent_record",
    ),
    path(
        "customers/contacts/<int:pk>/consent/withdraw/",
        detail_views.consent_withdraw,
        name="consent_withdraw",
    ),
    path("customers/tasks/<int:pk>/done/", detail_views.task_complete, name="task_complete"),
    path(
        "customers/interactions/<int:pk>/edit/",
        detail_views.interaction_edit,
        name="interaction_edit",
    ),
    path(
        "customers/interactions/<int:pk>/delete/",
        detail_views.interaction_delete,
        name="interaction_delete",
    ),
    re_path(rf"^customers/{KIND}/tag/$", tag_views.records_tag, name="records_tag"),
    re_path(rf"^customers/{KIND}/assign/$", bulk_views.records_assign, name="records_assign"),
    path("customers/accounts/stage/", bulk_views.accounts_stage, name="accounts_stage"),
    # Administration: the tiers and lifecycle stages accounts may take.
    path("admin/account-options/", option_views.option_list, name="option_list"),
    path("admin/account-options/<int:pk>/", option_views.option_edit, name="option_edit"),
    re_path(
        r"^admin/account-options/(?P<pk>\d+)/move/(?P<direction>up|down)/$",
        option_views.option_move,
        name="option_move",
    ),
    path(
        "admin/account-options/<int:pk>/deactivate/",
        option_views.option_deactivate,
        name="option_deactivate",
    ),
    path(
        "admin/account-options/<int:pk>/reactivate/",
        option_views.option_reactivate,
        name="option_reactivate",
    ),
]
