"""Custom fields in the filter language: `cf.<key>` on every record type that has them.

Field rules apply as to standard fields: a field hidden from the user is not offered (a
filter naming it reads as naming an unknown field, so its values cannot be probed), and a
masked one can be filtered only by "is empty".

On SQLite, comparisons (=, !=, <, <=, >, >=, in, is empty) read the value as
`json_extract(custom, '$."key"')`, exactly the expression of the field's "fast filtering"
index (`indexes`), so SQLite can search that index; the ORM's own JSON lookups compile to a
CASE over json_type that no index matches. PostgreSQL uses the ORM's lookups, which compile
to the indexed `(custom -> 'key')`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import F, FloatField, Func, IntegerField, Q, TextField
from django.db.models.lookups import (
    Exact,
    GreaterThan,
    GreaterThanOrEqual,
    In,
    IsNull,
    LessThan,
    LessThanOrEqual,
)
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import filterlang as fl
from . import rules
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


class JsonValue(Func):
    """`json_extract("custom", '$."key"')`: a custom value as SQLite reads it (text, number,
    1/0 for yes/no, NULL when absent), written as the field's SQLite index is. The path is
    part of the SQL, not a parameter: an index on an expression only serves a query that
    repeats the expression, constants included."""

    function = "JSON_EXTRACT"

    def __init__(self, key: str, output_field) -> None:
        if not KEY.fullmatch(key):
            raise ValueError(f"not a custom field key: {key!r}")
        super().__init__(F("custom"), output_field=output_field)
        self.template = f"%(function)s(%(expressions)s, '$.\"{key}\"')"


KEY = re.compile(r"[a-z][a-z0-9_]{0,39}")
_LOOKUPS = {
    "=": Exact,
    "<": LessThan,
    "<=": LessThanOrEqual,
    ">": GreaterThan,
    ">=": GreaterThanOrEqual,
}
_OUTPUT = {
    fl.NUMBER: IntegerField,
    fl.USER: IntegerField,
    fl.BOOL: IntegerField,
    fl.DECIMAL: FloatField,
}


def _stored(value: Any) -> Any:
    """A filter value in the form `values.clean` stores it (ISO dates and UTC times,
    numbers; yes/no as json_extract reads true/false: 1/0)."""
    if isinstance(value, list):
        return [_stored(item) for item in value]
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, datetime):
        return (
            value.astimezone(dt.UTC).isoformat() if timezone.is_aware(value) else value.isoformat()
        )
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def _sqlite_to_q(spec: fl.FilterField, key: str):
    """Conditions on `spec` over `JsonValue` on SQLite (its index's expression); the filter
    language's own JSON conditions elsewhere and for what no index serves (contains, starts
    with, multiple choice)."""
    plain = {spec.name: spec}
    output = _OUTPUT.get(spec.type, TextField)

    def to_q(op: str, value: Any) -> Q:
        if connection.vendor != "sqlite" or spec.type == fl.MULTI or op in ("~", "^"):
            return fl.to_q({"field": spec.name, "op": op, "value": value}, plain)
        stored = JsonValue(key, output())
        if op in ("empty", "not empty"):
            return Q(IsNull(stored, op == "empty"))
        if op in ("in", "not in"):
            matched = Q(In(stored, _stored(value)))
            return ~matched if op == "not in" else matched
        if op == "!=":
            return ~Q(Exact(stored, _stored(value)))
        return Q(_LOOKUPS[op](stored, _stored(value)))

    return to_q


def _only_emptiness(spec: fl.FilterField):
    """A masked field's condition: "is empty" / "is not empty" only (a value would confirm
    what the mask hides)."""

    def to_q(op: str, value: Any) -> Q:
        if op not in ("empty", "not empty"):
            raise fl.FilterError(
                {
                    "filter": [
                        f"{spec.name}: "
                        + _("This field is masked for you; filter it only by “is empty”.")
                    ]
                }
            )
        return fl.to_q({"field": spec.name, "op": op, "value": None}, {spec.name: spec})

    return to_q


def provider_for(object_type: str):
    def provider(user) -> list[fl.FilterField]:
        in_force = rules.for_user(user, object_type)
        offered = []
        for field in definitions(object_type):
            rule = in_force.get(field.key)
            if rule == rules.HIDDEN:
                continue
            spec = fl.FilterField(
                rules.rule_name(field.key),
                field.display_label,
                _TYPES[field.type],
                path=f"custom__{field.key}",
                choices=tuple(
                    (str(choice["value"]), field.choice_label(choice["value"]))
                    for choice in field.choices or []
                ),
                json=True,
            )
            spec = replace(spec, to_q=_sqlite_to_q(spec, field.key))
            if rule == rules.MASKED:
                spec = replace(spec, to_q=_only_emptiness(spec))
            offered.append(spec)
        return offered

    return provider
