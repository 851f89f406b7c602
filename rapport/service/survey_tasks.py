"""The periodic NPS job (beat, hourly; see migration 0007_surveys). It does nothing while
`RAPPORT_NPS_INTERVAL_DAYS` is 0, the default."""

from celery import shared_task


@shared_task(name="service.nps_send")
def nps_send() -> dict:
    """Send the NPS surveys that are due, a bounded batch per run (idempotent)."""
    from .services import surveys

    return surveys.nps_send_due()
