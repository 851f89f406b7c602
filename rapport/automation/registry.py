"""What can be automated. Domain apps cannot import automation (it sits above them), so the
automation app registers their record types when it loads (`apps.ready`), naming each
type's own services: every automated write goes through them.

    registry.register(
        "customers.account", model=Account, label=_("accounts"),
        update=lambda actor, record, values, audit_extra: account_update(...),
        assign=record_assign, stage_field="lifecycle_stage", taggable=True,
    )
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import models

Update = Callable[[Any, models.Model, dict[str, Any]], models.Model]
Assign = Callable[[Any, models.Model, Any], models.Model]


@dataclass(frozen=True)
class Automatable:
    object_type: str
    model: type[models.Model]
    label: Any
    # update(actor, record, values): the type's update service (validation, field rules, audit)
    update: Update
    # assign(actor, record, owner): hand the record to another owner
    assign: Assign | None = None
    # fields `update_fields` may set (None: whatever the update service accepts)
    updatable: tuple[str, ...] | None = None
    # the field whose change is "stage changed"
    stage_field: str | None = None
    taggable: bool = False
    # the field naming the person who has the record ("the record's owner" in rules): the
    # owner, or a ticket's assignee
    owner_field: str = "owner"
    # what a record is called in messages ("account 7 (上海银行)")
    noun: Any = ""
    # the account a task created for this record is about, and its contact
    task_about: Callable[[models.Model], dict[str, Any]] | None = None
    # check_value(field, value) -> a message if a rule may not set `field` to `value`
    check_value: Callable[[str, Any], str | None] | None = None
    # the date (or datetime) fields a "date reached" trigger may watch, by their filter name
    # ("cf.<key>" custom date fields are always offered as well)
    date_fields: tuple[str, ...] = ()
    # contacts(record) -> a Contact queryset: who e-mails and SMS from rules about it go to
    contacts: Callable[[models.Model], Any] | None = None
    # A guarded action (`core.guards`): the records are requests for something (a new user
    # account) that approval processes decide. Their approvals start by themselves when the
    # request is made (not from a record page, a rule or the API), and rules do not act on
    # them.
    guarded: bool = False
    # decided(actor, record, approved, comment): perform (or refuse) the guarded action once
    # its approval has ended, in the deciding transaction (a failure undoes the decision)
    decided: Callable[[Any, models.Model, bool, str], Any] | None = None
    # restrict_with(actor, action) -> the records `actor` may `action`, for types whose
    # model is read under another type's grants (account requests: user management)
    restrict_with: Callable[[Any, str], Any] | None = None

    def restrict(self, actor, action: str = "view"):
        if self.restrict_with is not None:
            return self.restrict_with(actor, action)
        return self.model._default_manager.restrict(actor, action)

    def describe(self, record_or_id: Any) -> str:
        record_id = getattr(record_or_id, "pk", record_or_id)
        return f"{self.noun or self.object_type} {record_id}"


_types: dict[str, Automatable] = {}


def register(object_type: str, **options: Any) -> Automatable:
    automatable = Automatable(object_type=object_type, **options)
    _types[object_type] = automatable
    return automatable


def get(object_type: str) -> Automatable | None:
    return _types.get(object_type)


def types() -> dict[str, Automatable]:
    return dict(_types)


def type_of(record_or_model: Any) -> Automatable | None:
    """The registered type of a record (or model class), or None."""
    model = record_or_model if isinstance(record_or_model, type) else type(record_or_model)
    for automatable in _types.values():
        if automatable.model is model:
            return automatable
    return None


def rule_types() -> dict[str, Automatable]:
    """The types rules may act on (not guarded actions)."""
    return {code: automatable for code, automatable in _types.items() if not automatable.guarded}


# --- domain event topics ---------------------------------------------------------------------


@dataclass(frozen=True)
class Topic:
    topic: str
    label: Any
    # the record type the event's payload names ({"type": ..., "id": ...})
    object_type: str


_topics: dict[str, Topic] = {}


def _on_event(topic: str, payload: dict[str, Any], key: str = "") -> None:
    from . import triggers

    triggers.on_domain_event(topic, payload, key)


def register_topic(topic: str, label: Any, object_type: str) -> Topic:
    """Declare a domain event rules may start on ("event" trigger), e.g.
    `register_topic("ticket.sla_breached", _("SLA breached"), "service.ticket")`; its payload
    names the record as {"type": object_type, "id": ...}. Rules listen to it from now on."""
    from rapport.core import events

    entry = Topic(topic=topic, label=label, object_type=object_type)
    _topics[topic] = entry
    events.subscribe(topic, _on_event, keyed=True)
    return entry


def topic(name: str) -> Topic | None:
    return _topics.get(name)


def topics() -> dict[str, Topic]:
    return dict(_topics)
