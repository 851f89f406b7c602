"""The 360 pages of an account and a contact, and what is done from them: log an interaction,
add, change, complete or reopen a task, set a contact's role; plus "My tasks".

Views parse, authorize and render. Reads go through `restrict` / `get_for` (the selectors in
`querysets`); every write goes through `rapport.customers.services`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import F
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from rapport.core.customfields.values import definitions as custom_definitions
from rapport.core.customfields.values import display as custom_display
from rapport.core.customfields.values import user_names as custom_user_names
from rapport.core.paging import cursor_page
from rapport.identity import policy
from rapport.identity.models import Action, User

from . import options as account_options
from . import services
from .interaction_forms import (
    ConsentForm,
    ContactRoleForm,
    InteractionEditForm,
    InteractionLogForm,
    TaskForm,
)
from .models import Account, Attachment, ConsentSource, Contact, ContactRole, Interaction
from .querysets import (
    OPEN_TASKS_SHOWN,
    TIMELINE_PAGE,
    account_display_values,
    consent_matrix,
    contact_display_values,
    contacts_sharing_identifiers,
    interactions_for,
    last_changes,
    open_tasks,
    quality_hints,
    timeline,
)
from .views import (
    ACCOUNT,
    CONTACT,
    RELATED_LIMIT,
    _detail_common,
    _fields_for_display,
    _hidden_fields,
    _save,
    _shown,
    domain_errors,
)

INTERACTION = Interaction.security_type


# --- slots that later modules fill ------------------------------------------------------------


@dataclass(frozen=True)
class Panel:
    """A card another module adds to the 360 page (opportunities, tickets, loyalty …).

    `render(request, record)` returns the card's HTML, or "" when it has nothing to show
    the user (no grant, nothing to list). It must read through `restrict` like every view.
    """

    key: str
    title: Any
    render: Any
    order: int = 100


_panels: dict[str, list[Panel]] = {ACCOUNT: [], CONTACT: []}


def register_panel(object_type: str, panel: Panel) -> None:
    """Add a card to the 360 page of `object_type` ("customers.account" / "customers.contact")."""
    panels = [p for p in _panels[object_type] if p.key != panel.key]
    _panels[object_type] = sorted([*panels, panel], key=lambda p: p.order)


def _panel_cards(request: HttpRequest, object_type: str, record) -> list[dict[str, Any]]:
    cards = []
    for panel in _panels[object_type]:
        html = panel.render(request, record)
        if html:
            cards.append({"key": panel.key, "title": panel.title, "html": html})
    return cards


# --- the 360 page -----------------------------------------------------------------------------


def _timeline_page(request: HttpRequest, interactions):
    return cursor_page(
        request, timeline(interactions), ordering=["-occurred_at", "-id"], page_size=TIMELINE_PAGE
    )


def _custom_shown(user: User, object_type: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Custom-field rows (`customfields.values.display`) after the user's field rules: hidden
    fields left out, masked values masked."""
    shown = policy.apply_field_rules(user, object_type, {row["name"]: row["value"] for row in rows})
    return [
        {**row, "value": shown[row["name"]], "many": isinstance(shown[row["name"]], list)}
        for row in rows
        if row["name"] in shown
    ]


def _rows(user: User, items) -> list[dict[str, Any]]:
    """Timeline or task rows: the interaction, its body after field rules, what may be done."""
    rules = policy.field_rules(user, INTERACTION)
    now = timezone.now()
    items = list(items)
    # The custom fields of interactions, read once for the page (not per row).
    fields = custom_definitions(INTERACTION) if any(item.custom for item in items) else []
    users = custom_user_names(fields, [item.custom for item in items]) if fields else {}
    return [
        {
            "interaction": item,
            "body": policy.apply_field_rules(user, INTERACTION, {"body": item.body}).get("body"),
            "body_hidden": rules.get("body") == "hidden",
            "overdue": item.is_overdue(now),
            "custom": [
                shown
                for shown in _custom_shown(
                    user, INTERACTION, custom_display(INTERACTION, item.custom, fields, users)
                )
                if shown["value"] not in ("", None, [])
            ]
            if item.custom
            else [],
        }
        for item in items
    ]


def _can_edit_ids(user: User, items) -> set[int]:
    """Ids among `items` the user may change: one query for the page, not one per row."""
    ids = [item.pk for item in items]
    if not ids:
        return set()
    return set(
        Interaction.objects.restrict(user, Action.CHANGE)
        .filter(pk__in=ids)
        .values_list("pk", flat=True)
    )


def _activity_context(
    request: HttpRequest,
    *,
    account: Account | None = None,
    contact: Contact | None = None,
    log_form: InteractionLogForm | None = None,
    task_form: TaskForm | None = None,
) -> dict[str, Any]:
    user = request.user
    mine = interactions_for(
        user, Interaction.objects.of_customer(user, account=account, contact=contact)
    )
    page = _timeline_page(request, mine)
    tasks = list(open_tasks(mine)[: OPEN_TASKS_SHOWN + 1])
    editable = _can_edit_ids(user, [*page.items, *tasks])
    can_log = policy.has_grant(user, INTERACTION, Action.ADD)
    if can_log and log_form is None:
        log_form = InteractionLogForm(user=user, account=account, contact=contact)
    if can_log and task_form is None:
        task_form = TaskForm(user=user, account=account, contact=contact)
    latest = page.items[0].occurred_at if page.items and not request.GET.get("cursor") else None
    if latest is None and request.GET.get("cursor"):
        # A value, not a row: `.only()` here would clash with the joins of `interactions_for`.
        latest = (
            timeline(mine)
            .order_by("-occurred_at", "-id")
            .values_list("occurred_at", flat=True)
            .first()
        )
    return {
        "timeline": _rows(user, page.items),
        "timeline_page": page,
        "tasks": _rows(user, tasks[:OPEN_TASKS_SHOWN]),
        "more_tasks": len(tasks) > OPEN_TASKS_SHOWN,
        "editable": editable,
        "log_form": log_form,
        "task_form": task_form,
        "can_log": can_log,
        "last_interaction_at": latest,
        "now": timezone.now(),
    }


def render_account(request: HttpRequest, account: Account, **forms: Any) -> HttpResponse:
    user = request.user
    visible_accounts = Account.objects.restrict(user, Action.VIEW)
    parent = None
    if account.parent_id:
        parent = visible_accounts.filter(pk=account.parent_id).only("pk", "name").first()
    subsidiaries = list(
        visible_accounts.filter(parent=account)
        .only("pk", "name", "province", "city", "is_active")
        .order_by("name", "id")[: RELATED_LIMIT + 1]
    )
    contacts = list(
        Contact.objects.restrict(user, Action.VIEW)
        .filter(accountcontact__account=account)
        .annotate(role_here=F("accountcontact__role"))
        .only("pk", "name", "title", "phones", "emails", "id_number", "is_active")
        .order_by("name", "id")[: RELATED_LIMIT + 1]
    )
    role_labels = dict(ContactRole.choices)
    contact_rows = [
        {
            "contact": contact,
            "values": _shown(user, CONTACT, contact_display_values(contact)),
            "role": contact.role_here,
            "role_label": role_labels.get(contact.role_here, ""),
        }
        for contact in contacts[:RELATED_LIMIT]
    ]
    activity = _activity_context(request, account=account, **forms)
    common = _detail_common(user, account)
    return render(
        request,
        "customers/account_detail.html",
        {
            "account": account,
            "tab": "details",
            "fields": _fields_for_display(
                Account, _shown(user, ACCOUNT, account_display_values(account))
            )
            + _custom_shown(user, ACCOUNT, custom_display(ACCOUNT, account.custom)),
            "parent": parent,
            "subsidiaries": subsidiaries[:RELATED_LIMIT],
            "more_subsidiaries": len(subsidiaries) > RELATED_LIMIT,
            "contact_rows": contact_rows,
            "more_contacts": len(contacts) > RELATED_LIMIT,
            "contact_hidden": _hidden_fields(user, CONTACT),
            "can_add_contact": policy.has_grant(user, CONTACT, Action.ADD),
            "role_form": ContactRoleForm(),
            "changeable_contacts": set(
                Contact.objects.restrict(user, Action.CHANGE)
                .filter(pk__in=[row["contact"].pk for row in contact_rows])
                .values_list("pk", flat=True)
            )
            if contact_rows
            else set(),
            "changed": last_changes(account, ("lifecycle_stage", "tier")),
            "stage_option": account_options.option("lifecycle_stage", account.lifecycle_stage),
            "tier_option": account_options.option("tier", account.tier),
            "hints": quality_hints(
                account,
                last_interaction_at=activity["last_interaction_at"],
                contact_count=len(contacts),
            ),
            "panels": _panel_cards(request, ACCOUNT, account),
            **activity,
            **common,
        },
        status=400 if any(form is not None and form.errors for form in forms.values()) else 200,
    )


def render_contact(
    request: HttpRequest, contact: Contact, consent_form: ConsentForm | None = None, **forms: Any
) -> HttpResponse:
    user = request.user
    can_change = policy.can(user, Action.CHANGE, contact)
    accounts = []
    if "accounts" not in _hidden_fields(user, CONTACT):
        accounts = list(
            Account.objects.restrict(user, Action.VIEW)
            .filter(accountcontact__contact=contact)
            .annotate(role_here=F("accountcontact__role"))
            .only("pk", "name", "province", "city", "is_active")
            .order_by("name", "id")
        )
    role_labels = dict(ContactRole.choices)
    for account in accounts:
        account.role_label = role_labels.get(account.role_here, "")
    activity = _activity_context(request, contact=contact, **forms)
    return render(
        request,
        "customers/contact_detail.html",
        {
            "contact": contact,
            "tab": "details",
            "fields": _fields_for_display(
                Contact, _shown(user, CONTACT, contact_display_values(contact))
            )
            + _custom_shown(user, CONTACT, custom_display(CONTACT, contact.custom)),
            "accounts": accounts,
            "hints": quality_hints(contact, last_interaction_at=activity["last_interaction_at"]),
            "consents": consent_matrix(contact),
            "duplicates": contacts_sharing_identifiers(user, contact),
            "consent_form": (consent_form or ConsentForm()) if can_change else None,
            "panels": _panel_cards(request, CONTACT, contact),
            **activity,
            **_detail_common(user, contact),
        },
        status=400
        if any(form is not None and form.errors for form in [consent_form, *forms.values()])
        else 200,
    )


@login_required
@domain_errors
def account_detail(request: HttpRequest, pk: int) -> HttpResponse:
    account = policy.get_for(request.user, Action.VIEW, Account, pk)
    services.record_viewed(actor=request.user, record=account)
    return render_account(request, account)


@login_required
@domain_errors
def contact_detail(request: HttpRequest, pk: int) -> HttpResponse:
    contact = policy.get_for(request.user, Action.VIEW, Contact, pk)
    services.record_viewed(actor=request.user, record=contact)
    return render_contact(request, contact)


@login_required
@domain_errors
def timeline_more(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    """The next page of a timeline (htmx appends it; without JavaScript it is a plain page)."""
    model = Account if kind == "accounts" else Contact
    record = policy.get_for(request.user, Action.VIEW, model, pk)
    customer = {"account": record} if model is Account else {"contact": record}
    mine = interactions_for(request.user, Interaction.objects.of_customer(request.user, **customer))
    page = _timeline_page(request, mine)
    return render(
        request,
        "customers/_timeline_rows.html",
        {
            "timeline": _rows(request.user, page.items),
            "timeline_page": page,
            "editable": _can_edit_ids(request.user, page.items),
            "more_url": reverse("customers:timeline_more", args=[kind, pk]),
        },
    )


# --- writes from the 360 page ------------------------------------------------------------------


def _customer(request: HttpRequest, kind: str, pk: int) -> tuple[Account | None, Contact | None]:
    if kind == "accounts":
        return policy.get_for(request.user, Action.VIEW, Account, pk), None
    return None, policy.get_for(request.user, Action.VIEW, Contact, pk)


def _back(account: Account | None, contact: Contact | None, anchor: str = "") -> HttpResponse:
    if account is not None:
        url = reverse("customers:account_detail", args=[account.pk])
    else:
        url = reverse("customers:contact_detail", args=[contact.pk])
    return redirect(f"{url}{anchor}")


def _render_360(request, account, contact, **forms) -> HttpResponse:
    if account is not None:
        return render_account(request, account, **forms)
    return render_contact(request, contact, **forms)


@login_required
@require_POST
@domain_errors
def interaction_log(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    account, contact = _customer(request, kind, pk)
    form = InteractionLogForm(
        request.POST, request.FILES, user=request.user, account=account, contact=contact
    )
    if form.is_valid():
        logged = _save(
            form, lambda: services.interaction_log(actor=request.user, **form.service_values())
        )
        if logged is not None:
            messages.success(request, _("“%(subject)s” was logged.") % {"subject": logged.subject})
            return _back(account, contact, "#timeline")
    return _render_360(request, account, contact, log_form=form)


@login_required
@require_POST
@domain_errors
def task_add(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    account, contact = _customer(request, kind, pk)
    form = TaskForm(request.POST, user=request.user, account=account, contact=contact)
    if form.is_valid():
        task = _save(
            form, lambda: services.task_create(actor=request.user, **form.service_values())
        )
        if task is not None:
            messages.success(
                request, _("The task “%(subject)s” was added.") % {"subject": task.subject}
            )
            return _back(account, contact, "#tasks")
    return _render_360(request, account, contact, task_form=form)


def _next_url(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next", "")
    # Only a path on this site: never an open redirect.
    if target.startswith("/") and not target.startswith("//"):
        return target
    return fallback


def _fallback_url(interaction: Interaction) -> str:
    if interaction.account_id:
        return reverse("customers:account_detail", args=[interaction.account_id])
    return reverse("customers:contact_detail", args=[interaction.contact_id])


@login_required
@require_POST
@domain_errors
def task_complete(request: HttpRequest, pk: int) -> HttpResponse:
    task = policy.get_for(request.user, Action.CHANGE, Interaction, pk)
    if request.POST.get("reopen") == "1":
        services.task_reopen(actor=request.user, task=task)
        messages.success(request, _("“%(subject)s” is open again.") % {"subject": task.subject})
    else:
        services.task_complete(actor=request.user, task=task)
        messages.success(request, _("“%(subject)s” is done.") % {"subject": task.subject})
    return redirect(_next_url(request, _fallback_url(task)))


@login_required
@domain_errors
def interaction_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    interaction = policy.get_for(user, Action.CHANGE, Interaction, pk)
    data = request.POST if request.method == "POST" else None
    if interaction.is_task:
        form: Any = TaskForm(data, user=user, task=interaction)
    else:
        form = InteractionEditForm(data, interaction=interaction, user=user)
    if form.is_bound and form.is_valid():
        saved = _save(
            form,
            lambda: services.interaction_update(
                actor=user, interaction=interaction, **form.service_values()
            ),
        )
        if saved is not None:
            messages.success(request, _("Your changes were saved."))
            return redirect(_next_url(request, _fallback_url(interaction)))
        interaction.refresh_from_db()
    return render(
        request,
        "customers/interaction_form.html",
        {
            "form": form,
            "interaction": interaction,
            "back": _next_url(request, _fallback_url(interaction)),
            "can_delete": policy.can(user, Action.DELETE, interaction),
            "attachments": interaction.attachments.filter(is_active=True),
        },
        status=400 if form.is_bound else 200,
    )


@login_required
@require_POST
@domain_errors
def interaction_delete(request: HttpRequest, pk: int) -> HttpResponse:
    interaction = policy.get_for(request.user, Action.DELETE, Interaction, pk)
    services.interaction_delete(actor=request.user, interaction=interaction)
    messages.success(
        request,
        _("“%(subject)s” was removed from the timeline.") % {"subject": interaction.subject},
    )
    return redirect(_fallback_url(interaction))


@login_required
@require_POST
@domain_errors
def contact_role(request: HttpRequest, pk: int, contact_pk: int) -> HttpResponse:
    account = policy.get_for(request.user, Action.VIEW, Account, pk)
    contact = policy.get_for(request.user, Action.CHANGE, Contact, contact_pk)
    form = ContactRoleForm(request.POST)
    if form.is_valid():
        try:
            services.contact_role_set(
                actor=request.user, contact=contact, account=account, role=form.cleaned_data["role"]
            )
        except ValidationError as error:  # say it, change nothing
            messages.error(request, " ".join(error.messages))
            return _back(account, None, "#contacts")
        messages.success(request, _("The role of “%(name)s” was saved.") % {"name": contact.name})
    else:
        messages.error(request, _("Choose a role from the list."))
    return _back(account, None, "#contacts")


# --- my tasks ---------------------------------------------------------------------------------

TASK_VIEWS = {
    "mine": gettext_lazy("My open tasks"),
    "overdue": gettext_lazy("Overdue"),
    "today": gettext_lazy("Due today"),
    "done": gettext_lazy("Done recently"),
    "team": gettext_lazy("Everyone's open tasks I can see"),
}


@login_required
def task_list(request: HttpRequest) -> HttpResponse:
    """ "My tasks": open tasks given to me by due date, overdue first; also overdue only, due
    today, recently done, and every open task the user may see (for managers)."""
    user = request.user
    view = request.GET.get("view", "mine")
    if view not in TASK_VIEWS:
        view = "mine"
    now = timezone.now()
    # My own tasks start from what is given to me (always visible to me: no per-row check);
    # the team view starts from everything the user may see.
    start = None if view == "team" else Interaction.objects.assigned_to(user)
    tasks = interactions_for(user, start).filter(kind="task", is_active=True)
    ordering = ["due_at", "id"]
    if view == "done":
        tasks = tasks.filter(assignee=user, done_at__isnull=False)
        ordering = ["-done_at", "-id"]
    else:
        tasks = tasks.filter(done_at__isnull=True, due_at__isnull=False)
        if view != "team":
            tasks = tasks.filter(assignee=user)
        if view == "overdue":
            tasks = tasks.filter(due_at__lt=now)
        elif view == "today":
            start = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
            tasks = tasks.filter(due_at__gte=start, due_at__lt=start + timezone.timedelta(days=1))
    page = cursor_page(request, tasks, ordering=ordering, page_size=50)
    undated = []
    if view == "mine" and not request.GET.get("cursor"):
        undated = list(
            interactions_for(user, Interaction.objects.assigned_to(user))
            .filter(
                kind="task",
                is_active=True,
                done_at__isnull=True,
                due_at__isnull=True,
                assignee=user,
            )
            .order_by("-id")[:50]
        )
    editable = _can_edit_ids(user, [*page.items, *undated])
    overdue_count = (
        Interaction.objects.restrict(user, Action.VIEW)
        .filter(kind="task", is_active=True, done_at__isnull=True, assignee=user, due_at__lt=now)
        .count()
    )
    return render(
        request,
        "customers/task_list.html",
        {
            "view": view,
            "views": TASK_VIEWS,
            "rows": _rows(user, page.items),
            "undated": _rows(user, undated),
            "page": page,
            "editable": editable,
            "overdue_count": overdue_count,
        },
    )


# --- consent ----------------------------------------------------------------------------------


@login_required
@require_POST
@domain_errors
def consent_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    """One click: withdraw a channel and purpose (anyone who may see the contact)."""
    contact = policy.get_for(request.user, Action.VIEW, Contact, pk)
    try:
        services.consent_withdraw(
            actor=request.user,
            contact=contact,
            channel=request.POST.get("channel", ""),
            purpose=request.POST.get("purpose", ""),
            source=request.POST.get("source") or ConsentSource.OTHER,
            evidence=request.POST.get("evidence", ""),
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("The consent was withdrawn. Nobody will be able to use it."))
    return redirect(reverse("customers:contact_detail", args=[contact.pk]) + "#consent")


@login_required
@require_POST
@domain_errors
def consent_record(request: HttpRequest, pk: int) -> HttpResponse:
    contact = policy.get_for(request.user, Action.VIEW, Contact, pk)
    form = ConsentForm(request.POST)
    if form.is_valid():
        saved = _save(
            form,
            lambda: services.consent_record(
                actor=request.user, contact=contact, **form.cleaned_data
            ),
        )
        if saved is not None:
            messages.success(request, _("The consent was recorded."))
            return redirect(reverse("customers:contact_detail", args=[contact.pk]) + "#consent")
    return render_contact(request, contact, consent_form=form)


# --- attachments -------------------------------------------------------------------------------


@login_required
@domain_errors
def attachment_download(request: HttpRequest, pk: int) -> HttpResponse:
    """Serve an attachment to someone who may see its interaction (an audited read)."""
    attachment = Attachment.objects.filter(pk=pk, is_active=True).first()
    if attachment is None:
        raise Http404()
    policy.get_for(request.user, Action.VIEW, Interaction, attachment.interaction_id)
    services.attachment_downloaded(actor=request.user, attachment=attachment)
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=request.GET.get("inline") != "1"
        or not attachment.content_type.startswith(("image/", "application/pdf", "audio/")),
        filename=attachment.name,
        content_type=attachment.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_POST
@domain_errors
def attachment_add(request: HttpRequest, pk: int) -> HttpResponse:
    interaction = policy.get_for(request.user, Action.CHANGE, Interaction, pk)
    try:
        services.attachments_add(
            actor=request.user, interaction=interaction, uploads=request.FILES.getlist("files")
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("The files were attached."))
    return redirect(_next_url(request, _fallback_url(interaction)))


@login_required
@require_POST
@domain_errors
def attachment_remove(request: HttpRequest, pk: int) -> HttpResponse:
    attachment = Attachment.objects.filter(pk=pk).select_related("interaction").first()
    if attachment is None:
        raise Http404()
    policy.get_for(request.user, Action.CHANGE, Interaction, attachment.interaction_id)
    services.attachment_remove(actor=request.user, attachment=attachment)
    messages.success(request, _("“%(name)s” was removed.") % {"name": attachment.name})
    return redirect(_next_url(request, _fallback_url(attachment.interaction)))
