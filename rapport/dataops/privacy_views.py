"""Pages of data-subject requests (list, new, detail with matches and actions) and of the
retention policies (edit, preview, run now, run history). Parse and render only: every
write is a call into `privacy` / `privacy_retention`."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from rapport.core import errors
from rapport.identity import policy
from rapport.identity.models import Action, User

from . import privacy, privacy_retention
from .models import (
    MatchState,
    RetentionAction,
    RetentionPolicy,
    SubjectRequest,
    SubjectRequestChannel,
    SubjectRequestKind,
    SubjectRequestStatus,
)

PAGE = 50
STATUS_FILTERS = (
    ("open", gettext_lazy("Open")),
    ("overdue", gettext_lazy("Overdue")),
    ("completed", gettext_lazy("Completed")),
    ("rejected", gettext_lazy("Rejected")),
    ("all", gettext_lazy("All")),
)


def _messages_of(error: Exception) -> str:
    return " ".join(getattr(error, "messages", None) or [str(error)])


def officers():
    """Users who may handle requests (a superuser, or a role with manage on them)."""
    return (
        User.objects.filter(is_active=True)
        .filter(
            Q(is_superuser=True)
            | Q(
                roles__grants__object_type=privacy.OBJECT_TYPE,
                roles__grants__action=Action.MANAGE,
            )
        )
        .distinct()
        .order_by("username")
    )


class OfficerField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return str(obj)


class SubjectRequestForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=SubjectRequestKind.choices)
    channel = forms.ChoiceField(
        label=gettext_lazy("Received by"),
        choices=SubjectRequestChannel.choices,
        initial=SubjectRequestChannel.EMAIL,
    )
    subject_name = forms.CharField(label=gettext_lazy("Name"), required=False, max_length=120)
    subject_phone = forms.CharField(label=gettext_lazy("Phone"), required=False, max_length=40)
    subject_email = forms.CharField(label=gettext_lazy("E-mail"), required=False, max_length=254)
    subject_id_number = forms.CharField(
        label=gettext_lazy("ID number"), required=False, max_length=30
    )
    details = forms.CharField(
        label=gettext_lazy("What the person asks"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=5000,
    )
    received_at = forms.DateTimeField(
        label=gettext_lazy("Received at"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text=gettext_lazy("Empty: now."),
    )
    due_at = forms.DateTimeField(
        label=gettext_lazy("Deadline"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    assignee = OfficerField(
        label=gettext_lazy("Assignee"), queryset=User.objects.none(), required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = officers()
        from django.conf import settings

        self.fields["due_at"].help_text = _("Empty: %(days)d days after it was received.") % {
            "days": settings.SUBJECT_REQUEST_DAYS
        }
        for name, field in self.fields.items():
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs.setdefault("class", css)
            field.widget.attrs.setdefault("id", f"request-{name}")


def _form_errors(form: forms.Form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for name, items in error.error_dict.items():
            for item in items:
                form.add_error(name if name in form.fields else None, item.messages)
    else:
        form.add_error(None, error.messages)


def _require_view(request: HttpRequest) -> None:
    if not policy.has_grant(request.user, privacy.OBJECT_TYPE, Action.VIEW):
        raise PermissionDenied


@login_required
def request_list(request: HttpRequest) -> HttpResponse:
    _require_view(request)
    now = timezone.now()
    status = request.GET.get("status", "open")
    if status not in dict(STATUS_FILTERS):
        status = "open"
    open_states = [SubjectRequestStatus.RECEIVED, SubjectRequestStatus.IN_PROGRESS]
    visible = privacy.requests_for(request.user)
    if status == "open":
        shown = visible.filter(status__in=open_states)
    elif status == "overdue":
        shown = visible.filter(status__in=open_states, due_at__lt=now)
    elif status in ("completed", "rejected"):
        shown = visible.filter(status=status)
    else:
        shown = visible
    kind = request.GET.get("kind", "")
    if kind in SubjectRequestKind.values:
        shown = shown.filter(kind=kind)
    if request.GET.get("mine"):
        shown = shown.filter(assignee=request.user)
    shown = shown.order_by("due_at", "id") if status in ("open", "overdue") else shown
    try:
        offset = max(0, int(request.GET.get("offset", "0")))
    except ValueError:
        offset = 0
    rows = list(shown[offset : offset + PAGE + 1])
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    for row in rows:
        row.overdue = row.is_overdue(now)
        row.days_left = (row.due_at - now).days
    base = SubjectRequest.objects.restrict(request.user, Action.VIEW).filter(status__in=open_states)
    return render(
        request,
        "dataops/privacy_request_list.html",
        {
            "rows": rows,
            "status": status,
            "statuses": STATUS_FILTERS,
            "kinds": SubjectRequestKind.choices,
            "kind": kind,
            "mine": bool(request.GET.get("mine")),
            "open_count": base.count(),
            "overdue_count": base.filter(due_at__lt=now).count(),
            "can_manage": privacy.can_manage(request.user),
            "offset": offset,
            "next_offset": offset + PAGE if more else None,
            "previous_offset": max(0, offset - PAGE) if offset else None,
        },
    )


@login_required
def request_create(request: HttpRequest) -> HttpResponse:
    if not privacy.can_manage(request.user):
        raise PermissionDenied
    form = SubjectRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            created = privacy.request_create(actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            _form_errors(form, error)
        except errors.PermissionDenied:
            raise PermissionDenied from None
        else:
            found = created.matches.count()
            if found:
                messages.success(
                    request,
                    _(
                        "Request recorded; %(n)d matching contacts found — confirm who the person is."
                    )
                    % {"n": found},
                )
            else:
                messages.warning(request, _("Request recorded; no contact matches this person."))
            return redirect("dataops:privacy_request_detail", pk=created.pk)
    return render(request, "dataops/privacy_request_form.html", {"form": form})


def _get(request: HttpRequest, pk: int) -> SubjectRequest:
    try:
        return privacy.get_request(request.user, pk)
    except errors.NotFound:
        raise Http404() from None
    except errors.PermissionDenied:
        raise PermissionDenied from None


@login_required
def request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    subject_request = _get(request, pk)
    now = timezone.now()
    matches = list(
        subject_request.matches.select_related("contact", "contact__owner", "decided_by").order_by(
            "state", "id"
        )
    )
    related = privacy.related_counts([match.contact_id for match in matches])
    for match in matches:
        match.related = related.get(match.contact_id, {})
        match.reason_texts = privacy.reason_texts(match.reasons)
    confirmed = [m for m in matches if m.state == MatchState.CONFIRMED]
    job = subject_request.bundle_job
    return render(
        request,
        "dataops/privacy_request_detail.html",
        {
            "item": subject_request,
            "matches": matches,
            "confirmed": confirmed,
            "overdue": subject_request.is_overdue(now),
            "days_left": (subject_request.due_at - now).days,
            "can_manage": privacy.can_manage(request.user, subject_request),
            "job": job,
            "job_is_mine": job is not None and job.created_by_id == request.user.pk,
            "officers": officers(),
            "audit_note": privacy.AUDIT_NOTE,
            "match_states": MatchState,
        },
    )


ACTIONS = ("find", "decide", "update", "start", "bundle", "anonymize", "complete", "reject")


@login_required
@require_POST
def request_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    if action not in ACTIONS:
        raise Http404()
    subject_request = _get(request, pk)
    back = redirect("dataops:privacy_request_detail", pk=subject_request.pk)
    actor = request.user
    data = request.POST
    try:
        if action == "find":
            found = privacy.request_find(actor=actor, request=subject_request)
            if found:
                messages.success(request, _("%(n)d matching contacts.") % {"n": len(found)})
            else:
                messages.warning(request, _("No contact matches this person."))
        elif action == "decide":
            ids = [int(v) for v in data.getlist("contact") if v.isdigit()]
            if not ids:
                messages.error(request, _("Choose at least one contact."))
                return back
            changed = privacy.match_decide(
                actor=actor, request=subject_request, contacts=ids, state=data.get("state", "")
            )
            messages.success(request, _("%(n)d matches updated.") % {"n": changed})
        elif action == "update":
            assignee_id = data.get("assignee", "")
            assignee = officers().filter(pk=assignee_id).first() if assignee_id.isdigit() else None
            if assignee_id.isdigit() and assignee is None:
                messages.error(request, _("Choose someone who may handle data-subject requests."))
                return back
            privacy.request_update(
                actor=actor,
                request=subject_request,
                assignee=assignee,
                due_at=data.get("due_at") or None,
            )
            messages.success(request, _("Saved."))
        elif action == "start":
            privacy.request_start(actor=actor, request=subject_request)
        elif action == "bundle":
            from . import tasks

            job = privacy.bundle_start(actor=actor, request=subject_request)
            transaction.on_commit(lambda: tasks.privacy_bundle.delay(job.pk))
            messages.success(request, _("The data bundle is being written."))
        elif action == "anonymize":
            if data.get("confirm") != "yes":
                messages.error(request, _("Tick the box to confirm that this cannot be undone."))
                return back
            erasure = privacy.request_erase(actor=actor, request=subject_request)
            if erasure.anonymized:
                messages.success(
                    request,
                    ngettext(
                        "%(n)d contact anonymized; its interactions are kept without text.",
                        "%(n)d contacts anonymized; their interactions are kept without text.",
                        len(erasure.anonymized),
                    )
                    % {"n": len(erasure.anonymized)},
                )
            else:
                messages.info(
                    request, _("These contacts were anonymized already; nothing changed.")
                )
        elif action == "complete":
            privacy.request_complete(
                actor=actor, request=subject_request, outcome_note=data.get("outcome_note", "")
            )
            messages.success(request, _("The request is completed."))
        elif action == "reject":
            privacy.request_reject(
                actor=actor, request=subject_request, reason=data.get("reason", "")
            )
            messages.success(request, _("The request is rejected."))
    except ValidationError as error:
        messages.error(request, _messages_of(error))
    except errors.NotFound:
        raise Http404() from None
    except errors.PermissionDenied:
        raise PermissionDenied from None
    return back


@login_required
def bundle_download(request: HttpRequest, pk: int) -> HttpResponse:
    subject_request = _get(request, pk)
    try:
        path = privacy.bundle_file(actor=request.user, request=subject_request)
    except ValidationError as error:
        messages.error(request, _messages_of(error))
        return redirect("dataops:privacy_request_detail", pk=subject_request.pk)
    except errors.NotFound:
        raise Http404() from None
    except errors.PermissionDenied:
        raise PermissionDenied from None
    return FileResponse(
        path.open("rb"), as_attachment=True, filename=f"subject-request-{subject_request.pk}.zip"
    )


# --- retention ---------------------------------------------------------------------------------


@login_required
def retention(request: HttpRequest) -> HttpResponse:
    if not privacy_retention.can_manage(request.user):
        raise PermissionDenied
    if request.method == "POST":
        chosen = RetentionPolicy.objects.filter(pk=request.POST.get("policy") or 0).first()
        if chosen is None:
            raise Http404()
        try:
            privacy_retention.policy_update(
                actor=request.user,
                policy=chosen,
                days=request.POST.get("days"),
                action=request.POST.get("action") or None,
                enabled=request.POST.get("enabled") == "on",
            )
        except ValidationError as error:
            messages.error(request, f"{chosen}: {_messages_of(error)}")
        except errors.PermissionDenied:
            raise PermissionDenied from None
        else:
            messages.success(request, _("%(policy)s: saved.") % {"policy": chosen})
        return redirect("dataops:privacy_retention")
    actions = dict(RetentionAction.choices)
    rows = []
    for item, count in privacy_retention.preview():
        rows.append(
            {
                "policy": item,
                "count": count,
                "description": privacy_retention.DESCRIPTIONS.get(item.data_class, ""),
                "actions": [
                    (code, actions[code]) for code in privacy_retention.ACTIONS[item.data_class]
                ],
            }
        )
    history = privacy_retention.runs()
    for job in history:
        job.count_items = privacy_retention.counts_shown(job)
    latest = history[0] if history else None
    return render(
        request,
        "dataops/privacy_retention.html",
        {
            "rows": rows,
            "runs": history,
            "latest": latest if latest and latest.created_by_id == request.user.pk else None,
            "audit_note": privacy.AUDIT_NOTE,
        },
    )


@login_required
@require_POST
def retention_run(request: HttpRequest) -> HttpResponse:
    if not privacy_retention.can_manage(request.user):
        raise PermissionDenied
    from . import tasks

    job = privacy_retention.retention_start(actor=request.user)
    transaction.on_commit(lambda: tasks.retention.delay(job.pk))
    messages.success(request, _("The retention run has started."))
    return redirect(reverse("dataops:privacy_retention"))
