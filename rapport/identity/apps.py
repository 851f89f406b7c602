from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IdentityConfig(AppConfig):
    name = "rapport.identity"
    label = "identity"
    verbose_name = _("Identity and permissions")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from rapport.core import access

        from . import (
            policy,
            receivers,  # noqa: F401  (audit of logins, logouts and MFA changes)
        )

        # Core services (tags) check permissions through this door: core cannot import us.
        access.register_policy(
            can=policy.can,
            restrict=lambda user, action, model: model._default_manager.restrict(user, action),
        )

        post_migrate.connect(_sync_builtin_roles, sender=self)


def _sync_builtin_roles(sender, using="default", **kwargs) -> None:
    from .services import roles_sync_builtin

    roles_sync_builtin()
