from celery import shared_task


@shared_task(name="service.sla_sweep")
def sla_sweep() -> dict:
    """Mark and report the SLA warnings and breaches that have come due (every minute)."""
    from . import sla

    return sla.sweep()
