from django.urls import path

from . import views

app_name = "automation"

urlpatterns = [
    path("automation/rules/", views.rule_list, name="rule_list"),
    path("automation/rules/new/", views.rule_create, name="rule_create"),
    path("automation/rules/<int:pk>/", views.rule_detail, name="rule_detail"),
    path("automation/rules/<int:pk>/edit/", views.rule_edit, name="rule_edit"),
    path("automation/rules/<int:pk>/toggle/", views.rule_toggle, name="rule_toggle"),
    path("automation/rules/<int:pk>/move/<str:direction>/", views.rule_move, name="rule_move"),
    path("automation/rules/<int:pk>/delete/", views.rule_retire, name="rule_retire"),
    path("automation/rules/<int:pk>/dry-run/", views.rule_dry_run, name="rule_dry_run"),
    path("automation/runs/<int:pk>/", views.run_detail, name="run_detail"),
]
