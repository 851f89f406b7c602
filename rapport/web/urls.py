from django.urls import path

from . import views

app_name = "web"

urlpatterns = [
    path("", views.home, name="home"),
    path("search/", views.search, name="search"),
    path("language/", views.set_language, name="set_language"),
    path("jobs/<int:pk>/progress/", views.job_progress, name="job_progress"),
]
