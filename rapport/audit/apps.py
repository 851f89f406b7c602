from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "rapport.audit"
    label = "audit"
    verbose_name = _("Audit")

    def ready(self) -> None:
        from rapport.core import trail
        from rapport.identity import policy

        from .services import write_event

        trail.register_writer(write_event)
        policy.register("audit.event", label=_("audit events"), actions=["view", "export"])
        policy.register("audit.alert", label=_("alerts"), actions=["view", "manage"])
