"""Every write to accounts and contacts, and the audited read of their details."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from rapport.core import events, locks, normalize, trail
from rapport.core.errors import PermissionDenied
from rapport.identity import policy
from rapport.identity.models import Action, User

from .. import options as account_options
from ..models import (
    Account,
    AccountContact,
    Contact,
    ContactIdentifier,
    ContactRole,
    IdentifierKind,
    Industry,
)
from ..validators import (
    identifier_blind,
    normalize_credit_code,
    normalize_email,
    normalize_id_number,
    normalize_phone,
    normalize_website,
)
from . import _custom

ACCOUNT_FIELDS = (
    "name",
    "short_name",
    "credit_code",
    "industry",
    "province",
    "city",
    "address",
    "phone",
    "website",
    "tier",
    "lifecycle_stage",
    "parent",
    "custom",
    "owner",
    "is_active",
)
CONTACT_FIELDS = (
    "name",
    "title",
    "phones",
    "emails",
    "id_number",
    "accounts",
    "custom",
    "owner",
    "is_active",
)


def _clean_account(
    values: dict[str, Any], account: Account | None, check_db: bool = True
) -> dict[str, Any]:
    """Normalise and validate; raise one ValidationError naming every bad field. Without
    `check_db` the uniqueness of the credit code is left to the caller (checked per batch)."""
    errors: dict[str, list[ValidationError]] = {}
    cleaned = dict(values)

    def fail(field: str, error: ValidationError) -> None:
        errors.setdefault(field, []).append(error)

    if "name" in cleaned:
        cleaned["name"] = normalize.text(cleaned["name"])
        if not cleaned["name"]:
            fail("name", ValidationError(_("Enter the account's name."), code="required"))
        elif len(cleaned["name"]) > 200:
            fail(
                "name",
                ValidationError(_("The name is longer than 200 characters."), code="max_length"),
            )
    for field, normalizer in (
        ("credit_code", normalize_credit_code),
        ("phone", normalize_phone),
        ("website", normalize_website),
    ):
        if field in cleaned:
            try:
                cleaned[field] = normalizer(cleaned[field] or "")
            except ValidationError as error:
                fail(field, error)
    places = {"province": normalize.province, "city": normalize.city}
    for field in ("short_name", "province", "city", "address"):
        if field in cleaned:
            cleaned[field] = places.get(field, normalize.text)(cleaned[field])
            limit = Account._meta.get_field(field).max_length
            if len(cleaned[field]) > limit:
                fail(
                    field,
                    ValidationError(
                        _("At most %(n)d characters.") % {"n": limit}, code="max_length"
                    ),
                )
    if "industry" in cleaned and cleaned["industry"] and cleaned["industry"] not in Industry.values:
        fail(
            "industry",
            ValidationError(
                _("“%(value)s” is not a valid choice.") % {"value": cleaned["industry"]},
                code="invalid_choice",
            ),
        )
    for field in ("tier", "lifecycle_stage"):
        if field not in cleaned:
            if account is None:
                cleaned[field] = account_options.default(field)
            continue
        cleaned[field] = str(cleaned[field] or "").strip()
        unchanged = account is not None and cleaned[field] == getattr(account, field)
        if not unchanged and not account_options.is_active_code(field, cleaned[field]):
            offered = ", ".join(code for code, _label in account_options.choices(field))
            fail(
                field,
                ValidationError(
                    _("“%(value)s” is not an active option; choose one of: %(choices)s.")
                    % {"value": cleaned[field], "choices": offered},
                    code="invalid_choice",
                ),
            )
    if check_db and cleaned.get("credit_code") and "credit_code" not in errors:
        duplicates = Account.objects.filter(credit_code=cleaned["credit_code"])
        if account is not None:
            duplicates = duplicates.exclude(pk=account.pk)
        if duplicates.exists():
            fail(
                "credit_code",
                ValidationError(
                    _("Another account already has this unified social credit code."),
                    code="duplicate",
                ),
            )
    if "custom" in cleaned or account is None:
        try:
            cleaned["custom"] = _custom.clean(
                Account.security_type,
                cleaned.get("custom"),
                account.custom if account else None,
                creating=account is None,
            )
        except ValidationError as error:
            _custom.merge_errors(errors, error)
    parent = cleaned.get("parent")
    if parent is not None and account is not None:
        node, seen = parent, set()
        while node is not None and node.pk not in seen:
            if node.pk == account.pk:
                fail(
                    "parent",
                    ValidationError(
                        _("An account cannot be its own parent or ancestor."), code="cycle"
                    ),
                )
                break
            seen.add(node.pk)
            node = node.parent
    if errors:
        raise ValidationError(errors)
    return cleaned


def _check_owner(actor: User, model, owner: User, values: dict[str, Any]) -> None:
    if owner.pk != actor.pk and not policy.has_grant(actor, model.security_type, Action.ASSIGN):
        raise ValidationError(
            {
                "owner": ValidationError(
                    _("You may not give records to another owner."), code="assign_denied"
                )
            }
        )
    if not owner.is_active:
        raise ValidationError(
            {"owner": ValidationError(_("The owner is deactivated."), code="inactive")}
        )
    if not policy.can_create(actor, model, {**values, "owner_id": owner.pk}):
        raise PermissionDenied()


def account_create(*, actor: User, owner: User | None = None, **values: Any) -> Account:
    """Create an account owned by `owner` (default: the actor). Audited; emits record.created."""
    if not policy.has_grant(actor, Account.security_type, Action.ADD):
        raise PermissionDenied()
    unknown = set(values) - set(ACCOUNT_FIELDS)
    if unknown:
        raise ValidationError(
            {name: ValidationError(_("Unknown field."), code="unknown_field") for name in unknown}
        )
    values.setdefault("name", "")
    cleaned = _clean_account(values, None)
    owner = owner or actor
    _check_owner(actor, Account, owner, cleaned)
    if cleaned.get("parent") is not None and not policy.can(actor, Action.VIEW, cleaned["parent"]):
        raise ValidationError(
            {"parent": ValidationError(_("Choose a parent account you can see."), code="invalid")}
        )
    with transaction.atomic():
        account = Account.objects.create(owner=owner, created_by=actor, **cleaned)
        trail.record(
            actor=actor,
            action="create",
            target=account,
            changes=_custom.expand(trail.diff({}, trail.snapshot(account, ACCOUNT_FIELDS))),
        )
        events.emit("record.created", {"type": Account.security_type, "id": account.pk})
    return account


def _check_editable(actor: User, model, values: dict[str, Any], fields) -> None:
    """Refuse fields an update may not touch: unknown ones, owner and status (they have their
    own services), and fields the actor's field rules make read-only, masked or hidden."""
    unknown = set(values) - set(fields) | ({"owner", "is_active"} & set(values))
    if unknown:
        raise ValidationError(
            {
                name: ValidationError(_("This field cannot be changed here."), code="unknown_field")
                for name in unknown
            }
        )
    locked = set(values) - set(policy.writable_fields(actor, model.security_type, values))
    if locked:
        raise ValidationError(
            {
                name: ValidationError(_("You may not change this field."), code="read_only")
                for name in locked
            }
        )
    # Custom values by their own rules ("cf.<key>"): what the actor cannot see stays as it is.
    from rapport.core.customfields.values import check_writable

    check_writable(actor, model.security_type, values.get("custom"))


def account_update(
    *, actor: User, account: Account, audit_extra: dict | None = None, **values: Any
) -> Account:
    """Change fields the actor may change (field rules apply). Audited with before/after
    (`audit_extra` adds context to the event, e.g. which version a value was restored from)."""
    policy.require(actor, Action.CHANGE, account)
    locks.ensure_unlocked(account)
    _check_editable(actor, Account, values, ACCOUNT_FIELDS)
    cleaned = _clean_account(values, account)
    before = trail.snapshot(account, ACCOUNT_FIELDS)
    for name, value in cleaned.items():
        setattr(account, name, value)
    with transaction.atomic():
        account.save()
        changes = _custom.expand(trail.diff(before, trail.snapshot(account, ACCOUNT_FIELDS)))
        if changes:
            trail.record(
                actor=actor, action="update", target=account, changes=changes, extra=audit_extra
            )
            events.emit(
                "record.updated",
                {"type": Account.security_type, "id": account.pk, "fields": list(changes)},
            )
    return account


def _set_active(*, actor: User, record, active: bool, fields) -> Any:
    policy.require(actor, Action.DELETE if not active else Action.CHANGE, record)
    locks.ensure_unlocked(record)
    if record.is_active == active:
        return record
    with transaction.atomic():
        record.is_active = active
        record.save(update_fields=["is_active", "updated_at"])
        trail.record(
            actor=actor,
            action="deactivate" if not active else "reactivate",
            target=record,
            changes={"is_active": [not active, active]},
        )
        events.emit(
            "record.updated",
            {"type": record.security_type, "id": record.pk, "fields": ["is_active"]},
        )
    return record


def account_deactivate(*, actor: User, account: Account) -> Account:
    return _set_active(actor=actor, record=account, active=False, fields=ACCOUNT_FIELDS)


def account_reactivate(*, actor: User, account: Account) -> Account:
    return _set_active(actor=actor, record=account, active=True, fields=ACCOUNT_FIELDS)


def record_assign(*, actor: User, record, owner: User) -> Any:
    """Hand a record to another owner (needs the assign grant over the record)."""
    policy.require(actor, Action.ASSIGN, record)
    locks.ensure_unlocked(record)
    if not owner.is_active:
        raise ValidationError(
            {"owner": ValidationError(_("The owner is deactivated."), code="inactive")}
        )
    if record.owner_id == owner.pk:
        return record
    with transaction.atomic():
        before = record.owner_id
        record.owner = owner
        record.save(update_fields=["owner", "updated_at"])
        trail.record(
            actor=actor, action="assign", target=record, changes={"owner": [before, owner.pk]}
        )
        events.emit(
            "record.updated", {"type": record.security_type, "id": record.pk, "fields": ["owner"]}
        )
    return record


def record_viewed(*, actor: User, record) -> None:
    """Audit a read of a customer's details (detail page, API retrieve)."""
    trail.record(actor=actor, action="view", target=record)


# --- contacts ------------------------------------------------------------------------------


def _clean_contact(
    values: dict[str, Any], actor: User, contact: Contact | None = None, check_db: bool = True
) -> dict[str, Any]:
    errors: dict[str, list[ValidationError]] = {}
    cleaned = dict(values)
    if "name" in cleaned:
        cleaned["name"] = normalize.text(cleaned["name"])
        if not cleaned["name"]:
            errors.setdefault("name", []).append(
                ValidationError(_("Enter the contact's name."), code="required")
            )
    if "title" in cleaned:
        cleaned["title"] = normalize.text(cleaned["title"])
    for field, normalizer in (("phones", normalize_phone), ("emails", normalize_email)):
        if field in cleaned:
            raw = cleaned[field] or []
            if isinstance(raw, str):
                raw = normalize.half_width(raw)
                for separator in (",", ";", "、", "，", "；"):
                    raw = raw.replace(separator, "\n")
                raw = raw.splitlines()
            normalized: list[str] = []
            for item in raw:
                try:
                    value = normalizer(str(item))
                except ValidationError as error:
                    errors.setdefault(field, []).append(error)
                    continue
                if value and value not in normalized:
                    normalized.append(value)
            cleaned[field] = normalized
    if "id_number" in cleaned:
        try:
            cleaned["id_number"] = normalize_id_number(str(cleaned["id_number"] or ""))
        except ValidationError as error:
            errors.setdefault("id_number", []).append(error)
        else:
            if check_db and cleaned["id_number"]:
                others = ContactIdentifier.objects.filter(
                    kind=IdentifierKind.ID_NUMBER,
                    blind=identifier_blind(IdentifierKind.ID_NUMBER, cleaned["id_number"]),
                )
                if contact is not None:
                    others = others.exclude(contact=contact)
                if others.exists():
                    errors.setdefault("id_number", []).append(
                        ValidationError(
                            _("Another contact already has this ID number."), code="duplicate"
                        )
                    )
    if "custom" in cleaned or contact is None:
        try:
            cleaned["custom"] = _custom.clean(
                Contact.security_type,
                cleaned.get("custom"),
                contact.custom if contact else None,
                creating=contact is None,
            )
        except ValidationError as error:
            _custom.merge_errors(errors, error)
    if "accounts" in cleaned and not check_db:
        cleaned["accounts"] = list(cleaned["accounts"] or [])
    elif "accounts" in cleaned:
        accounts = list(cleaned["accounts"] or [])
        visible = set(
            Account.objects.restrict(actor, Action.VIEW)
            .filter(pk__in=[a.pk for a in accounts])
            .values_list("pk", flat=True)
        )
        if len(visible) != len({a.pk for a in accounts}):
            errors.setdefault("accounts", []).append(
                ValidationError(_("Choose accounts you can see."), code="invalid")
            )
        cleaned["accounts"] = accounts
    if errors:
        raise ValidationError(errors)
    return cleaned


def _sync_identifiers(contact: Contact) -> None:
    """Keep the blind index of the contact's phones, e-mails and ID number in line."""
    wanted = {
        (kind, identifier_blind(kind, value))
        for kind, values in (
            (IdentifierKind.PHONE, contact.phones or []),
            (IdentifierKind.EMAIL, contact.emails or []),
            (IdentifierKind.ID_NUMBER, [contact.id_number] if contact.id_number else []),
        )
        for value in values
    }
    have = set(contact.identifiers.values_list("kind", "blind"))
    stale = have - wanted
    for kind, blind in stale:
        contact.identifiers.filter(kind=kind, blind=blind).delete()
    ContactIdentifier.objects.bulk_create(
        [
            ContactIdentifier(contact=contact, kind=kind, blind=blind)
            for kind, blind in wanted - have
        ]
    )


def contact_create(*, actor: User, owner: User | None = None, **values: Any) -> Contact:
    """Create a contact with normalised phones (E.164) and e-mails. Audited."""
    if not policy.has_grant(actor, Contact.security_type, Action.ADD):
        raise PermissionDenied()
    unknown = set(values) - set(CONTACT_FIELDS)
    if unknown:
        raise ValidationError(
            {name: ValidationError(_("Unknown field."), code="unknown_field") for name in unknown}
        )
    values.setdefault("name", "")
    cleaned = _clean_contact(values, actor)
    accounts = cleaned.pop("accounts", [])
    owner = owner or actor
    _check_owner(actor, Contact, owner, cleaned)
    with transaction.atomic():
        contact = Contact.objects.create(owner=owner, created_by=actor, **cleaned)
        if accounts:
            contact.accounts.set(accounts)
        _sync_identifiers(contact)
        trail.record(
            actor=actor,
            action="create",
            target=contact,
            changes=_custom.expand(trail.diff({}, trail.snapshot(contact, CONTACT_FIELDS))),
        )
        events.emit("record.created", {"type": Contact.security_type, "id": contact.pk})
    return contact


def contact_update(
    *, actor: User, contact: Contact, audit_extra: dict | None = None, **values: Any
) -> Contact:
    """Change fields the actor may change (field rules apply). Audited with before/after."""
    policy.require(actor, Action.CHANGE, contact)
    locks.ensure_unlocked(contact)
    _check_editable(actor, Contact, values, CONTACT_FIELDS)
    cleaned = _clean_contact(values, actor, contact)
    accounts = cleaned.pop("accounts", None)
    before = trail.snapshot(contact, CONTACT_FIELDS)
    for name, value in cleaned.items():
        setattr(contact, name, value)
    with transaction.atomic():
        contact.save()
        if accounts is not None:
            contact.accounts.set(accounts)
        if {"phones", "emails", "id_number"} & set(cleaned):
            _sync_identifiers(contact)
        changes = _custom.expand(trail.diff(before, trail.snapshot(contact, CONTACT_FIELDS)))
        if changes:
            trail.record(
                actor=actor, action="update", target=contact, changes=changes, extra=audit_extra
            )
            events.emit(
                "record.updated",
                {"type": Contact.security_type, "id": contact.pk, "fields": list(changes)},
            )
    return contact


def contact_deactivate(*, actor: User, contact: Contact) -> Contact:
    return _set_active(actor=actor, record=contact, active=False, fields=CONTACT_FIELDS)


def contact_reactivate(*, actor: User, contact: Contact) -> Contact:
    return _set_active(actor=actor, record=contact, active=True, fields=CONTACT_FIELDS)


def contact_role_set(*, actor: User, contact: Contact, account: Account, role: str) -> Contact:
    """Say what role the contact plays at the account (decision maker, influencer …; "" for
    none). Needs the change grant over the contact; the contact must already be at the
    account. Audited on the contact as a change of its role there."""
    policy.require(actor, Action.CHANGE, contact)
    locks.ensure_unlocked(contact)
    role = role or ""
    if role and role not in ContactRole.values:
        raise ValidationError(
            {
                "role": ValidationError(
                    _("“%(value)s” is not a valid choice.") % {"value": role},
                    code="invalid_choice",
                )
            }
        )
    link = AccountContact.objects.filter(contact=contact, account=account).first()
    if link is None or not policy.can(actor, Action.VIEW, account):
        raise ValidationError(
            {
                "account": ValidationError(
                    _("The contact is not at this account."), code="not_linked"
                )
            }
        )
    if link.role == role:
        return contact
    with transaction.atomic():
        before = link.role
        link.role = role
        link.save(update_fields=["role"])
        trail.record(
            actor=actor,
            action="update",
            target=contact,
            changes={"account_role": [before, role]},
            extra={"account": account.pk, "account_name": account.name},
        )
        events.emit(
            "record.updated",
            {"type": Contact.security_type, "id": contact.pk, "fields": ["account_role"]},
        )
    return contact


# Fields whose earlier value can be put back from the history tab (owner, status and the
# account links have their own services).
RESTORABLE = {
    Account.security_type: (
        "name",
        "short_name",
        "credit_code",
        "industry",
        "province",
        "city",
        "address",
        "phone",
        "website",
        "tier",
        "lifecycle_stage",
        "parent",
    ),
    Contact.security_type: ("name", "title", "phones", "emails", "id_number"),
}


def record_restore(*, actor: User, record: Account | Contact, event_seq: int, field: str) -> Any:
    """Put back the value `field` had before the change recorded in audit event `event_seq`.
    It is an ordinary audited update (validation and field rules apply) whose event names
    the version it restored."""
    from rapport.audit.models import AuditEvent
    from rapport.core.trail import unseal

    policy.require(actor, Action.CHANGE, record)
    if field not in RESTORABLE[record.security_type]:
        raise ValidationError(
            {"field": ValidationError(_("This field cannot be restored."), code="not_restorable")}
        )
    event = AuditEvent.objects.filter(
        seq=event_seq, object_type=record.security_type, object_id=str(record.pk)
    ).first()
    change = (event.changes or {}).get(field) if event is not None else None
    if event is None or event.action != "update" or not isinstance(change, list):
        raise ValidationError(
            {
                "event": ValidationError(
                    _("That change is not in this record's history."), code="not_found"
                )
            }
        )
    value = unseal(change[0])
    if field == "parent" and value is not None:
        value = Account.objects.restrict(actor, Action.VIEW).filter(pk=value).first()
        if value is None:
            raise ValidationError(
                {
                    "parent": ValidationError(
                        _("The earlier parent account no longer exists or is not visible."),
                        code="invalid",
                    )
                }
            )
    if value is None:
        value = [] if field in ("phones", "emails") else ""
    extra = {"restored_from": event.seq}
    if isinstance(record, Account):
        return account_update(actor=actor, account=record, audit_extra=extra, **{field: value})
    return contact_update(actor=actor, contact=record, audit_extra=extra, **{field: value})
