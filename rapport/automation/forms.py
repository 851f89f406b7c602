"""Forms of the rule designer. They shape input; `rapport.automation.services` validates.

A rule is edited on one page: its names, record type, trigger and the trigger's settings,
the condition (the lists' filter builder over filter-language text) and an ordered list of
actions. Every action kind registered in `actions` gets a block of fields: the built-in
kinds have fields made for their settings (`ACTION_FIELDS`); a kind registered later
without them is edited as JSON. Errors the services name ("actions[1].round_robin.team",
"trigger_config.to") land beside the field that holds the value (`RuleDraft.add_error`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from rapport.core import filterlang
from rapport.core.forms import TablerForm
from rapport.core.tags.selectors import tag_tree
from rapport.customers import options as account_options
from rapport.customers.list_views import builder_config, builder_state
from rapport.identity.models import Action, Team, User

from . import actions, registry
from . import actor as system_actor
from .models import Rule, Trigger

MAX_PEOPLE = 500  # users offered in the pickers
UPDATE_ROWS = 3  # blank field/value rows an "update fields" action offers at least
MAX_UPDATE_ROWS = 20

# Which form fields hold each trigger's settings, and the service's name for each.
TRIGGER_FIELDS: dict[str, dict[str, str]] = {
    Trigger.CREATED: {},
    Trigger.UPDATED: {"watch_field": "field", "watch_to": "to"},
    Trigger.STAGE_CHANGED: {"stage_to": "to"},
    Trigger.DATE_REACHED: {"date_field": "field", "offset_days": "offset_days", "at": "at"},
    Trigger.SCHEDULE: {"cron": "cron"},
    Trigger.WEBHOOK: {"regenerate_token": "regenerate"},
    Trigger.EVENT: {"topic": "topic"},
}
TRIGGER_RUNS_NOW = (Trigger.CREATED, Trigger.UPDATED, Trigger.STAGE_CHANGED)


def _select(choices=()) -> forms.Select:
    return forms.Select(choices=choices)


def record_type_choices() -> list[tuple[str, str]]:
    return [(code, str(kind.label).capitalize()) for code, kind in registry.rule_types().items()]


def people(actor: User) -> list[User]:
    """Active people the actor may see, for the pickers (not the system actor)."""
    return list(
        User.objects.restrict(actor, Action.VIEW)
        .filter(is_active=True)
        .exclude(username=system_actor.USERNAME)
        .only("pk", "username", "first_name", "last_name", "display_name")
        .order_by("username")[:MAX_PEOPLE]
    )


@dataclass
class Choices:
    """What the pickers offer, read once per page (a few queries however many actions)."""

    actor: User
    object_type: str
    rule: Rule | None = None
    _cache: dict[str, Any] = field(default_factory=dict)

    def _get(self, key: str, load: Callable[[], Any]) -> Any:
        if key not in self._cache:
            self._cache[key] = load()
        return self._cache[key]

    @property
    def automatable(self) -> registry.Automatable | None:
        return registry.get(self.object_type)

    @property
    def fields(self) -> dict[str, filterlang.FilterField]:
        def load():
            if self.automatable is None:
                return {}
            try:
                return filterlang.fields_for(self.actor, self.object_type)
            except ValidationError:
                return {}

        return self._get("fields", load)

    @property
    def people(self) -> list[User]:
        return self._get("people", lambda: people(self.actor))

    @property
    def tag_nodes(self) -> list:
        return self._get("tags", lambda: tag_tree(active_only=True))

    @property
    def teams(self) -> list[Team]:
        return self._get("teams", lambda: list(Team.objects.order_by("name")))

    @property
    def rules(self) -> list[Rule]:
        def load():
            rules = Rule.objects.filter(object_type=self.object_type, retired_at__isnull=True)
            if self.rule is not None:
                rules = rules.exclude(pk=self.rule.pk)
            return list(rules.order_by("position", "id"))

        return self._get("rules", load)

    def people_choices(self, *, owner: bool = False) -> list[tuple[str, str]]:
        offered = [(str(user.pk), str(user)) for user in self.people]
        return [("owner", _("The record's owner")), *offered] if owner else offered

    def field_choices(self, names: list[str] | None = None) -> list[tuple[str, str]]:
        return [
            (name, str(spec.label))
            for name, spec in self.fields.items()
            if names is None or name in names
        ]

    def date_field_choices(self) -> list[tuple[str, str]]:
        return [
            (name, str(spec.label))
            for name, spec in self.fields.items()
            if spec.type in (filterlang.DATE, filterlang.DATETIME)
        ]

    def updatable_choices(self) -> list[tuple[str, str]]:
        automatable = self.automatable
        if automatable is None:
            return []
        names = [
            name
            for name in self.fields
            if name.startswith("cf.")
            or automatable.updatable is None
            or name in automatable.updatable
        ]
        return self.field_choices(names)

    def stage_choices(self) -> list[tuple[str, str]]:
        automatable = self.automatable
        if automatable is None or not automatable.stage_field:
            return []
        spec = self.fields.get(automatable.stage_field)
        if spec is not None and spec.choices:
            return [(str(value), str(label)) for value, label in spec.choices]
        return [(code, str(label)) for code, label in account_options.choices("lifecycle_stage")]


# --- the rule's own fields ----------------------------------------------------------------


class RuleForm(TablerForm):
    """Names, record type, trigger and its settings, the condition, and (new rules) on/off."""

    name = forms.CharField(
        label=gettext_lazy("Name"),
        required=False,
        max_length=200,
        help_text=gettext_lazy("As your company says it, e.g. A 级客户交给大客户组."),
    )
    name_en = forms.CharField(
        label=gettext_lazy("English name"),
        required=False,
        max_length=200,
        help_text=gettext_lazy("Optional; shown to people who use Rapport in English."),
    )
    object_type = forms.CharField(label=gettext_lazy("Record type"), widget=_select())
    trigger = forms.CharField(
        label=pgettext_lazy("rule trigger", "When"),
        widget=_select(Trigger.choices),
        initial=Trigger.UPDATED,
    )
    watch_field = forms.CharField(
        label=gettext_lazy("Field that changes"),
        required=False,
        widget=_select(),
        help_text=gettext_lazy("Leave at “any field” to run on every change."),
    )
    watch_to = forms.CharField(
        label=gettext_lazy("Changes to"),
        required=False,
        max_length=200,
        help_text=gettext_lazy("Optional: the new value, e.g. A. Leave empty for any value."),
    )
    stage_to = forms.CharField(label=gettext_lazy("New stage"), required=False, widget=_select())
    date_field = forms.CharField(label=gettext_lazy("Date field"), required=False, widget=_select())
    offset_days = forms.CharField(
        label=gettext_lazy("Days after the date"),
        required=False,
        max_length=6,
        initial="0",
        help_text=gettext_lazy("Negative for days before, e.g. -30 for 30 days before."),
    )
    at = forms.CharField(
        label=gettext_lazy("At time of day"),
        required=False,
        max_length=5,
        help_text=gettext_lazy("HH:MM, e.g. 09:00 (optional)."),
    )
    cron = forms.CharField(
        label=gettext_lazy("Schedule (cron)"),
        required=False,
        max_length=100,
        help_text=gettext_lazy(
            "Minute, hour, day of month, month, day of week; e.g. “0 9 * * 1-5” is 9:00 on "
            "weekdays."
        ),
        widget=forms.TextInput(attrs={"dir": "ltr", "spellcheck": "false"}),
    )
    topic = forms.CharField(
        label=gettext_lazy("Event"),
        required=False,
        max_length=100,
        help_text=gettext_lazy("The event's name, e.g. ticket.sla_breached."),
        widget=forms.TextInput(attrs={"dir": "ltr", "spellcheck": "false"}),
    )
    # The condition as filter-language text; the filter builder writes it. Named "filter"
    # so that the lists' builder (web/filter-builder.js) finds it.
    regenerate_token = forms.BooleanField(
        label=gettext_lazy("Make a new secret address (the old one stops working)"),
        required=False,
    )
    filter = forms.CharField(
        label=gettext_lazy("Condition (filter text)"),
        required=False,
        max_length=filterlang.MAX_LENGTH,
        widget=forms.Textarea(
            attrs={"rows": 2, "spellcheck": "false", "autocomplete": "off", "dir": "ltr"}
        ),
    )
    is_active = forms.BooleanField(
        label=gettext_lazy("Turn the rule on when saved"), required=False
    )

    def __init__(self, *args, choices: Choices, creating: bool, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.choices = choices
        self.fields["object_type"].widget.choices = record_type_choices()
        self.fields["watch_field"].widget.choices = [
            ("", _("Any field")),
            *choices.field_choices(),
        ]
        self.fields["stage_to"].widget.choices = [("", _("Any stage")), *choices.stage_choices()]
        self.fields["date_field"].widget.choices = [
            ("", _("Choose a date field…")),
            *choices.date_field_choices(),
        ]
        if not creating:
            del self.fields["is_active"]
        if choices.rule is None or choices.rule.trigger != Trigger.WEBHOOK:
            del self.fields["regenerate_token"]
        self.fields["watch_to"].widget.attrs["data-choices-for"] = "watch_field"
        self.fields["object_type"].widget.attrs["data-refresh-on-change"] = ""
        self.fields["trigger"].widget.attrs["data-trigger-select"] = ""

    def trigger_config(self) -> dict[str, Any]:
        data = self.cleaned_data
        trigger = data.get("trigger") or ""
        config: dict[str, Any] = {}
        for form_name, name in TRIGGER_FIELDS.get(trigger, {}).items():
            if name == "regenerate":
                if data.get(form_name):
                    config[name] = True
                continue
            value = (data.get(form_name) or "").strip()
            if name == "offset_days":
                config[name] = _number(value) if value else 0
            elif value:
                config[name] = value
        return config

    def service_values(self) -> dict[str, Any]:
        data = self.cleaned_data
        values = {
            "name": data["name"],
            "name_en": data["name_en"],
            "object_type": data["object_type"],
            "trigger": data["trigger"],
            "trigger_config": self.trigger_config(),
            "condition": data["filter"].strip(),
        }
        if "is_active" in self.fields:
            values["is_active"] = data["is_active"]
        return values


def _number(text: str) -> Any:
    """A whole number typed in a box, or the text itself (the service names it wrong)."""
    stripped = text.strip().replace("−", "-")
    try:
        return int(stripped)
    except ValueError:
        return stripped


def rule_initial(rule: Rule) -> dict[str, Any]:
    """The rule as the form's initial values."""
    initial: dict[str, Any] = {
        "name": rule.name,
        "name_en": rule.name_en,
        "object_type": rule.object_type,
        "trigger": rule.trigger,
        "filter": condition_text(rule.condition),
    }
    config = rule.trigger_config or {}
    for form_name, name in TRIGGER_FIELDS.get(rule.trigger, {}).items():
        if name in config and name != "regenerate":
            initial[form_name] = str(config[name])
    return initial


def condition_text(condition: Any) -> str:
    if not condition or condition == {"and": []}:
        return ""
    try:
        return filterlang.to_text(condition)
    except (ValueError, KeyError, TypeError, AttributeError):
        return json.dumps(condition, ensure_ascii=False)


# --- one form per action kind ---------------------------------------------------------------


class ActionForm(TablerForm):
    """The settings of one action; subclasses per kind add their fields."""

    kind = forms.CharField(widget=forms.HiddenInput)
    # fields that take the whole width of the action's block
    wide = ("mode", "subject", "subject_en", "body", "body_en", "message", "url", "settings")

    def __init__(self, *args, choices: Choices, **kwargs) -> None:
        self.choices = choices
        super().__init__(*args, **kwargs)
        self.setup()
        self.style_widgets()

    def setup(self) -> None:
        """Fill the pickers (subclasses)."""

    # service params <-> form values
    @classmethod
    def initial_from(cls, params: dict[str, Any]) -> dict[str, Any]:
        return {
            name: value
            for name, value in params.items()
            if name != "type" and name in cls.base_fields
        }

    def params(self) -> dict[str, Any]:
        return {
            name: value
            for name, value in self.cleaned_data.items()
            if name != "kind" and value not in (None, "", [])
        }

    def route_error(self, key: str) -> str | None:
        """The form field a service error key (after "actions[i].") belongs on."""
        name = key.split(".", 1)[0]
        return name if name in self.fields and name != "kind" else None


class UpdateFieldsForm(ActionForm):
    rows = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs) -> None:
        data = args[0] if args else kwargs.get("data")
        initial = kwargs.get("initial") or {}
        prefix = kwargs.get("prefix")
        count = initial.get("rows") or UPDATE_ROWS
        if data is not None:
            raw = data.get(f"{prefix}-rows" if prefix else "rows", "")
            count = int(raw) if str(raw).isdigit() else UPDATE_ROWS
        self.row_count = max(1, min(MAX_UPDATE_ROWS, count))
        super().__init__(*args, **kwargs)

    def setup(self) -> None:
        offered = [("", _("Choose a field…")), *self.choices.updatable_choices()]
        for index in range(self.row_count):
            self.fields[f"field_{index}"] = forms.CharField(
                label=_("Field"), required=False, widget=_select(offered)
            )
            self.fields[f"value_{index}"] = forms.CharField(
                label=_("New value"),
                required=False,
                max_length=1000,
                widget=forms.TextInput(
                    attrs={"data-choices-for": self.add_prefix(f"field_{index}")}
                ),
            )
        self.fields["rows"].initial = self.row_count

    def row_pairs(self) -> list[tuple[forms.BoundField, forms.BoundField]]:
        return [(self[f"field_{i}"], self[f"value_{i}"]) for i in range(self.row_count)]

    @classmethod
    def initial_from(cls, params: dict[str, Any]) -> dict[str, Any]:
        values = params.get("values") or {}
        initial: dict[str, Any] = {"rows": max(UPDATE_ROWS, len(values) + 1)}
        for index, (name, value) in enumerate(values.items()):
            initial[f"field_{index}"] = name
            initial[f"value_{index}"] = "" if value is None else str(value)
        return initial

    def params(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for index in range(self.row_count):
            name = self.cleaned_data.get(f"field_{index}") or ""
            if name:
                values[name] = self._typed(name, self.cleaned_data.get(f"value_{index}") or "")
        return {"values": values}

    def _typed(self, name: str, text: str) -> Any:
        spec = self.choices.fields.get(name)
        text = text.strip()
        if spec is None or text == "":
            return text if text != "" else None
        if spec.type in (filterlang.NUMBER, filterlang.USER, filterlang.TAG):
            return _number(text)
        if spec.type == filterlang.BOOL:
            lowered = text.lower()
            if lowered in ("true", "yes", "1", "是"):
                return True
            if lowered in ("false", "no", "0", "否"):
                return False
        return text

    def route_error(self, key: str) -> str | None:
        if key.startswith("values."):
            wanted = key.removeprefix("values.")
            for index in range(self.row_count):
                if self.cleaned_data.get(f"field_{index}") == wanted:
                    return f"value_{index}"
        if key == "values":
            return "field_0"
        return None


ASSIGN_MODES = [
    ("team", gettext_lazy("Round robin over a team")),
    ("users", gettext_lazy("Round robin over chosen people")),
    ("user", gettext_lazy("One person")),
]


class AssignOwnerForm(ActionForm):
    mode = forms.ChoiceField(
        label=gettext_lazy("Assign to"),
        choices=ASSIGN_MODES,
        initial="team",
        widget=forms.RadioSelect,
    )
    team = forms.CharField(label=gettext_lazy("Team"), required=False, widget=_select())
    users = forms.MultipleChoiceField(
        label=gettext_lazy("People, in turn"), required=False, widget=forms.SelectMultiple
    )
    user = forms.CharField(label=gettext_lazy("Person"), required=False, widget=_select())

    def setup(self) -> None:
        self.fields["team"].widget.choices = [
            ("", _("Choose a team…")),
            *[(str(team.pk), team.name) for team in self.choices.teams],
        ]
        self.fields["users"].choices = self.choices.people_choices()
        self.fields["users"].widget.attrs["size"] = 6
        self.fields["user"].widget.choices = [
            ("", _("Choose a person…")),
            *self.choices.people_choices(),
        ]

    @classmethod
    def initial_from(cls, params: dict[str, Any]) -> dict[str, Any]:
        if "user" in params:
            return {"mode": "user", "user": str(params["user"])}
        spec = params.get("round_robin") or {}
        if "users" in spec:
            return {"mode": "users", "users": [str(pk) for pk in spec["users"]]}
        return {"mode": "team", "team": str(spec.get("team", ""))}

    def params(self) -> dict[str, Any]:
        data = self.cleaned_data
        mode = data.get("mode") or "team"
        if mode == "user":
            return {"user": _number(data.get("user") or "")}
        if mode == "users":
            return {"round_robin": {"users": [_number(pk) for pk in data.get("users") or []]}}
        return {"round_robin": {"team": _number(data.get("team") or "")}}

    def route_error(self, key: str) -> str | None:
        return {
            "user": "user",
            "round_robin": "mode",
            "round_robin.team": "team",
            "round_robin.users": "users",
        }.get(key)


class TagsForm(ActionForm):
    tags = forms.MultipleChoiceField(
        label=gettext_lazy("Tags"), required=False, widget=forms.SelectMultiple
    )

    def setup(self) -> None:
        self.fields["tags"].choices = [
            (str(node.tag.pk), node.indent + node.tag.label) for node in self.choices.tag_nodes
        ]
        self.fields["tags"].widget.attrs["size"] = 6

    @classmethod
    def initial_from(cls, params: dict[str, Any]) -> dict[str, Any]:
        return {"tags": [str(pk) for pk in params.get("tags") or []]}

    def params(self) -> dict[str, Any]:
        return {"tags": [_number(pk) for pk in self.cleaned_data.get("tags") or []]}


class CreateTaskForm(ActionForm):
    subject = forms.CharField(label=gettext_lazy("Subject"), required=False, max_length=200)
    due_in_days = forms.CharField(
        label=gettext_lazy("Due in days"),
        required=False,
        max_length=6,
        help_text=gettext_lazy("Counted from when the rule runs; leave empty for no due date."),
    )
    due_in_hours = forms.CharField(label=gettext_lazy("and hours"), required=False, max_length=6)
    assignee = forms.CharField(
        label=gettext_lazy("Assignee"), required=False, initial="owner", widget=_select()
    )
    priority = forms.ChoiceField(
        label=gettext_lazy("Priority"),
        required=False,
        initial="normal",
        choices=[
            ("low", gettext_lazy("Low")),
            ("normal", gettext_lazy("Normal")),
            ("high", gettext_lazy("High")),
        ],
    )

    def setup(self) -> None:
        self.fields["assignee"].widget.choices = self.choices.people_choices(owner=True)

    @classmethod
    def initial_from(cls, params: dict[str, Any]) -> dict[str, Any]:
        return {
            name: str(params[name])
            for name in ("subject", "due_in_days", "due_in_hours", "assignee", "priority")
            if params.get(name) is not None
        }

    def params(self) -> dict[str, Any]:
        data = self.cleaned_data
        params: dict[str, Any] = {
            "subject": data.get("subject") or "",
            "assignee": _person(data.get("assignee")),
            "priority": data.get("priority") or "normal",
        }
        for name in ("due_in_days", "due_in_hours"):
            if (data.get(name) or "").strip():
                params[name] = _number(data[name])
        return params


def _person(value: Any) -> Any:
    return "owner" if value in (None, "", "owner") else _number(str(value))


class NotifyForm(ActionForm):
    to = forms.CharField(
        label=gettext_lazy("Notify"), required=False, initial="owner", widget=_select()
    )
    message = forms.CharField(
        label=gettext_lazy("Message"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def setup(self) -> None:
        self.fields["to"].widget.choices = self.choices.people_choices(owner=True)

    @classmethod
    def initial_from(cls, params: dict[str, Any]) -> dict[str, Any]:
        return {"to": str(params.get("to", "owner")), "message": params.get("message", "")}

    def params(self) -> dict[str, Any]:
        return {"to": _person(self.cleaned_data.get("to")), "message": self.cleaned_data["message"]}


class RunRuleForm(ActionForm):
    rule = forms.CharField(label=gettext_lazy("Rule to run"), required=False, widget=_select())

    def setup(self) -> None:
        self.fields["rule"].widget.choices = [
            ("", _("Choose a rule…")),
            *[(str(rule.pk), rule.display_name) for rule in self.choices.rules],
        ]

    @classmethod
    def initial_from(cls, params: dict[str, Any]) -> dict[str, Any]:
        return {"rule": str(params.get("rule", ""))}

    def params(self) -> dict[str, Any]:
        return {"rule": _number(self.cleaned_data.get("rule") or "")}


MESSAGE_HELP = gettext_lazy(
    "Placeholders: {{ name }}, {{ tier }}, {{ contact.name }} … are the record's fields and "
    "the recipient's name."
)


class EmailForm(ActionForm):
    """E-mail from a template to the record's contacts who consented to `purpose`."""

    subject = forms.CharField(label=gettext_lazy("Subject"), required=False, max_length=200)
    body = forms.CharField(
        label=gettext_lazy("Message"),
        required=False,
        max_length=10000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=MESSAGE_HELP,
    )
    subject_en = forms.CharField(
        label=gettext_lazy("English subject"), required=False, max_length=200
    )
    body_en = forms.CharField(
        label=gettext_lazy("English message"),
        required=False,
        max_length=10000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Optional; sent to contacts who read English."),
    )
    language = forms.ChoiceField(
        label=gettext_lazy("Default language"),
        required=False,
        initial="zh-hans",
        choices=[("zh-hans", "简体中文"), ("en", "English")],
    )
    purpose = forms.CharField(
        label=gettext_lazy("Consent needed for"),
        required=False,
        initial="marketing",
        widget=_select(),
        help_text=gettext_lazy("Only contacts who agreed to this are written to."),
    )

    def setup(self) -> None:
        from rapport.customers.models import ConsentPurpose

        self.fields["purpose"].widget.choices = ConsentPurpose.choices

    @classmethod
    def initial_from(cls, params: dict[str, Any]) -> dict[str, Any]:
        return {name: str(value) for name, value in params.items() if name in cls.base_fields}

    def params(self) -> dict[str, Any]:
        return {
            name: value
            for name, value in self.cleaned_data.items()
            if name not in ("kind",) and value not in (None, "")
        }


class SmsForm(EmailForm):
    subject = None
    subject_en = None
    body = forms.CharField(
        label=gettext_lazy("Message"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=MESSAGE_HELP,
    )
    body_en = forms.CharField(
        label=gettext_lazy("English message"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy("Optional; sent to contacts who read English."),
    )


class WebhookForm(ActionForm):
    url = forms.CharField(
        label=gettext_lazy("Address (URL)"),
        required=False,
        max_length=2000,
        widget=forms.URLInput(attrs={"dir": "ltr", "placeholder": "https://"}),
        help_text=gettext_lazy(
            "The record is posted there as JSON; http(s) only, not to private addresses."
        ),
    )


class StartApprovalForm(ActionForm):
    process = forms.CharField(
        label=gettext_lazy("Approval process"), required=False, widget=_select()
    )

    def setup(self) -> None:
        from . import models as automation_models

        model = getattr(automation_models, "ApprovalProcess", None)
        processes = (
            list(
                model.objects.filter(object_type=self.choices.object_type, is_active=True).order_by(
                    "position", "id"
                )
            )
            if model is not None
            else []
        )
        self.fields["process"].widget.choices = [
            ("", _("Choose a process…")),
            *[(str(process.pk), str(process)) for process in processes],
        ]

    @classmethod
    def initial_from(cls, params: dict[str, Any]) -> dict[str, Any]:
        return {"process": str(params.get("process", ""))}

    def params(self) -> dict[str, Any]:
        return {"process": _number(self.cleaned_data.get("process") or "")}


class JsonActionForm(ActionForm):
    """A kind registered without fields of its own: its settings as a JSON object."""

    settings = forms.CharField(
        label=gettext_lazy("Settings (JSON)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "dir": "ltr", "spellcheck": "false"}),
        help_text=gettext_lazy('An object of this action\'s settings, e.g. {"template": 3}.'),
    )

    @classmethod
    def initial_from(cls, params: dict[str, Any]) -> dict[str, Any]:
        settings = {name: value for name, value in params.items() if name != "type"}
        return {"settings": json.dumps(settings, ensure_ascii=False) if settings else ""}

    def params(self) -> dict[str, Any]:
        text = (self.cleaned_data.get("settings") or "").strip()
        if not text:
            return {}
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            raise ValidationError(
                {"settings": _('Write the settings as a JSON object, e.g. {"name": 1}.')}
            )
        return {name: value for name, value in parsed.items() if name != "type"}

    def route_error(self, key: str) -> str | None:
        return "settings"


ACTION_FIELDS: dict[str, type[ActionForm]] = {
    "update_fields": UpdateFieldsForm,
    "assign_owner": AssignOwnerForm,
    "add_tags": TagsForm,
    "remove_tags": TagsForm,
    "create_task": CreateTaskForm,
    "notify": NotifyForm,
    "run_rule": RunRuleForm,
    "send_email": EmailForm,
    "send_sms": SmsForm,
    "call_webhook": WebhookForm,
    "start_approval": StartApprovalForm,
}


def action_form_class(kind: str) -> type[ActionForm]:
    return ACTION_FIELDS.get(kind, JsonActionForm)


def action_kind_choices() -> list[tuple[str, str]]:
    choices = []
    for code in actions.codes():
        action_type = actions.get(code)
        choices.append((code, str(action_type.label) if action_type else code))
    return choices


def action_label(kind: str) -> str:
    action_type = actions.get(kind)
    return str(action_type.label) if action_type is not None else kind


# --- the whole page's state -----------------------------------------------------------------


ACTION_COUNT = "action_count"


@dataclass
class ActionBlock:
    kind: str
    form: ActionForm

    @property
    def label(self) -> str:
        return action_label(self.kind)

    @property
    def known(self) -> bool:
        return actions.get(self.kind) is not None


class RuleDraft:
    """The rule form and its action forms, from a request or from a saved rule.

    Adding, removing and moving actions re-render the page from what was typed (nothing is
    stored until "Save"): the typed values become the initial values of fresh forms in the
    new order.
    """

    def __init__(self, form: RuleForm, blocks: list[ActionBlock], choices: Choices) -> None:
        self.form = form
        self.blocks = blocks
        self.choices = choices
        self.action_errors: list[str] = []

    # construction
    @classmethod
    def for_rule(cls, actor: User, rule: Rule | None, object_type: str = "") -> RuleDraft:
        object_type = rule.object_type if rule is not None else object_type
        if object_type not in registry.rule_types():
            object_type = next(iter(registry.rule_types()), "")
        choices = Choices(actor=actor, object_type=object_type, rule=rule)
        if rule is None:
            form = RuleForm(initial={"object_type": object_type}, choices=choices, creating=True)
            return cls(form, [], choices)
        form = RuleForm(initial=rule_initial(rule), choices=choices, creating=False)
        blocks = []
        for index, params in enumerate(rule.actions or []):
            kind = str(params.get("type", ""))
            form_class = action_form_class(kind)
            blocks.append(
                ActionBlock(
                    kind,
                    form_class(
                        initial={"kind": kind, **form_class.initial_from(params)},
                        prefix=f"a{index}",
                        choices=choices,
                    ),
                )
            )
        return cls(form, blocks, choices)

    @classmethod
    def from_post(cls, actor: User, rule: Rule | None, data) -> RuleDraft:
        """Bound to what was posted (to save it)."""
        object_type = str(data.get("object_type") or "")
        choices = Choices(actor=actor, object_type=object_type, rule=rule)
        form = RuleForm(data, choices=choices, creating=rule is None)
        blocks = []
        for index in range(_count(data)):
            kind = str(data.get(f"a{index}-kind") or "")
            form_class = action_form_class(kind)
            blocks.append(ActionBlock(kind, form_class(data, prefix=f"a{index}", choices=choices)))
        return cls(form, blocks, choices)

    def rearranged(self, op: str, new_kind: str = "") -> RuleDraft:
        """The page again from the posted values, after `op` ("add", "remove:2", "up:1",
        "down:0", "refresh"), unbound: no errors shown, nothing stored."""
        data = self.form.data
        initial = {name: data.get(name, "") for name in self.form.fields if name in data}
        if "is_active" in self.form.fields:
            initial["is_active"] = data.get("is_active") in ("on", "true", "1")
        choices = Choices(
            actor=self.choices.actor, object_type=self.choices.object_type, rule=self.choices.rule
        )
        if choices.object_type not in registry.rule_types():
            choices.object_type = next(iter(registry.rule_types()), "")
            initial["object_type"] = choices.object_type
        form = RuleForm(initial=initial, choices=choices, creating="is_active" in self.form.fields)
        typed = [(block.kind, _typed_values(block.form)) for block in self.blocks]
        verb, _sep, raw_index = op.partition(":")
        index = int(raw_index) if raw_index.isdigit() else -1
        if verb == "add" and actions.get(new_kind) and len(typed) < actions.MAX_ACTIONS:
            typed.append((new_kind, {}))
        elif verb == "remove" and 0 <= index < len(typed):
            typed.pop(index)
        elif verb == "up" and 0 < index < len(typed):
            typed.insert(index - 1, typed.pop(index))
        elif verb == "down" and 0 <= index < len(typed) - 1:
            typed.insert(index + 1, typed.pop(index))
        elif verb == "addrow" and 0 <= index < len(typed) and "rows" in typed[index][1]:
            typed[index][1]["rows"] = min(MAX_UPDATE_ROWS, typed[index][1]["rows"] + 1)
        blocks = []
        for position, (kind, values) in enumerate(typed):
            form_class = action_form_class(kind)
            blocks.append(
                ActionBlock(
                    kind,
                    form_class(
                        initial={"kind": kind, **values}, prefix=f"a{position}", choices=choices
                    ),
                )
            )
        return RuleDraft(form, blocks, choices)

    # saving
    def is_valid(self) -> bool:
        valid = self.form.is_valid()
        for block in self.blocks:
            valid = block.form.is_valid() and valid
        return valid

    def service_values(self) -> dict[str, Any] | None:
        """What the services take, or None (errors put on the forms) when an action's own
        input cannot even be read (JSON settings that are not JSON)."""
        values = self.form.service_values()
        action_list = []
        ok = True
        for block in self.blocks:
            try:
                action_list.append({"type": block.kind, **block.form.params()})
            except ValidationError as error:
                block.form.add_service_error(error)
                ok = False
        values["actions"] = action_list
        return values if ok else None

    def add_service_error(self, error: ValidationError) -> None:
        """Each of the service's errors beside the field that holds the value."""
        if not hasattr(error, "error_dict"):
            self.form.add_error(None, error)
            return
        trigger = self.form.cleaned_data.get("trigger", "")
        trigger_fields = {
            name: form_name for form_name, name in TRIGGER_FIELDS.get(trigger, {}).items()
        }
        for key, items in error.error_dict.items():
            messages = [message for item in items for message in item.messages]
            if key in self.form.fields and key != "filter":
                self.form.add_error(key, messages)
            elif key == "condition":
                self.form.add_error("filter", messages)
            elif key.startswith("trigger_config."):
                name = key.removeprefix("trigger_config.")
                self.form.add_error(trigger_fields.get(name), messages)
            elif key == "trigger_config":
                self.form.add_error("trigger", messages)
            elif key == "actions":
                self.action_errors.extend(messages)
            elif key.startswith("actions["):
                position, _sep, rest = key.removeprefix("actions[").partition("]")
                rest = rest.removeprefix(".")
                if position.isdigit() and int(position) < len(self.blocks):
                    block = self.blocks[int(position)]
                    target = block.form.route_error(rest) if rest != "type" else None
                    block.form.add_error(target, messages)
                else:
                    self.action_errors.extend(messages)
            else:
                self.form.add_error(None, [f"{key}: {message}" for message in messages])

    # rendering
    def builder(self) -> dict[str, Any] | None:
        """The filter builder's configuration for the record type, with the condition."""
        object_type = self.choices.object_type
        if not self.choices.fields:
            return None
        text = str(self.form["filter"].value() or "").strip()
        tree = None
        if text:
            try:
                tree = filterlang.parse(text)
            except ValidationError:
                tree = None
        config = builder_config(
            self.choices.actor,
            object_type,
            SimpleNamespace(tag_nodes=self.choices.tag_nodes),
            self.choices.people,
            tree,
        )
        if tree is None and not text:
            config["state"] = builder_state({"and": []})
        for spec in config["fields"]:  # a rule runs as the system actor: "me" is nobody
            spec["choices"] = [choice for choice in spec["choices"] if choice[0] != "me"]
        config["text"]["join_before"] = _("Run for records matching")
        config["text"]["label"] = _("Condition")
        return config

    @property
    def trigger(self) -> str:
        return str(self.form["trigger"].value() or "")

    @property
    def webhook_token_hint(self) -> str:
        """The first characters of the webhook rule's secret token (the token is shown once)."""
        rule = self.choices.rule
        if rule is None or rule.trigger != Trigger.WEBHOOK:
            return ""
        return str((rule.trigger_config or {}).get("token_hint", ""))


def _count(data) -> int:
    raw = str(data.get(ACTION_COUNT) or "0")
    return min(actions.MAX_ACTIONS, int(raw)) if raw.isdigit() else 0


def _typed_values(form: ActionForm) -> dict[str, Any]:
    """What was typed into an action's fields, as initial values (lists for multiple)."""
    values: dict[str, Any] = {}
    for name, form_field in form.fields.items():
        key = form.add_prefix(name)
        if isinstance(form_field, forms.MultipleChoiceField):
            values[name] = form.data.getlist(key) if hasattr(form.data, "getlist") else []
        elif key in form.data:
            values[name] = form.data.get(key)
    if isinstance(form, UpdateFieldsForm):
        values["rows"] = form.row_count
    values.pop("kind", None)
    return values
