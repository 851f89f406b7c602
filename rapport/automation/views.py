"""The rule designer (administration): the rules in their order, the form that builds one
(trigger → condition → actions), its versions, its run log with the dry run, and one run.

Every page needs `manage` on `automation.rule` (rules act as the system actor on any record,
so designing them and reading their log is an administrator's job); every write goes
through `rapport.automation.services`, which checks the grant again and audits the change.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import OuterRef, Subquery
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from rapport.core import errors, filterlang
from rapport.core.models import Tag
from rapport.core.paging import cursor_page
from rapport.identity.models import Action, Team, User
from rapport.identity.views._common import _message_call, _require

from . import registry, services
from .forms import (
    ACTION_COUNT,
    TRIGGER_FIELDS,
    TRIGGER_RUNS_NOW,
    RuleDraft,
    action_kind_choices,
    action_label,
    condition_text,
    record_type_choices,
)
from .models import Rule, RuleRun, RuleVersion, RunState, Trigger

RULE = Rule.security_type
RUN_PAGE = 50


def _rule_or_404(pk: int, *, live: bool = True) -> Rule:
    rules = Rule.objects.filter(pk=pk)
    if live:
        rules = rules.filter(retired_at__isnull=True)
    rule = rules.first()
    if rule is None:
        raise Http404
    return rule


def _back(request: HttpRequest, fallback: str) -> HttpResponse:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect(fallback)


def _fields(user, object_type: str) -> dict[str, filterlang.FilterField]:
    """The filterable fields of a record type (their labels name the trigger's field)."""
    if registry.get(object_type) is None:
        return {}
    try:
        return filterlang.fields_for(user, object_type)
    except ValidationError:
        return {}


def record_url(object_type: str, object_id: int | None) -> str:
    if object_id is None:
        return ""
    name = {
        "customers.account": "customers:account_detail",
        "customers.contact": "customers:contact_detail",
    }.get(object_type)
    return reverse(name, args=[object_id]) if name else ""


# --- reading a rule as people say it ----------------------------------------------------------


def trigger_summary(rule: Rule, fields: dict | None = None) -> str:
    """ "Record updated: tier changes to A" and the like."""
    config = rule.trigger_config or {}
    label = str(Trigger(rule.trigger).label) if rule.trigger in Trigger.values else rule.trigger
    fields = fields or {}

    def field_label(name: str) -> str:
        spec = fields.get(name)
        return str(spec.label) if spec is not None else name

    detail = ""
    if rule.trigger == Trigger.UPDATED and config.get("field"):
        detail = _("%(field)s changes") % {"field": field_label(config["field"])}
        if "to" in config:
            detail = _("%(field)s changes to %(value)s") % {
                "field": field_label(config["field"]),
                "value": config["to"],
            }
    elif rule.trigger == Trigger.STAGE_CHANGED and config.get("to"):
        detail = _("to %(value)s") % {"value": config["to"]}
    elif rule.trigger == Trigger.DATE_REACHED and config.get("field"):
        days = int(config.get("offset_days") or 0)
        if days == 0:
            detail = _("on %(field)s") % {"field": field_label(config["field"])}
        elif days > 0:
            detail = _("%(n)d days after %(field)s") % {
                "n": days,
                "field": field_label(config["field"]),
            }
        else:
            detail = _("%(n)d days before %(field)s") % {
                "n": -days,
                "field": field_label(config["field"]),
            }
    elif rule.trigger == Trigger.SCHEDULE and config.get("cron"):
        detail = config["cron"]
    elif rule.trigger == Trigger.EVENT and config.get("topic"):
        detail = config["topic"]
    return f"{label}: {detail}" if detail else label


def action_summaries(rule: Rule, fields: dict | None = None) -> list[str]:
    """Each action as a sentence: "Assign owner: round robin over the team Key accounts"."""
    fields = fields or {}
    action_list = [params for params in rule.actions or [] if isinstance(params, dict)]
    user_ids, team_ids, tag_ids, rule_ids = set(), set(), set(), set()
    for params in action_list:
        spec = params.get("round_robin") or {}
        user_ids.update(
            value
            for value in (params.get("user"), params.get("assignee"), params.get("to"))
            if isinstance(value, int)
        )
        user_ids.update(value for value in spec.get("users") or [] if isinstance(value, int))
        if isinstance(spec.get("team"), int):
            team_ids.add(spec["team"])
        tag_ids.update(value for value in params.get("tags") or [] if isinstance(value, int))
        if isinstance(params.get("rule"), int):
            rule_ids.add(params["rule"])
    users = (
        {user.pk: str(user) for user in User.objects.filter(pk__in=user_ids)} if user_ids else {}
    )
    teams = dict(Team.objects.filter(pk__in=team_ids).values_list("pk", "name")) if team_ids else {}
    tags = {tag.pk: tag.label for tag in Tag.objects.filter(pk__in=tag_ids)} if tag_ids else {}
    rules = (
        {other.pk: other.display_name for other in Rule.objects.filter(pk__in=rule_ids)}
        if rule_ids
        else {}
    )

    def person(value) -> str:
        if value in (None, "owner"):
            return _("the record's owner")
        return users.get(value, f"#{value}")

    def field_label(name: str) -> str:
        spec = fields.get(name)
        return str(spec.label) if spec is not None else name

    texts = []
    for params in action_list:
        kind = str(params.get("type", ""))
        detail = ""
        if kind == "update_fields":
            detail = ", ".join(
                f"{field_label(name)} = {value}"
                for name, value in (params.get("values") or {}).items()
            )
        elif kind == "assign_owner":
            spec = params.get("round_robin") or {}
            if "user" in params:
                detail = person(params["user"])
            elif "team" in spec:
                detail = _("round robin over the team %(team)s") % {
                    "team": teams.get(spec["team"], f"#{spec['team']}")
                }
            else:
                detail = _("round robin over %(people)s") % {
                    "people": ", ".join(person(pk) for pk in spec.get("users") or [])
                }
        elif kind in ("add_tags", "remove_tags"):
            detail = ", ".join(tags.get(pk, f"#{pk}") for pk in params.get("tags") or [])
        elif kind == "create_task":
            detail = f"“{params.get('subject', '')}”"
            if params.get("due_in_days") or params.get("due_in_hours"):
                detail += ", " + _("due in %(days)d days %(hours)d hours") % {
                    "days": params.get("due_in_days") or 0,
                    "hours": params.get("due_in_hours") or 0,
                }
            detail += ", " + _("for %(person)s") % {"person": person(params.get("assignee"))}
        elif kind == "notify":
            detail = _("to %(person)s: “%(message)s”") % {
                "person": person(params.get("to")),
                "message": params.get("message", ""),
            }
        elif kind == "send_email":
            detail = f"“{params.get('subject', '')}”"
        elif kind == "send_sms":
            detail = f"“{str(params.get('body', ''))[:60]}”"
        elif kind == "call_webhook":
            detail = str(params.get("url", ""))
        elif kind == "run_rule":
            detail = rules.get(params.get("rule"), f"#{params.get('rule')}")
        else:
            detail = ", ".join(
                f"{name}={value}" for name, value in params.items() if name != "type"
            )
        texts.append(f"{action_label(kind)}: {detail}" if detail else action_label(kind))
    return texts


# --- the list -------------------------------------------------------------------------------


@login_required
def rule_list(request: HttpRequest) -> HttpResponse:
    _require(request.user, RULE, Action.MANAGE)
    chosen_type = request.GET.get("type", "")
    latest = RuleRun.objects.filter(rule=OuterRef("pk")).exclude(state=RunState.DRY_RUN)
    rules = (
        Rule.objects.filter(retired_at__isnull=True)
        .annotate(
            last_state=Subquery(latest.order_by("-id").values("state")[:1]),
            last_run_at=Subquery(latest.order_by("-id").values("created_at")[:1]),
        )
        .order_by("object_type", "position", "id")
    )
    if chosen_type:
        rules = rules.filter(object_type=chosen_type)
    states = dict(RunState.choices)
    sections: dict[str, dict[str, Any]] = {}
    labels = dict(record_type_choices())
    fields_by_type: dict[str, dict] = {}
    for rule in rules:
        if rule.object_type not in fields_by_type:
            fields_by_type[rule.object_type] = _fields(request.user, rule.object_type)
        section = sections.setdefault(
            rule.object_type,
            {
                "object_type": rule.object_type,
                "title": labels.get(rule.object_type, rule.object_type),
                "rows": [],
            },
        )
        section["rows"].append(
            {
                "rule": rule,
                "trigger": trigger_summary(rule, fields_by_type[rule.object_type]),
                "last_state_label": states.get(rule.last_state, ""),
            }
        )
    return render(
        request,
        "automation/rule_list.html",
        {
            "sections": list(sections.values()),
            "record_types": record_type_choices(),
            "chosen_type": chosen_type,
        },
    )


# --- the designer ---------------------------------------------------------------------------


def _designer(request: HttpRequest, rule: Rule | None) -> HttpResponse:
    user = request.user
    status = 200
    scroll = ""
    if request.method == "POST":
        draft = RuleDraft.from_post(user, rule, request.POST)
        op = request.POST.get("op", "save")
        if op != "save":
            draft = draft.rearranged(op, request.POST.get("add_kind", ""))
            scroll = request.POST.get("scroll", "")
        elif draft.is_valid():
            saved = _save(request, draft, rule)
            if saved is not None:
                return redirect("automation:rule_detail", saved.pk)
            status = 400
        else:
            status = 400
    else:
        draft = RuleDraft.for_rule(user, rule, request.GET.get("type", ""))
    return render(
        request,
        "automation/rule_form.html",
        {
            "rule": rule,
            "draft": draft,
            "form": draft.form,
            "builder": draft.builder(),
            "action_count_name": ACTION_COUNT,
            "action_kinds": action_kind_choices(),
            "trigger_fields": {trigger: list(fields) for trigger, fields in TRIGGER_FIELDS.items()},
            "runs_now": [str(trigger) for trigger in TRIGGER_RUNS_NOW],
            "scroll": scroll if str(scroll).isdigit() else "",
        },
        status=status,
    )


def _save(request: HttpRequest, draft: RuleDraft, rule: Rule | None) -> Rule | None:
    values = draft.service_values()
    if values is None:
        return None
    try:
        if rule is None:
            saved = services.rule_create(actor=request.user, **values)
            messages.success(request, _("Rule “%(name)s” created.") % {"name": saved.display_name})
        else:
            saved = services.rule_update(actor=request.user, rule=rule, **values)
            messages.success(request, _("Saved."))
    except errors.PermissionDenied as error:
        raise PermissionDenied from error
    except errors.DomainError as error:
        draft.form.add_error(None, str(error.message))
        return None
    except ValidationError as error:
        draft.add_service_error(error)
        return None
    token = getattr(saved, "webhook_token", "")
    if token:
        messages.warning(
            request,
            _(
                "The rule's secret address for incoming webhooks, shown only this once: "
                "%(url)s — copy it now and keep it secret."
            )
            % {"url": request.build_absolute_uri(reverse("api-automation-hook", args=[token]))},
        )
    return saved


@login_required
def rule_create(request: HttpRequest) -> HttpResponse:
    _require(request.user, RULE, Action.MANAGE)
    return _designer(request, None)


@login_required
def rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request.user, RULE, Action.MANAGE)
    return _designer(request, _rule_or_404(pk))


# --- one rule: versions, run log, dry run --------------------------------------------------------


def _run_rows(runs: list[RuleRun]) -> list[dict[str, Any]]:
    return [
        {
            "run": run,
            "record_url": record_url(run.object_type, run.object_id),
            "holds": (run.trigger_detail or {}).get("condition"),
        }
        for run in runs
    ]


@login_required
def rule_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request.user, RULE, Action.MANAGE)
    rule = _rule_or_404(pk, live=False)
    state = request.GET.get("state", "")
    record = request.GET.get("record", "").strip()
    runs = RuleRun.objects.filter(rule=rule).only(
        "pk",
        "rule_id",
        "rule_version",
        "object_type",
        "object_id",
        "state",
        "attempts",
        "error",
        "created_at",
        "finished_at",
        "next_attempt_at",
        "trigger_detail",
    )
    if state in RunState.values:
        runs = runs.filter(state=state)
    if record.isdigit():
        runs = runs.filter(object_id=int(record))
    page = cursor_page(request, runs, ordering=["-id"], page_size=RUN_PAGE)
    versions = list(
        RuleVersion.objects.filter(rule=rule).select_related("created_by").order_by("-version")[:20]
    )
    fields = _fields(request.user, rule.object_type)
    for version in versions:  # what the rule was at each version, as it was saved
        version.text = json.dumps(version.snapshot, ensure_ascii=False, indent=1)
    return render(
        request,
        "automation/rule_detail.html",
        {
            "rule": rule,
            "record_type": dict(record_type_choices()).get(rule.object_type, rule.object_type),
            "trigger": trigger_summary(rule, fields),
            "runs_now": rule.trigger in TRIGGER_RUNS_NOW,
            "condition": condition_text(rule.condition),
            "actions": action_summaries(rule, fields),
            "versions": versions,
            "page": page,
            "rows": _run_rows(page.items),
            "states": RunState.choices,
            "chosen_state": state,
            "chosen_record": record,
            "dry_run_error": "",
        },
    )


@login_required
@require_POST
def rule_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request.user, RULE, Action.MANAGE)
    rule = _rule_or_404(pk)
    turn_on = request.POST.get("active") == "on"
    service = services.rule_activate if turn_on else services.rule_deactivate
    done, ok = _message_call(request, service, actor=request.user, rule=rule)
    if ok:
        messages.success(
            request,
            (_("“%(name)s” is on.") if turn_on else _("“%(name)s” is off."))
            % {"name": rule.display_name},
        )
    return _back(request, reverse("automation:rule_list"))


@login_required
@require_POST
def rule_move(request: HttpRequest, pk: int, direction: str) -> HttpResponse:
    _require(request.user, RULE, Action.MANAGE)
    rule = _rule_or_404(pk)
    _message_call(
        request,
        services.rule_move,
        actor=request.user,
        rule=rule,
        offset=-1 if direction == "up" else 1,
    )
    return redirect(reverse("automation:rule_list") + f"#rule-{rule.pk}")


@login_required
@require_POST
def rule_retire(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request.user, RULE, Action.MANAGE)
    rule = _rule_or_404(pk)
    _done, ok = _message_call(request, services.rule_retire, actor=request.user, rule=rule)
    if ok:
        messages.success(
            request,
            _("“%(name)s” is deleted; its run log is kept.") % {"name": rule.display_name},
        )
    return redirect("automation:rule_list")


@login_required
@require_POST
def rule_dry_run(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request.user, RULE, Action.MANAGE)
    rule = _rule_or_404(pk)
    raw = request.POST.get("record", "").strip()
    if not raw.isdigit():
        messages.error(request, _("Enter the number (id) of a record."))
        return redirect("automation:rule_detail", rule.pk)
    try:
        run, ok = _message_call(
            request, services.rule_dry_run, actor=request.user, rule=rule, record_id=int(raw)
        )
    except Http404:
        messages.error(
            request,
            _("There is no record %(id)s of this type that you can see.") % {"id": raw},
        )
        return redirect("automation:rule_detail", rule.pk)
    if not ok:
        return redirect("automation:rule_detail", rule.pk)
    return redirect("automation:run_detail", run.pk)


@login_required
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request.user, RULE, Action.MANAGE)
    run = RuleRun.objects.select_related("rule").filter(pk=pk).first()
    if run is None:
        raise Http404
    results = []
    for index, outcome in enumerate(run.results or []):
        kind = str(outcome.get("type", ""))
        changes = outcome.get("changes") or {}
        created = outcome.get("created") or {}
        results.append(
            {
                "number": index + 1,
                "label": action_label(kind),
                "changes": [
                    {
                        "field": name,
                        "before": value[0] if isinstance(value, list) and len(value) == 2 else None,
                        "after": value[1] if isinstance(value, list) and len(value) == 2 else value,
                        "pair": isinstance(value, list) and len(value) == 2,
                    }
                    for name, value in changes.items()
                ],
                "created": created,
                "created_url": record_url(created.get("type", ""), created.get("id"))
                if created
                else "",
            }
        )
    detail = run.trigger_detail or {}
    return render(
        request,
        "automation/run_detail.html",
        {
            "run": run,
            "rule": run.rule,
            "record_url": record_url(run.object_type, run.object_id),
            "results": results,
            "detail": detail,
            "dry_run": run.state == RunState.DRY_RUN,
            "holds": detail.get("condition"),
            "chain": run.chain or [],
        },
    )
