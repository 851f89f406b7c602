from django.urls import path

from . import views

app_name = "audit"

urlpatterns = [
    path("audit/events/", views.event_list, name="event_list"),
    path("audit/events/<int:pk>/", views.event_detail, name="event_detail"),
    path("audit/verify/", views.verify, name="verify"),
    path("audit/alerts/", views.alert_list, name="alert_list"),
    path("audit/alerts/<int:pk>/acknowledge/", views.alert_acknowledge, name="alert_acknowledge"),
    path("audit/rules/", views.rule_list, name="rule_list"),
]
