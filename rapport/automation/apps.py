from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _ensure_system_actor(sender, using="default", **kwargs) -> None:
    from rapport.identity.services import roles_sync_builtin

    from . import actor

    roles_sync_builtin()  # the built-in roles first: the order of post_migrate is not ours
    actor.ensure()


class AutomationConfig(AppConfig):
    name = "rapport.automation"
    label = "automation"
    verbose_name = _("Automation")

    def ready(self) -> None:
        from rapport.core import events
        from rapport.core.notifications import registry as notification_registry
        from rapport.identity import policy

        from . import (
            actions,
            approval_panels,
            customers,
            engine,
            exports,
            identity,
            panels,
            service,
        )

        policy.register("automation.rule", label=_("automation rules"), actions=["manage"])
        customers.register()
        service.register()
        identity.register()
        exports.register()
        panels.register()
        approval_panels.register()
        actions.register_builtin()
        notification_registry.register(actions.MESSAGE_KEY, _("%(rule)s: %(message)s"))
        for topic in ("record.created", "record.updated"):
            events.subscribe(topic, engine.on_record_event, keyed=True)
        post_migrate.connect(_ensure_system_actor, sender=self)
        from . import approvals  # noqa: F401  (registers start_approval, the record lock, messages)

        __import__("rapport.automation.sales_quotes", fromlist=["_"]).register()  # sales quotes
        __import__("rapport.automation.sales_leads", fromlist=["_"]).register()  # sales leads
        __import__("rapport.automation.sales", fromlist=["_"]).register()  # opportunities
