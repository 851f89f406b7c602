"""Accounts and contacts in the search index (registered from `CustomersConfig.ready`).

An account is found by its name, short name, credit code, city and province (Chinese, pinyin,
initials) and exactly by its phone; a contact by name, job title and the names of its
accounts, and exactly by any of its phones and e-mails (blind index only). A hit is shown
with the searching user's field rules: hidden fields left out, masked ones masked.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db.models import Prefetch, QuerySet
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from rapport.core import search
from rapport.identity import policy
from rapport.identity.models import Action, FieldRule, User

from .models import Account, Contact

# Changes of these account fields show in the documents of the account's contacts.
ACCOUNT_FIELDS_IN_CONTACTS = {"name"}


def _hidden(object_type: str):
    def hidden(user: User) -> list[str]:
        return [
            name
            for name, rule in policy.field_rules(user, object_type).items()
            if rule == FieldRule.Rule.HIDDEN
        ]

    return hidden


def _joined(parts: Iterable[str]) -> str:
    return " · ".join(part for part in parts if part)


# --- accounts ---------------------------------------------------------------------------------


def account_document(account: Account) -> search.Document:
    region = account.city if account.city == account.province else account.province + account.city
    return search.Document(
        title=account.name,
        subtitle=_joined([account.short_name, region]),
        texts=[account.short_name, account.credit_code, account.province, account.city],
        phones=[account.phone] if account.phone else [],
    )


def account_contacts(
    account_ids: Sequence[int], fields: Sequence[str] | None
) -> dict[str, Iterable[int]]:
    """A rename shows in every contact of the account: their documents are refreshed too."""
    if fields is not None and not ACCOUNT_FIELDS_IN_CONTACTS & set(fields):
        return {}
    contact_ids = (
        Contact.objects.filter(accounts__in=list(account_ids)).values_list("pk", flat=True)
    ).distinct()
    return {Contact.security_type: list(contact_ids)}


def present_account(user: User, account: Account) -> search.Hit:
    shown = policy.apply_field_rules(
        user,
        Account.security_type,
        {"credit_code": account.credit_code, "phone": account.phone},
    )
    region = account.city if account.city == account.province else account.province + account.city
    return search.Hit(
        id=account.pk,
        title=account.name,
        subtitle=_joined([account.short_name, region, shown.get("credit_code", "")]),
        url=reverse("customers:account_detail", args=[account.pk]),
    )


def accounts_for_display(user: User, accounts: QuerySet) -> QuerySet:
    return accounts.only("pk", "name", "short_name", "province", "city", "credit_code", "phone")


# --- contacts ---------------------------------------------------------------------------------


def contact_document(contact: Contact) -> search.Document:
    account_names = [account.name for account in contact.accounts.all()]
    return search.Document(
        title=contact.name,
        subtitle=_joined(account_names[:3]),
        texts=[contact.title, *account_names],
        phones=list(contact.phones or []),
        emails=list(contact.emails or []),
    )


def contacts_for_indexing(contacts: QuerySet) -> QuerySet:
    return contacts.prefetch_related(
        Prefetch("accounts", queryset=Account.objects.only("pk", "name").order_by("name", "id"))
    )


def contacts_for_display(user: User, contacts: QuerySet) -> QuerySet:
    visible_accounts = (
        Account.objects.restrict(user, Action.VIEW).only("pk", "name").order_by("name", "id")
    )
    return contacts.only("pk", "name", "title", "phones", "emails").prefetch_related(
        Prefetch("accounts", queryset=visible_accounts, to_attr="visible_accounts")
    )


def present_contact(user: User, contact: Contact) -> search.Hit:
    shown = policy.apply_field_rules(
        user,
        Contact.security_type,
        {
            "title": contact.title,
            "phones": list(contact.phones or [])[:1],
            "emails": list(contact.emails or [])[:1],
        },
    )
    accounts = [account.name for account in getattr(contact, "visible_accounts", [])[:2]]
    return search.Hit(
        id=contact.pk,
        title=contact.name,
        subtitle=_joined(
            [shown.get("title", ""), *accounts, *shown.get("phones", []), *shown.get("emails", [])]
        ),
        url=reverse("customers:contact_detail", args=[contact.pk]),
    )


search.register(
    Account.security_type,
    model=Account,
    document=account_document,
    label=_("Accounts"),
    dependents=account_contacts,
    for_display=accounts_for_display,
    present=present_account,
    exact_fields={"phone": "phone"},
    hidden_fields=_hidden(Account.security_type),
)
search.register(
    Contact.security_type,
    model=Contact,
    document=contact_document,
    label=_("Contacts"),
    for_indexing=contacts_for_indexing,
    for_display=contacts_for_display,
    present=present_contact,
    exact_fields={"phone": "phones", "email": "emails"},
    hidden_fields=_hidden(Contact.security_type),
)
