"""Which models may carry tags. Each app registers its own when it loads:

    tags.registry.register(Account)      # in CustomersConfig.ready()

A taggable model has integer primary keys and is secured (`security_type`, a `restrict`
manager), because tagging a record is a change to it and is checked as one.
"""

from __future__ import annotations

from django.db import models

_taggable: dict[str, type[models.Model]] = {}


def register(model: type[models.Model]) -> None:
    _taggable[model._meta.label_lower] = model


def taggable_models() -> dict[str, type[models.Model]]:
    """{"customers.account": Account, …} in registration order."""
    return dict(_taggable)


def taggable_model(type_name: str) -> type[models.Model] | None:
    return _taggable.get((type_name or "").strip().lower())


def is_taggable(model: type[models.Model]) -> bool:
    return _taggable.get(model._meta.label_lower) is model
