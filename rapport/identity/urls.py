from django.urls import path

from . import views

app_name = "identity"

urlpatterns = [
    path("profile/", views.profile, name="profile"),
    path("profile/tokens/", views.tokens, name="tokens"),
    path("profile/tokens/<int:pk>/revoke/", views.token_revoke, name="token_revoke"),
    path("admin/users/", views.user_list, name="user_list"),
    path("admin/users/new/", views.user_create, name="user_create"),
    path("admin/users/<int:pk>/", views.user_detail, name="user_detail"),
    path("admin/users/<int:pk>/unlock/", views.user_unlock, name="user_unlock"),
    path("admin/users/<int:pk>/deactivate/", views.user_deactivate, name="user_deactivate"),
    path("admin/users/<int:pk>/reactivate/", views.user_reactivate, name="user_reactivate"),
    path("admin/users/<int:pk>/offboard/", views.user_offboard, name="user_offboard"),
    path("admin/users/<int:pk>/sessions/end/", views.user_end_sessions, name="user_end_sessions"),
    path("admin/departments/", views.department_list, name="department_list"),
    path("admin/departments/<int:pk>/", views.department_edit, name="department_edit"),
    path("admin/teams/", views.team_list, name="team_list"),
    path("admin/teams/<int:pk>/", views.team_detail, name="team_detail"),
    path("admin/roles/", views.role_list, name="role_list"),
    path("admin/roles/<int:pk>/", views.role_detail, name="role_detail"),
    path("admin/custom-fields/", views.custom_field_list, name="custom_field_list"),
    path("admin/custom-fields/<int:pk>/", views.custom_field_edit, name="custom_field_edit"),
    path(
        "admin/custom-fields/<int:pk>/active/",
        views.custom_field_set_active,
        name="custom_field_set_active",
    ),
    path("admin/tags/", views.tag_list, name="tag_list"),
    path("admin/tags/<int:pk>/", views.tag_edit, name="tag_edit"),
    path("admin/tags/<int:pk>/deactivate/", views.tag_deactivate, name="tag_deactivate"),
    path("admin/tags/<int:pk>/reactivate/", views.tag_reactivate, name="tag_reactivate"),
    path("admin/requests/", views.request_list, name="request_list"),
    path("admin/requests/<int:pk>/decide/", views.request_decide, name="request_decide"),
]
