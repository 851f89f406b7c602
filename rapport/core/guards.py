"""The guard hook: actions that wait for an approval before they take effect.

Some actions are not a change to an existing record but a request for one (a new user
account; later a bulk export): the domain service stores the request as a pending record,
asks here whether an approval process applies to it, and performs the action only when the
request is decided. Approvals sit above the domain apps in the layering, so the approval
engine registers itself here when it loads:

    guards.register(submit=start_if_needed, outcome=finished_decision)

- `submit(record, actor=..., on_behalf_of=...)` starts an approval for the pending request
  when an active process's condition holds, and says whether it did (in the caller's
  transaction, so a request that cannot be routed is refused with nothing stored);
- `outcome(record)` is "approved" or "rejected" once that approval has ended that way, so
  the domain service can perform (or refuse) the action on the approval's authority, and
  None otherwise.

While the approval is pending the request is locked (`core.locks`): nobody decides it
directly. Without a registered engine (or without a process for the type) nothing waits.

The app that owns a guarded action may register what to do when its approval ends
(`register_action(type, handler)`); the approval engine calls `decided(...)`, which hands
the outcome to it — so the engine never imports the app (exports: start the job, or
cancel it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

APPROVED = "approved"
REJECTED = "rejected"

Submit = Callable[..., bool]
Outcome = Callable[[Any], "str | None"]

_engine: dict[str, Any] = {}
_actions: dict[str, Callable[..., Any]] = {}


def register(*, submit: Submit, outcome: Outcome) -> None:
    _engine["submit"] = submit
    _engine["outcome"] = outcome


def submit(record: Any, *, actor: Any, on_behalf_of: Any = None) -> bool:
    """Start an approval of the pending request `record` if a process applies to it."""
    starter = _engine.get("submit")
    if starter is None:
        return False
    return bool(starter(record, actor=actor, on_behalf_of=on_behalf_of or actor))


def outcome(record: Any) -> str | None:
    """How the approval of `record` ended ("approved" / "rejected"), or None."""
    finished = _engine.get("outcome")
    if finished is None:
        return None
    return finished(record)


def register_action(object_type: str, handler: Callable[..., Any]) -> None:
    """`handler(record, actor=…, approved=…, comment=…)` runs when an approval of a pending
    `object_type` request ends (in the deciding transaction)."""
    _actions[object_type] = handler


def decided(object_type: str, record: Any, *, actor: Any, approved: bool, comment: str) -> None:
    handler = _actions.get(object_type)
    if handler is not None:
        handler(record, actor=actor, approved=approved, comment=comment)
