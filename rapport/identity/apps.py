from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IdentityConfig(AppConfig):
    name = "rapport.identity"
    label = "identity"
    verbose_name = _("Identity and permissions")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from . import receivers  # noqa: F401  (audit of logins, logouts and MFA changes)

        post_migrate.connect(_sync_builtin_roles, sender=self)


def _sync_builtin_roles(sender, using="default", **kwargs) -> None:
    from .services import roles_sync_builtin

    roles_sync_builtin()
