"""Merge two accounts or two contacts: pick the other record (likely duplicates offered),
compare field by field and choose what survives, then see what moved — and undo it."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from rapport.core import duplicates, errors
from rapport.core.search import index as search_index
from rapport.core.search import text as search_text
from rapport.core.tags.selectors import tags_of
from rapport.identity import policy
from rapport.identity.models import Action

from . import options as account_options
from . import services
from .models import Account, Contact, MergeRecord
from .services.merge import OTHER, SURVIVOR, merge_fields
from .views import domain_errors

MODELS = {"accounts": Account, "contacts": Contact}
DETAIL = {Account: "customers:account_detail", Contact: "customers:contact_detail"}


def _model(kind: str):
    try:
        return MODELS[kind]
    except KeyError:
        raise Http404() from None


def _values(record) -> dict[str, Any]:
    values = {name: getattr(record, name) for name in merge_fields(type(record))}
    if isinstance(record, Contact):
        values.update(phones=record.phones, emails=record.emails, accounts=[])
    return values


def _display(record, name: str) -> str:
    value = getattr(record, name)
    if name in ("tier", "lifecycle_stage") and value:
        return account_options.label(name, value)
    display = getattr(record, f"get_{name}_display", None)
    if callable(display) and value:
        return str(display())
    return "" if value in (None, "") else str(value)


def _rows(user, survivor, other) -> list[dict[str, Any]]:
    rules = policy.field_rules(user, type(survivor).security_type)
    default = services.merged_values(survivor, other)
    rows = []
    for name in merge_fields(type(survivor)):
        if rules.get(name) == "hidden":
            continue
        mine, theirs = _display(survivor, name), _display(other, name)
        if rules.get(name) == "masked":
            mine, theirs = policy.mask_value(mine), policy.mask_value(theirs)
        rows.append(
            {
                "name": name,
                "label": capfirst(type(survivor)._meta.get_field(name).verbose_name),
                "mine": mine,
                "theirs": theirs,
                "same": mine == theirs,
                "chosen": OTHER if name in default else SURVIVOR,
            }
        )
    return rows


def _moves(record) -> dict[str, int]:
    """What would move from `record` to the survivor (counted)."""
    tags = len(tags_of([record]).get(record.pk, []))
    if isinstance(record, Account):
        return {
            _("interactions and tasks"): record.interactions.count(),
            _("contacts"): record.contacts.count(),
            _("child accounts"): Account.objects.filter(parent=record).count(),
            _("tags"): tags,
        }
    return {
        _("interactions and tasks"): record.interactions.count(),
        _("accounts"): record.accounts.count(),
        _("consents"): record.consents.count(),
        _("tags"): tags,
    }


@login_required
@domain_errors
def merge_start(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    """Choose the other record (likely duplicates first, or search), then compare."""
    model = _model(kind)
    user = request.user
    survivor = policy.get_for(user, Action.CHANGE, model, pk)
    other_id = request.GET.get("with", "")
    if other_id.isdigit():
        other = policy.get_for(user, Action.VIEW, model, int(other_id))
        return _compare(request, kind, survivor, other)
    candidates = duplicates.find(user, model.security_type, _values(survivor), exclude_id=pk)
    query = request.GET.get("q", "").strip()
    found = []
    if query:
        ids = search_index.ranked_ids(
            model.security_type,
            search_text.parse_query(query),
            model.objects.restrict(user, Action.VIEW).filter(is_active=True).exclude(pk=pk),
            10,
        )
        by_id = model.objects.in_bulk(ids)
        found = [by_id[i] for i in ids if i in by_id]
    return render(
        request,
        "customers/merge_start.html",
        {
            "kind": kind,
            "record": survivor,
            "detail_url": reverse(DETAIL[model], args=[pk]),
            "candidates": candidates,
            "found": found,
            "query": query,
        },
    )


def _compare(request: HttpRequest, kind: str, survivor, other, error: str = "") -> HttpResponse:
    return render(
        request,
        "customers/merge_compare.html",
        {
            "kind": kind,
            "record": survivor,
            "other": other,
            "rows": _rows(request.user, survivor, other),
            "moves": _moves(other),
            "detail_url": reverse(DETAIL[type(survivor)], args=[survivor.pk]),
            "other_url": reverse(DETAIL[type(survivor)], args=[other.pk]),
            "error": error,
        },
    )


@login_required
@require_POST
@domain_errors
def merge_run(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    model = _model(kind)
    user = request.user
    survivor = policy.get_for(user, Action.CHANGE, model, pk)
    other_id = request.POST.get("other", "")
    if not other_id.isdigit():
        raise Http404()
    other = policy.get_for(user, Action.VIEW, model, int(other_id))
    keep = {
        name: request.POST[f"keep_{name}"]
        for name in merge_fields(model)
        if request.POST.get(f"keep_{name}") in (SURVIVOR, OTHER)
    }
    try:
        merge = services.records_merge(actor=user, survivor=survivor, other=other, keep=keep)
    except ValidationError as error:
        return _compare(request, kind, survivor, other, " ".join(error.messages))
    except errors.PermissionDenied as error:
        return _compare(request, kind, survivor, other, str(error.message))
    messages.success(
        request, _("Merged: “%(other)s” is now part of this record.") % {"other": other}
    )
    return redirect("customers:merge_detail", pk=merge.pk)


def _merge_for(user, pk: int) -> tuple[MergeRecord, Any, Any]:
    merge = MergeRecord.objects.filter(pk=pk).first()
    if merge is None:
        raise Http404()
    model = Account if merge.object_type == Account.security_type else Contact
    visible = model.objects.restrict(user, Action.VIEW)
    records = visible.in_bulk([merge.survivor_id, merge.loser_id])
    if merge.survivor_id not in records:
        raise Http404()
    return merge, records[merge.survivor_id], records.get(merge.loser_id)


@login_required
@domain_errors
def merge_detail(request: HttpRequest, pk: int) -> HttpResponse:
    merge, survivor, other = _merge_for(request.user, pk)
    model = type(survivor)
    moved = {
        _("interactions and tasks"): len(merge.moved.get("interactions", [])),
        _("contact links"): len(merge.moved.get("links", [])),
        _("child accounts"): len(merge.moved.get("children", [])),
        _("consents"): len(merge.moved.get("consents", [])),
        _("tags"): len(merge.moved.get("tags", [])),
    }
    return render(
        request,
        "customers/merge_detail.html",
        {
            "kind": "accounts" if model is Account else "contacts",
            "merge": merge,
            "record": survivor,
            "other": other,
            "moved": {label: count for label, count in moved.items() if count},
            "fields": [
                capfirst(model._meta.get_field(name).verbose_name)
                for name in merge.survivor_before
                if name not in ("custom", "phones", "emails")
            ],
            "detail_url": reverse(DETAIL[model], args=[survivor.pk]),
            "other_url": reverse(DETAIL[model], args=[merge.loser_id]) if other else "",
            "can_undo": merge.undone_at is None
            and other is not None
            and policy.can(request.user, Action.CHANGE, survivor),
        },
    )


@login_required
@require_POST
@domain_errors
def merge_undo(request: HttpRequest, pk: int) -> HttpResponse:
    merge, survivor, _other = _merge_for(request.user, pk)
    try:
        services.merge_undo(actor=request.user, merge=merge)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("The merge was undone: both records are as they were."))
    return redirect("customers:merge_detail", pk=merge.pk)
