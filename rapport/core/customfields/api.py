"""Custom fields in the REST API: a `custom` object whose properties are the custom fields
defined when the schema is generated (so /api/schema/ documents them, typed and with their
choices), and the admin API's serializers."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from rest_framework import serializers

from .models import FieldType
from .values import definitions

_SCHEMA = {
    FieldType.TEXT: {"type": "string"},
    FieldType.LONG_TEXT: {"type": "string"},
    FieldType.NUMBER: {"type": "integer"},
    FieldType.DECIMAL: {"type": "number"},
    FieldType.DATE: {"type": "string", "format": "date"},
    FieldType.DATETIME: {"type": "string", "format": "date-time"},
    FieldType.CHOICE: {"type": "string"},
    FieldType.MULTI_CHOICE: {"type": "array", "items": {"type": "string"}},
    FieldType.BOOLEAN: {"type": "boolean"},
    FieldType.USER: {"type": "integer", "description": "User id"},
    FieldType.URL: {"type": "string", "format": "uri"},
    FieldType.EMAIL: {"type": "string", "format": "email"},
    FieldType.PHONE: {"type": "string", "description": "E.164"},
}


class CustomValuesField(serializers.DictField):
    """{key: value} of a record's custom fields (input: only the keys to change)."""

    def __init__(self, object_type: str, **kwargs) -> None:
        self.object_type = object_type
        kwargs.setdefault("help_text", "Custom fields by key; see the properties for each.")
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            self.fail("not_a_dict", input_type=type(data).__name__)
        return dict(data)

    def to_representation(self, value):
        return dict(value or {})


class CustomValuesFieldExtension(OpenApiSerializerFieldExtension):
    target_class = CustomValuesField

    def map_serializer_field(self, auto_schema, direction):
        properties = {}
        try:
            fields = definitions(self.target.object_type)
        except Exception:  # no database yet (schema generated before migrate)
            fields = []
        for field in fields:
            schema = dict(_SCHEMA[field.type])
            description = field.label + (f" / {field.label_en}" if field.label_en else "")
            if field.choices:
                values = [str(choice["value"]) for choice in field.choices]
                if field.type == FieldType.MULTI_CHOICE:
                    schema["items"] = {"type": "string", "enum": values}
                else:
                    schema["enum"] = values
            schema["description"] = (schema.get("description", "") + " " + description).strip()
            schema["nullable"] = True
            properties[field.key] = schema
        description = str(self.target.help_text)
        if direction == "response":
            description += (
                " The reader's field rules apply: a field hidden from them is left out, a "
                "masked one is given as masked text."
            )
        return {
            "type": "object",
            "properties": properties,
            "additionalProperties": False,
            "description": description,
        }
