"""Custom fields in the filter language: `cf.<key>` on every record type that has them."""

from __future__ import annotations

from .. import filterlang as fl
from .models import FieldType
from .values import definitions

_TYPES = {
    FieldType.TEXT: fl.TEXT,
    FieldType.LONG_TEXT: fl.TEXT,
    FieldType.URL: fl.TEXT,
    FieldType.EMAIL: fl.TEXT,
    FieldType.PHONE: fl.TEXT,
    FieldType.NUMBER: fl.NUMBER,
    FieldType.DECIMAL: fl.DECIMAL,
    FieldType.DATE: fl.DATE,
    FieldType.DATETIME: fl.DATETIME,
    FieldType.CHOICE: fl.CHOICE,
    FieldType.MULTI_CHOICE: fl.MULTI,
    FieldType.BOOLEAN: fl.BOOL,
    FieldType.USER: fl.USER,
}


def provider_for(object_type: str):
    def provider(user) -> list[fl.FilterField]:
        return [
            fl.FilterField(
                f"cf.{field.key}",
                field.display_label,
                _TYPES[field.type],
                path=f"custom__{field.key}",
                choices=tuple(
                    (str(choice["value"]), field.choice_label(choice["value"]))
                    for choice in field.choices or []
                ),
                json=True,
            )
            for field in definitions(object_type)
        ]

    return provider
