"""Saved list views: a filter, columns and sort under a name, private or shared with a team."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from rapport.core import filterlang, trail
from rapport.core.errors import PermissionDenied

from .. import policy
from ..models import Action, SavedView, Team, User

MAX_VIEWS_PER_LIST = 100
MAX_PARAMS = 20


def _valid_params(params: Any) -> bool:
    """{name: text or [texts]}: the quick filters of a list page, kept as the page sent them."""

    def text(value: Any) -> bool:
        return isinstance(value, str) and len(value) <= 200

    if not isinstance(params, dict) or len(params) > MAX_PARAMS:
        return False
    return all(
        isinstance(key, str)
        and 0 < len(key) <= 40
        and (
            text(value) or (isinstance(value, list) and len(value) <= 50 and all(map(text, value)))
        )
        for key, value in params.items()
    )


def saved_views_for(user: User, object_type: str) -> QuerySet:
    """The user's own views of a list and those shared with a team they belong to or lead."""
    teams = Team.objects.filter(Q(members=user) | Q(lead=user)).values("pk")
    return (
        SavedView.objects.filter(object_type=object_type)
        .filter(Q(owner=user) | Q(team__in=teams))
        .select_related("owner", "team")
        .defer("owner__password")
        .order_by("name", "id")
    )


def _clean(
    actor: User, object_type: str, values: dict[str, Any], view: SavedView | None
) -> dict[str, Any]:
    errors: dict[str, list[ValidationError]] = {}

    def fail(field: str, message: str, code: str) -> None:
        errors.setdefault(field, []).append(ValidationError(message, code=code))

    cleaned = dict(values)
    if "name" in cleaned:
        cleaned["name"] = str(cleaned["name"] or "").strip()
        if not cleaned["name"]:
            fail("name", _("Give the view a name."), "required")
        elif len(cleaned["name"]) > 120:
            fail("name", _("At most %(n)d characters.") % {"n": 120}, "max_length")
        else:
            clash = SavedView.objects.filter(
                owner=view.owner if view else actor, object_type=object_type, name=cleaned["name"]
            )
            if view is not None:
                clash = clash.exclude(pk=view.pk)
            if clash.exists():
                fail("name", _("You already have a view with this name."), "duplicate")
    if "filter" in cleaned:
        raw = cleaned["filter"] or {"and": []}
        try:
            tree = filterlang.parse(raw) if isinstance(raw, str) else raw
            fields = filterlang.fields_for(actor, object_type)
            filterlang.validate(tree, fields, filterlang.Context(user_id=actor.pk))
        except ValidationError as error:
            for message in error.messages:
                fail("filter", message, "invalid")
        else:
            cleaned["filter"] = tree  # kept as written (relative dates stay relative)
    if "columns" in cleaned:
        columns = cleaned["columns"] or []
        if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
            fail("columns", _("List the column names."), "invalid")
        elif len(columns) > 30:
            fail("columns", _("At most %(n)d columns.") % {"n": 30}, "invalid")
        else:
            cleaned["columns"] = list(dict.fromkeys(columns))
    if "ordering" in cleaned:
        cleaned["ordering"] = str(cleaned["ordering"] or "")[:60]
    if "params" in cleaned:
        params = cleaned["params"] or {}
        if not _valid_params(params):
            fail(
                "params",
                _(
                    "Quick filters are at most %(n)d names, each with a text or a list of texts "
                    "(at most 200 characters each)."
                )
                % {"n": MAX_PARAMS},
                "invalid",
            )
        else:
            cleaned["params"] = {
                key: list(value) if isinstance(value, list) else value
                for key, value in params.items()
                if value not in ("", [])
            }
    if "team" in cleaned and cleaned["team"] is not None:
        team = cleaned["team"]
        is_member = Team.objects.filter(pk=team.pk).filter(Q(members=actor) | Q(lead=actor))
        if not is_member.exists():
            fail("team", _("Share only with a team you belong to."), "not_member")
    if errors:
        raise ValidationError(errors)
    return cleaned


def saved_view_create(
    *,
    actor: User,
    object_type: str,
    name: str,
    filter: Any = None,  # noqa: A002  (the filter-language tree or text)
    columns: list[str] | None = None,
    ordering: str = "",
    params: dict | None = None,
    team: Team | None = None,
) -> SavedView:
    """Save a list view (the filter is validated against the fields the actor may filter on).
    Audited."""
    if not policy.has_grant(actor, object_type, Action.VIEW):
        raise PermissionDenied()
    if SavedView.objects.filter(owner=actor, object_type=object_type).count() >= MAX_VIEWS_PER_LIST:
        raise ValidationError(
            {
                "name": ValidationError(
                    _("You have %(n)d views of this list already; delete one first.")
                    % {"n": MAX_VIEWS_PER_LIST},
                    code="too_many",
                )
            }
        )
    cleaned = _clean(
        actor,
        object_type,
        {
            "name": name,
            "filter": filter,
            "columns": columns,
            "ordering": ordering,
            "params": params,
            "team": team,
        },
        None,
    )
    with transaction.atomic():
        view = SavedView.objects.create(owner=actor, object_type=object_type, **cleaned)
        trail.record(
            actor=actor,
            action="create",
            target=view,
            changes={"name": [None, view.name], "team": [None, view.team_id]},
        )
    return view


def saved_view_update(*, actor: User, view: SavedView, **values: Any) -> SavedView:
    """Change one's own view (name, filter, columns, sort, quick filters, team)."""
    if view.owner_id != actor.pk:
        raise PermissionDenied(_("Only the person who saved a view can change it."))
    unknown = set(values) - {"name", "filter", "columns", "ordering", "params", "team"}
    if unknown:
        raise ValidationError(
            {n: ValidationError(_("Unknown field."), code="unknown_field") for n in unknown}
        )
    cleaned = _clean(actor, view.object_type, values, view)
    before = {"name": view.name, "team": view.team_id, "filter": view.filter}
    for name, value in cleaned.items():
        setattr(view, name, value)
    with transaction.atomic():
        view.save()
        after = {"name": view.name, "team": view.team_id, "filter": view.filter}
        changes = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
        trail.record(actor=actor, action="update", target=view, changes=changes)
    return view


def saved_view_delete(*, actor: User, view: SavedView) -> None:
    if view.owner_id != actor.pk:
        raise PermissionDenied(_("Only the person who saved a view can delete it."))
    with transaction.atomic():
        trail.record(actor=actor, action="delete", target=view, changes={"name": [view.name, None]})
        view.delete()
