"""`{% record_tags record as tagging %}`: what the detail page's tag panel shows."""

from __future__ import annotations

from typing import Any

from django import template

from rapport.core.tags.models import Tag
from rapport.core.tags.selectors import tag_tree, tags_of
from rapport.identity import policy
from rapport.identity.models import Action

register = template.Library()


@register.simple_tag(takes_context=True)
def record_tags(context, record) -> dict[str, Any]:
    """The record's tags and, for users who may change it, the tags it could still get."""
    user = context["request"].user
    tags = tags_of([record]).get(record.pk, [])
    can_change = context.get("can_change")
    if can_change is None:
        can_change = policy.can(user, Action.CHANGE, record)
    options = []
    if can_change:
        present = {tag.pk for tag in tags}
        options = [
            node
            for node in tag_tree(Tag.objects.filter(is_active=True))
            if node.tag.pk not in present
        ]
    return {
        "tags": tags,
        "options": options,
        "can_change": can_change,
        "kind": f"{record._meta.model_name}s",
    }
