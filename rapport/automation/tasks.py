from celery import shared_task


@shared_task(name="automation.run_rule")
def run_rule(run_id: int) -> str:
    from . import engine

    run = engine.execute(run_id)
    return run.state if run is not None else "missing"


@shared_task(name="automation.retry_runs")
def retry_runs() -> int:
    from . import engine

    return engine.runs_retry_due()


@shared_task(name="automation.date_sweep")
def date_sweep() -> int:
    from . import triggers

    return triggers.date_sweep()


@shared_task(name="automation.schedule_tick")
def schedule_tick() -> int:
    from . import triggers

    return triggers.schedule_tick()


@shared_task(name="automation.approvals_sweep")
def approvals_sweep() -> int:
    from . import approvals

    return approvals.approvals_remind_due()


@shared_task(
    name="automation.deliver_webhook",
    bind=True,
    max_retries=4,
    acks_late=True,
)
def deliver_webhook(self, payload: dict, key: str) -> str:
    """Deliver one outgoing webhook of a rule (handed over by the outbox relay), retried
    with exponential backoff; the outcome is noted in the run's results."""
    from . import webhooks

    try:
        return webhooks.deliver_and_note(payload, key, attempt=self.request.retries + 1)
    except webhooks.DeliveryFailed as error:
        raise self.retry(exc=error, countdown=webhooks.backoff(self.request.retries + 1)) from None
