"""Every write to the configured tiers and lifecycle stages (`AccountOption`).

Needs the `manage` grant on `customers.accountoption`; every change is audited in the same
transaction. Codes never change; an option is retired rather than deleted, so accounts that
carry it keep a readable label, and the default or the last active option cannot be retired.
"""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from rapport.core import events, trail
from rapport.core.errors import PermissionDenied
from rapport.identity import policy
from rapport.identity.models import Action, User

from .. import options as option_cache
from ..models import AccountOption, OptionColour, OptionField

OPTION_FIELDS = ("field", "code", "label", "label_en", "colour", "position", "is_default")
_CODE = re.compile(r"^[a-z0-9][a-z0-9_-]*$", re.IGNORECASE)
_UNCHANGED: Any = object()


def require_manage(actor: User) -> None:
    if not policy.has_grant(actor, AccountOption.security_type, Action.MANAGE):
        raise PermissionDenied(
            _("You may not configure tiers and lifecycle stages."), code="option_manage_denied"
        )


def _clean(option: AccountOption | None, values: dict[str, Any]) -> dict[str, Any]:
    """Normalise and validate; one ValidationError naming every bad field."""
    errors: dict[str, list[ValidationError]] = {}

    def fail(name: str, message: str, code: str) -> None:
        errors.setdefault(name, []).append(ValidationError(message, code=code))

    cleaned: dict[str, Any] = {}
    field = option.field if option is not None else values.get("field")
    if option is None:
        if field not in OptionField.values:
            fail(
                "field",
                _("“%(value)s” is not tier or lifecycle_stage.") % {"value": field},
                "invalid_choice",
            )
        cleaned["field"] = field
        code = str(values.get("code") or "").strip()
        if not code:
            fail("code", _("Enter a code."), "required")
        elif len(code) > 20:
            fail("code", _("At most %(n)d characters.") % {"n": 20}, "max_length")
        elif not _CODE.match(code):
            fail(
                "code",
                _("Use letters, digits, “-” and “_” only (e.g. at_risk)."),
                "invalid",
            )
        elif AccountOption.objects.filter(field=field, code=code).exists():
            fail(
                "code",
                _("There is already an option with the code “%(code)s”.") % {"code": code},
                "duplicate",
            )
        cleaned["code"] = code
    for name in ("label", "label_en"):
        if values.get(name, _UNCHANGED) is _UNCHANGED:
            continue
        text = str(values[name] or "").strip()
        if name == "label" and not text:
            fail(name, _("Enter the label."), "required")
        elif len(text) > 60:
            fail(name, _("At most %(n)d characters.") % {"n": 60}, "max_length")
        cleaned[name] = text
    if values.get("colour", _UNCHANGED) is not _UNCHANGED:
        colour = str(values["colour"] or "").strip().lower()
        if colour not in OptionColour.values:
            fail(
                "colour",
                _("“%(value)s” is not a colour; choose one of: %(choices)s.")
                % {"value": values["colour"], "choices": ", ".join(OptionColour.values)},
                "invalid_choice",
            )
        cleaned["colour"] = colour
    if values.get("position", _UNCHANGED) is not _UNCHANGED:
        try:
            position = int(values["position"])
        except (TypeError, ValueError):
            position = -1
        if not 0 <= position <= 10000:
            fail("position", _("Enter a whole number from 0 to 10000."), "invalid")
        cleaned["position"] = position
    if values.get("is_default", _UNCHANGED) is not _UNCHANGED:
        cleaned["is_default"] = bool(values["is_default"])
        if option is not None and option.is_default and not cleaned["is_default"]:
            fail(
                "is_default",
                _("Make another option the default instead; there is always one."),
                "default_required",
            )
        if option is not None and not option.is_active and cleaned["is_default"]:
            fail("is_default", _("A retired option cannot be the default."), "inactive")
    if errors:
        raise ValidationError(errors)
    return cleaned


def _record(actor: User, action: str, option: AccountOption, changes: dict) -> None:
    trail.record(actor=actor, action=action, target=option, changes=changes)
    events.emit(
        "record.created" if action == "create" else "record.updated",
        {"type": AccountOption.security_type, "id": option.pk, "fields": list(changes)},
    )
    option_cache.invalidate()


def _take_default(option: AccountOption) -> AccountOption | None:
    """Clear the default flag of the field's other option; returns it (for the audit)."""
    previous = (
        AccountOption.objects.select_for_update()
        .filter(field=option.field, is_default=True)
        .exclude(pk=option.pk)
        .first()
    )
    if previous is not None:
        previous.is_default = False
        previous.save(update_fields=["is_default", "updated_at"])
    return previous


def option_create(
    *,
    actor: User,
    field: str,
    code: str,
    label: str,
    label_en: str = "",
    colour: str = OptionColour.BLUE,
    position: int | None = None,
    is_default: bool = False,
) -> AccountOption:
    """Add a tier or stage (at the end unless `position` is given). Audited."""
    require_manage(actor)
    values = {
        "field": field,
        "code": code,
        "label": label,
        "label_en": label_en,
        "colour": colour,
        "is_default": is_default,
    }
    if position is not None:
        values["position"] = position
    cleaned = _clean(None, values)
    with transaction.atomic():
        if "position" not in cleaned:
            last = AccountOption.objects.filter(field=field).aggregate(last=Max("position"))
            cleaned["position"] = (last["last"] or 0) + 10
        option = AccountOption(**cleaned)
        previous = _take_default(option) if option.is_default else None
        option.save()
        if previous is not None:
            _record(actor, "update", previous, {"is_default": [True, False]})
        _record(actor, "create", option, trail.diff({}, trail.snapshot(option, OPTION_FIELDS)))
    return option


def option_update(
    *,
    actor: User,
    option: AccountOption,
    label: str = _UNCHANGED,
    label_en: str = _UNCHANGED,
    colour: str = _UNCHANGED,
    position: int = _UNCHANGED,
    is_default: bool = _UNCHANGED,
) -> AccountOption:
    """Relabel, recolour, reorder or make the default (the code never changes). Audited."""
    require_manage(actor)
    cleaned = _clean(
        option,
        {
            "label": label,
            "label_en": label_en,
            "colour": colour,
            "position": position,
            "is_default": is_default,
        },
    )
    before = trail.snapshot(option, OPTION_FIELDS)
    with transaction.atomic():
        for name, value in cleaned.items():
            setattr(option, name, value)
        previous = _take_default(option) if cleaned.get("is_default") else None
        option.save()
        if previous is not None:
            _record(actor, "update", previous, {"is_default": [True, False]})
        changes = trail.diff(before, trail.snapshot(option, OPTION_FIELDS))
        if changes:
            _record(actor, "update", option, changes)
    return option


def option_move(*, actor: User, option: AccountOption, offset: int) -> AccountOption:
    """Move an option up (offset -1) or down (+1) among its field's options; positions are
    renumbered 10, 20, 30 … in the same transaction. Audited per option that moved."""
    require_manage(actor)
    with transaction.atomic():
        siblings = list(
            AccountOption.objects.select_for_update()
            .filter(field=option.field)
            .order_by("position", "id")
        )
        index = next(i for i, item in enumerate(siblings) if item.pk == option.pk)
        target = max(0, min(len(siblings) - 1, index + offset))
        siblings.insert(target, siblings.pop(index))
        for number, item in enumerate(siblings, start=1):
            if item.position != number * 10:
                before = item.position
                item.position = number * 10
                item.save(update_fields=["position", "updated_at"])
                _record(actor, "update", item, {"position": [before, item.position]})
    option.refresh_from_db()
    return option


def option_deactivate(*, actor: User, option: AccountOption) -> AccountOption:
    """Retire an option: no longer offered for new values; accounts keep it and still show
    its label. The default and the last active option of a field cannot be retired."""
    require_manage(actor)
    if not option.is_active:
        return option
    if option.is_default:
        raise ValidationError(
            {
                "is_active": ValidationError(
                    _(
                        "“%(label)s” is the default for new accounts; make another option the default first."
                    )
                    % {"label": option.display_label},
                    code="is_default",
                )
            }
        )
    with transaction.atomic():
        active = AccountOption.objects.select_for_update().filter(
            field=option.field, is_active=True
        )
        if active.exclude(pk=option.pk).count() == 0:
            raise ValidationError(
                {
                    "is_active": ValidationError(
                        _("At least one option must stay active."), code="last_active"
                    )
                }
            )
        option.is_active = False
        option.save(update_fields=["is_active", "updated_at"])
        _record(actor, "deactivate", option, {"is_active": [True, False]})
    return option


def option_reactivate(*, actor: User, option: AccountOption) -> AccountOption:
    """Offer a retired option again."""
    require_manage(actor)
    if option.is_active:
        return option
    with transaction.atomic():
        option.is_active = True
        option.save(update_fields=["is_active", "updated_at"])
        _record(actor, "reactivate", option, {"is_active": [False, True]})
    return option
