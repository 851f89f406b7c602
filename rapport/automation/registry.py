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

    def restrict(self, actor, action: str = "view"):
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
