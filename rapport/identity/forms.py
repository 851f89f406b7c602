"""Forms for the identity pages. They parse input only; the services own every rule."""

from __future__ import annotations

import re
import zoneinfo
from functools import cache

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from rapport.core.forms import TablerForm
from rapport.core.tags.models import Colour, Tag

from .models import Department, FieldRule, Role, Scope, Team, User


@cache
def timezone_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(zoneinfo.available_timezones())]


class DepartmentChoiceField(forms.ModelChoiceField):
    """Departments in tree order, indented by depth."""

    def __init__(self, **kwargs):
        kwargs.setdefault("queryset", Department.objects.order_by("path"))
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def label_from_instance(self, obj: Department) -> str:
        return f"{'— ' * obj.depth}{obj.name}"


def active_users():
    return User.objects.filter(is_active=True).order_by("username")


# --- own profile ---------------------------------------------------------------------------


class ProfileForm(TablerForm):
    display_name = forms.CharField(label=_("Display name"), max_length=120, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=32, required=False)
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)
    timezone = forms.ChoiceField(label=_("Time zone"), choices=timezone_choices)


class PasswordChangeForm(TablerForm):
    current_password = forms.CharField(
        label=_("Current password"),
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    password = forms.CharField(
        label=_("New password"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password_again = forms.CharField(
        label=_("New password (again)"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args, user: User, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_current_password(self) -> str:
        password = self.cleaned_data["current_password"]
        if not self.user.check_password(password):
            raise ValidationError(_("Your current password is not correct."), code="wrong")
        return password

    def clean(self):
        cleaned = super().clean()
        if (
            cleaned.get("password")
            and cleaned.get("password_again")
            and cleaned["password"] != cleaned["password_again"]
        ):
            self.add_error("password_again", _("The two passwords differ."))
        return cleaned


class TokenForm(TablerForm):
    name = forms.CharField(label=_("Name"), max_length=100, required=False)
    days = forms.IntegerField(
        label=_("Valid for (days)"), initial=settings.API_TOKEN_DEFAULT_DAYS, required=False
    )


# --- users ---------------------------------------------------------------------------------


class UserFilterForm(TablerForm):
    q = forms.CharField(label=_("Search"), required=False)
    department = DepartmentChoiceField(label=_("Department"))
    role = forms.ModelChoiceField(label=_("Role"), queryset=Role.objects.all(), required=False)
    active = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("All")), ("1", _("Active")), ("0", _("Inactive")), ("locked", _("Locked"))],
    )


class UserFieldsForm(TablerForm):
    username = forms.CharField(label=_("Username"), max_length=150, required=False)
    email = forms.CharField(label=_("E-mail"), max_length=254, required=False)
    display_name = forms.CharField(label=_("Display name"), max_length=120, required=False)
    title = forms.CharField(label=_("Job title"), max_length=120, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=32, required=False)
    department = DepartmentChoiceField(label=_("Department"))
    manager = forms.ModelChoiceField(
        label=_("Manager"), queryset=User.objects.none(), required=False
    )
    language = forms.ChoiceField(
        label=_("Language"), choices=settings.LANGUAGES, initial=settings.LANGUAGE_CODE
    )
    timezone = forms.ChoiceField(
        label=_("Time zone"), choices=timezone_choices, initial=settings.DEFAULT_USER_TIMEZONE
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["manager"].queryset = active_users()


class UserCreateForm(UserFieldsForm):
    password = forms.CharField(
        label=_("Initial password"),
        required=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("Leave empty to let the person set a password through the reset link."),
    )
    roles = forms.ModelMultipleChoiceField(
        label=_("Roles"),
        queryset=Role.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )


class UserRolesForm(TablerForm):
    roles = forms.ModelMultipleChoiceField(
        label=_("Roles"),
        queryset=Role.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )


class ReasonForm(TablerForm):
    reason = forms.CharField(label=_("Reason"), required=False, max_length=500)


class OffboardForm(TablerForm):
    successor = forms.ModelChoiceField(
        label=_("Hand records over to"), queryset=User.objects.none()
    )
    reason = forms.CharField(label=_("Reason"), required=False, max_length=500)

    def __init__(self, *args, leaving: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["successor"].queryset = active_users().exclude(pk=leaving.pk)


# --- departments and teams -----------------------------------------------------------------


class DepartmentCreateForm(TablerForm):
    name = forms.CharField(label=_("Name"), max_length=120, required=False)
    code = forms.CharField(label=_("Code"), max_length=60, required=False)
    parent = DepartmentChoiceField(label=_("Parent department"))
    manager = forms.ModelChoiceField(
        label=_("Manager"), queryset=User.objects.none(), required=False
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["manager"].queryset = active_users()


class DepartmentEditForm(TablerForm):
    name = forms.CharField(label=_("Name"), max_length=120, required=False)
    parent = DepartmentChoiceField(label=_("Parent department"))
    manager = forms.ModelChoiceField(
        label=_("Manager"), queryset=User.objects.none(), required=False
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["manager"].queryset = active_users()


class TeamCreateForm(TablerForm):
    name = forms.CharField(label=_("Name"), max_length=120, required=False)
    department = DepartmentChoiceField(label=_("Department"))
    lead = forms.ModelChoiceField(
        label=_("Team lead"), queryset=User.objects.none(), required=False
    )
    members = forms.ModelMultipleChoiceField(
        label=_("Members"), queryset=User.objects.none(), required=False
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lead"].queryset = active_users()
        self.fields["members"].queryset = active_users()
        self.fields["members"].widget.attrs["size"] = 8


class TeamMembersForm(TablerForm):
    members = forms.ModelMultipleChoiceField(
        label=_("Members"), queryset=User.objects.none(), required=False
    )

    def __init__(self, *args, team: Team, **kwargs):
        super().__init__(*args, **kwargs)
        # Current members stay choosable even if deactivated, so saving never drops them silently.
        self.fields["members"].queryset = User.objects.filter(
            pk__in=active_users().values("pk")
        ) | User.objects.filter(teams=team)
        self.fields["members"].widget.attrs["size"] = 12


# --- roles ---------------------------------------------------------------------------------


class RoleCreateForm(TablerForm):
    code = forms.CharField(label=_("Code"), max_length=60, required=False)
    name = forms.CharField(label=_("Name"), max_length=120, required=False)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    require_mfa = forms.BooleanField(label=_("Require two-factor authentication"), required=False)


class RoleSettingsForm(TablerForm):
    name = forms.CharField(label=_("Name"), max_length=120, required=False)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    require_mfa = forms.BooleanField(label=_("Require two-factor authentication"), required=False)


SCOPE_CHOICES = [("", _("None")), *Scope.choices]
FIELD_RULE_CHOICES = [("", _("Visible")), *FieldRule.Rule.choices]

# Commas (ASCII or full-width), the enumeration comma 、 and new lines all separate values.
_VALUE_SEPARATORS = re.compile(r"[,，、;；\n\r]+")


def split_values(text: str) -> list[str]:
    """ "广东省、上海市" -> ["广东省", "上海市"]: stripped, blanks and repeats dropped."""
    values: list[str] = []
    for value in _VALUE_SEPARATORS.split(text or ""):
        value = value.strip()
        if value and value not in values:
            values.append(value)
    return values


class GrantConditionForm(TablerForm):
    """One condition of one existing grant: the field and its values (blank removes it)."""

    grant = forms.ChoiceField(label=_("Grant"))
    field = forms.ChoiceField(label=_("Field"))
    values = forms.CharField(
        label=_("Values"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_(
            "Separate values with commas, 、 or new lines. "
            "Leave empty to remove the condition on this field."
        ),
    )

    def __init__(
        self,
        *args,
        grants: list[tuple[str, str]],
        fields: list[tuple[str, str]],
        value_choices: dict[str, list[tuple[str, str]]],
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.fields["grant"].choices = grants
        self.fields["field"].choices = fields
        self.value_choices = value_choices

    def clean_values(self) -> list[str]:
        return split_values(self.cleaned_data.get("values", ""))

    def clean(self):
        cleaned = super().clean()
        # Accept a choice's label ("A — 战略") as well as its stored value, in any case ("a").
        choices = self.value_choices.get(cleaned.get("field", ""), [])
        if choices and cleaned.get("values"):
            by_label = {str(label).casefold(): value for value, label in choices}
            by_label.update({str(value).casefold(): value for value, _label in choices})
            cleaned["values"] = [
                by_label.get(value.casefold(), value) for value in cleaned["values"]
            ]
        return cleaned


# --- account requests ----------------------------------------------------------------------


class AccountRequestForm(TablerForm):
    username = forms.CharField(label=_("Username"), max_length=150, required=False)
    email = forms.CharField(label=_("E-mail"), max_length=254, required=False)
    display_name = forms.CharField(label=_("Name"), max_length=120, required=False)
    department = DepartmentChoiceField(label=_("Department"))
    roles = forms.ModelMultipleChoiceField(
        label=_("Roles"),
        queryset=Role.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    reason = forms.CharField(
        label=_("Reason"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class DecisionForm(TablerForm):
    note = forms.CharField(label=_("Note"), required=False, max_length=1000)


# --- tags ----------------------------------------------------------------------------------


class TagParentField(forms.ModelChoiceField):
    """Active tags in tree order, indented by depth; empty means "at the top"."""

    def __init__(self, **kwargs):
        kwargs.setdefault("queryset", Tag.objects.filter(is_active=True).order_by("path"))
        kwargs.setdefault("required", False)
        kwargs.setdefault("empty_label", _("— none (top level) —"))
        super().__init__(**kwargs)

    def label_from_instance(self, obj: Tag) -> str:
        return f"{'— ' * obj.depth}{obj.label}"


class TagForm(TablerForm):
    """Create or edit a tag. The service checks names, colours, cycles and depth."""

    name = forms.CharField(
        label=_("Name"),
        max_length=60,
        required=False,
        help_text=_("As your company writes it, e.g. 制造业."),
    )
    name_en = forms.CharField(
        label=_("English name"),
        max_length=60,
        required=False,
        help_text=_("Optional; shown to people who use Rapport in English."),
    )
    # A plain text field behind the swatches: the service names a colour it does not know.
    colour = forms.CharField(
        label=_("Colour"),
        required=False,
        initial=Colour.BLUE,
        widget=forms.RadioSelect(choices=Colour.choices),
    )
    parent = TagParentField(label=_("Parent tag"))

    def __init__(self, *args, tag: Tag | None = None, **kwargs):
        if tag is not None:
            initial = {
                "name": tag.name,
                "name_en": tag.name_en,
                "colour": tag.colour,
                "parent": tag.parent_id,
            }
            kwargs["initial"] = {**initial, **kwargs.get("initial", {})}
        super().__init__(*args, **kwargs)
        self.fields["colour"].widget.attrs["class"] = "form-colorinput-input"
        if tag is not None:  # not under itself: the service would refuse it anyway
            self.fields["parent"].queryset = self.fields["parent"].queryset.exclude(
                path__startswith=tag.path
            )


class CustomFieldForm(TablerForm):
    """Add or change a custom field. The service checks keys, choices, rules and defaults."""

    object_type = forms.ChoiceField(label=_("Record type"), choices=())
    key = forms.CharField(
        label=_("Key"),
        max_length=40,
        help_text=_(
            "Lower-case letters, digits and _; used in filters as cf.<key>. Cannot change later."
        ),
    )
    type = forms.ChoiceField(label=_("Type"), choices=())
    label = forms.CharField(label=_("Label"), max_length=100, required=False)
    label_en = forms.CharField(label=_("English label"), max_length=100, required=False)
    required = forms.BooleanField(label=_("Required"), required=False)
    choices = forms.CharField(
        label=_("Choices"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("One per line: value|中文|English, e.g. east|华东|East."),
    )
    default = forms.CharField(label=_("Default value"), required=False)
    minimum = forms.CharField(label=_("Minimum"), required=False)
    maximum = forms.CharField(label=_("Maximum"), required=False)
    pattern = forms.CharField(
        label=_("Pattern"), required=False, help_text=_("A regular expression text must match.")
    )
    help_text = forms.CharField(label=_("Help text"), max_length=300, required=False)
    help_text_en = forms.CharField(label=_("English help text"), max_length=300, required=False)
    position = forms.IntegerField(label=_("Position"), initial=100, min_value=0)
    indexed = forms.BooleanField(
        label=_("Fast filtering"),
        required=False,
        help_text=_("Keep a database index on this field (for fields people often filter on)."),
    )

    def __init__(self, *args, field=None, object_types=(), **kwargs):
        from rapport.core.customfields.models import FieldType

        self.field = field
        if field is not None:
            rules = field.validation or {}
            kwargs["initial"] = {
                "object_type": field.object_type,
                "key": field.key,
                "type": field.type,
                "label": field.label,
                "label_en": field.label_en,
                "required": field.required,
                "choices": "\n".join(
                    "|".join([c["value"], c.get("label", ""), c.get("label_en", "")]).rstrip("|")
                    for c in field.choices or []
                ),
                "default": "" if field.default is None else field.default,
                "minimum": rules.get("min", ""),
                "maximum": rules.get("max", ""),
                "pattern": rules.get("pattern", ""),
                "help_text": field.help_text,
                "help_text_en": field.help_text_en,
                "position": field.position,
                "indexed": field.indexed,
                **kwargs.get("initial", {}),
            }
        super().__init__(*args, **kwargs)
        self.fields["object_type"].choices = list(object_types)
        self.fields["type"].choices = FieldType.choices
        if field is not None:  # key, type and record type stay once values exist
            for name in ("object_type", "key", "type"):
                self.fields[name].disabled = True
                self.fields[name].required = False

    def service_values(self) -> dict:
        data = self.cleaned_data
        rules = {}
        for name, rule in (("minimum", "min"), ("maximum", "max")):
            if data.get(name) not in (None, ""):
                rules[rule] = data[name]
        if data.get("pattern"):
            rules["pattern"] = data["pattern"]
        values = {
            "label": data.get("label", ""),
            "label_en": data.get("label_en", ""),
            "required": data.get("required", False),
            "choices": data.get("choices", ""),
            "default": data.get("default") or None,
            "validation": rules,
            "help_text": data.get("help_text", ""),
            "help_text_en": data.get("help_text_en", ""),
            "position": data.get("position") or 0,
            "indexed": data.get("indexed", False),
        }
        if self.field is None:
            values.update(object_type=data["object_type"], key=data["key"], type=data["type"])
        return values
