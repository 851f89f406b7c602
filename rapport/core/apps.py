from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "rapport.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from . import checks  # noqa: F401  (registers the deploy checks)
        from .search import indexes, receivers

        receivers.connect()  # documents follow their records after commit
        # Each searchable type's text indexes (PostgreSQL), once every app has migrated.
        post_migrate.connect(indexes.after_migrate, sender=self)
