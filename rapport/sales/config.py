"""The one row of sales settings (letterhead, defaults), created with its defaults on first
read. Written only by `services.quotes.settings_update`."""

from __future__ import annotations

from .models import SalesSettings


def get_settings() -> SalesSettings:
    current = SalesSettings.objects.order_by("pk").first()
    if current is None:
        current, _created = SalesSettings.objects.get_or_create(pk=1)
    return current
