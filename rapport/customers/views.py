"""Pages for accounts and contacts: lists, details, history, create, edit, (de)activate.

Views parse, authorize and render. Reads go through `restrict` / `get_for`; every write goes
through `rapport.customers.services`, whose ValidationError is shown beside the form field.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from rapport.audit.models import AuditEvent
from rapport.core import duplicates, errors, trail
from rapport.core.customfields.values import definitions as custom_definitions
from rapport.core.paging import cursor_page
from rapport.core.tags.models import Tag
from rapport.identity import policy
from rapport.identity.models import Action, FieldRule, User

from . import options as account_options
from . import services
from .forms import AccountForm, ContactForm, lookup_label, parse_record_id
from .history import action_label, field_label
from .models import Account, ConsentStatus, Contact, ContactRole
from .querysets import accounts_matching, contacts_matching

ACCOUNT = Account.security_type
CONTACT = Contact.security_type
PAGE_SIZE = 50
RELATED_LIMIT = 20  # subsidiaries / contacts shown on a detail page before "show all"


def domain_errors(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Turn the policy's NotFound / PermissionDenied into 404 / 403 pages."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except errors.NotFound as error:
            raise Http404(str(error.message)) from error
        except errors.PermissionDenied as error:
            raise PermissionDenied(str(error.message)) from error

    return wrapper


def _require_grant(user: User, object_type: str, action: str) -> None:
    if not policy.has_grant(user, object_type, action):
        raise PermissionDenied(_("You do not have permission to do this."))


def _hidden_fields(user: User, object_type: str) -> set[str]:
    return {
        field
        for field, rule in policy.field_rules(user, object_type).items()
        if rule == FieldRule.Rule.HIDDEN
    }


def _shown(user: User, object_type: str, values: dict[str, Any]) -> dict[str, Any]:
    return policy.apply_field_rules(user, object_type, values)


def _fields_for_display(model, values: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "name": name,
            "label": field_label(model, name),
            "value": value,
            "many": isinstance(value, list),
        }
        for name, value in values.items()
    ]


# --- lists (rapport.customers.list_views) ----------------------------------------------------


@login_required
def account_lookup(request: HttpRequest) -> HttpResponse:
    """<option>s for the account picker's <datalist>: visible accounts matching what was typed."""
    user = request.user
    text = next((value for value in request.GET.values() if value.strip()), "").strip()
    accounts: Iterable[Account] = []
    if text:
        visible = Account.objects.restrict(user, Action.VIEW).only("pk", "name")
        by_id = parse_record_id(text)
        if by_id is not None and text.isdigit():
            accounts = list(visible.filter(pk=by_id))
        else:
            accounts = list(accounts_matching(visible, text, user).order_by("name", "id")[:20])
    return render(
        request,
        "customers/_account_options.html",
        {"options": [lookup_label(account) for account in accounts]},
    )


@login_required
def contact_lookup(request: HttpRequest) -> HttpResponse:
    """<option>s for a contact picker's <datalist>: visible contacts matching what was typed."""
    user = request.user
    text = next((value for value in request.GET.values() if value.strip()), "").strip()
    contacts: Iterable[Contact] = []
    if text:
        visible = Contact.objects.restrict(user, Action.VIEW).only("pk", "name")
        by_id = parse_record_id(text)
        if by_id is not None and text.isdigit():
            contacts = list(visible.filter(pk=by_id))
        else:
            contacts = list(contacts_matching(visible, text, user).order_by("name", "id")[:20])
    return render(
        request,
        "customers/_account_options.html",
        {"options": [lookup_label(contact) for contact in contacts]},
    )


# --- details ---------------------------------------------------------------------------------


def _detail_common(user: User, record: Account | Contact) -> dict[str, Any]:
    return {
        "can_change": policy.can(user, Action.CHANGE, record),
        "can_delete": policy.can(user, Action.DELETE, record),
        "can_see_reads": policy.has_grant(user, AuditEvent.security_type, Action.VIEW),
    }


# --- history ---------------------------------------------------------------------------------


class _HistoryValues:
    """Turns the raw values of audit changes (ids, codes, booleans) into what people read."""

    def __init__(self, user: User, model, events: list[AuditEvent]) -> None:
        self.user = user
        self.model = model
        self.rules = policy.field_rules(user, model.security_type)
        self.custom_labels = {
            f"custom.{field.key}": field.display_label
            for field in custom_definitions(model.security_type, active_only=False)
        }
        user_ids: set[int] = set()
        account_ids: set[int] = set()
        tag_ids: set[int] = set()
        for event in events:
            for field, change in (event.changes or {}).items():
                for value in change if isinstance(change, list) else [change]:
                    ids = value if isinstance(value, list) else [value]
                    ints = {v for v in ids if isinstance(v, int) and not isinstance(v, bool)}
                    if field == "owner":
                        user_ids |= ints
                    elif field in ("parent", "accounts"):
                        account_ids |= ints
                    elif field == "tags":
                        tag_ids |= ints
        self.users = {u.pk: str(u) for u in User.objects.filter(pk__in=user_ids)}
        self.tags = {tag.pk: tag.label for tag in Tag.objects.filter(pk__in=tag_ids)}
        self.accounts = {
            a.pk: a.name
            for a in Account.objects.restrict(user, Action.VIEW)
            .filter(pk__in=account_ids)
            .only("pk", "name")
        }

    def _one(self, field: str, value: Any) -> str:
        if value is None or value == "" or value == []:
            return ""
        if isinstance(value, bool):
            return _("Yes") if value else _("No")
        if isinstance(value, list):
            return ", ".join(self._one(field, item) for item in value)
        if field == "owner":
            return self.users.get(value, f"#{value}")
        if field in ("parent", "accounts"):
            return self.accounts.get(value, _("an account you cannot see"))
        if field == "tags":
            return self.tags.get(value, f"#{value}")
        if field == "account_role":
            return str(dict(ContactRole.choices).get(value, value))
        if field.startswith("consent."):
            return str(dict(ConsentStatus.choices).get(value, value))
        if self.model is Account and field in ("tier", "lifecycle_stage"):
            return account_options.label(field, value)
        try:
            choices = dict(self.model._meta.get_field(field).flatchoices)
        except Exception:
            choices = {}
        return str(choices.get(value, value))

    def changes(self, event: AuditEvent) -> list[dict[str, Any]]:
        rows = []
        for field, change in (event.changes or {}).items():
            rule = self.rules.get(field, "")
            if rule == FieldRule.Rule.HIDDEN:
                continue
            old, new = change if isinstance(change, list) and len(change) == 2 else (None, change)
            old, new = trail.unseal(old), trail.unseal(new)
            if rule == FieldRule.Rule.MASKED:
                old, new = policy.mask_value(old), policy.mask_value(new)
            if event.action == "create" and new in (None, "", []):
                continue  # a new record's empty fields say nothing
            rows.append(
                {
                    "field": field,
                    "label": self.custom_labels.get(field) or field_label(self.model, field),
                    "old": self._one(field, old),
                    "new": self._one(field, new),
                }
            )
        return rows


def _history(request: HttpRequest, model, pk: int, template: str, name: str) -> HttpResponse:
    user = request.user
    record = policy.get_for(user, Action.VIEW, model, pk)
    # The history shows field values (old phones too): it is a read of the record's details.
    services.record_viewed(actor=user, record=record)
    can_see_reads = policy.has_grant(user, AuditEvent.security_type, Action.VIEW)
    show_reads = can_see_reads and request.GET.get("reads") == "1"
    events = AuditEvent.objects.filter(
        object_type=model.security_type, object_id=str(record.pk)
    ).select_related("actor")
    if not show_reads:
        events = events.exclude(action="view")
    page = cursor_page(request, events, ordering=["-seq"], page_size=PAGE_SIZE)
    values = _HistoryValues(user, model, page.items)
    restorable: set[str] = set()
    if policy.can(user, Action.CHANGE, record):
        fields = services.RESTORABLE[model.security_type]
        restorable = set(policy.writable_fields(user, model.security_type, fields))
    rows = []
    for event in page.items:
        changes = values.changes(event)
        for change in changes:
            change["restorable"] = event.action == "update" and change["field"] in restorable
        rows.append(
            {
                "event": event,
                "who": str(event.actor) if event.actor_id and event.actor else event.actor_repr,
                "action": action_label(event.action),
                "changes": changes,
            }
        )
    return render(
        request,
        template,
        {
            name: record,
            "tab": "history",
            "page": page,
            "rows": rows,
            "show_reads": show_reads,
            "can_see_reads": can_see_reads,
            **_detail_common(user, record),
        },
    )


@login_required
@domain_errors
def account_history(request: HttpRequest, pk: int) -> HttpResponse:
    return _history(request, Account, pk, "customers/account_history.html", "account")


@login_required
@require_POST
@domain_errors
def record_restore(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    """Put back a field's value from before a change on the history tab (an audited update)."""
    model = Account if kind == "accounts" else Contact
    record = policy.get_for(request.user, Action.CHANGE, model, pk)
    try:
        services.record_restore(
            actor=request.user,
            record=record,
            event_seq=int(request.POST.get("event", "0") or 0),
            field=request.POST.get("field", ""),
        )
    except (ValidationError, ValueError) as error:
        message = " ".join(error.messages) if isinstance(error, ValidationError) else str(error)
        messages.error(request, message)
    else:
        messages.success(
            request,
            _("“%(field)s” is back to its earlier value.")
            % {"field": field_label(model, request.POST.get("field", ""))},
        )
    name = "customers:account_history" if model is Account else "customers:contact_history"
    return redirect(reverse(name, kwargs={"pk": record.pk}))


@login_required
@domain_errors
def contact_history(request: HttpRequest, pk: int) -> HttpResponse:
    return _history(request, Contact, pk, "customers/contact_history.html", "contact")


# --- create and edit -------------------------------------------------------------------------


def _save(form, write: Callable[[], Any]) -> Any | None:
    """Run the service write; on a ValidationError put its messages on the form and return None."""
    try:
        with transaction.atomic():
            return write()
    except ValidationError as error:
        form.add_service_error(error)
    except errors.PermissionDenied as error:
        form.add_error(None, str(error.message))
    return None


def _duplicates(request: HttpRequest, object_type: str, values: dict[str, Any]) -> list[Any]:
    """Likely duplicates of a record about to be created (`core.duplicates`), unless the
    user has seen the warning and chose to create it anyway."""
    if request.POST.get("duplicates_seen"):
        return []
    found = duplicates.find(request.user, object_type, values)
    detail = "customers:account_detail" if object_type == ACCOUNT else "customers:contact_detail"
    for candidate in found:
        candidate.url = reverse(detail, kwargs={"pk": candidate.record.pk})
    return found


@login_required
@domain_errors
def account_create(request: HttpRequest) -> HttpResponse:
    user = request.user
    _require_grant(user, ACCOUNT, Action.ADD)
    form = AccountForm(request.POST if request.method == "POST" else None, user=user)
    found: list[Any] = []
    if form.is_bound and form.is_valid():
        found = _duplicates(request, ACCOUNT, form.service_values())
    if form.is_bound and form.is_valid() and not found:
        account = _save(
            form,
            lambda: services.account_create(
                actor=user, owner=form.chosen_owner(), **form.service_values()
            ),
        )
        if account is not None:
            messages.success(request, _("The account “%(name)s” was created.") % {"name": account})
            return redirect("customers:account_detail", pk=account.pk)
    return render(
        request,
        "customers/account_form.html",
        {"form": form, "account": None, "duplicates": found},
    )


@login_required
@domain_errors
def account_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    account = policy.get_for(user, Action.CHANGE, Account, pk)
    form = AccountForm(
        request.POST if request.method == "POST" else None, user=user, account=account
    )
    if form.is_bound and form.is_valid():

        def write() -> Account:
            values, owner = form.service_values(), form.chosen_owner()
            if values:
                services.account_update(actor=user, account=account, **values)
            if owner is not None:
                services.record_assign(actor=user, record=account, owner=owner)
            return account

        if _save(form, write) is not None:
            messages.success(request, _("Your changes were saved."))
            return redirect("customers:account_detail", pk=account.pk)
        account.refresh_from_db()
    return render(request, "customers/account_form.html", {"form": form, "account": account})


def _preset_account(request: HttpRequest, user: User) -> list[Account]:
    """The account named by ?account= (the "Add contact" button of an account page)."""
    raw = request.GET.get("account", "")
    if not raw.isdigit():
        return []
    return list(Account.objects.restrict(user, Action.VIEW).filter(pk=int(raw)).only("pk", "name"))


@login_required
@domain_errors
def contact_create(request: HttpRequest) -> HttpResponse:
    user = request.user
    _require_grant(user, CONTACT, Action.ADD)
    form = ContactForm(
        request.POST if request.method == "POST" else None,
        user=user,
        linked=_preset_account(request, user),
    )
    found: list[Any] = []
    if form.is_bound and form.is_valid():
        found = _duplicates(request, CONTACT, form.service_values())
    if form.is_bound and form.is_valid() and not found:
        contact = _save(
            form,
            lambda: services.contact_create(
                actor=user, owner=form.chosen_owner(), **form.service_values()
            ),
        )
        if contact is not None:
            messages.success(request, _("The contact “%(name)s” was created.") % {"name": contact})
            return redirect("customers:contact_detail", pk=contact.pk)
    return render(
        request,
        "customers/contact_form.html",
        {"form": form, "contact": None, "duplicates": found},
    )


@login_required
@domain_errors
def contact_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    contact = policy.get_for(user, Action.CHANGE, Contact, pk)
    linked = list(
        Account.objects.restrict(user, Action.VIEW)
        .filter(contacts=contact)
        .only("pk", "name")
        .order_by("name", "id")
    )
    form = ContactForm(
        request.POST if request.method == "POST" else None,
        user=user,
        contact=contact,
        linked=linked,
    )
    if form.is_bound and form.is_valid():

        def write() -> Contact:
            values, owner = form.service_values(), form.chosen_owner()
            if values:
                services.contact_update(actor=user, contact=contact, **values)
            if owner is not None:
                services.record_assign(actor=user, record=contact, owner=owner)
            return contact

        if _save(form, write) is not None:
            messages.success(request, _("Your changes were saved."))
            return redirect("customers:contact_detail", pk=contact.pk)
        contact.refresh_from_db()
    return render(request, "customers/contact_form.html", {"form": form, "contact": contact})


# --- deactivate / reactivate -----------------------------------------------------------------


def _set_active(request: HttpRequest, model, pk: int, *, active: bool) -> HttpResponse:
    user = request.user
    # Deactivating needs the delete grant, reactivating the change grant (as the services say).
    record = policy.get_for(user, Action.CHANGE if active else Action.DELETE, model, pk)
    if model is Account:
        write = services.account_reactivate if active else services.account_deactivate
        write(actor=user, account=record)
        name = "customers:account_detail"
    else:
        write = services.contact_reactivate if active else services.contact_deactivate
        write(actor=user, contact=record)
        name = "customers:contact_detail"
    if active:
        messages.success(request, _("“%(name)s” is active again.") % {"name": record})
    else:
        messages.success(request, _("“%(name)s” was deactivated.") % {"name": record})
    return redirect(reverse(name, kwargs={"pk": record.pk}))


@login_required
@require_POST
@domain_errors
def account_deactivate(request: HttpRequest, pk: int) -> HttpResponse:
    return _set_active(request, Account, pk, active=False)


@login_required
@require_POST
@domain_errors
def account_reactivate(request: HttpRequest, pk: int) -> HttpResponse:
    return _set_active(request, Account, pk, active=True)


@login_required
@require_POST
@domain_errors
def contact_deactivate(request: HttpRequest, pk: int) -> HttpResponse:
    return _set_active(request, Contact, pk, active=False)


@login_required
@require_POST
@domain_errors
def contact_reactivate(request: HttpRequest, pk: int) -> HttpResponse:
    return _set_active(request, Contact, pk, active=True)
