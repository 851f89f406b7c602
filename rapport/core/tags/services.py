"""Every write to tags: the tree (create, rename, recolour, move, deactivate) and the links
between tags and records (bulk tag / untag).

Managing the tree needs the `manage` grant on `core.tag`; putting tags on records needs the
`change` permission on each record. Checks go through `rapport.core.access` (the identity
policy), every change is audited through `rapport.core.trail` in the same transaction, and
domain events are emitted after commit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils.translation import gettext as _

from rapport.core import access, events, locks, trail
from rapport.core.errors import PermissionDenied

from . import registry
from .models import Colour, Tag, TaggedRecord

MANAGE = "manage"
CHANGE = "change"
TAG_FIELDS = ("name", "name_en", "colour", "parent", "is_active")
MAX_DEPTH = 5  # levels of the tree; deeper trees are hard to read as chips and filters
NAMED_IN_ERRORS = 3  # records named in a refusal before "and N more"

_UNCHANGED: Any = object()


def _require_manage(actor) -> None:
    if not access.can(actor, MANAGE, Tag):
        raise PermissionDenied(_("You may not manage tags."), code="tag_manage_denied")


def _path_of(tag: Tag, parent: Tag | None) -> str:
    return f"{parent.path if parent is not None else '/'}{tag.pk}/"


def _clean(
    *,
    tag: Tag | None,
    name: Any,
    name_en: Any,
    colour: Any,
    parent: Any,
) -> dict[str, Any]:
    """Normalise and validate; one ValidationError naming every bad field."""
    errors: dict[str, list[ValidationError]] = {}

    def fail(field: str, message: str, code: str) -> None:
        errors.setdefault(field, []).append(ValidationError(message, code=code))

    cleaned: dict[str, Any] = {}
    if name is not _UNCHANGED:
        cleaned["name"] = str(name or "").strip()
        if not cleaned["name"]:
            fail("name", _("Enter the tag's name."), "required")
        elif len(cleaned["name"]) > 60:
            fail("name", _("At most %(n)d characters.") % {"n": 60}, "max_length")
    if name_en is not _UNCHANGED:
        cleaned["name_en"] = str(name_en or "").strip()
        if len(cleaned["name_en"]) > 60:
            fail("name_en", _("At most %(n)d characters.") % {"n": 60}, "max_length")
    if colour is not _UNCHANGED:
        cleaned["colour"] = str(colour or "").strip().lower()
        if cleaned["colour"] not in Colour.values:
            fail(
                "colour",
                _("“%(value)s” is not a tag colour; choose one of: %(choices)s.")
                % {"value": colour, "choices": ", ".join(Colour.values)},
                "invalid_choice",
            )
    if parent is not _UNCHANGED:
        cleaned["parent"] = parent
        if parent is not None:
            if not isinstance(parent, Tag) or parent.pk is None:
                fail("parent", _("Choose an existing tag as the parent."), "invalid")
            elif not parent.is_active:
                fail(
                    "parent",
                    _("The parent tag “%(name)s” is deactivated.") % {"name": parent},
                    "inactive",
                )
            elif tag is not None and parent.path.startswith(tag.path):
                fail(
                    "parent", _("A tag cannot be moved under itself or its own children."), "cycle"
                )
    if "parent" not in errors:
        parent_now = cleaned.get("parent", tag.parent if tag is not None else None)
        parent_depth = parent_now.depth + 1 if parent_now is not None else 0
        height = 0
        if tag is not None and "parent" in cleaned:
            below = Tag.objects.filter(path__startswith=tag.path).values_list("path", flat=True)
            height = max((path.count("/") for path in below), default=tag.path.count("/"))
            height -= tag.path.count("/")
        if parent_depth + height >= MAX_DEPTH:
            fail(
                "parent",
                _("Tags can be nested at most %(n)d levels deep.") % {"n": MAX_DEPTH},
                "too_deep",
            )
        name_now = cleaned.get("name", tag.name if tag is not None else "")
        if name_now and "name" not in errors:
            siblings = Tag.objects.filter(parent=parent_now, name=name_now)
            if tag is not None:
                siblings = siblings.exclude(pk=tag.pk)
            if siblings.exists():
                fail(
                    "name",
                    _("There is already a tag named “%(name)s” here.") % {"name": name_now},
                    "duplicate",
                )
    if errors:
        raise ValidationError(errors)
    return cleaned


def tag_create(
    *,
    actor,
    name: str,
    name_en: str = "",
    colour: str = Colour.BLUE,
    parent: Tag | None = None,
) -> Tag:
    """Create a tag (under `parent`, or at the top). Needs tag management. Audited."""
    _require_manage(actor)
    cleaned = _clean(tag=None, name=name, name_en=name_en, colour=colour, parent=parent)
    with transaction.atomic():
        tag = Tag.objects.create(created_by=actor, **cleaned)
        tag.path = _path_of(tag, tag.parent)
        tag.save(update_fields=["path"])
        trail.record(
            actor=actor,
            action="tag.create",
            target=tag,
            changes=trail.diff({}, trail.snapshot(tag, TAG_FIELDS)),
        )
        events.emit("record.created", {"type": Tag.security_type, "id": tag.pk})
    return tag


def tag_update(
    *,
    actor,
    tag: Tag,
    name: str = _UNCHANGED,
    name_en: str = _UNCHANGED,
    colour: str = _UNCHANGED,
    parent: Tag | None = _UNCHANGED,
) -> Tag:
    """Rename, recolour or move a tag (`parent=None`: to the top). Moving carries the subtree
    along and is refused when it would put the tag under itself. Audited with before/after."""
    _require_manage(actor)
    cleaned = _clean(tag=tag, name=name, name_en=name_en, colour=colour, parent=parent)
    before = trail.snapshot(tag, TAG_FIELDS)
    with transaction.atomic():
        for field, value in cleaned.items():
            setattr(tag, field, value)
        if "parent" in cleaned:
            old_path, tag.path = tag.path, _path_of(tag, tag.parent)
            if tag.path != old_path:
                descendants = list(Tag.objects.filter(path__startswith=old_path).exclude(pk=tag.pk))
                for child in descendants:
                    child.path = tag.path + child.path[len(old_path) :]
                Tag.objects.bulk_update(descendants, ["path"])
        tag.save()
        changes = trail.diff(before, trail.snapshot(tag, TAG_FIELDS))
        if changes:
            trail.record(actor=actor, action="tag.update", target=tag, changes=changes)
            events.emit(
                "record.updated",
                {"type": Tag.security_type, "id": tag.pk, "fields": list(changes)},
            )
    return tag


def tag_deactivate(*, actor, tag: Tag) -> list[Tag]:
    """Retire a tag and everything below it: no longer offered or shown, links kept (so a
    reactivation restores them). Returns the tags that were deactivated. Audited per tag."""
    _require_manage(actor)
    with transaction.atomic():
        retired = list(
            Tag.objects.select_for_update()
            .filter(path__startswith=tag.path, is_active=True)
            .order_by("path")
        )
        for node in retired:
            node.is_active = False
            node.save(update_fields=["is_active", "updated_at"])
            trail.record(
                actor=actor,
                action="tag.deactivate",
                target=node,
                changes={"is_active": [True, False]},
            )
            events.emit(
                "record.updated",
                {"type": Tag.security_type, "id": node.pk, "fields": ["is_active"]},
            )
    tag.refresh_from_db()
    return retired


def tag_reactivate(*, actor, tag: Tag) -> Tag:
    """Bring a retired tag back (its children stay retired until reactivated themselves)."""
    _require_manage(actor)
    tag.refresh_from_db()
    if tag.is_active:
        return tag
    if (
        tag.parent_id is not None
        and not Tag.objects.filter(pk=tag.parent_id, is_active=True).exists()
    ):
        raise ValidationError(
            {
                "parent": ValidationError(
                    _("Reactivate the parent tag “%(name)s” first.") % {"name": tag.parent},
                    code="inactive",
                )
            }
        )
    with transaction.atomic():
        tag.is_active = True
        tag.save(update_fields=["is_active", "updated_at"])
        trail.record(
            actor=actor, action="tag.reactivate", target=tag, changes={"is_active": [False, True]}
        )
        events.emit(
            "record.updated", {"type": Tag.security_type, "id": tag.pk, "fields": ["is_active"]}
        )
    return tag


# --- tags on records ---------------------------------------------------------------------------


def _records_model(records: Sequence[models.Model]) -> type[models.Model]:
    if not records:
        raise ValidationError(
            {"records": ValidationError(_("Choose at least one record."), code="required")}
        )
    model = type(records[0])
    if any(type(record) is not model for record in records) or any(
        record.pk is None for record in records
    ):
        raise ValidationError(
            {
                "records": ValidationError(
                    _("Choose saved records of one kind only."), code="mixed_types"
                )
            }
        )
    if not registry.is_taggable(model):
        raise ValidationError(
            {
                "records": ValidationError(
                    _("%(kind)s cannot carry tags.")
                    % {"kind": str(model._meta.verbose_name_plural).capitalize()},
                    code="not_taggable",
                )
            }
        )
    return model


def _named(records: Sequence[models.Model]) -> str:
    names = "”, “".join(str(record) for record in records[:NAMED_IN_ERRORS])
    if len(records) > NAMED_IN_ERRORS:
        return _("“%(names)s” and %(count)d more") % {
            "names": names,
            "count": len(records) - NAMED_IN_ERRORS,
        }
    return f"“{names}”"


def _require_changeable(actor, model: type[models.Model], records: Sequence[models.Model]) -> None:
    """All or nothing: one record the actor may not change refuses the whole call."""
    ids = [record.pk for record in records]
    allowed = set(
        access.restrict(actor, CHANGE, model).filter(pk__in=ids).values_list("pk", flat=True)
    )
    refused = [record for record in records if record.pk not in allowed]
    if refused:
        raise PermissionDenied(
            _("You may not change %(records)s, so nothing was tagged or untagged.")
            % {"records": _named(refused)},
            code="record_not_changeable",
            field="records",
        )
    locks.ensure_all_unlocked(records)  # e.g. waiting for approval


def _apply(
    *, actor, records: Sequence[models.Model], tags: Sequence[Tag], remove: bool
) -> list[models.Model]:
    records = list({(type(record), record.pk): record for record in records}.values())
    model = _records_model(records)
    given = list(tags)
    if not given or any(not isinstance(tag, Tag) or tag.pk is None for tag in given):
        raise ValidationError(
            {"tags": ValidationError(_("Choose at least one existing tag."), code="required")}
        )
    # Read the tags afresh: one retired since the caller loaded it must not be applied.
    tags = list(Tag.objects.filter(pk__in={tag.pk for tag in given}).order_by("path"))
    retired = [tag for tag in tags if not tag.is_active]
    if retired and not remove:
        raise ValidationError(
            {
                "tags": ValidationError(
                    _("The tag “%(name)s” is deactivated and cannot be applied.")
                    % {"name": retired[0]},
                    code="inactive",
                )
            }
        )
    content_type = ContentType.objects.get_for_model(model)
    tag_ids = {tag.pk for tag in tags}
    changed: list[models.Model] = []
    with transaction.atomic():
        _require_changeable(actor, model, records)
        before: dict[int, set[int]] = defaultdict(set)
        for object_id, tag_id in (
            TaggedRecord.objects.select_for_update()
            .filter(content_type=content_type, object_id__in=[record.pk for record in records])
            .values_list("object_id", "tag_id")
        ):
            before[object_id].add(tag_id)
        after = {
            record.pk: (before[record.pk] - tag_ids if remove else before[record.pk] | tag_ids)
            for record in records
        }
        changed = [record for record in records if after[record.pk] != before[record.pk]]
        if remove:
            TaggedRecord.objects.filter(
                content_type=content_type,
                object_id__in=[record.pk for record in changed],
                tag_id__in=tag_ids,
            ).delete()
        else:
            TaggedRecord.objects.bulk_create(
                [
                    TaggedRecord(
                        content_type=content_type,
                        object_id=record.pk,
                        tag_id=tag_id,
                        tagged_by=actor,
                    )
                    for record in changed
                    for tag_id in sorted(tag_ids - before[record.pk])
                ],
                ignore_conflicts=True,  # a concurrent identical tagging is the same outcome
            )
        for record in changed:
            trail.record(
                actor=actor,
                action="update",
                target=record,
                changes={"tags": [sorted(before[record.pk]), sorted(after[record.pk])]},
            )
            events.emit(
                "record.updated",
                {"type": model._meta.label_lower, "id": record.pk, "fields": ["tags"]},
            )
    return changed


def records_tag(
    *, actor, records: Sequence[models.Model], tags: Sequence[Tag]
) -> list[models.Model]:
    """Put `tags` on every record (of one taggable model). All or nothing: if the actor may
    not change one of them, nothing is stored and the error names it. Each record whose tags
    changed gets an audit event (`tags` before/after) and a `record.updated` event. Returns
    the records that changed (already-tagged ones are left as they are)."""
    return _apply(actor=actor, records=records, tags=tags, remove=False)


def records_untag(
    *, actor, records: Sequence[models.Model], tags: Sequence[Tag]
) -> list[models.Model]:
    """Take `tags` off every record; the same guarantees as `records_tag`."""
    return _apply(actor=actor, records=records, tags=tags, remove=True)
