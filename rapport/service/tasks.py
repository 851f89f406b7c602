from celery import shared_task


@shared_task(name="service.sla_sweep")
def sla_sweep() -> dict:
    """Mark and report the SLA warnings and breaches that have come due (every minute)."""
    from . import sla

    return sla.sweep()


@shared_task(name="service.mail_poll")
def mail_poll() -> dict:
    """Turn new e-mails in the service mailbox into tickets and replies (every minute; does
    nothing until `RAPPORT_SERVICE_IMAP_HOST` is set)."""
    from . import mail

    return mail.poll_imap()
