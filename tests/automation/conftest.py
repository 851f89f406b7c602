from __future__ import annotations

import pytest

from rapport.automation import engine, rulecache


@pytest.fixture(autouse=True)
def _fresh_rule_cache():
    """Rules are cached per process; a test's own (rolled back) rules must not leak."""
    rulecache._memory.by_trigger = None
    engine._compiled.clear()
    yield
    rulecache._memory.by_trigger = None
    engine._compiled.clear()


@pytest.fixture
def eager(settings):
    """Celery tasks run inline (as with CELERY_TASK_ALWAYS_EAGER)."""
    from rapport.celery import app

    settings.CELERY_TASK_ALWAYS_EAGER = True
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@pytest.fixture
def queued(monkeypatch):
    """Runs are queued but not executed: the ids they would be sent to the worker with."""
    sent: list[int] = []
    monkeypatch.setattr(engine, "_enqueue", sent.append)
    return sent
