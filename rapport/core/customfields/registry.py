"""Which models carry custom fields. Each app registers its own when it loads:

    customfields.registry.register(Account)      # in CustomersConfig.ready()

A registered model has a JSON field named `custom` and a `security_type`.
"""

from __future__ import annotations

from django.db import models

_models: dict[str, type[models.Model]] = {}


def register(model: type[models.Model]) -> None:
    """Let administrators add custom fields to `model`; they become filterable as cf.<key>."""
    from .. import filterlang
    from .filters import provider_for

    _models[model.security_type] = model
    filterlang.register_fields(model.security_type, provider_for(model.security_type))


def models_with_custom_fields() -> dict[str, type[models.Model]]:
    return dict(_models)


def model_for(object_type: str) -> type[models.Model] | None:
    return _models.get(object_type)
