"""The public help pages (no sign-in): `/help/`."""

from django.urls import path

from . import help_views, support_views

app_name = "help"

urlpatterns = [
    path("help/", help_views.help_home, name="home"),
    path("help/<int:pk>/", help_views.help_article, name="article"),
    path("help/<int:pk>/vote/", help_views.help_vote, name="vote"),
    path("help/contact/", support_views.support_contact, name="contact"),
]
