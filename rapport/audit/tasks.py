from celery import shared_task

from . import services


@shared_task(name="audit.purge_expired")
def purge_expired() -> int:
    return services.audit_purge_expired()
