from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ServiceConfig(AppConfig):
    name = "rapport.service"
    label = "service"
    verbose_name = _("Customer service")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from rapport.identity import policy

        from .services import calendars

        policy.register("service.calendar", label=_("business calendars"), actions=["manage"])
        post_migrate.connect(calendars.ensure_default, sender=self)
