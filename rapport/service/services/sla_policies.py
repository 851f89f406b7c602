"""Every write to SLA policies. Needs `manage` on `service.slapolicy`; validated as a whole
(one ValidationError naming every bad field, nothing stored) and audited. Tickets already
open keep the due times they were given; new tickets and changed ones get the new rules."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from rapport.core import trail
from rapport.core.errors import PermissionDenied
from rapport.customers import options as account_options
from rapport.identity import policy
from rapport.identity.models import Action, User

from ..models import BusinessCalendar, SlaPolicy, TicketCategory, TicketKind, TicketPriority

FIELDS = (
    "name",
    "name_en",
    "position",
    "is_active",
    "calendar",
    "priorities",
    "kinds",
    "tiers",
    "categories",
    "first_response_minutes",
    "resolution_minutes",
    "warn_percent",
)
MAX_MINUTES = 366 * 24 * 60
_UNCHANGED: Any = object()


def require_manage(actor: User) -> None:
    if not policy.has_grant(actor, SlaPolicy.security_type, Action.MANAGE):
        raise PermissionDenied(_("You may not configure SLA policies."), code="sla_manage_denied")


def _codes(errors, name: str, values: Any, allowed: set[str]) -> list[str]:
    given = [str(value) for value in (values or [])]
    unknown = [value for value in given if value not in allowed]
    if unknown:
        errors.setdefault(name, []).append(
            ValidationError(
                _("“%(value)s” is not one of: %(choices)s.")
                % {"value": unknown[0], "choices": ", ".join(sorted(allowed))},
                code="invalid_choice",
            )
        )
    return list(dict.fromkeys(given))


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[ValidationError]] = {}

    def fail(name: str, message: str, code: str) -> None:
        errors.setdefault(name, []).append(ValidationError(message, code=code))

    cleaned: dict[str, Any] = {}
    for name in ("name", "name_en"):
        if name in values:
            text = " ".join(str(values[name] or "").split())
            if name == "name" and not text:
                fail(name, _("Enter a name."), "required")
            elif len(text) > 100:
                fail(name, _("At most %(n)d characters.") % {"n": 100}, "max_length")
            cleaned[name] = text
    for name, low, high in (
        ("first_response_minutes", 1, MAX_MINUTES),
        ("resolution_minutes", 1, MAX_MINUTES),
        ("warn_percent", 1, 100),
        ("position", 0, 10_000),
    ):
        if name in values:
            try:
                number = int(values[name])
                if not low <= number <= high:
                    raise ValueError
                cleaned[name] = number
            except (TypeError, ValueError):
                fail(
                    name,
                    _("Enter a whole number from %(low)d to %(high)d.")
                    % {"low": low, "high": high},
                    "invalid",
                )
    if "priorities" in values:
        cleaned["priorities"] = _codes(
            errors, "priorities", values["priorities"], set(TicketPriority.values)
        )
    if "kinds" in values:
        cleaned["kinds"] = _codes(errors, "kinds", values["kinds"], set(TicketKind.values))
    if "tiers" in values:
        tiers = {option.code for option in account_options.options("tier")}
        cleaned["tiers"] = _codes(errors, "tiers", values["tiers"], tiers)
    if "categories" in values:
        ids = set(TicketCategory.objects.values_list("pk", flat=True))
        given = _codes(errors, "categories", values["categories"], {str(pk) for pk in ids})
        cleaned["categories"] = [int(value) for value in given if value.isdigit()]
    if "calendar" in values:
        calendar = values["calendar"]
        if calendar is not None and not (
            isinstance(calendar, BusinessCalendar) and calendar.is_active
        ):
            fail("calendar", _("Choose an active calendar."), "invalid")
        cleaned["calendar"] = calendar
    if "is_active" in values:
        cleaned["is_active"] = bool(values["is_active"])
    if errors:
        raise ValidationError(errors)
    return cleaned


def sla_policy_create(
    *,
    actor: User,
    name: str,
    first_response_minutes: int,
    resolution_minutes: int,
    name_en: str = "",
    position: int = 0,
    calendar: BusinessCalendar | None = None,
    priorities: list[str] | None = None,
    kinds: list[str] | None = None,
    tiers: list[str] | None = None,
    categories: list[int] | None = None,
    warn_percent: int = 80,
) -> SlaPolicy:
    require_manage(actor)
    cleaned = _clean(
        {
            "name": name,
            "name_en": name_en,
            "position": position,
            "calendar": calendar,
            "priorities": priorities or [],
            "kinds": kinds or [],
            "tiers": tiers or [],
            "categories": categories or [],
            "first_response_minutes": first_response_minutes,
            "resolution_minutes": resolution_minutes,
            "warn_percent": warn_percent,
        }
    )
    with transaction.atomic():
        sla_policy = SlaPolicy.objects.create(**cleaned)
        trail.record(
            actor=actor,
            action="create",
            target=sla_policy,
            changes=trail.diff({}, trail.snapshot(sla_policy, FIELDS)),
        )
    return sla_policy


def sla_policy_update(*, actor: User, sla_policy: SlaPolicy, **changes: Any) -> SlaPolicy:
    """Change what is given (any of the policy's fields; `is_active` false retires it)."""
    require_manage(actor)
    unknown = set(changes) - set(FIELDS)
    if unknown:
        raise ValidationError(
            {name: ValidationError(_("Unknown field."), "unknown_field") for name in unknown}
        )
    cleaned = _clean(changes)
    with transaction.atomic():
        sla_policy = SlaPolicy.objects.select_for_update().get(pk=sla_policy.pk)
        before = trail.snapshot(sla_policy, FIELDS)
        for key, value in cleaned.items():
            setattr(sla_policy, key, value)
        changed = trail.diff(before, trail.snapshot(sla_policy, FIELDS))
        if changed:
            sla_policy.save()
            trail.record(actor=actor, action="update", target=sla_policy, changes=changed)
    return sla_policy
