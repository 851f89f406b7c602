"""Forms of the ticket pages. They shape input (ids from the pickers, choices); the services
validate and say what is wrong, beside the field."""

from __future__ import annotations

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from rapport.core.forms import MultipleFileField, TablerForm
from rapport.customers.forms import lookup_label, lookup_widget, parse_record_id
from rapport.customers.models import Account, Contact
from rapport.identity import policy, system
from rapport.identity.models import Action, Team, User

from .models import (
    MessageKind,
    Ticket,
    TicketCategory,
    TicketKind,
    TicketPriority,
    TicketStatus,
)


def category_choices() -> list[tuple[str, str]]:
    categories = list(TicketCategory.objects.filter(is_active=True).select_related("parent"))
    labelled = [
        (str(c.pk), f"{c.parent.display_name} › {c.display_name}" if c.parent else c.display_name)
        for c in categories
    ]
    return [("", "—"), *sorted(labelled, key=lambda choice: choice[1])]


class TicketForm(TablerForm):
    subject = forms.CharField(label=_("Subject"), max_length=300, required=False)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 5})
    )
    kind = forms.ChoiceField(label=_("Type"), choices=TicketKind.choices, initial="question")
    priority = forms.ChoiceField(
        label=_("Priority"), choices=TicketPriority.choices, initial="normal"
    )
    category = forms.ChoiceField(label=_("Category"), required=False)
    account = forms.CharField(
        label=_("Account"), required=False, widget=lookup_widget("ticket-account-options")
    )
    contact = forms.CharField(
        label=_("Contact"),
        required=False,
        widget=lookup_widget("ticket-contact-options", "customers:contact_lookup"),
    )

    def __init__(self, *args, user: User, ticket: Ticket | None = None, **kwargs):
        self.user = user
        self.ticket = ticket
        initial = dict(kwargs.pop("initial", {}) or {})
        if ticket is not None:
            initial.update(
                subject=ticket.subject,
                description=ticket.description,
                kind=ticket.kind,
                priority=ticket.priority,
                category=str(ticket.category_id or ""),
                account=lookup_label(ticket.account) if ticket.account else "",
                contact=lookup_label(ticket.contact) if ticket.contact else "",
            )
        super().__init__(*args, initial=initial, **kwargs)
        self.fields["category"].choices = category_choices()

    def _record(self, model, name: str):
        text = self.cleaned_data.get(name) or ""
        if not text.strip():
            return None
        pk = parse_record_id(text)
        found = (
            model.objects.restrict(self.user, Action.VIEW).filter(pk=pk).first()
            if pk is not None
            else None
        )
        # a record that cannot be found goes to the service as a value it will refuse
        return found if found is not None else text

    def service_values(self) -> dict:
        category_id = self.cleaned_data.get("category")
        return {
            "subject": self.cleaned_data["subject"],
            "description": self.cleaned_data["description"],
            "kind": self.cleaned_data["kind"],
            "priority": self.cleaned_data["priority"],
            "category": TicketCategory.objects.filter(pk=category_id).first()
            if category_id
            else None,
            "account": self._record(Account, "account"),
            "contact": self._record(Contact, "contact"),
        }


class MessageForm(TablerForm):
    kind = forms.ChoiceField(
        label=_("Type"),
        choices=[
            (MessageKind.REPLY, MessageKind.REPLY.label),
            (MessageKind.NOTE, MessageKind.NOTE.label),
        ],
        initial=MessageKind.REPLY,
        widget=forms.RadioSelect,
    )
    body = forms.CharField(
        label=_("Message"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    attachments = MultipleFileField(
        label=_("Files"),
        required=False,
        help_text=_("Sent with a reply; kept on the ticket with a note."),
    )


class AssignForm(TablerForm):
    team = forms.ChoiceField(label=_("Queue"), required=False)
    assignee = forms.ChoiceField(label=_("Assignee"), required=False)

    def __init__(self, *args, user: User, ticket: Ticket, **kwargs):
        initial = {"team": str(ticket.team_id or ""), "assignee": str(ticket.assignee_id or "")}
        super().__init__(*args, initial={**initial, **kwargs.pop("initial", {})}, **kwargs)
        teams = Team.objects.order_by("name")
        self.fields["team"].choices = [("", _("No queue"))] + [(str(t.pk), t.name) for t in teams]
        # active people who work on tickets (whoever has it now stays offered)
        people = (
            User.objects.filter(is_active=True)
            .filter(
                Q(roles__grants__object_type=Ticket.security_type, roles__grants__action="change")
                | Q(is_superuser=True)
            )
            .exclude(username__in=system.usernames())
            .distinct()
            .order_by("display_name", "username")
        )
        choices = {str(person.pk): str(person) for person in people}
        if ticket.assignee_id and str(ticket.assignee_id) not in choices:
            choices[str(ticket.assignee_id)] = str(ticket.assignee)
        self.fields["assignee"].choices = [("", _("Nobody (the queue)"))] + list(choices.items())

    def service_values(self) -> dict:
        team_id = self.cleaned_data.get("team")
        assignee_id = self.cleaned_data.get("assignee")
        return {
            "team": Team.objects.filter(pk=team_id).first() if team_id else None,
            "assignee": User.objects.filter(pk=assignee_id).first() if assignee_id else None,
        }


STATUS_ACTIONS = {
    TicketStatus.OPEN: _("Reopen"),
    TicketStatus.PENDING: _("Waiting on customer"),
    TicketStatus.RESOLVED: _("Resolve"),
    TicketStatus.CLOSED: _("Close"),
}


def can_assign(user: User, ticket: Ticket) -> bool:
    return policy.can(user, Action.ASSIGN, ticket)
