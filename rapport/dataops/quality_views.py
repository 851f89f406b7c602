"""The data-quality dashboard (per record type, owner and department, the weakest records a
click away), "Recompute now", and the rules page under Administration."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from rapport.core import errors
from rapport.identity import policy
from rapport.identity.models import Action, Department, User
from rapport.identity.views._common import _admin_context

from . import quality

PAGE = 25
KINDS = {quality.ACCOUNT: "accounts", quality.CONTACT: "contacts"}
DETAIL = {quality.ACCOUNT: "customers:account_detail", quality.CONTACT: "customers:contact_detail"}
BAND_COLOURS = {"poor": "red", "fair": "orange", "good": "lime", "excellent": "green"}


def _number(value: str | None) -> int | None:
    try:
        number = int(value or "")
    except ValueError:
        return None
    return number if number >= 0 else None


def _can_manage(user) -> bool:
    return policy.has_grant(user, quality.QUALITY, Action.MANAGE)


def _reason_items(score) -> list[dict[str, Any]]:
    """Each reason's text, with the compare page for a possible duplicate."""
    items = []
    for reason, text in zip(score.reasons, score.reason_texts, strict=True):
        url = ""
        if reason.get("code") == "duplicate":
            url = (
                reverse("customers:merge", args=[KINDS[score.object_type], score.record_id])
                + f"?with={int(reason.get('other') or 0)}"
            )
        items.append({"component": reason.get("component", ""), "text": text, "url": url})
    return items


@login_required
def quality_dashboard(request: HttpRequest) -> HttpResponse:
    user = request.user
    types = [
        (code, label)
        for code, label in quality.TYPE_LABELS.items()
        if policy.has_grant(user, code, "view")
    ]
    if not types:
        raise PermissionDenied
    object_type = request.GET.get("type") or types[0][0]
    if object_type not in dict(types):
        raise Http404()
    owner = _number(request.GET.get("owner"))
    department = _number(request.GET.get("department"))
    offset = _number(request.GET.get("offset")) or 0
    scores = quality.visible_scores(user, object_type)
    focused = quality.narrowed(scores, owner=owner, department=department)
    overview = quality.summary(focused)
    for band in overview["bands"]:
        band["colour"] = BAND_COLOURS[band["code"]]
    owners = quality.by_group(scores, "owner")
    departments = quality.by_group(scores, "department")
    worst = list(
        focused.select_related("owner").order_by("total", "record_id")[offset : offset + PAGE + 1]
    )
    more = len(worst) > PAGE
    worst = quality.with_records(user, worst[:PAGE])
    for score in worst:
        score.url = reverse(DETAIL[object_type], args=[score.record_id])
        score.reason_items = _reason_items(score)
    focus = ""
    if owner is not None:
        focus = next((group["name"] for group in owners if group["id"] == owner), "")
        if not focus:
            focus = str(User.objects.filter(pk=owner).first() or "—")
    elif department is not None:
        focus = next((group["name"] for group in departments if group["id"] == department), "")
        if not focus:
            focus = str(Department.objects.filter(pk=department).first() or "—")
    base = {"type": object_type}
    if owner is not None:
        base["owner"] = owner
    if department is not None:
        base["department"] = department
    can_manage = _can_manage(user)
    rule = quality.rule_for(object_type)
    return render(
        request,
        "dataops/quality_dashboard.html",
        {
            "types": types,
            "object_type": object_type,
            "type_label": dict(types)[object_type],
            "overview": overview,
            "owners": owners,
            "departments": departments,
            "worst": worst,
            "focus": focus,
            "owner": owner,
            "department": department,
            "offset": offset,
            "query": urlencode(base),
            "next_offset": offset + PAGE if more else None,
            "previous_offset": max(0, offset - PAGE) if offset else None,
            "can_manage": can_manage,
            "job": quality.last_job(running_only=True) if can_manage else None,
            "freshness_days": rule.freshness_days,
            "weights": [
                (quality.COMPONENT_LABELS[name], (rule.weights or {}).get(name, 0))
                for name in quality.COMPONENTS
            ],
        },
    )


@login_required
@require_POST
def quality_compute(request: HttpRequest) -> HttpResponse:
    from . import tasks

    try:
        job, queue = quality.compute_request(actor=request.user)
    except errors.PermissionDenied:
        raise PermissionDenied from None
    if queue:
        transaction.on_commit(lambda: tasks.quality_compute.delay(job.pk))
    messages.success(
        request, _("The scores are being computed; the page shows them when the job is done.")
    )
    back = request.POST.get("type", "")
    url = reverse("dataops:quality_dashboard")
    return redirect(f"{url}?type={back}" if back in quality.MODELS else url)


def _posted_rule(request: HttpRequest, object_type: str) -> dict[str, Any]:
    """The rule as the form posted it; the service checks every value."""
    labels = quality.field_labels(object_type)
    return {
        "fields": {name: request.POST.get(f"field_{name}", "").strip() or 0 for name in labels},
        "freshness_days": request.POST.get("freshness_days", "").strip(),
        "weights": {
            name: request.POST.get(f"weight_{name}", "").strip() for name in quality.COMPONENTS
        },
    }


@login_required
def quality_rules(request: HttpRequest) -> HttpResponse:
    if not _can_manage(request.user):
        raise PermissionDenied
    problems: dict[str, list[str]] = {}
    posted: dict[str, dict[str, Any]] = {}
    if request.method == "POST":
        object_type = request.POST.get("type", "")
        if object_type not in quality.MODELS:
            raise Http404()
        try:
            if request.POST.get("reset") == "1":
                quality.rule_reset(actor=request.user, object_type=object_type)
            else:
                posted[object_type] = _posted_rule(request, object_type)
                quality.rule_update(
                    actor=request.user, object_type=object_type, **posted[object_type]
                )
        except errors.PermissionDenied:
            raise PermissionDenied from None
        except ValidationError as error:
            labels = quality.field_labels(object_type)
            texts = []
            for name, found in getattr(error, "message_dict", {"": error.messages}).items():
                key = name.removeprefix("fields.").removeprefix("weights.")
                label = labels.get(key) or str(quality.COMPONENT_LABELS.get(key, ""))
                if name == "freshness_days":
                    label = _("Fresh for (days)")
                texts.extend(f"{label}: {message}" if label else message for message in found)
            problems[object_type] = texts
        else:
            messages.success(
                request,
                _("The rules are saved; scores follow them from the next computation."),
            )
            return redirect(
                reverse("dataops:quality_rules") + f"#rule-{object_type.split('.')[-1]}"
            )
    rules = quality.rules_all()
    sections = []
    for object_type, rule in rules.items():
        given = posted.get(object_type)
        field_weights = given["fields"] if given else rule.fields
        component_weights = given["weights"] if given else rule.weights
        sections.append(
            {
                "type": object_type,
                "anchor": object_type.split(".")[-1],
                "label": quality.TYPE_LABELS[object_type],
                "problems": problems.get(object_type, []),
                "fields": [
                    {"name": name, "label": label, "weight": field_weights.get(name, 0) or 0}
                    for name, label in quality.field_labels(object_type).items()
                ],
                "freshness_days": given["freshness_days"] if given else rule.freshness_days,
                "weights": [
                    {
                        "name": name,
                        "label": quality.COMPONENT_LABELS[name],
                        "weight": component_weights.get(name, 0),
                    }
                    for name in quality.COMPONENTS
                ],
                "updated_at": rule.updated_at,
                "updated_by": rule.updated_by if rule.pk else None,
            }
        )
    return render(
        request,
        "dataops/quality_rules.html",
        {
            **_admin_context(request, "quality"),
            "sections": sections,
            "field_max": quality.FIELD_WEIGHT_MAX,
            "component_max": quality.COMPONENT_WEIGHT_MAX,
            "freshness_max": quality.FRESHNESS_MAX_DAYS,
        },
    )
