"""Creating many accounts or contacts at once — what an import writes a batch of new rows with.

    results = contacts_create_many(actor=…, rows=[{"name": …, "phones": …, "owner": user}, …])

Each row is normalized and validated exactly as `contact_create` / `account_create` would
(the same cleaning functions, field by field), and the checks that need the database —
a credit code or ID number another record holds, accounts the actor may see, owners the
actor may give records to — are made once for the whole batch. The valid rows are then
written together: one insert per table, one audit event per record (each record's history
reads as if it had been created alone), their search documents, one `record.created` event
per record.

`results[i]` is the new record of `rows[i]`, or the `ValidationError` / `PermissionDenied`
that refused it; refused rows store nothing. The valid rows are written in one transaction.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from rapport.core import events, search, trail
from rapport.core.errors import PermissionDenied
from rapport.core.rows import insert_rows
from rapport.identity import policy
from rapport.identity.models import Action, User

from ..models import Account, AccountContact, Contact, ContactIdentifier, IdentifierKind
from ..validators import identifier_blind
from . import _custom
from .records import (
    ACCOUNT_FIELDS,
    CONTACT_FIELDS,
    _check_owner,
    _clean_account,
    _clean_contact,
)

Result = Account | Contact | ValidationError | PermissionDenied


def _refusal(field: str, message: str, code: str) -> ValidationError:
    return ValidationError({field: ValidationError(message, code=code)})


class _Owners:
    """`_check_owner` once per owner (and per set of conditioned values) in a batch."""

    def __init__(self, actor: User, model) -> None:
        self.actor, self.model = actor, model
        self.seen: dict[tuple, Exception | None] = {}

    def check(self, owner: User, cleaned: dict[str, Any]) -> None:
        conditioned = tuple(
            sorted(
                (name, str(value))
                for name, value in cleaned.items()
                if name not in ("custom", "phones", "emails", "id_number", "accounts")
            )
        )
        key = (owner.pk, conditioned)
        if key not in self.seen:
            try:
                _check_owner(self.actor, self.model, owner, cleaned)
                self.seen[key] = None
            except (ValidationError, PermissionDenied) as error:
                self.seen[key] = error
        if self.seen[key] is not None:
            raise self.seen[key]


def _cleaned_rows(actor: User, model, rows: list[dict[str, Any]], clean) -> list:
    fields = ACCOUNT_FIELDS if model is Account else CONTACT_FIELDS
    owners = _Owners(actor, model)
    results: list[Any] = []
    for row in rows:
        values = dict(row)
        owner = values.pop("owner", None) or actor
        unknown = set(values) - set(fields)
        try:
            if unknown:
                raise ValidationError(
                    {
                        name: ValidationError(_("Unknown field."), code="unknown_field")
                        for name in unknown
                    }
                )
            values.setdefault("name", "")
            cleaned = clean(values)
            owners.check(owner, cleaned)
        except (ValidationError, PermissionDenied) as error:
            results.append(error)
            continue
        results.append((owner, cleaned))
    return results


def _write(actor: User, model, pending: list[tuple[int, User, dict]], results: list) -> list:
    records = []
    for _index, owner, cleaned in pending:
        cleaned = {k: v for k, v in cleaned.items() if k != "accounts"}
        records.append(model(owner=owner, created_by=actor, **cleaned))
    if model is Account:  # bulk_create does not call save(), which fills them
        for record in records:
            record.fill_name_keys()
    model.objects.bulk_create(records, batch_size=1000)
    for (index, _owner, _cleaned), record in zip(pending, records, strict=True):
        results[index] = record
    return records


def _audit_and_announce(actor: User, model, records, fields, extra_snapshot=None) -> None:
    plain_fields = [name for name in fields if name != "accounts"]
    entries = []
    for record in records:
        after = trail.snapshot(record, plain_fields)
        if extra_snapshot is not None:
            after.update(extra_snapshot(record))
        entries.append((record, _custom.expand(trail.diff({}, after))))
    trail.record_many(actor=actor, action="create", entries=entries)
    # Indexed here, from the records in hand (with their links), rather than read back after
    # commit: the events say so, and the search index's subscriber leaves them alone.
    search.index_records({model.security_type: records})
    events.emit_many(
        "record.created",
        [{"type": model.security_type, "id": record.pk, "indexed": True} for record in records],
    )


def accounts_create_many(*, actor: User, rows: list[dict[str, Any]]) -> list[Result]:
    """New accounts from `rows` (fields as `account_create` takes them, `owner` included)."""
    if not policy.has_grant(actor, Account.security_type, Action.ADD):
        raise PermissionDenied()
    results: list[Any] = _cleaned_rows(
        actor, Account, rows, lambda values: _clean_account(values, None, check_db=False)
    )
    # Credit codes: unique among accounts, and within the batch.
    codes = [
        r[1].get("credit_code") for r in results if isinstance(r, tuple) and r[1].get("credit_code")
    ]
    taken = set(Account.objects.filter(credit_code__in=codes).values_list("credit_code", flat=True))
    seen: set[str] = set()
    pending = []
    for index, result in enumerate(results):
        if not isinstance(result, tuple):
            continue
        owner, cleaned = result
        code = cleaned.get("credit_code")
        if code and (code in taken or code in seen):
            results[index] = _refusal(
                "credit_code",
                _("Another account already has this unified social credit code."),
                "duplicate",
            )
            continue
        if cleaned.get("parent") is not None and not policy.can(
            actor, Action.VIEW, cleaned["parent"]
        ):
            results[index] = _refusal(
                "parent", _("Choose a parent account you can see."), "invalid"
            )
            continue
        if code:
            seen.add(code)
        pending.append((index, owner, cleaned))
    if pending:
        with transaction.atomic():
            records = _write(actor, Account, pending, results)
            _audit_and_announce(actor, Account, records, ACCOUNT_FIELDS)
    return results


def contacts_create_many(*, actor: User, rows: list[dict[str, Any]]) -> list[Result]:
    """New contacts from `rows` (fields as `contact_create` takes them, `owner` included):
    phones and e-mails normalized, the blind index written, accounts linked."""
    if not policy.has_grant(actor, Contact.security_type, Action.ADD):
        raise PermissionDenied()
    results: list[Any] = _cleaned_rows(
        actor, Contact, rows, lambda values: _clean_contact(values, actor, check_db=False)
    )
    valid = [(i, r) for i, r in enumerate(results) if isinstance(r, tuple)]
    # Accounts the actor may see, once for the batch.
    wanted = {a.pk for _i, (_o, cleaned) in valid for a in cleaned.get("accounts") or []}
    visible = set(
        Account.objects.restrict(actor, Action.VIEW)
        .filter(pk__in=wanted)
        .values_list("pk", flat=True)
    )
    # ID numbers: one contact each, here and in the batch.
    blinds = {
        i: identifier_blind(IdentifierKind.ID_NUMBER, cleaned["id_number"])
        for i, (_o, cleaned) in valid
        if cleaned.get("id_number")
    }
    taken = set(
        ContactIdentifier.objects.filter(
            kind=IdentifierKind.ID_NUMBER, blind__in=list(blinds.values())
        ).values_list("blind", flat=True)
    )
    in_batch = Counter()
    pending = []
    for index, (owner, cleaned) in valid:
        errors = {}
        if any(a.pk not in visible for a in cleaned.get("accounts") or []):
            errors["accounts"] = [ValidationError(_("Choose accounts you can see."), "invalid")]
        blind = blinds.get(index)
        if blind and (blind in taken or in_batch[blind]):
            errors["id_number"] = [
                ValidationError(_("Another contact already has this ID number."), "duplicate")
            ]
        if errors:
            results[index] = ValidationError(errors)
            continue
        if blind:
            in_batch[blind] += 1
        pending.append((index, owner, cleaned))
    if not pending:
        return results
    with transaction.atomic():
        records = _write(actor, Contact, pending, results)
        links, identifiers = [], []
        linked: dict[int, list[int]] = {}
        for (_index, _owner, cleaned), contact in zip(pending, records, strict=True):
            accounts = sorted({a.pk for a in cleaned.get("accounts") or []})
            linked[contact.pk] = accounts
            links.extend({"contact_id": contact.pk, "account_id": pk} for pk in accounts)
            for kind, values in (
                (IdentifierKind.PHONE, contact.phones or []),
                (IdentifierKind.EMAIL, contact.emails or []),
                (IdentifierKind.ID_NUMBER, [contact.id_number] if contact.id_number else []),
            ):
                for blind in {identifier_blind(kind, value) for value in values}:
                    identifiers.append({"contact_id": contact.pk, "kind": kind, "blind": blind})
        insert_rows(AccountContact, links)
        insert_rows(ContactIdentifier, identifiers)
        _audit_and_announce(
            actor,
            Contact,
            records,
            CONTACT_FIELDS,
            extra_snapshot=lambda contact: {"accounts": linked[contact.pk]},
        )
    return results
