"""Auditor pages: the event trail with filters and chain verification, alerts, behaviour rules.

Read-only except acknowledging alerts and tuning rules; both go through `services`."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from rapport.core import errors
from rapport.core.paging import cursor_page
from rapport.identity import policy
from rapport.identity.models import Action

from . import services
from .display import readable_changes
from .models import Alert, AuditEvent, BehaviourRule

EVENT = "audit.event"
ALERT = "audit.alert"


def _require(user, object_type: str, action: str) -> None:
    if not policy.has_grant(user, object_type, action):
        raise PermissionDenied


class _Tabler(forms.Form):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                widget.attrs.setdefault("class", "form-check-input")
            elif isinstance(widget, forms.Select):
                widget.attrs.setdefault("class", "form-select")
            else:
                widget.attrs.setdefault("class", "form-control")


class EventFilterForm(_Tabler):
    user = forms.CharField(label=gettext_lazy("User"), required=False)
    action = forms.CharField(label=gettext_lazy("Action"), required=False)
    object_type = forms.CharField(label=gettext_lazy("Object type"), required=False)
    object_id = forms.CharField(label=gettext_lazy("Object id"), required=False)
    result = forms.ChoiceField(
        label=gettext_lazy("Result"),
        required=False,
        choices=[("", gettext_lazy("Any")), *AuditEvent.Result.choices],
    )
    since = forms.DateTimeField(
        label=gettext_lazy("From"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    until = forms.DateTimeField(
        label=gettext_lazy("Until"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )


class AlertFilterForm(_Tabler):
    state = forms.ChoiceField(
        label=gettext_lazy("State"),
        required=False,
        choices=[
            ("open", gettext_lazy("Open")),
            ("acknowledged", gettext_lazy("Acknowledged")),
            ("all", gettext_lazy("All")),
        ],
    )


class RuleForm(_Tabler):
    enabled = forms.BooleanField(label=gettext_lazy("Enabled"), required=False)
    threshold = forms.IntegerField(label=gettext_lazy("Threshold"))
    window_minutes = forms.IntegerField(label=gettext_lazy("Window (minutes)"))


def _change_rows(changes: dict) -> list[tuple[str, object, object]]:
    rows = []
    for field, values in readable_changes(changes).items():
        if isinstance(values, list | tuple) and len(values) == 2:
            rows.append((field, values[0], values[1]))
        else:
            rows.append((field, None, values))
    return rows


def filtered_events(user, data: dict):
    events = AuditEvent.objects.restrict(user, Action.VIEW)
    if data.get("user"):
        events = events.filter(actor_repr__iexact=data["user"].strip())
    if data.get("action"):
        events = events.filter(action__startswith=data["action"].strip())
    if data.get("object_type"):
        events = events.filter(object_type=data["object_type"].strip())
    if data.get("object_id"):
        events = events.filter(object_id=data["object_id"].strip())
    if data.get("result"):
        events = events.filter(result=data["result"])
    if data.get("since"):
        events = events.filter(at__gte=data["since"])
    if data.get("until"):
        events = events.filter(at__lte=data["until"])
    return events


@login_required
def event_list(request):
    _require(request.user, EVENT, Action.VIEW)
    filters = EventFilterForm(request.GET or None)
    data = filters.cleaned_data if filters.is_valid() else {}
    page = cursor_page(request, filtered_events(request.user, data), ordering=["-seq"])
    rows = [(event, _change_rows(event.changes)) for event in page.items]
    return render(
        request,
        "audit/event_list.html",
        {
            "section": "events",
            "filters": filters,
            "page": page,
            "rows": rows,
            "verification": request.session.pop("rapport_audit_verification", None),
        },
    )


@login_required
def event_detail(request, pk: int):
    _require(request.user, EVENT, Action.VIEW)
    event = get_object_or_404(AuditEvent.objects.restrict(request.user, Action.VIEW), pk=pk)
    return render(
        request,
        "audit/event_detail.html",
        {"section": "events", "event": event, "changes": _change_rows(event.changes)},
    )


@login_required
@require_POST
def verify(request):
    try:
        result = services.chain_verify(actor=request.user)
    except errors.PermissionDenied as error:
        raise PermissionDenied from error
    # Shown once on the list page after the redirect (post/redirect/get).
    request.session["rapport_audit_verification"] = {
        "ok": result.ok,
        "checked": result.checked,
        "first_bad_seq": result.first_bad_seq,
        "reason": result.reason,
    }
    return redirect("audit:event_list")


@login_required
def alert_list(request):
    _require(request.user, ALERT, Action.VIEW)
    filters = AlertFilterForm(request.GET or None)
    state = filters.cleaned_data.get("state") if filters.is_valid() else "open"
    state = state or "open"
    alerts = Alert.objects.restrict(request.user, Action.VIEW).select_related(
        "subject", "acknowledged_by"
    )
    if state == "open":
        alerts = alerts.filter(acknowledged_at__isnull=True)
    elif state == "acknowledged":
        alerts = alerts.filter(acknowledged_at__isnull=False)
    page = cursor_page(request, alerts, ordering=["-created_at", "-id"])
    return render(
        request,
        "audit/alert_list.html",
        {
            "section": "alerts",
            "filters": filters,
            "state": state,
            "page": page,
            "can_manage": policy.has_grant(request.user, ALERT, Action.MANAGE),
        },
    )


@login_required
@require_POST
def alert_acknowledge(request, pk: int):
    _require(request.user, ALERT, Action.VIEW)
    alert = get_object_or_404(Alert.objects.restrict(request.user, Action.VIEW), pk=pk)
    note = (request.POST.get("note") or "").strip()[:2000]
    try:
        services.alert_acknowledge(actor=request.user, alert=alert, note=note)
    except errors.PermissionDenied as error:
        raise PermissionDenied from error
    except errors.DomainError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(request, _("Alert acknowledged."))
    return redirect("audit:alert_list")


@login_required
def rule_list(request):
    _require(request.user, ALERT, Action.VIEW)
    can_manage = policy.has_grant(request.user, ALERT, Action.MANAGE)
    rules = list(BehaviourRule.objects.all())
    posted_pk = request.POST.get("rule") if request.method == "POST" else None
    entries = []
    for rule in rules:
        if posted_pk == str(rule.pk):
            form = RuleForm(request.POST, prefix=f"rule{rule.pk}")
            if form.is_valid():
                try:
                    services.behaviour_rule_update(
                        actor=request.user, rule=rule, **form.cleaned_data
                    )
                except errors.PermissionDenied as error:
                    raise PermissionDenied from error
                except ValidationError as error:
                    for field, field_errors in error.error_dict.items():
                        for item in field_errors:
                            form.add_error(field if field in form.fields else None, item)
                else:
                    messages.success(request, _("Rule “%(rule)s” saved.") % {"rule": rule})
                    return redirect("audit:rule_list")
                rule.refresh_from_db()
        else:
            form = RuleForm(
                prefix=f"rule{rule.pk}",
                initial={
                    "enabled": rule.enabled,
                    "threshold": rule.threshold,
                    "window_minutes": rule.window_minutes,
                },
            )
        if not can_manage:
            for field in form.fields.values():
                field.disabled = True
        entries.append((rule, form))
    return render(
        request,
        "audit/rule_list.html",
        {"section": "rules", "entries": entries, "can_manage": can_manage},
    )
