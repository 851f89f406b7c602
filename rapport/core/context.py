"""Who is acting and from where, for the current request or command."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    ip: str | None = None
    user_agent: str = ""
    channel: str = "system"  # web | api | cli | system


_current: ContextVar[RequestContext] = ContextVar("rapport_request", default=RequestContext())  # noqa: B039 (frozen)


def current() -> RequestContext:
    return _current.get()


def set_current(context: RequestContext):
    return _current.set(context)


def reset(token) -> None:
    _current.reset(token)


# The cause of the writes being made now, when something other than a person's request makes
# them (an automation run): `{"run": 12, "rule": 3, "rule_name": "…", "chain": [...]}`. Core
# only carries it: `events.emit` puts it in the payload (`cause`) and `trail.record` in the
# audit event's `extra`, so whoever reacts to the write knows what caused it.
_cause: ContextVar[dict | None] = ContextVar("rapport_cause", default=None)  # noqa: B039


def current_cause() -> dict | None:
    return _cause.get()


def set_cause(cause: dict | None):
    return _cause.set(cause)


def reset_cause(token) -> None:
    _cause.reset(token)
