"""Forms of the 360 page: log an interaction, add or change a task, set a contact's role.

They shape what the browser sent into the keyword arguments of
`services.interaction_log` / `task_create` / `interaction_update` / `contact_role_set`;
the services validate, and their errors land beside the field they name.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from rapport.core.forms import MultipleFileField, TablerForm
from rapport.identity.models import Action, User

from .custom_forms import DateTimeLocalInput, add_custom_fields, custom_values
from .forms import _apply_field_rules
from .models import (
    Account,
    ConsentChannel,
    ConsentPurpose,
    ConsentSource,
    ConsentStatus,
    Contact,
    ContactRole,
    Direction,
    Interaction,
    InteractionKind,
    Outcome,
    Priority,
)

LOGGED_KINDS = [(k.value, k.label) for k in InteractionKind if k != InteractionKind.TASK]


def _blank(choices) -> list[tuple[str, Any]]:
    return [("", "—"), *[(c.value, c.label) for c in choices]]


def _user_choices(user: User) -> forms.ModelChoiceField:
    """Active users the user can see (and themselves), for assignees and participants."""
    visible = User.objects.restrict(user, Action.VIEW).filter(is_active=True).values("pk")
    return User.objects.filter(Q(pk__in=visible) | Q(pk=user.pk)).order_by("username")


class _CustomerChoice:
    """The other side of the record the form sits on: the contacts at an account, or the
    accounts of a contact (only those the user may see)."""

    def _customer_field(self, user: User, account: Account | None, contact: Contact | None):
        if account is not None:
            queryset = (
                Contact.objects.restrict(user, Action.VIEW)
                .filter(accountcontact__account=account, is_active=True)
                .only("pk", "name")
                .order_by("name", "id")
            )
            return "contact", forms.ModelChoiceField(
                queryset=queryset, required=False, label=_("Contact"), empty_label="—"
            )
        queryset = (
            Account.objects.restrict(user, Action.VIEW)
            .filter(accountcontact__contact=contact)
            .only("pk", "name")
            .order_by("name", "id")
        )
        return "account", forms.ModelChoiceField(
            queryset=queryset, required=False, label=_("Account"), empty_label="—"
        )


class InteractionLogForm(_CustomerChoice, TablerForm):
    """One short form on the 360 page: a call by default, with an optional follow-up task."""

    kind = forms.ChoiceField(label=_("Type"), choices=LOGGED_KINDS, initial=InteractionKind.CALL)
    subject = forms.CharField(
        label=_("Subject"),
        required=False,
        max_length=200,
        help_text=_("Left empty, it says what it was and with whom."),
    )
    occurred_at = forms.DateTimeField(label=_("When"), widget=DateTimeLocalInput())
    direction = forms.ChoiceField(label=_("Direction"), choices=_blank(Direction), required=False)
    outcome = forms.ChoiceField(label=_("Outcome"), choices=_blank(Outcome), required=False)
    duration_minutes = forms.IntegerField(
        label=_("Minutes"), required=False, min_value=0, max_value=24 * 60
    )
    body = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    next_step = forms.CharField(label=_("Next step"), required=False, max_length=300)
    follow_up_due = forms.DateTimeField(
        label=_("Follow up by"),
        required=False,
        widget=DateTimeLocalInput(),
        help_text=_("Adds a task for the next step."),
    )
    attachments = MultipleFileField(
        label=_("Attachments"),
        required=False,
        help_text=_("PDF, images, Office documents, text or call recordings."),
    )

    def __init__(
        self,
        *args,
        user: User,
        account: Account | None = None,
        contact: Contact | None = None,
        **kwargs,
    ) -> None:
        kwargs.setdefault("prefix", "log")
        super().__init__(*args, **kwargs)
        self.user, self.account, self.contact = user, account, contact
        name, field = self._customer_field(user, account, contact)
        self.customer_field = name
        self.fields[name] = field
        self.order_fields(["kind", name, "occurred_at", "direction", "outcome"])
        self.custom_names = add_custom_fields(self, Interaction.security_type, user, None)
        if not self.is_bound:
            self.initial.setdefault(
                "occurred_at", timezone.localtime().replace(second=0, microsecond=0)
            )
            self.initial.setdefault("direction", Direction.OUTBOUND)
            if account is None:
                only = list(field.queryset[:2])
                if len(only) == 1:  # a contact at one account: log it there too
                    self.initial["account"] = only[0].pk
        self.style_widgets()

    @property
    def customer(self):
        """The bound account or contact field (whichever the page is not about)."""
        return self[self.customer_field]

    @property
    def custom_fields(self):
        return [self[name] for name in self.custom_names]

    def service_values(self) -> dict[str, Any]:
        data = self.cleaned_data
        values = {
            name: data.get(name)
            for name in (
                "kind",
                "subject",
                "occurred_at",
                "direction",
                "outcome",
                "duration_minutes",
                "body",
                "next_step",
            )
        }
        if self.account is not None:
            values["account"] = self.account
            values["contact"] = data.get("contact")
        else:
            values["contact"] = self.contact
            values["account"] = data.get("account")
        values["follow_up_due"] = data.get("follow_up_due")
        values["attachments"] = data.get("attachments") or []
        values["custom"] = custom_values(self, only_changed=False)
        return values


class TaskForm(_CustomerChoice, TablerForm):
    subject = forms.CharField(label=_("Task"), max_length=200)
    due_at = forms.DateTimeField(label=_("Due"), required=False, widget=DateTimeLocalInput())
    assignee = forms.ModelChoiceField(queryset=User.objects.none(), label=_("Assignee"))
    priority = forms.ChoiceField(
        label=_("Priority"), choices=[(p.value, p.label) for p in Priority], initial=Priority.NORMAL
    )
    remind_at = forms.DateTimeField(
        label=_("Remind me at"), required=False, widget=DateTimeLocalInput()
    )
    body = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(
        self,
        *args,
        user: User,
        account: Account | None = None,
        contact: Contact | None = None,
        task: Interaction | None = None,
        **kwargs,
    ) -> None:
        kwargs.setdefault("prefix", "task")
        super().__init__(*args, **kwargs)
        self.user, self.task = user, task
        self.account = task.account if task is not None else account
        self.contact = task.contact if task is not None else contact
        self.fields["assignee"].queryset = _user_choices(user)
        if task is not None and task.assignee_id:
            self.fields["assignee"].queryset = User.objects.filter(
                Q(pk__in=self.fields["assignee"].queryset.values("pk")) | Q(pk=task.assignee_id)
            ).order_by("username")
        self.customer_field = ""
        if task is None:
            name, field = self._customer_field(user, account, contact)
            self.customer_field = name
            self.fields[name] = field
            self.order_fields(["subject", "due_at", "assignee", name])
        if not self.is_bound:
            if task is not None:
                for name in ("subject", "due_at", "priority", "remind_at", "body"):
                    self.initial[name] = getattr(task, name)
                self.initial["assignee"] = task.assignee_id
            else:
                self.initial["assignee"] = user.pk
        add_custom_fields(self, Interaction.security_type, user, task.custom if task else None)
        if task is not None:  # the body's field rule: hidden, or shown but not changeable
            _apply_field_rules(self, user, Interaction.security_type, task)
        self.style_widgets()

    def service_values(self) -> dict[str, Any]:
        data = self.cleaned_data
        values = {
            name: data.get(name)
            for name in ("subject", "due_at", "assignee", "priority", "remind_at", "body")
            if name in self.fields and not self.fields[name].disabled
        }
        if self.task is None:
            if self.account is not None:
                values["account"] = self.account
                values["contact"] = data.get("contact")
            else:
                values["contact"] = self.contact
                values["account"] = data.get("account")
        custom = custom_values(self, only_changed=self.task is not None)
        if custom is not None:
            values["custom"] = custom
        return values


class InteractionEditForm(TablerForm):
    """Change a logged interaction (its type stays)."""

    subject = forms.CharField(label=_("Subject"), max_length=200)
    occurred_at = forms.DateTimeField(label=_("When"), widget=DateTimeLocalInput())
    direction = forms.ChoiceField(label=_("Direction"), choices=_blank(Direction), required=False)
    outcome = forms.ChoiceField(label=_("Outcome"), choices=_blank(Outcome), required=False)
    duration_minutes = forms.IntegerField(
        label=_("Minutes"), required=False, min_value=0, max_value=24 * 60
    )
    body = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    next_step = forms.CharField(label=_("Next step"), required=False, max_length=300)

    def __init__(self, *args, interaction: Interaction, user: User, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.interaction = interaction
        if not self.is_bound:
            for name in list(self.fields):
                self.initial[name] = getattr(interaction, name)
        add_custom_fields(self, Interaction.security_type, user, interaction.custom)
        _apply_field_rules(self, user, Interaction.security_type, interaction)
        self.style_widgets()

    def service_values(self) -> dict[str, Any]:
        values = {
            name: value
            for name, value in self.cleaned_data.items()
            if not name.startswith("custom.")
            and not self.fields[name].disabled
            and value != getattr(self.interaction, name)
        }
        custom = custom_values(self, only_changed=True)
        if custom:
            values["custom"] = custom
        return values


class ContactRoleForm(TablerForm):
    role = forms.ChoiceField(label=_("Role"), choices=_blank(ContactRole), required=False)


class ConsentForm(TablerForm):
    """Record a person's answer for a channel and purpose, with how we know."""

    channel = forms.ChoiceField(label=_("Channel"), choices=ConsentChannel.choices)
    purpose = forms.ChoiceField(label=_("Purpose"), choices=ConsentPurpose.choices)
    status = forms.ChoiceField(
        label=_("Answer"), choices=ConsentStatus.choices, initial=ConsentStatus.GRANTED
    )
    source = forms.ChoiceField(label=_("Source"), choices=ConsentSource.choices)
    evidence = forms.CharField(
        label=_("Evidence"),
        required=False,
        max_length=500,
        help_text=_("Form number, recording, e-mail, URL … needed for a grant."),
    )
    at = forms.DateTimeField(label=_("When"), required=False, widget=DateTimeLocalInput())

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("prefix", "consent")
        super().__init__(*args, **kwargs)
