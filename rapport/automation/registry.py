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
