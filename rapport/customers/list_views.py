"""The account and contact lists: quick filters, the filter builder over the filter language,
saved views (open, save, update, delete), the column chooser and the bulk bar.

What the list shows comes from the query string: `filter` (filter-language text), `sort`,
`col` (the chosen columns) and `view` (a saved view, which supplies the filter, columns and
sort when the query string does not). Columns chosen without a view are remembered in the
session per list. Saved views are written through `identity.services` (POST to the list's
own address, whose query string is the state being saved).
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from rapport.core import errors, filterlang
from rapport.core.forms import TablerForm
from rapport.core.paging import cursor_page
from rapport.core.tags.selectors import attach_tags
from rapport.identity import policy
from rapport.identity import services as identity_services
from rapport.identity.models import Action, FieldRule, SavedView, Team, User

from . import columns as list_columns
from . import options as account_options
from .forms import SORT_ORDERING, AccountFilterForm, ContactFilterForm, ListFilterForm
from .listing import filtered_records
from .models import Account, Contact

PAGE_SIZE = 50
MAX_OWNER_CHOICES = 500  # people offered in the owner pickers (bulk assign, filter builder)


def _session_key(object_type: str) -> str:
    return f"rapport.list_columns.{object_type}"


class SaveViewForm(TablerForm):
    """Name and sharing of a saved view; the filter, columns and sort come from the list."""

    name = forms.CharField(label=gettext_lazy("View name"), max_length=120)
    team = forms.ModelChoiceField(
        label=gettext_lazy("Share with team"),
        queryset=Team.objects.none(),
        required=False,
        empty_label=gettext_lazy("Only me"),
    )

    def __init__(self, *args, user: User, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = (
            Team.objects.filter(Q(members=user) | Q(lead=user)).distinct().order_by("name")
        )


def builder_state(tree: dict) -> dict | None:
    """The tree as the builder shows it: a top-level and/or of conditions and groups (one
    level deep), or None when it needs the text box (`not`, deeper nesting)."""

    def condition(node: dict) -> dict:
        return {"field": node["field"], "op": node["op"], "value": node.get("value")}

    if "field" in tree:
        return {"join": "and", "items": [condition(tree)]}
    if "not" in tree:
        return None
    ((join, parts),) = tree.items()
    items: list[dict] = []
    for part in parts:
        if "field" in part:
            items.append(condition(part))
            continue
        if "not" in part:
            return None
        ((inner_join, inner_parts),) = part.items()
        if not all("field" in inner for inner in inner_parts):
            return None
        items.append({"join": inner_join, "items": [condition(i) for i in inner_parts]})
    return {"join": join, "items": items}


def _op_labels() -> dict[str, dict[str, str]]:
    return {
        "any": {
            "=": _("is"),
            "!=": _("is not"),
            "<": _("less than"),
            "<=": _("at most"),
            ">": _("more than"),
            ">=": _("at least"),
            "~": _("contains"),
            "^": _("starts with"),
            "in": _("is one of"),
            "not in": _("is none of"),
            "empty": _("is empty"),
            "not empty": _("is not empty"),
        },
        "date": {
            "<": _("before"),
            "<=": _("on or before"),
            ">": _("after"),
            ">=": _("on or after"),
        },
    }


def _builder_texts() -> dict[str, str]:
    return {
        "label": _("Filter builder"),
        "join_before": _("Show records matching"),
        "join_after": _("of these conditions"),
        "group_before": _("A group matching"),
        "group_after": _("of its conditions"),
        "all": _("all"),
        "any": _("any"),
        "field": _("Field"),
        "operator": _("Operator"),
        "value": _("Value"),
        "choose_field": _("Choose a field…"),
        "choose_value": _("Choose…"),
        "values_hint": _("Values separated by commas"),
        "add_condition": _("Add condition"),
        "add_group": _("Add group"),
        "remove": _("Remove condition"),
        "remove_group": _("Remove group"),
        "too_complex": _(
            "This filter is more than the builder can show; edit it as text under “Filter text”."
        ),
        "manual": _("Edited by hand: the builder shows the text once you apply it."),
    }


def builder_config(
    user: User, object_type: str, filters: ListFilterForm, owners: list[User], tree: dict | None
) -> dict[str, Any]:
    """What the condition builder (list filters, rule conditions, approval conditions) needs
    for `object_type`: the fields `user` may filter on with their operators and choices, and
    `tree` as the builder shows it."""
    rules = policy.field_rules(user, object_type)
    fields = []
    for spec in filterlang.fields_for(user, object_type).values():
        ops = list(filterlang.OPERATORS[spec.type])
        if rules.get(spec.name) == FieldRule.Rule.MASKED:
            ops = [op for op in ops if op in ("empty", "not empty")]
        choices = [[str(value), str(label)] for value, label in spec.choices]
        if spec.type == filterlang.TAG:
            choices = [
                [str(node.tag.pk), node.indent + node.tag.label] for node in filters.tag_nodes
            ]
        elif spec.type == filterlang.USER:
            choices = [["me", _("Me")], *[[str(owner.pk), str(owner)] for owner in owners]]
        elif spec.type == filterlang.BOOL:
            choices = [["true", _("Yes")], ["false", _("No")]]
        fields.append(
            {
                "name": spec.name,
                "label": str(spec.label),
                "type": spec.type,
                "ops": ops,
                "choices": choices,
            }
        )
    return {
        "fields": fields,
        "state": builder_state(tree) if tree is not None else None,
        "ops": _op_labels(),
        "text": _builder_texts(),
    }


def _chosen_view(request: HttpRequest, saved: list[SavedView]) -> SavedView | None:
    raw = request.GET.get("view", "")
    if not raw:
        return None
    view = next((v for v in saved if str(v.pk) == raw.strip()), None)
    if view is None:
        messages.warning(request, _("That saved view does not exist or is not shared with you."))
    return view


def _column_keys(request: HttpRequest, object_type: str, view: SavedView | None) -> list | None:
    """Columns named in the query string (remembered in the session), else the view's, else
    the ones remembered, else None (the defaults)."""
    if "col" in request.GET:
        keys = [key for key in request.GET.getlist("col") if key][:30]
        if view is None and request.session.get(_session_key(object_type)) != keys:
            request.session[_session_key(object_type)] = keys
        return keys
    if view is not None and view.columns:
        return list(view.columns)
    return request.session.get(_session_key(object_type))


def _without(query: QueryDict, *names: str) -> str:
    query = query.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()


# Saved separately (filter text, sort, columns) or not part of a list's state.
QUICK_FILTERS_SKIPPED = {"filter", "sort", "view", "cursor", "columns", "csrfmiddlewaretoken"}


def _quick_filters(data, filters) -> dict[str, Any]:
    """The list's own boxes as the page holds them (search text, owner, status, tags, tier …),
    to be saved with a view: {name: text or [texts]}, empty ones left out."""
    params: dict[str, Any] = {}
    for name in filters.fields:
        if name in QUICK_FILTERS_SKIPPED:
            continue
        values = [value for value in data.getlist(name) if value not in ("", None)]
        if values:
            params[name] = values if len(values) > 1 or name == "tag" else values[0]
    return params


def _save_view(
    request: HttpRequest,
    object_type: str,
    view: SavedView | None,
    form: SaveViewForm,
    state: dict[str, Any],
) -> HttpResponse | None:
    """Save, update or delete a view; a redirect when it worked, None to show the errors."""
    user = request.user
    action = request.POST.get("view_action", "")
    base = request.path
    try:
        if action == "delete":
            if view is None:
                raise errors.NotFound()
            name = view.name
            identity_services.saved_view_delete(actor=user, view=view)
            messages.success(request, _("View “%(name)s” deleted.") % {"name": name})
            rest = _without(request.GET, "view", "cursor")
            return redirect(f"{base}?{rest}" if rest else base)
        if not form.is_valid():
            return None
        values = {
            "name": form.cleaned_data["name"],
            "team": form.cleaned_data["team"],
            "filter": state["filter"],
            "columns": state["columns"],
            "ordering": state["sort"],
            "params": state["params"],
        }
        if action == "update":
            if view is None:
                raise errors.NotFound()
            identity_services.saved_view_update(actor=user, view=view, **values)
            messages.success(request, _("View “%(name)s” updated.") % {"name": view.name})
        else:
            view = identity_services.saved_view_create(
                actor=user, object_type=object_type, **values
            )
            messages.success(request, _("View “%(name)s” saved.") % {"name": view.name})
    except ValidationError as error:
        for field, field_errors in error.message_dict.items():
            for message in field_errors:
                form.add_error(field if field in form.fields else None, message)
        return None
    except errors.DomainError as error:
        form.add_error(None, str(error.message))
        return None
    query = request.GET.copy()
    query.pop("cursor", None)
    query["view"] = str(view.pk)
    return redirect(f"{base}?{query.urlencode()}")


def _record_list(
    request: HttpRequest,
    *,
    model: type[Account] | type[Contact],
    form_class: type[ListFilterForm],
    template: str,
    kind: str,
    extra: Any = None,
) -> HttpResponse:
    user = request.user
    object_type = model.security_type
    if not policy.has_grant(user, object_type, Action.VIEW):
        raise PermissionDenied(_("You do not have permission to do this."))
    saved = list(identity_services.saved_views_for(user, object_type))
    view = _chosen_view(request, saved)
    data = request.GET.copy()
    if view is not None:
        if "filter" not in data and view.filter:
            data["filter"] = filterlang.to_text(view.filter)
        if "sort" not in data and view.ordering in SORT_ORDERING:
            data["sort"] = view.ordering
        # The quick filters saved with the view, unless the request sets them itself (an
        # emptied box is sent as "" and wins over the view).
        for name, value in (view.params or {}).items():
            if name in QUICK_FILTERS_SKIPPED or name in data:
                continue
            data.setlist(
                name, [str(item) for item in value] if isinstance(value, list) else [str(value)]
            )
    offered = list_columns.columns_for(user, object_type)
    shown = list_columns.chosen(offered, _column_keys(request, object_type, view))
    listed = filtered_records(user, model, form_class, data)
    filters, tree, filter_text, filter_error = (
        listed.filters,
        listed.tree,
        listed.filter_text,
        listed.filter_error,
    )
    records = list_columns.prepare(listed.records, user, object_type, shown)

    state = {
        "filter": filter_text,
        "columns": [column.key for column in shown],
        "sort": filters.value("sort") or "",
        "params": _quick_filters(data, filters),
    }
    own_view = view if view is not None and view.owner_id == user.pk else None
    initial = {"name": own_view.name, "team": own_view.team_id} if own_view else {}
    save_form = SaveViewForm(
        request.POST if request.method == "POST" else None, user=user, initial=initial
    )
    if request.method == "POST":
        response = _save_view(request, object_type, view, save_form, state)
        if response is not None:
            return response

    page = cursor_page(request, records, ordering=filters.ordering(), page_size=PAGE_SIZE)
    attach_tags(page.items)  # one query for the whole page
    rows = [
        {
            "record": record,
            "short_name": policy.apply_field_rules(
                user, object_type, {"short_name": getattr(record, "short_name", "")}
            ).get("short_name", ""),
            "cells": list(
                zip(shown, list_columns.cells(user, object_type, shown, record), strict=True)
            ),
        }
        for record in page.items
    ]
    can_tag = policy.has_grant(user, object_type, Action.CHANGE)
    can_assign = policy.has_grant(user, object_type, Action.ASSIGN)
    can_stage = (
        model is Account
        and can_tag
        and bool(policy.writable_fields(user, object_type, ["lifecycle_stage"]))
    )
    owners = list(
        User.objects.restrict(user, Action.VIEW)
        .filter(is_active=True)
        .only("pk", "username", "first_name", "last_name", "display_name")
        .order_by("username")[:MAX_OWNER_CHOICES]
    )
    return render(
        request,
        template,
        {
            "filters": filters,
            "page": page,
            "rows": rows,
            "columns": shown,
            "column_choices": [
                {"key": key, "label": column.label, "shown": column in shown}
                for key, column in offered.items()
            ],
            "filter_error": filter_error,
            "builder": builder_config(user, object_type, filters, owners, tree),
            "saved_views": saved,
            "view": view,
            "own_view": own_view,
            "save_form": save_form,
            "save_open": request.method == "POST",
            "owners": owners,
            "stages": account_options.choices("lifecycle_stage"),
            "can_add": policy.has_grant(user, object_type, Action.ADD),
            "can_import": policy.has_grant(user, object_type, Action.IMPORT),
            "can_export": policy.has_grant(user, object_type, Action.EXPORT),
            "export_state": json.dumps(state, ensure_ascii=False),
            "can_tag": can_tag,
            "can_assign": can_assign,
            "can_stage": can_stage,
            "can_bulk": can_tag or can_assign,
            "kind": kind,
            "object_type": object_type,
            **(extra(filters) if extra is not None else {}),
        },
    )


def _visible_account(user: User, pk: Any) -> Account | None:
    if not pk:
        return None
    return Account.objects.restrict(user, Action.VIEW).filter(pk=pk).only("pk", "name").first()


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def account_list(request: HttpRequest) -> HttpResponse:
    return _record_list(
        request,
        model=Account,
        form_class=AccountFilterForm,
        template="customers/account_list.html",
        kind="accounts",
        extra=lambda filters: {"parent": _visible_account(request.user, filters.value("parent"))},
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def contact_list(request: HttpRequest) -> HttpResponse:
    return _record_list(
        request,
        model=Contact,
        form_class=ContactFilterForm,
        template="customers/contact_list.html",
        kind="contacts",
        extra=lambda filters: {"account": _visible_account(request.user, filters.value("account"))},
    )
