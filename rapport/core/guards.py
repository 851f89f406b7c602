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
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

APPROVED = "approved"
REJECTED = "rejected"

Submit = Callable[..., bool]
Outcome = Callable[[Any], "str | None"]

_engine: dict[str, Any] = {}


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
