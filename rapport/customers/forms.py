"""Forms for the account and contact pages. They parse input; the services validate and write.

A form only shapes what the browser sent into the keyword arguments of a service
(`account_create`, `account_update`, `contact_create`, `contact_update`). Business rules
(credit code check digit, E.164 phones, duplicates, parent cycles) live in the services,
whose `ValidationError` is mapped back onto the fields with `add_service_error`.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q, QuerySet
from django.urls import reverse_lazy
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from rapport.core.forms import TablerForm
from rapport.core.tags.models import Tag
from rapport.core.tags.selectors import tag_tree, with_tags
from rapport.identity import policy
from rapport.identity.models import Action, FieldRule, User

from . import options as account_options
from .custom_forms import add_custom_fields, custom_values
from .models import Account, Contact, Industry
from .querysets import accounts_matching, contacts_matching

_LEADING_ID = re.compile(r"^\s*#?(\d+)\b")


def _label(model: type[models.Model], name: str):
    return capfirst(model._meta.get_field(name).verbose_name)


def parse_record_id(text: str) -> int | None:
    """The id in "123", "#123" or "123 · 中国银行" (what the lookup list puts in the box)."""
    match = _LEADING_ID.match(text or "")
    return int(match.group(1)) if match else None


def lookup_label(record: Account | Contact) -> str:
    return f"{record.pk} · {record.name}"


def _apply_field_rules(form: forms.Form, user: User, object_type: str, record=None) -> None:
    """Hidden fields are omitted; masked and read-only fields are shown but cannot be changed."""
    rules = policy.field_rules(user, object_type)
    for name, rule in rules.items():
        if name not in form.fields:
            continue
        if rule == FieldRule.Rule.HIDDEN:
            del form.fields[name]
            continue
        field = form.fields[name]
        field.disabled = True
        field.required = False
        field.help_text = _("You may not change this field.")
        if rule == FieldRule.Rule.MASKED and record is not None:
            value = form.initial.get(name)
            if isinstance(value, str) and "\n" in value:  # one value per line (phones, e-mails)
                form.initial[name] = "\n".join(policy.mask_value(value.splitlines()))
            else:
                form.initial[name] = policy.mask_value(value)


def _lookup_widget(list_id: str) -> forms.TextInput:
    return lookup_widget(list_id)


def lookup_widget(list_id: str, url_name: str = "customers:account_lookup") -> forms.TextInput:
    """A text box that offers matching accounts (or, with `customers:contact_lookup`,
    contacts) as the user types: htmx fills a <datalist> with "id · name" options, which
    `parse_record_id` reads back."""
    return forms.TextInput(
        attrs={
            "list": list_id,
            "autocomplete": "off",
            "placeholder": _("Type a name or number"),
            "hx-get": reverse_lazy(url_name),
            "hx-trigger": "input changed delay:300ms",
            "hx-target": f"#{list_id}",
            "hx-swap": "innerHTML",
        }
    )


def _add_owner_field(form: forms.Form, user: User, model, record) -> None:
    """An owner select, only for users who may hand records to others.

    The choices are the active users this user can see, plus the current owner, so that
    saving the form unchanged never moves the record.
    """
    if record is None:
        if not policy.has_grant(user, model.security_type, Action.ASSIGN):
            return
    elif not policy.can(user, Action.ASSIGN, record):
        return
    candidates = Q(
        pk__in=User.objects.restrict(user, Action.VIEW).filter(is_active=True).values("pk")
    )
    if record is not None:
        candidates |= Q(pk=record.owner_id)
        form.initial["owner"] = record.owner_id
    form.fields["owner"] = forms.ModelChoiceField(
        queryset=User.objects.filter(candidates).order_by("username"),
        label=_("Owner"),
        required=record is not None,
        empty_label=None if record is not None else _("Me"),
    )


class OwnerMixin:
    def chosen_owner(self) -> User | None:
        """The owner picked in the form when it differs from the current one, else None."""
        owner = self.cleaned_data.get("owner")  # type: ignore[attr-defined]
        record = self.record  # type: ignore[attr-defined]
        if owner is None or (record is not None and owner.pk == record.owner_id):
            return None
        return owner


# --- accounts --------------------------------------------------------------------------------

ACCOUNT_FORM_FIELDS = (
    "name",
    "short_name",
    "credit_code",
    "industry",
    "tier",
    "lifecycle_stage",
    "province",
    "city",
    "address",
    "phone",
    "website",
    "parent",
)


class AccountForm(OwnerMixin, TablerForm):
    name = forms.CharField(label=_label(Account, "name"), max_length=200)
    short_name = forms.CharField(label=_label(Account, "short_name"), max_length=60, required=False)
    credit_code = forms.CharField(
        label=_label(Account, "credit_code"),
        max_length=30,
        required=False,
        help_text=_("18 characters, e.g. 91350100M000100Y43."),
    )
    industry = forms.ChoiceField(
        label=_label(Account, "industry"),
        choices=[("", "—"), *Industry.choices],
        required=False,
    )
    # Choices are the configured options (rapport.customers.options), set per form.
    tier = forms.ChoiceField(label=_label(Account, "tier"), choices=())
    lifecycle_stage = forms.ChoiceField(label=_label(Account, "lifecycle_stage"), choices=())
    province = forms.CharField(label=_label(Account, "province"), max_length=30, required=False)
    city = forms.CharField(label=_label(Account, "city"), max_length=30, required=False)
    address = forms.CharField(label=_label(Account, "address"), max_length=300, required=False)
    phone = forms.CharField(label=_label(Account, "phone"), max_length=30, required=False)
    website = forms.CharField(label=_label(Account, "website"), max_length=200, required=False)
    parent = forms.CharField(
        label=_label(Account, "parent"),
        required=False,
        widget=_lookup_widget("parent-options"),
        help_text=_("Start typing the parent company's name, or enter its number."),
    )

    def __init__(self, *args, user: User, account: Account | None = None, **kwargs) -> None:
        self.user = user
        self.account = self.record = account
        if account is not None:
            initial = {name: getattr(account, name) for name in ACCOUNT_FORM_FIELDS[:-1]}
            initial["parent"] = self._parent_initial(account)
            kwargs["initial"] = {**initial, **kwargs.get("initial", {})}
        super().__init__(*args, **kwargs)
        for name in ("tier", "lifecycle_stage"):
            current = getattr(account, name) if account is not None else None
            self.fields[name].choices = account_options.choices(name, current=current)
            if account is None:
                self.fields[name].initial = account_options.default(name)
        add_custom_fields(self, Account.security_type, user, account.custom if account else None)
        _add_owner_field(self, user, Account, account)
        _apply_field_rules(self, user, Account.security_type, account)
        self.style_widgets()

    def _parent_initial(self, account: Account) -> str:
        if account.parent_id is None:
            return ""
        parent = (
            Account.objects.restrict(self.user, Action.VIEW)
            .filter(pk=account.parent_id)
            .only("pk", "name")
            .first()
        )
        return lookup_label(parent) if parent else str(account.parent_id)

    def clean_parent(self) -> Account | None:
        text = self.cleaned_data.get("parent", "")
        if not text.strip():
            return None
        pk = parse_record_id(text)
        parent = (
            Account.objects.restrict(self.user, Action.VIEW).filter(pk=pk).first()
            if pk is not None
            else None
        )
        if parent is None:
            # An unchanged parent the user cannot see is kept as it is (see service_values).
            if self.account is not None and pk == self.account.parent_id:
                return self.account.parent
            raise ValidationError(_("Choose a parent account you can see."), code="invalid")
        return parent

    def service_values(self) -> dict[str, Any]:
        """Keyword arguments for account_create / account_update (only what changed, on edit)."""
        names = [name for name in ACCOUNT_FORM_FIELDS if name in self.fields]
        if self.account is not None:
            names = [name for name in names if name in self.changed_data]
            parent = self.cleaned_data.get("parent")
            if "parent" in names and parent is not None and parent.pk == self.account.parent_id:
                names.remove("parent")
        values = {
            name: self.cleaned_data[name]
            for name in names
            if not self.fields[name].disabled and name in self.cleaned_data
        }
        custom = custom_values(self, only_changed=self.account is not None)
        if custom is not None:
            values["custom"] = custom
        return values


# --- contacts --------------------------------------------------------------------------------

CONTACT_FORM_FIELDS = ("name", "title", "phones", "emails", "accounts")


class ContactForm(OwnerMixin, TablerForm):
    name = forms.CharField(label=_label(Contact, "name"), max_length=120)
    title = forms.CharField(label=_label(Contact, "title"), max_length=120, required=False)
    phones = forms.CharField(
        label=_label(Contact, "phones"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One phone number per line."),
    )
    emails = forms.CharField(
        label=_label(Contact, "emails"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One e-mail address per line."),
    )
    id_number = forms.CharField(
        label=_label(Contact, "id_number"),
        required=False,
        max_length=18,
        help_text=_("Resident identity card number (18 characters). Stored encrypted."),
    )
    accounts = forms.TypedMultipleChoiceField(
        label=_label(Contact, "accounts"),
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Untick an account to unlink the contact from it."),
    )
    add_account = forms.CharField(
        label=_("Link to account"),
        required=False,
        widget=_lookup_widget("account-options"),
        help_text=_("Start typing the company's name, or enter its number."),
    )

    def __init__(
        self,
        *args,
        user: User,
        contact: Contact | None = None,
        linked: list[Account] | None = None,
        **kwargs,
    ) -> None:
        """`linked`: the accounts to offer as ticked boxes (the contact's, or a preset one)."""
        self.user = user
        self.contact = self.record = contact
        linked = list(linked or [])
        initial = {"accounts": [account.pk for account in linked]}
        if contact is not None:
            initial.update(
                name=contact.name,
                title=contact.title,
                phones="\n".join(contact.phones or []),
                emails="\n".join(contact.emails or []),
                id_number=contact.id_number,
            )
        kwargs["initial"] = {**initial, **kwargs.get("initial", {})}
        super().__init__(*args, **kwargs)
        self.fields["accounts"].choices = [(account.pk, account.name) for account in linked]
        if policy.field_rules(user, Contact.security_type).get("accounts"):
            self.fields.pop("add_account")  # the links are read-only or hidden for this user
        if not linked:
            del self.fields["accounts"]
        add_custom_fields(self, Contact.security_type, user, contact.custom if contact else None)
        _add_owner_field(self, user, Contact, contact)
        _apply_field_rules(self, user, Contact.security_type, contact)
        self.style_widgets()

    def clean_add_account(self) -> Account | None:
        text = self.cleaned_data.get("add_account", "")
        if not text.strip():
            return None
        pk = parse_record_id(text)
        account = (
            Account.objects.restrict(self.user, Action.VIEW).filter(pk=pk).first()
            if pk is not None
            else None
        )
        if account is None:
            raise ValidationError(_("Choose an account you can see."), code="invalid")
        return account

    def _chosen_accounts(self) -> list[Account] | None:
        """The accounts the contact should belong to, or None when the user did not change them."""
        field = self.fields.get("accounts")
        added = self.cleaned_data.get("add_account")
        changed = (
            self.contact is None
            or added is not None
            or (field is not None and not field.disabled and "accounts" in self.changed_data)
        )
        if not changed:
            return None
        ids = list(self.cleaned_data.get("accounts") or []) if field and not field.disabled else []
        if field is not None and field.disabled:
            ids = list(self.initial.get("accounts") or [])
        if added is not None and added.pk not in ids:
            ids.append(added.pk)
        if self.contact is not None:
            # Links to accounts this user cannot see are not theirs to change: keep them.
            shown = {pk for pk, _name in (field.choices if field else [])}
            ids += [
                pk
                for pk in self.contact.accounts.values_list("pk", flat=True)
                if pk not in shown and pk not in ids
            ]
        return list(Account.objects.filter(pk__in=ids))

    def service_values(self) -> dict[str, Any]:
        """Keyword arguments for contact_create / contact_update (only what changed, on edit)."""
        names = [
            name
            for name in ("name", "title", "phones", "emails", "id_number")
            if name in self.fields
        ]
        if self.contact is not None:
            names = [name for name in names if name in self.changed_data]
        values: dict[str, Any] = {
            name: self.cleaned_data[name]
            for name in names
            if not self.fields[name].disabled and name in self.cleaned_data
        }
        if "add_account" in self.fields or "accounts" in self.fields:
            accounts = self._chosen_accounts()
            if accounts is not None:
                values["accounts"] = accounts
        custom = custom_values(self, only_changed=self.contact is not None)
        if custom is not None:
            values["custom"] = custom
        return values


# --- list filters ----------------------------------------------------------------------------

SORT_CHOICES = [
    ("name", _("Name A→Z")),
    ("-name", _("Name Z→A")),
    ("-updated", _("Recently updated")),
    ("updated", _("Least recently updated")),
    ("-created", _("Newest")),
    ("created", _("Oldest")),
]

# The keyset ordering of each sort; every one ends with the id so the cursor is unique.
SORT_ORDERING = {
    "name": ["name", "id"],
    "-name": ["-name", "-id"],
    "updated": ["updated_at", "id"],
    "-updated": ["-updated_at", "-id"],
    "created": ["created_at", "id"],
    "-created": ["-created_at", "-id"],
}


class ListFilterForm(TablerForm):
    """The filters every customer list shares (GET). Invalid values are ignored, not errors."""

    q = forms.CharField(
        label=_("Search"),
        required=False,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Search")}),
    )
    owner = forms.ChoiceField(
        label=_("Owner"),
        required=False,
        choices=[("", _("Anyone")), ("me", _("Me"))],
    )
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("Active")), ("inactive", _("Inactive")), ("all", _("All"))],
    )
    sort = forms.ChoiceField(label=_("Sort by"), required=False, choices=SORT_CHOICES)
    tag = forms.TypedMultipleChoiceField(
        label=_("Tags"), required=False, coerce=int, widget=forms.CheckboxSelectMultiple
    )
    tag_match = forms.ChoiceField(
        label=_("Match"),
        required=False,
        choices=[("", _("Any of these tags")), ("all", _("All of these tags"))],
    )
    # Filter-language text (the builder writes it; people may write it by hand). The list
    # applies it with `filtering.apply_filter`; a bad one is shown beside the box.
    filter = forms.CharField(
        label=_("Filter text"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(
            attrs={"rows": 2, "spellcheck": "false", "autocomplete": "off", "dir": "ltr"}
        ),
    )
    view = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    # Off when the filter text says which records it wants by `is_active` itself.
    active_by_default = True

    def __init__(self, data, *args, **kwargs) -> None:
        super().__init__(data, *args, **kwargs)
        # The active tags in tree order: the filter's choices and the bulk bar's (one query).
        self.tag_nodes = tag_tree(Tag.objects.filter(is_active=True))
        self.fields["tag"].choices = [(node.tag.pk, node.tag.label) for node in self.tag_nodes]
        self.style_widgets()
        for field in self.fields.values():
            if isinstance(field.widget, forms.Select):
                field.widget.attrs["class"] = "form-select"
            else:
                field.widget.attrs["class"] = "form-control"

    def value(self, name: str) -> str:
        """The cleaned value of a filter, or "" when it is missing or invalid."""
        if not self.is_bound:
            return ""
        if not hasattr(self, "cleaned_data"):
            self.is_valid()
        return self.cleaned_data.get(name) or ""

    def selected_tags(self) -> list[int]:
        """The chosen tag ids; ids of unknown or retired tags are dropped, not errors."""
        if not self.is_bound:
            return []
        known = {node.tag.pk for node in self.tag_nodes}
        chosen = []
        for raw in self.data.getlist("tag") if hasattr(self.data, "getlist") else []:
            if str(raw).isdigit() and int(raw) in known and int(raw) not in chosen:
                chosen.append(int(raw))
        return chosen

    def apply_common(self, records: QuerySet, user: User) -> QuerySet:
        if self.value("owner") == "me":
            records = records.filter(owner=user)
        status = self.value("status")
        if status == "inactive":
            records = records.filter(is_active=False)
        elif status != "all" and self.active_by_default:
            records = records.filter(is_active=True)
        if self.selected_tags():
            mode = "all" if self.value("tag_match") == "all" else "any"
            records = with_tags(records, self.selected_tags(), mode=mode)
        return records

    def ordering(self) -> list[str]:
        return SORT_ORDERING[self.value("sort") or "name"]


def _optional_choices(choices) -> list[tuple[str, Any]]:
    return [("", _("Any")), *choices]


class AccountFilterForm(ListFilterForm):
    industry = forms.ChoiceField(
        label=_label(Account, "industry"),
        required=False,
        choices=_optional_choices(Industry.choices),
    )
    tier = forms.ChoiceField(label=_label(Account, "tier"), required=False, choices=())
    lifecycle_stage = forms.ChoiceField(
        label=_label(Account, "lifecycle_stage"), required=False, choices=()
    )
    province = forms.CharField(label=_label(Account, "province"), required=False, max_length=30)
    parent = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name in ("tier", "lifecycle_stage"):
            # Retired options too: accounts may still carry them.
            self.fields[name].choices = _optional_choices(
                (item.code, item.display_label) for item in account_options.options(name)
            )

    def apply(self, accounts: QuerySet, user: User) -> QuerySet:
        accounts = accounts_matching(self.apply_common(accounts, user), self.value("q"), user)
        for name in ("industry", "tier", "lifecycle_stage"):
            if self.value(name):
                accounts = accounts.filter(**{name: self.value(name)})
        if self.value("province"):
            accounts = accounts.filter(province=self.value("province").strip())
        if self.value("parent"):
            accounts = accounts.filter(parent_id=self.value("parent"))
        return accounts


class ContactFilterForm(ListFilterForm):
    account = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def apply(self, contacts: QuerySet, user: User) -> QuerySet:
        contacts = contacts_matching(self.apply_common(contacts, user), self.value("q"), user)
        if self.value("account"):
            contacts = contacts.filter(accounts=self.value("account"))
        return contacts
