from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "rapport.audit"
    label = "audit"
    verbose_name = _("Audit")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from rapport.core import trail
        from rapport.identity import policy

        from .services import write_event, write_events

        trail.register_writer(write_event, many=write_events)
        post_migrate.connect(_ensure_defaults, sender=self)
        policy.register("audit.event", label=_("audit events"), actions=["view", "export"])
        policy.register("audit.alert", label=_("alerts"), actions=["view", "manage"])
        from rapport.core.notifications import registry as notifications

        from .services import ALERT_MESSAGE

        notifications.register(ALERT_MESSAGE, _("Security alert: %(message)s"), email=True)


def _ensure_defaults(sender, **kwargs) -> None:
    from .services import ensure_defaults

    ensure_defaults()
