"""Notifications: the one mechanism that tells a user something happened (issue 4, used by
rules, approvals, task reminders and alerts from issue 5 on).

- `models`: `Notification` — recipient, kind, the message as a key + parameters (rendered in
  the reader's language when read, never frozen in the writer's), target, read state and a
  unique idempotency key.
- `registry`: message keys → translatable text; each app registers its own when it loads.
- `services`: `notify(...)` (inside the caller's transaction), mark one / all read.
- `selectors`: the reader's side — unread count, inbox queryset, rendering.

Import from the submodules (`from rapport.core.notifications import services`); this package
stays free of imports because `rapport.core.models` loads its models.
"""
