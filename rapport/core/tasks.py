from celery import shared_task

from . import events


@shared_task(name="core.relay_outbox")
def relay_outbox() -> int:
    return events.relay_outbox()


@shared_task(name="core.search_statistics")
def search_statistics() -> dict[str, int]:
    """The search's term statistics, taken again (nightly on beat, PostgreSQL only)."""
    from .search import statistics

    return statistics.refresh()
