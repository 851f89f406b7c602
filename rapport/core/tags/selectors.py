"""Reads of tags: the tree, the tags of a page of records, records filtered by tags."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q, QuerySet

from .models import Tag, TaggedRecord


@dataclass(frozen=True)
class TreeNode:
    tag: Tag
    depth: int

    @property
    def indent(self) -> str:
        """A prefix that shows the depth in a plain <option> list."""
        return "— " * self.depth


def tag_tree(tags: Iterable[Tag] | None = None, *, active_only: bool = False) -> list[TreeNode]:
    """Tags in tree order (parents before children, siblings by name), with their depth.

    One query (or none when `tags` is given). A child whose parent is not among the tags is
    shown at the top level, so filtering never hides a tag.
    """
    if tags is None:
        tags = Tag.objects.filter(is_active=True) if active_only else Tag.objects.all()
    tags = list(tags)
    by_id = {tag.pk: tag for tag in tags}
    children: dict[int | None, list[Tag]] = defaultdict(list)
    for tag in tags:
        children[tag.parent_id if tag.parent_id in by_id else None].append(tag)
    nodes: list[TreeNode] = []

    def walk(parent_id: int | None, depth: int) -> None:
        for tag in sorted(children.get(parent_id, []), key=lambda t: (t.label.casefold(), t.pk)):
            nodes.append(TreeNode(tag, depth))
            walk(tag.pk, depth + 1)

    walk(None, 0)
    return nodes


def tags_of(
    records: Sequence[models.Model], *, include_inactive: bool = False
) -> dict[int, list[Tag]]:
    """{record id: its tags sorted by path} for records of one model, in one query."""
    records = [record for record in records if record.pk is not None]
    if not records:
        return {}
    content_type = ContentType.objects.get_for_model(type(records[0]))
    tagged: dict[int, list[Tag]] = {record.pk: [] for record in records}
    links = TaggedRecord.objects.filter(
        content_type=content_type, object_id__in=list(tagged)
    ).select_related("tag")
    if not include_inactive:
        links = links.filter(tag__is_active=True)
    for link in links.order_by("tag__path"):
        tagged[link.object_id].append(link.tag)
    return tagged


def attach_tags(records: Sequence[models.Model], *, attribute: str = "tag_list") -> list:
    """Give each record a `tag_list` attribute (its active tags), in one query for all."""
    records = list(records)
    tagged = tags_of(records)
    for record in records:
        setattr(record, attribute, tagged.get(record.pk, []))
    return records


def _subtrees(tag_ids: Iterable[int], include_descendants: bool) -> list[list[int]]:
    """For each existing tag id, the ids it stands for: itself and its active descendants."""
    ids = sorted({int(pk) for pk in tag_ids})
    if not ids:
        return []
    chosen = list(Tag.objects.filter(pk__in=ids).only("id", "path"))
    if not include_descendants:
        return [[tag.pk] for tag in chosen]
    below = Q()
    for tag in chosen:
        below |= Q(path__startswith=tag.path)
    rows = (
        list(Tag.objects.filter(below, is_active=True).values_list("id", "path")) if chosen else []
    )
    return [
        sorted({tag.pk} | {pk for pk, path in rows if path.startswith(tag.path)}) for tag in chosen
    ]


def with_tags(
    queryset: QuerySet,
    tag_ids: Iterable[int],
    *,
    include_descendants: bool = True,
    mode: str = "any",
) -> QuerySet:
    """Records of `queryset` carrying the tags (or, by default, a tag below them).

    mode "any": at least one of the tags; "all": every one of them. Ids of tags that do not
    exist match nothing. One small read of the tag table; the rest is `pk IN (subquery)` on
    the link table's (tag, content_type, object_id) index.
    """
    if mode not in ("any", "all"):
        raise ValueError(f"unknown tag filter mode {mode!r}")
    tag_ids = list(tag_ids)
    if not tag_ids:
        return queryset
    groups = _subtrees(tag_ids, include_descendants)
    if len(groups) < len({int(pk) for pk in tag_ids}) and mode == "all":
        return queryset.none()
    if not groups:
        return queryset.none()
    content_type = ContentType.objects.get_for_model(queryset.model)
    links = TaggedRecord.objects.filter(content_type=content_type)
    if mode == "any":
        wanted = sorted({pk for group in groups for pk in group})
        return queryset.filter(pk__in=links.filter(tag_id__in=wanted).values("object_id"))
    for group in groups:
        queryset = queryset.filter(pk__in=links.filter(tag_id__in=group).values("object_id"))
    return queryset
