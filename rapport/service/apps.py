from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def _ensure_intake(sender, using="default", **kwargs) -> None:
    """The intake system actor (e-mails and the support form become tickets as it)."""
    from . import intake

    intake.INTAKE.ensure()


class ServiceConfig(AppConfig):
    name = "rapport.service"
    label = "service"
    verbose_name = _("Customer service")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from rapport.identity import policy

        from . import notifications, panels, search
        from .services import calendars

        policy.register("service.calendar", label=_("business calendars"), actions=["manage"])
        policy.register(
            "service.ticket",
            label=_("tickets"),
            actions=["view", "add", "change", "assign"],
            conditions=["priority", "kind", "channel"],
        )
        policy.register("service.ticketcategory", label=_("ticket categories"), actions=["manage"])
        policy.register("service.slapolicy", label=_("SLA policies"), actions=["manage"])
        # complaints are worked with the ticket's grants; their root-cause categories here
        policy.register(
            "service.complaintcause", label=_("complaint root causes"), actions=["manage"]
        )
        policy.register("service.queue", label=_("service queues and agents"), actions=["manage"])
        # knowledge base: `approve` publishes and rejects, `manage` archives and keeps the
        # article categories
        policy.register(
            "service.article",
            label=_("knowledge-base articles"),
            actions=["view", "add", "change", "approve", "manage"],
            conditions=["kind", "visibility"],
        )
        policy.register(
            "service.survey", label=_("satisfaction surveys"), actions=["view", "manage"]
        )
        notifications.register()
        from . import sla

        sla.register_messages()
        panels.register()  # the "Tickets" card of the account and contact 360 pages
        search.register()
        from . import filtering

        filtering.register()  # ticket fields for rule conditions and saved views
        from . import knowledge_search

        knowledge_search.register()
        from rapport.core import events

        from . import survey_panels, survey_tasks  # noqa: F401  (survey_tasks: the NPS job)
        from .services import surveys

        survey_panels.register()  # the "Satisfaction" card of the 360 pages
        events.subscribe("ticket.status_changed", surveys.on_ticket_status_changed)
        post_migrate.connect(calendars.ensure_default, sender=self)
        post_migrate.connect(_ensure_intake, sender=self)
