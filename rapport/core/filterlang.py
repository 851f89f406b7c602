"""The one filter language of lists, saved views, the API's `?filter=` and automation rules.

Text form (what people and API clients write):

    tier in (A, B) and (province = "上海市" or cf.employees >= 500)
    updated_at < today-90 and not tag = 12
    owner = me and name ~ 银行 and website is empty

Conditions are `FIELD OP VALUE`; operators: `=` `!=` `<` `<=` `>` `>=`, `~` (contains),
`^` (starts with), `in (…)`, `not in (…)`, `is empty`, `is not empty`; combined with `and`,
`or`, `not` and parentheses. Values are bare words, numbers or "quoted strings"; `me` is the
current user; `today`, `today-30`, `today+7` and `now` are dates relative to the request.

The same tree is kept as JSON in saved views:

    {"and": [{"field": "tier", "op": "in", "value": ["A", "B"]}, {"or": [...]}]}

`parse()` turns text into the tree, `validate()` checks it against a model's fields (each
error names the field or the position), `to_q()` compiles it to a Django Q, and `to_text()`
writes the tree back as text. A field set is a dict of `FilterField`s, built per model by the
app that owns it (standard fields, custom fields, tags …).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _

from .datetimes import to_utc

# Field types and the operators each accepts.
TEXT, NUMBER, DECIMAL, DATE, DATETIME, CHOICE, MULTI, BOOL, USER, TAG = (
    "text",
    "number",
    "decimal",
    "date",
    "datetime",
    "choice",
    "multi",
    "bool",
    "user",
    "tag",
)
COMPARE = ("=", "!=", "<", "<=", ">", ">=")
OPERATORS: dict[str, tuple[str, ...]] = {
    TEXT: ("=", "!=", "~", "^", "in", "not in", "empty", "not empty"),
    NUMBER: (*COMPARE, "in", "not in", "empty", "not empty"),
    DECIMAL: (*COMPARE, "empty", "not empty"),
    DATE: (*COMPARE, "empty", "not empty"),
    DATETIME: (*COMPARE, "empty", "not empty"),
    CHOICE: ("=", "!=", "in", "not in", "empty", "not empty"),
    MULTI: ("=", "!=", "in", "not in", "empty", "not empty"),
    BOOL: ("=", "!="),
    USER: ("=", "!=", "in", "not in", "empty", "not empty"),
    TAG: ("=", "!=", "in", "not in"),
}
MAX_CONDITIONS = 50
MAX_DEPTH = 8
MAX_LENGTH = 4000


@dataclass(frozen=True)
class FilterField:
    """A field people may filter on.

    `path` is the ORM lookup path ("tier", "owner_id", "custom__employees"); `to_q`, when
    given, builds the condition itself (tags: "this tag or one below it"). `choices` lists
    the allowed values of choice fields as (value, label).
    """

    name: str
    label: Any
    type: str
    path: str = ""
    choices: tuple[tuple[str, Any], ...] = ()
    to_q: Callable[[str, Any], Q] | None = None
    json: bool = False  # stored inside a JSON column (custom fields)
    extra: dict = field(default_factory=dict)


class FilterError(ValidationError):
    """A filter that cannot be used; `.message_dict` has one entry: "filter"."""


def _error(message: str, code: str) -> FilterError:
    return FilterError({"filter": [ValidationError(message, code=code)]})


# --- text → tree ---------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<op><=|>=|!=|=|<|>|~|\^)
      | (?P<paren>[(),])
      | (?P<word>[^\s()",=<>!~^]+)
    )""",
    re.VERBOSE,
)
_KEYWORDS = {"and", "or", "not", "in", "is", "empty"}


@dataclass
class _Token:
    kind: str
    text: str
    position: int


def _tokens(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise _error(
                _("The filter has something unexpected at character %(n)d.") % {"n": position + 1},
                "syntax",
            )
        kind = match.lastgroup or ""
        raw = match.group(kind)
        start = match.start(kind)
        if kind == "string":
            raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
        tokens.append(_Token(kind, raw, start))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.index = 0
        self.conditions = 0

    def peek(self, offset: int = 0) -> _Token | None:
        index = self.index + offset
        return self.tokens[index] if index < len(self.tokens) else None

    def word(self, offset: int = 0) -> str:
        token = self.peek(offset)
        return token.text.lower() if token is not None and token.kind == "word" else ""

    def take(self) -> _Token:
        token = self.peek()
        if token is None:
            raise _error(_("The filter ends too early."), "syntax")
        self.index += 1
        return token

    def fail(self, token: _Token | None, expected: str) -> FilterError:
        if token is None:
            return _error(
                _("The filter ends too early: %(expected)s expected.") % {"expected": expected},
                "syntax",
            )
        return _error(
            _("“%(found)s” at character %(n)d: %(expected)s expected.")
            % {"found": token.text, "n": token.position + 1, "expected": expected},
            "syntax",
        )

    def parse(self) -> dict:
        if not self.tokens:
            return {"and": []}
        tree = self.expression(0)
        if self.peek() is not None:
            raise self.fail(self.peek(), _("“and”, “or” or the end"))
        return tree

    def expression(self, depth: int) -> dict:
        if depth > MAX_DEPTH:
            raise _error(_("The filter nests too deeply."), "too_deep")
        parts = [self.conjunction(depth)]
        while self.word() == "or":
            self.take()
            parts.append(self.conjunction(depth))
        return parts[0] if len(parts) == 1 else {"or": parts}

    def conjunction(self, depth: int) -> dict:
        parts = [self.negation(depth)]
        while self.word() == "and":
            self.take()
            parts.append(self.negation(depth))
        return parts[0] if len(parts) == 1 else {"and": parts}

    def negation(self, depth: int) -> dict:
        if self.word() == "not":
            self.take()
            return {"not": self.negation(depth + 1)}
        token = self.peek()
        if token is not None and token.kind == "paren" and token.text == "(":
            self.take()
            inner = self.expression(depth + 1)
            closing = self.peek()
            if closing is None or closing.text != ")":
                raise self.fail(closing, "“)”")
            self.take()
            return inner
        return self.condition()

    def value(self) -> str:
        token = self.take()
        if token.kind not in ("word", "string"):
            raise self.fail(token, _("a value"))
        return token.text

    def condition(self) -> dict:
        self.conditions += 1
        if self.conditions > MAX_CONDITIONS:
            raise _error(
                _("A filter has at most %(n)d conditions.") % {"n": MAX_CONDITIONS}, "too_long"
            )
        token = self.take()
        if token.kind != "word" or token.text.lower() in _KEYWORDS:
            raise self.fail(token, _("a field name"))
        name = token.text
        following = self.peek()
        if following is None:
            raise self.fail(None, _("an operator"))
        if following.kind == "op":
            self.take()
            return {"field": name, "op": following.text, "value": self.value()}
        keyword = self.word()
        if keyword == "is":
            self.take()
            negated = self.word() == "not"
            if negated:
                self.take()
            if self.word() != "empty":
                raise self.fail(self.peek(), "“empty”")
            self.take()
            return {"field": name, "op": "not empty" if negated else "empty", "value": None}
        negated = keyword == "not" and self.word(1) == "in"
        if negated:
            self.take()
        if self.word() == "in":
            self.take()
            opening = self.take()
            if opening.text != "(":
                raise self.fail(opening, "“(”")
            values = [self.value()]
            while self.peek() is not None and self.peek().text == ",":
                self.take()
                values.append(self.value())
            closing = self.peek()
            if closing is None or closing.text != ")":
                raise self.fail(closing, "“)”")
            self.take()
            return {"field": name, "op": "not in" if negated else "in", "value": values}
        raise self.fail(following, _("an operator"))


def parse(text: str) -> dict:
    """The tree of a filter written as text; a FilterError says where it went wrong."""
    if len(text or "") > MAX_LENGTH:
        raise _error(_("A filter has at most %(n)d characters.") % {"n": MAX_LENGTH}, "too_long")
    return _Parser(text or "").parse()


# --- tree → text ---------------------------------------------------------------------------

_BARE = re.compile(r"^[^\s()\",=<>!~^]+$")


def _quote(value: Any) -> str:
    text = "" if value is None else str(value)
    if _BARE.match(text) and text.lower() not in _KEYWORDS:
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_text(tree: dict, *, _top: bool = True) -> str:
    """The tree written back as filter text (parse(to_text(tree)) gives the tree back)."""
    if "field" in tree:
        op, value = tree["op"], tree.get("value")
        if op in ("empty", "not empty"):
            return f"{tree['field']} is {'not ' if op == 'not empty' else ''}empty"
        if op in ("in", "not in"):
            return f"{tree['field']} {op} ({', '.join(_quote(v) for v in value)})"
        return f"{tree['field']} {op} {_quote(value)}"
    if "not" in tree:
        inner = tree["not"]
        if "field" in inner or "not" in inner:
            return f"not {to_text(inner, _top=False)}"
        return f"not ({to_text(inner, _top=False)})"
    ((joiner, parts),) = tree.items()
    if not parts:
        return ""
    text = f" {joiner} ".join(
        to_text(part, _top=False)
        if "field" in part or "not" in part
        else f"({to_text(part, _top=False)})"
        for part in parts
    )
    return text


# --- validation and compilation --------------------------------------------------------------


@dataclass
class Context:
    """What relative values mean in this request."""

    user_id: int | None = None
    now: datetime | None = None

    def current(self) -> datetime:
        return self.now or timezone.now()


_RELATIVE = re.compile(r"^(today|now)(?:([+-])(\d{1,5}))?$", re.IGNORECASE)


def _field_error(name: str, message: str, code: str) -> FilterError:
    return _error(f"{name}: {message}", code)


def _convert(field: FilterField, raw: Any, context: Context) -> Any:
    """The value as the database compares it, or a FilterError naming the field."""
    text = "" if raw is None else str(raw).strip()
    kind = field.type
    if kind in (NUMBER, USER, TAG):
        if kind == USER and text.lower() == "me":
            if context.user_id is None:
                raise _field_error(field.name, _("“me” needs a signed-in user."), "invalid_value")
            return context.user_id
        try:
            return int(text)
        except ValueError:
            raise _field_error(
                field.name,
                _("“%(value)s” is not a whole number.") % {"value": text},
                "invalid_value",
            ) from None
    if kind == DECIMAL:
        try:
            return Decimal(text)
        except InvalidOperation:
            raise _field_error(
                field.name, _("“%(value)s” is not a number.") % {"value": text}, "invalid_value"
            ) from None
    if kind == BOOL:
        lowered = text.lower()
        if lowered in ("true", "yes", "1", "是"):
            return True
        if lowered in ("false", "no", "0", "否"):
            return False
        raise _field_error(field.name, _("Use true or false."), "invalid_value")
    if kind in (DATE, DATETIME):
        relative = _RELATIVE.match(text)
        if relative:
            base = timezone.localtime(context.current())
            if relative.group(1).lower() == "today":
                base = base.replace(hour=0, minute=0, second=0, microsecond=0)
            if relative.group(2):
                days = int(relative.group(3)) * (1 if relative.group(2) == "+" else -1)
                base = base + timedelta(days=days)
            return base.date() if kind == DATE else base
        parsed: date | datetime | None
        if kind == DATE:
            try:
                parsed = parse_date(text) if len(text) <= 10 else None
            except ValueError:  # well formed but not a real day (2026-02-30)
                parsed = None
        else:
            parsed = to_utc(text, dates=True)
        if parsed is None:
            raise _field_error(
                field.name,
                _("“%(value)s” is not a date (use 2026-12-31, today or today-30).")
                % {"value": text},
                "invalid_value",
            )
        return parsed
    if kind in (CHOICE, MULTI) and field.choices:
        allowed = {str(value) for value, _label in field.choices}
        if text not in allowed:
            raise _field_error(
                field.name,
                _("“%(value)s” is not one of: %(choices)s.")
                % {"value": text, "choices": ", ".join(sorted(allowed))},
                "invalid_value",
            )
    return text


def validate(tree: Any, fields: Mapping[str, FilterField], context: Context | None = None) -> dict:
    """Check a tree (from text or JSON) against the fields; return it with values converted.
    Unknown fields, operators a field does not take and bad values are FilterErrors naming
    the field."""
    context = context or Context()
    counter = {"n": 0}

    def walk(node: Any, depth: int) -> dict:
        if depth > MAX_DEPTH:
            raise _error(_("The filter nests too deeply."), "too_deep")
        if not isinstance(node, dict) or len(node) == 0:
            raise _error(_("The filter is not well formed."), "malformed")
        if "field" in node:
            counter["n"] += 1
            if counter["n"] > MAX_CONDITIONS:
                raise _error(
                    _("A filter has at most %(n)d conditions.") % {"n": MAX_CONDITIONS},
                    "too_long",
                )
            name, op = node.get("field"), node.get("op")
            if not isinstance(name, str) or name not in fields:
                raise _error(
                    _("There is no field “%(name)s” to filter on.") % {"name": name},
                    "unknown_field",
                )
            spec = fields[name]
            if op not in OPERATORS[spec.type]:
                raise _field_error(
                    name,
                    _("“%(op)s” does not apply to this field; use one of: %(ops)s.")
                    % {"op": op, "ops": ", ".join(OPERATORS[spec.type])},
                    "unknown_operator",
                )
            value = node.get("value")
            if op in ("empty", "not empty"):
                converted: Any = None
            elif op in ("in", "not in"):
                if not isinstance(value, list) or not value or len(value) > 200:
                    raise _field_error(
                        name, _("Give between 1 and 200 values in parentheses."), "invalid_value"
                    )
                converted = [_convert(spec, item, context) for item in value]
            else:
                if isinstance(value, (list, dict)):
                    raise _field_error(name, _("Give one value."), "invalid_value")
                converted = _convert(spec, value, context)
            return {"field": name, "op": op, "value": converted}
        if set(node) == {"not"}:
            return {"not": walk(node["not"], depth + 1)}
        if len(node) == 1 and next(iter(node)) in ("and", "or"):
            ((joiner, parts),) = node.items()
            if not isinstance(parts, list):
                raise _error(_("The filter is not well formed."), "malformed")
            return {joiner: [walk(part, depth + 1) for part in parts]}
        raise _error(_("The filter is not well formed."), "malformed")

    return walk(tree, 0)


_LOOKUPS = {
    "=": "exact",
    "<": "lt",
    "<=": "lte",
    ">": "gt",
    ">=": "gte",
    "~": "icontains",
    "^": "istartswith",
}


def _json_value(value: Any) -> Any:
    """Dates, times and decimals as custom fields store them in JSON (ISO text, numbers)."""
    if isinstance(value, list):
        return [_json_value(item) for item in value]
    if isinstance(value, datetime):
        return (
            value.astimezone(dt.UTC).isoformat() if timezone.is_aware(value) else value.isoformat()
        )
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def _condition_q(spec: FilterField, op: str, value: Any) -> Q:
    if spec.to_q is not None:
        return spec.to_q(op, value)
    if spec.json:
        value = _json_value(value)
    path = spec.path or spec.name
    if op in ("empty", "not empty"):
        if spec.type in (TEXT, CHOICE) and not spec.json:
            empty = Q(**{f"{path}__isnull": True}) | Q(**{path: ""})
        elif spec.type == MULTI:
            empty = Q(**{f"{path}__isnull": True}) | Q(**{path: []})
        else:
            empty = Q(**{f"{path}__isnull": True})
        return empty if op == "empty" else ~empty
    if spec.type == MULTI:
        from django.db import connection

        values = value if isinstance(value, list) else [value]
        matched = Q()
        for item in values:
            if connection.features.supports_json_field_contains:
                matched |= Q(**{f"{path}__contains": [item]})
            else:  # SQLite: the list's JSON text holds the quoted value
                matched |= Q(**{f"{path}__icontains": json.dumps(item, ensure_ascii=False)})
        return ~matched if op in ("!=", "not in") else matched
    if op in ("in", "not in"):
        matched = Q(**{f"{path}__in": value})
        return ~matched if op == "not in" else matched
    if op == "!=":
        return ~Q(**{path: value})
    return Q(**{f"{path}__{_LOOKUPS[op]}": value})


def to_q(tree: dict, fields: Mapping[str, FilterField]) -> Q:
    """A validated tree as a Django Q (use `validate` first)."""
    if "field" in tree:
        return _condition_q(fields[tree["field"]], tree["op"], tree["value"])
    if "not" in tree:
        return ~to_q(tree["not"], fields)
    ((joiner, parts),) = tree.items()
    combined = Q()
    for part in parts:
        combined = (
            combined & to_q(part, fields) if joiner == "and" else combined | to_q(part, fields)
        )
    return combined


def apply(
    queryset,
    text_or_tree: str | dict,
    fields: Mapping[str, FilterField],
    context: Context | None = None,
):
    """Filter `queryset` by a filter given as text or as a tree; FilterError if it is bad."""
    tree = parse(text_or_tree) if isinstance(text_or_tree, str) else text_or_tree
    checked = validate(tree, fields, context)
    if checked in ({"and": []}, {"or": []}):
        return queryset
    return queryset.filter(to_q(checked, fields))


# --- which fields each object type offers ------------------------------------------------------

_providers: dict[str, list[Callable[[Any], list[FilterField]]]] = {}


def register_fields(object_type: str, provider: Callable[[Any], list[FilterField]]) -> None:
    """`provider(user)` lists the fields `user` may filter `object_type` on. Several providers
    per type add up (standard fields by the owning app, custom fields by core …)."""
    providers = _providers.setdefault(object_type, [])
    if provider not in providers:
        providers.append(provider)


def filterable_types() -> list[str]:
    return sorted(_providers)


def fields_for(user: Any, object_type: str) -> dict[str, FilterField]:
    """Every field `user` may filter `object_type` on, by name (FilterError if the type has no
    filters)."""
    if object_type not in _providers:
        raise _error(_("“%(type)s” cannot be filtered.") % {"type": object_type}, "unknown_type")
    return {spec.name: spec for provider in _providers[object_type] for spec in provider(user)}
