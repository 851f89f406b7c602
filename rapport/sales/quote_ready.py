"""What the sales app registers for quotes when it loads (`SalesConfig.ready`)."""

from __future__ import annotations

from django.apps import AppConfig


def ready(app_config: AppConfig) -> None:
    from django.db.models.signals import post_migrate

    from rapport.core import guards

    from . import quote_filtering, quote_panels, quote_search, quote_tasks
    from .models import Quote
    from .services import quotes

    quote_filtering.register()
    quote_search.register()
    quote_panels.register()
    # the approval of a quote's discount ended (the approval engine hands the outcome back)
    guards.register_action(Quote.security_type, quotes.quote_approval_decided)
    post_migrate.connect(quote_tasks.schedule, sender=app_config)
