"""Every write of sales targets (quotas): one person's, team's or department's target for a
month, quarter or year and a measure. Needs `manage` on `sales.target` covering the holder;
validated (each problem names its field), audited, nothing partial stored."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from rapport.core import events, trail
from rapport.core.errors import PermissionDenied
from rapport.identity import policy
from rapport.identity.models import Action, Department, Team, User

from ..forecast import parse_period, visibility
from ..models import Target, TargetMetric

FIELDS = ("period", "period_start", "metric", "user", "team", "department", "amount", "currency")
MAX_AMOUNT = Decimal("9999999999999999.99")


def require_manage(actor: User) -> None:
    if not policy.has_grant(actor, Target.security_type, Action.MANAGE):
        raise PermissionDenied(_("You may not set sales targets."), code="target_manage_denied")


def _holder_kind(user, team, department) -> tuple[str, Any]:
    given = [
        (kind, holder)
        for kind, holder in (("user", user), ("team", team), ("department", department))
        if holder is not None
    ]
    if len(given) != 1:
        message = (
            _("Choose a person, a team or a department.")
            if not given
            else _("A target is held by one person, team or department, not several.")
        )
        names = [kind for kind, _holder in given] or ["user"]
        raise ValidationError({name: ValidationError(message, "one_holder") for name in names})
    return given[0]


def _clean_amount(amount) -> Decimal:
    try:
        value = amount if isinstance(amount, Decimal) else Decimal(str(amount).strip())
    except (InvalidOperation, ValueError):
        raise ValidationError(
            {"amount": ValidationError(_("Enter an amount such as 120000.00."), "invalid")}
        ) from None
    if not value.is_finite():
        raise ValidationError(
            {"amount": ValidationError(_("Enter an amount such as 120000.00."), "invalid")}
        )
    if value < 0:
        raise ValidationError(
            {"amount": ValidationError(_("A target cannot be negative."), "min_value")}
        )
    if value > MAX_AMOUNT or value != value.quantize(Decimal("0.01")):
        raise ValidationError(
            {
                "amount": ValidationError(
                    _("Enter an amount with at most two decimals and 16 digits before them."),
                    "invalid",
                )
            }
        )
    return value.quantize(Decimal("0.01"))


def _clean_currency(currency: str | None) -> str:
    from ..config import get_settings

    code = (currency or get_settings().default_currency).strip().upper()
    if len(code) != 3 or not code.isalpha():
        raise ValidationError(
            {
                "currency": ValidationError(
                    _("Enter a three-letter currency code such as CNY."), "invalid"
                )
            }
        )
    return code


def _require_holder(actor: User, kind: str, holder) -> None:
    if not visibility(actor, Action.MANAGE).sees(kind, holder.pk):
        raise PermissionDenied(
            _("You may not set targets for %(holder)s.") % {"holder": holder},
            code="target_manage_denied",
        )


def target_set(
    *,
    actor: User,
    period: str,
    period_start: dt.date | str,
    metric: str = TargetMetric.WON_AMOUNT,
    amount: Decimal | str | int,
    user: User | None = None,
    team: Team | None = None,
    department: Department | None = None,
    currency: str | None = None,
) -> Target:
    """Create or change the one target of a holder for a period and measure. The period
    starts on its first day (a month on the 1st, a quarter on 1 Jan/Apr/Jul/Oct, a year on
    1 Jan); the amount is a Decimal ≥ 0 (a count for deals won)."""
    require_manage(actor)
    errors: dict[str, list[ValidationError]] = {}
    cleaned: dict[str, Any] = {}
    if period_start in (None, ""):
        errors["period_start"] = [
            ValidationError(_("Enter the first day of the period."), "required")
        ]
    for name, clean in (
        ("period", lambda: parse_period(period or "-", period_start or "-")),
        ("holder", lambda: _holder_kind(user, team, department)),
        ("amount", lambda: _clean_amount(amount)),
        ("currency", lambda: _clean_currency(currency)),
    ):
        try:
            cleaned[name] = clean()
        except ValidationError as error:
            for field_name, messages in error.error_dict.items():
                errors.setdefault(field_name, []).extend(messages)
    if metric not in TargetMetric.values:
        errors.setdefault("metric", []).append(
            ValidationError(_("Choose a measure from the list."), "invalid_choice")
        )
    elif (
        metric == TargetMetric.WON_COUNT
        and "amount" in cleaned
        and cleaned["amount"] != cleaned["amount"].to_integral_value()
    ):
        errors.setdefault("amount", []).append(
            ValidationError(_("Deals won is a whole number."), "invalid")
        )
    if errors:
        raise ValidationError(errors)
    period, period_start = cleaned["period"]
    kind, holder = cleaned["holder"]
    _require_holder(actor, kind, holder)
    with transaction.atomic():
        target = (
            Target.objects.select_for_update()
            .filter(period=period, period_start=period_start, metric=metric, **{kind: holder})
            .first()
        )
        if target is None:
            target = Target.objects.create(
                period=period,
                period_start=period_start,
                metric=metric,
                amount=cleaned["amount"],
                currency=cleaned["currency"],
                created_by=actor,
                **{kind: holder},
            )
            trail.record(
                actor=actor,
                action="create",
                target=target,
                changes=trail.diff({}, trail.snapshot(target, FIELDS)),
            )
            _emit("record.created", target, [])
            return target
        before = trail.snapshot(target, FIELDS)
        target.amount = cleaned["amount"]
        target.currency = cleaned["currency"]
        changes = trail.diff(before, trail.snapshot(target, FIELDS))
        if changes:
            target.save(update_fields=["amount", "currency", "updated_at"])
            trail.record(actor=actor, action="update", target=target, changes=changes)
            _emit("record.updated", target, sorted(changes))
    return target


def target_delete(*, actor: User, target: Target) -> None:
    """Remove a target (the holder then has none for that period and measure)."""
    require_manage(actor)
    kind = "user" if target.user_id else "team" if target.team_id else "department"
    holder = target.user or target.team or target.department
    _require_holder(actor, kind, holder)
    with transaction.atomic():
        before = trail.snapshot(target, FIELDS)
        pk = target.pk
        trail.record(actor=actor, action="delete", target=target, changes=trail.diff(before, {}))
        target.delete()
        target.pk = pk
        _emit("record.deleted", target, [])


def _emit(topic: str, target: Target, fields: list[str]) -> None:
    """The domain event, in the outbox with the write; delivered when it commits."""
    events.emit(topic, {"type": Target.security_type, "id": target.pk, "fields": fields})


_HOLDER_LOOKUP = {
    "user": (User, "username"),
    "team": (Team, "name"),
    "department": (Department, "code"),
}
IMPORT_COLUMNS = ("period", "period_start", "metric", "holder_type", "holder", "amount", "currency")


def targets_import(*, actor: User, rows: list[dict[str, Any]] | str) -> list[Target]:
    """Set many targets at once from rows (or CSV text with the header `period,
    period_start, metric, holder_type, holder, amount[, currency]`; holder is a username,
    a team's name or a department's code). All or nothing: any bad row refuses the whole
    import, each problem named by its row and field ("row 3 · amount")."""
    require_manage(actor)
    if isinstance(rows, str):
        rows = list(csv.DictReader(io.StringIO(rows.lstrip("\ufeff"))))
    errors: dict[str, list[ValidationError]] = {}
    stored: list[Target] = []
    with transaction.atomic():
        for number, row in enumerate(rows, start=1):
            holder_type = (row.get("holder_type") or "user").strip()
            name = (row.get("holder") or "").strip()
            lookup = _HOLDER_LOOKUP.get(holder_type)
            if lookup is None:
                errors.setdefault(f"row {number} · holder_type", []).append(
                    ValidationError(_("Choose user, team or department."), "invalid_choice")
                )
                continue
            model, key = lookup
            holder = model.objects.filter(**{key: name}).first()
            if holder is None:
                errors.setdefault(f"row {number} · holder", []).append(
                    ValidationError(
                        _("No such %(kind)s: “%(name)s”.") % {"kind": holder_type, "name": name},
                        "not_found",
                    )
                )
                continue
            try:
                with transaction.atomic():
                    stored.append(
                        target_set(
                            actor=actor,
                            period=(row.get("period") or "").strip(),
                            period_start=(row.get("period_start") or "").strip() or "-",
                            metric=(row.get("metric") or TargetMetric.WON_AMOUNT).strip(),
                            amount=(row.get("amount") or "").strip(),
                            currency=(row.get("currency") or "").strip() or None,
                            **{holder_type: holder},
                        )
                    )
            except ValidationError as error:
                for field_name, messages in error.error_dict.items():
                    errors.setdefault(f"row {number} · {field_name}", []).extend(messages)
        if errors:
            transaction.set_rollback(True)
    if errors:
        raise ValidationError(errors)
    return stored
