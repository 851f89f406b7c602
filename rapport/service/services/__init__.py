"""Every write of the customer service app (`<entity>_<verb>(*, actor, …)`)."""

from .calendars import (
    calendar_create,
    calendar_day_remove,
    calendar_day_set,
    calendar_update,
)

__all__ = ["calendar_create", "calendar_day_remove", "calendar_day_set", "calendar_update"]
