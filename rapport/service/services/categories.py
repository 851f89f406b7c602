"""Every write to ticket categories (a tree: 产品问题 › 安装). Needs `manage` on
`service.ticketcategory`; audited. A category is retired, never deleted, so tickets keep it."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from rapport.core import trail
from rapport.core.errors import PermissionDenied
from rapport.identity import policy
from rapport.identity.models import Action, User

from ..models import TicketCategory

FIELDS = ("name", "name_en", "parent", "position", "is_active")
_UNCHANGED: Any = object()


def require_manage(actor: User) -> None:
    if not policy.has_grant(actor, TicketCategory.security_type, Action.MANAGE):
        raise PermissionDenied(
            _("You may not configure ticket categories."), code="category_manage_denied"
        )


def _clean(category: TicketCategory | None, values: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[ValidationError]] = {}
    cleaned: dict[str, Any] = {}
    for name in ("name", "name_en"):
        if name in values:
            text = " ".join(str(values[name] or "").split())
            if name == "name" and not text:
                errors.setdefault(name, []).append(ValidationError(_("Enter a name."), "required"))
            elif len(text) > 100:
                errors.setdefault(name, []).append(
                    ValidationError(_("At most %(n)d characters.") % {"n": 100}, "max_length")
                )
            cleaned[name] = text
    if "parent" in values:
        parent = values["parent"]
        if parent is not None:
            ancestor, seen = parent, set()
            while ancestor is not None and ancestor.pk not in seen:
                if category is not None and ancestor.pk == category.pk:
                    errors.setdefault("parent", []).append(
                        ValidationError(_("A category cannot sit under itself."), "cycle")
                    )
                    break
                seen.add(ancestor.pk)
                ancestor = ancestor.parent
        cleaned["parent"] = parent
    if "position" in values:
        try:
            cleaned["position"] = max(0, int(values["position"]))
        except (TypeError, ValueError):
            errors.setdefault("position", []).append(
                ValidationError(_("Enter a whole number."), "invalid")
            )
    if "is_active" in values:
        cleaned["is_active"] = bool(values["is_active"])
    name = cleaned.get("name", category.name if category else "")
    parent = cleaned.get("parent", category.parent if category else None)
    if (
        name
        and "name" not in errors
        and TicketCategory.objects.filter(name=name, parent=parent)
        .exclude(pk=category.pk if category else None)
        .exists()
    ):
        errors.setdefault("name", []).append(
            ValidationError(
                _("This category already has a sub-category with this name."), "duplicate"
            )
            if parent
            else ValidationError(_("There is already a category with this name."), "duplicate")
        )
    if errors:
        raise ValidationError(errors)
    return cleaned


def category_create(
    *,
    actor: User,
    name: str,
    name_en: str = "",
    parent: TicketCategory | None = None,
    position: int = 0,
) -> TicketCategory:
    require_manage(actor)
    cleaned = _clean(
        None, {"name": name, "name_en": name_en, "parent": parent, "position": position}
    )
    with transaction.atomic():
        category = TicketCategory.objects.create(**cleaned)
        trail.record(
            actor=actor,
            action="create",
            target=category,
            changes=trail.diff({}, trail.snapshot(category, FIELDS)),
        )
    return category


def category_update(
    *,
    actor: User,
    category: TicketCategory,
    name: str = _UNCHANGED,
    name_en: str = _UNCHANGED,
    parent: TicketCategory | None = _UNCHANGED,
    position: int = _UNCHANGED,
    is_active: bool = _UNCHANGED,
) -> TicketCategory:
    """Rename, move, reorder, retire (is_active false) or offer again."""
    require_manage(actor)
    given = {
        key: value
        for key, value in {
            "name": name,
            "name_en": name_en,
            "parent": parent,
            "position": position,
            "is_active": is_active,
        }.items()
        if value is not _UNCHANGED
    }
    with transaction.atomic():
        category = TicketCategory.objects.select_for_update().get(pk=category.pk)
        cleaned = _clean(category, given)
        before = trail.snapshot(category, FIELDS)
        for key, value in cleaned.items():
            setattr(category, key, value)
        changes = trail.diff(before, trail.snapshot(category, FIELDS))
        if changes:
            category.save()
            trail.record(actor=actor, action="update", target=category, changes=changes)
    return category
