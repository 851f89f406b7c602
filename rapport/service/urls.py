from django.urls import path

from . import calendar_views

app_name = "service"

urlpatterns = [
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
