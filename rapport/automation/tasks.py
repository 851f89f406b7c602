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
