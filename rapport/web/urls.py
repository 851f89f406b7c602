from django.urls import path

from . import notification_views, views

app_name = "web"

urlpatterns = [
    path("", views.home, name="home"),
    path("search/", views.search, name="search"),
    path("language/", views.set_language, name="set_language"),
    path("jobs/<int:pk>/progress/", views.job_progress, name="job_progress"),
    path("notifications/", notification_views.notification_list, name="notification_list"),
    path("notifications/menu/", notification_views.notification_menu, name="notification_menu"),
    path(
        "notifications/<int:pk>/open/",
        notification_views.notification_open,
        name="notification_open",
    ),
    path(
        "notifications/<int:pk>/read/",
        notification_views.notification_read,
        name="notification_read",
    ),
    path(
        "notifications/read-all/",
        notification_views.notifications_read_all,
        name="notifications_read_all",
    ),
]
