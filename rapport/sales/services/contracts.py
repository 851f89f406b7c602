"""Every write to contracts and their files, and the daily renewal reminders and expiry.

A contract is drafted (numbered HT<year>-<n>), put in force, terminated early with a
reason, or renewed: a renewal is a new contract in force linked to the old one
(`renewal_of`), which becomes renewed. Its files are checked exactly like the customers'
attachments (type by extension and content, size limit; one bad file stores none).
Every day the owner of a contract in force is told once, `renewal_notice_days` before its
end date, and contracts past their end date expire (or renew themselves when they renew
automatically) — both idempotent.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import PurePath
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from rapport.core import events, trail
from rapport.core.errors import PermissionDenied
from rapport.customers.models import Account
from rapport.identity import policy
from rapport.identity.models import Action, User

from ..config import get_settings
from ..models import Contract, ContractAttachment, ContractStatus, Opportunity, Order
from ..numbering import next_number

FIELDS = (
    "number",
    "title",
    "account",
    "opportunity",
    "order",
    "renewal_of",
    "status",
    "value",
    "currency",
    "signed_on",
    "start_date",
    "end_date",
    "auto_renew",
    "renewal_notice_days",
    "terms",
    "owner",
)
EDITABLE = (
    "title",
    "account",
    "opportunity",
    "order",
    "value",
    "currency",
    "signed_on",
    "start_date",
    "end_date",
    "auto_renew",
    "renewal_notice_days",
    "terms",
    "owner",
)
CURRENCY = re.compile(r"^[A-Z]{3}$")
MAX_VALUE = Decimal("10000000000000000")
RENEWABLE = {ContractStatus.ACTIVE, ContractStatus.EXPIRED}
RENEWAL_DUE = "sales.contract_renewal_due"


def _denied() -> PermissionDenied:
    return PermissionDenied(_("You may not do this to this contract."), code="contract_denied")


def _require(actor: User, action: str, contract: Contract) -> None:
    if not policy.can(actor, action, contract):
        raise _denied()


def _announce(topic: str, contract: Contract, **extra: Any) -> None:
    events.emit(topic, {"type": Contract.security_type, "id": contract.pk, **extra})


def _error(field: str, message: str, code: str) -> ValidationError:
    return ValidationError({field: ValidationError(message, code=code)})


def _clean(actor: User, values: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[ValidationError]] = {}

    def fail(name: str, message: str, code: str) -> None:
        errors.setdefault(name, []).append(ValidationError(message, code=code))

    cleaned: dict[str, Any] = {}
    if "title" in values:
        title = " ".join(str(values["title"] or "").split())
        if not title:
            fail("title", _("Enter a title."), "required")
        elif len(title) > 200:
            fail("title", _("At most %(n)d characters.") % {"n": 200}, "max_length")
        cleaned["title"] = title
    if "account" in values:
        account = values["account"]
        if not (isinstance(account, Account) and policy.can(actor, Action.VIEW, account)):
            fail("account", _("Choose an account you can see."), "invalid")
        cleaned["account"] = account
    for name, model, message in (
        ("opportunity", Opportunity, _("Choose an opportunity you can see.")),
        ("order", Order, _("Choose an order you can see.")),
    ):
        if name in values:
            related = values[name]
            if related is not None and not (
                isinstance(related, model) and policy.can(actor, Action.VIEW, related)
            ):
                fail(name, message, "invalid")
            cleaned[name] = related
    if "value" in values:
        raw = values["value"]
        try:
            value = Decimal(str(raw).strip()) if raw not in (None, "") else Decimal(0)
        except (InvalidOperation, ValueError):
            value = None
        if value is None or not value.is_finite():
            fail("value", _("Enter a number."), "invalid")
        elif value < 0 or value >= MAX_VALUE:
            fail("value", _("The value cannot be negative."), "out_of_range")
        elif value != value.quantize(Decimal("0.01")):
            fail("value", _("Use at most two decimal places."), "too_precise")
        else:
            cleaned["value"] = value
    if "currency" in values:
        currency = str(values["currency"] or "").strip().upper()
        if not CURRENCY.match(currency):
            fail("currency", _("Enter a three-letter currency code such as CNY."), "invalid")
        cleaned["currency"] = currency
    for name in ("signed_on", "start_date", "end_date"):
        if name in values:
            given = values[name]
            if given is None and name != "start_date":
                cleaned[name] = None
            elif not isinstance(given, date):
                fail(name, _("Enter a date."), "invalid" if given is not None else "required")
            else:
                cleaned[name] = given
    if "auto_renew" in values:
        cleaned["auto_renew"] = bool(values["auto_renew"])
    if "renewal_notice_days" in values:
        days = values["renewal_notice_days"]
        try:
            days = int(days)
        except (TypeError, ValueError):
            days = None
        if days is None or not 0 <= days <= 365:
            fail("renewal_notice_days", _("Enter a number of days from 0 to 365."), "invalid")
        cleaned["renewal_notice_days"] = days
    if "terms" in values:
        terms = str(values["terms"] or "").strip()
        if len(terms) > 50_000:
            fail("terms", _("At most %(n)d characters.") % {"n": 50_000}, "max_length")
        cleaned["terms"] = terms
    if "owner" in values:
        owner = values["owner"]
        if not (
            isinstance(owner, User)
            and owner.is_active
            and policy.has_grant(owner, Contract.security_type, Action.VIEW)
        ):
            fail("owner", _("Choose an active person who works on contracts."), "invalid")
        cleaned["owner"] = owner
    if errors:
        raise ValidationError(errors)
    return cleaned


def _check_relations(contract: Contract) -> None:
    """Dates in order; the opportunity and order are the account's."""
    errors: dict[str, list[ValidationError]] = {}
    if contract.end_date is not None and contract.end_date < contract.start_date:
        errors["end_date"] = [
            ValidationError(_("The end date cannot be before the start date."), "before_start")
        ]
    for name in ("opportunity", "order"):
        related = getattr(contract, name)
        if related is not None and related.account_id != contract.account_id:
            errors[name] = [
                ValidationError(_("Choose one of this account's records."), "other_account")
            ]
    if errors:
        raise ValidationError(errors)


def contract_create(
    *,
    actor: User,
    account: Account,
    title: str,
    start_date: date,
    end_date: date | None = None,
    value: Decimal | str | int = 0,
    currency: str | None = None,
    opportunity: Opportunity | None = None,
    order: Order | None = None,
    signed_on: date | None = None,
    auto_renew: bool = False,
    renewal_notice_days: int = 30,
    terms: str = "",
    owner: User | None = None,
) -> Contract:
    """A draft contract numbered HT<year>-<n>; the end date (when given) is not before the
    start date (naming `end_date`). Nothing is stored unless every field is clean."""
    if not policy.has_grant(actor, Contract.security_type, Action.ADD):
        raise _denied()
    cleaned = _clean(
        actor,
        {
            "account": account,
            "title": title,
            "start_date": start_date,
            "end_date": end_date,
            "value": value,
            "currency": currency or get_settings().default_currency,
            "opportunity": opportunity,
            "order": order,
            "signed_on": signed_on,
            "auto_renew": auto_renew,
            "renewal_notice_days": renewal_notice_days,
            "terms": terms,
            "owner": owner or actor,
        },
    )
    contract = Contract(**cleaned, status=ContractStatus.DRAFT, created_by=actor)
    _check_relations(contract)
    if not policy.can(actor, Action.ADD, contract):
        raise _error("owner", _("You may not give contracts to this person."), "invalid")
    with transaction.atomic():
        contract.number = next_number("contract")
        contract.save()
        trail.record(
            actor=actor,
            action="create",
            target=contract,
            changes=trail.diff({}, trail.snapshot(contract, FIELDS)),
        )
        _announce("record.created", contract)
    return contract


def contract_update(*, actor: User, contract: Contract, **changes: Any) -> Contract:
    """Change a draft or in-force contract's fields (its status moves through its own
    services). A changed end date is reminded of again."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValidationError(
            {name: ValidationError(_("Unknown field."), "unknown_field") for name in unknown}
        )
    _require(actor, Action.CHANGE, contract)
    cleaned = _clean(actor, changes)
    with transaction.atomic():
        contract = Contract.objects.select_for_update().get(pk=contract.pk)
        if contract.status not in (ContractStatus.DRAFT, ContractStatus.ACTIVE):
            raise _error(
                "status",
                _("A contract that is “%(status)s” is not edited.")
                % {"status": ContractStatus(contract.status).label},
                "invalid_transition",
            )
        before = trail.snapshot(contract, FIELDS)
        for name, new in cleaned.items():
            setattr(contract, name, new)
        _check_relations(contract)
        if "owner" in cleaned and not policy.can_create(
            actor, Contract, {"owner_id": contract.owner_id}
        ):
            raise _error("owner", _("You may not give contracts to this person."), "invalid")
        changed = trail.diff(before, trail.snapshot(contract, FIELDS))
        if not changed:
            return contract
        if {"end_date", "renewal_notice_days"} & set(changed):
            contract.renewal_reminded_at = None
        contract.save()
        trail.record(actor=actor, action="update", target=contract, changes=changed)
        _announce("record.updated", contract, fields=sorted(changed))
    return contract


def _move(
    actor: User | None, contract: Contract, target: str, allowed: set[str], **extra: Any
) -> Contract:
    """Move a locked contract to `target` (audited, announced)."""
    if contract.status not in allowed:
        raise _error(
            "status",
            _("A contract that is “%(before)s” cannot become “%(after)s”.")
            % {
                "before": ContractStatus(contract.status).label,
                "after": ContractStatus(target).label,
            },
            "invalid_transition",
        )
    before = contract.status
    contract.status = target
    update_fields = ["status", "updated_at", *extra]
    for name, value in extra.items():
        setattr(contract, name, value)
    contract.save(update_fields=update_fields)
    changes = {"status": [before, target]}
    trail.record(actor=actor, action=target, target=contract, changes=changes)
    _announce("record.updated", contract, fields=["status"])
    _announce(f"contract.{target}", contract, before=before, after=target)
    return contract


def contract_activate(
    *, actor: User, contract: Contract, signed_on: date | None = None
) -> Contract:
    """Draft → in force, signed on `signed_on` (default: the date on it, or today)."""
    _require(actor, Action.CHANGE, contract)
    if signed_on is not None and not isinstance(signed_on, date):
        raise _error("signed_on", _("Enter a date."), "invalid")
    with transaction.atomic():
        contract = Contract.objects.select_for_update().get(pk=contract.pk)
        return _move(
            actor,
            contract,
            ContractStatus.ACTIVE,
            {ContractStatus.DRAFT},
            signed_on=signed_on or contract.signed_on or timezone.localdate(),
        )


def contract_terminate(*, actor: User, contract: Contract, reason: str) -> Contract:
    """In force → terminated before its end, with the reason (kept in the audit trail)."""
    _require(actor, Action.CHANGE, contract)
    reason = " ".join(str(reason or "").split())
    if not reason:
        raise _error("reason", _("Say why the contract is terminated."), "required")
    if len(reason) > 300:
        raise _error("reason", _("At most %(n)d characters.") % {"n": 300}, "max_length")
    with transaction.atomic():
        contract = Contract.objects.select_for_update().get(pk=contract.pk)
        contract = _move(
            actor,
            contract,
            ContractStatus.TERMINATED,
            {ContractStatus.ACTIVE},
            terminated_at=timezone.now(),
        )
        trail.record(
            actor=actor, action="terminate_reason", target=contract, extra={"reason": reason}
        )
    return contract


def contract_renew(
    *,
    actor: User | None,
    contract: Contract,
    start_date: date | None = None,
    end_date: date | None = None,
    value: Decimal | str | None = None,
) -> Contract:
    """A new contract in force continuing `contract` (in force or expired), linked to it by
    `renewal_of`; the old one becomes renewed. By default the new term starts the day after
    the old end and runs as long; the value and terms carry over. `actor` None: the daily
    task renewing a contract that renews automatically (on behalf of its owner)."""
    if actor is not None:
        _require(actor, Action.CHANGE, contract)
        if not policy.has_grant(actor, Contract.security_type, Action.ADD):
            raise _denied()
    errors: dict[str, list[ValidationError]] = {}
    for name, given in (("start_date", start_date), ("end_date", end_date)):
        if given is not None and not isinstance(given, date):
            errors[name] = [ValidationError(_("Enter a date."), "invalid")]
    new_value = contract.value
    if value is not None and value != "":
        try:
            new_value = Decimal(str(value).strip())
        except (InvalidOperation, ValueError):
            new_value = None
        if new_value is None or not new_value.is_finite() or not 0 <= new_value < MAX_VALUE:
            errors["value"] = [ValidationError(_("Enter a number."), "invalid")]
        elif new_value != new_value.quantize(Decimal("0.01")):
            errors["value"] = [ValidationError(_("Use at most two decimal places."), "too_precise")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        old = Contract.objects.select_for_update().get(pk=contract.pk)
        if old.status not in RENEWABLE:
            raise _error(
                "status",
                _("A contract that is “%(status)s” is not renewed.")
                % {"status": ContractStatus(old.status).label},
                "invalid_transition",
            )
        start = start_date or (
            old.end_date + timedelta(days=1) if old.end_date else timezone.localdate()
        )
        end = end_date
        if end is None and old.end_date is not None:
            end = start + (old.end_date - old.start_date)
        renewal = Contract(
            title=old.title,
            account_id=old.account_id,
            opportunity_id=old.opportunity_id,
            renewal_of=old,
            status=ContractStatus.ACTIVE,
            value=new_value,
            currency=old.currency,
            signed_on=timezone.localdate(),
            start_date=start,
            end_date=end,
            auto_renew=old.auto_renew,
            renewal_notice_days=old.renewal_notice_days,
            terms=old.terms,
            owner_id=old.owner_id,
            created_by=actor,
        )
        _check_relations(renewal)
        renewal.number = next_number("contract")
        renewal.save()
        trail.record(
            actor=actor,
            action="create",
            target=renewal,
            changes=trail.diff({}, trail.snapshot(renewal, FIELDS)),
            extra={"renewal_of": old.pk},
        )
        _announce("record.created", renewal)
        _move(actor, old, ContractStatus.RENEWED, RENEWABLE)
    return renewal


# --- files --------------------------------------------------------------------------------


def contract_files_add(
    *, actor: User, contract: Contract, uploads: list
) -> list[ContractAttachment]:
    """Attach files to the contract, checked like every attachment (type by extension and
    content, size limit, at most ten at once); one bad file stores none of them."""
    from rapport.customers.services.attachments import check_uploads

    _require(actor, Action.CHANGE, contract)
    if not uploads:
        raise _error("files", _("Choose a file."), "required")
    checked = check_uploads(list(uploads), field="files")
    stored: list[ContractAttachment] = []
    try:
        with transaction.atomic():
            for upload, content_type, sha256 in checked:
                attachment = ContractAttachment(
                    contract=contract,
                    name=PurePath(upload.name).name[:255],
                    content_type=content_type,
                    size=upload.size,
                    sha256=sha256,
                    uploaded_by=actor,
                )
                attachment.file.save(upload.name, upload, save=False)
                stored.append(attachment)
                attachment.save()
            trail.record(
                actor=actor,
                action="attach",
                target=contract,
                extra={
                    "files": [
                        {"id": a.pk, "name": a.name, "size": a.size, "sha256": a.sha256}
                        for a in stored
                    ]
                },
            )
            _announce("record.updated", contract, fields=["attachments"])
    except Exception:
        for attachment in stored:
            attachment.file.delete(save=False)
        raise
    return stored


def contract_file_remove(*, actor: User, attachment: ContractAttachment) -> ContractAttachment:
    """The file no longer shows on the contract (it is kept, as contracts' records are)."""
    _require(actor, Action.CHANGE, attachment.contract)
    with transaction.atomic():
        attachment.is_active = False
        attachment.save(update_fields=["is_active"])
        trail.record(
            actor=actor,
            action="detach",
            target=attachment.contract,
            extra={"file": {"id": attachment.pk, "name": attachment.name}},
        )
    return attachment


def contract_file_downloaded(*, actor: User, attachment: ContractAttachment) -> None:
    """The download of a contract's file is an audited read."""
    trail.record(
        actor=actor,
        action="download",
        target=attachment.contract,
        extra={"file": {"id": attachment.pk, "name": attachment.name}},
    )


# --- the daily task -----------------------------------------------------------------------


def contracts_remind_renewals(*, today: date | None = None, limit: int = 1000) -> int:
    """Tell each owner once, `renewal_notice_days` before the end date, that their contract
    in force is ending (`renewal_reminded_at` keeps it to once). Returns how many."""
    from rapport.core.notifications.services import notify

    today = today or timezone.localdate()
    candidates = (
        Contract.objects.filter(
            status=ContractStatus.ACTIVE,
            end_date__isnull=False,
            end_date__gte=today,
            renewal_reminded_at__isnull=True,
        )
        .select_related("owner", "account")
        .order_by("end_date", "id")[:limit]
    )
    count = 0
    for contract in candidates:
        if contract.end_date - timedelta(days=contract.renewal_notice_days) > today:
            continue
        with transaction.atomic():
            locked = Contract.objects.select_for_update().get(pk=contract.pk)
            if locked.renewal_reminded_at is not None or locked.status != ContractStatus.ACTIVE:
                continue
            notify(
                recipient=contract.owner,
                kind="contract.renewal_due",
                message_key=RENEWAL_DUE,
                params={
                    "number": contract.number,
                    "title": contract.title,
                    "account": contract.account.name,
                    "end_date": contract.end_date.isoformat(),
                    "days": (contract.end_date - today).days,
                },
                target=contract,
                url=reverse("sales:contract_detail", args=[contract.pk]),
                idempotency_key=f"contract-renewal:{contract.pk}:{contract.end_date}",
            )
            locked.renewal_reminded_at = timezone.now()
            locked.save(update_fields=["renewal_reminded_at"])
            trail.record(
                actor=None,
                action="renewal_reminded",
                target=locked,
                extra={"to": contract.owner_id},
            )
            _announce("contract.renewal_due", locked, owner=contract.owner_id)
            count += 1
    return count


def contracts_expire(*, today: date | None = None, limit: int = 1000) -> int:
    """Contracts in force past their end date expire — or, when they renew automatically,
    are renewed for another term. Idempotent. Returns how many were handled."""
    today = today or timezone.localdate()
    due = list(
        Contract.objects.filter(status=ContractStatus.ACTIVE, end_date__lt=today)
        .order_by("id")
        .values_list("pk", flat=True)[:limit]
    )
    count = 0
    for pk in due:
        with transaction.atomic():
            contract = Contract.objects.select_for_update().filter(pk=pk).first()
            if contract is None or contract.status != ContractStatus.ACTIVE:
                continue
            if contract.end_date is None or contract.end_date >= today:
                continue
            if contract.auto_renew:
                contract_renew(actor=None, contract=contract)
            else:
                _move(None, contract, ContractStatus.EXPIRED, {ContractStatus.ACTIVE})
            count += 1
    return count


def contracts_daily(*, today: date | None = None) -> dict[str, int]:
    """The daily task: renewal reminders first, then expiry."""
    return {
        "reminded": contracts_remind_renewals(today=today),
        "expired": contracts_expire(today=today),
    }
