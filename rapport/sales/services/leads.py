"""Every write to leads, their pools and assignment rules.

Each service checks the actor's grant, validates the whole change (one ValidationError
naming every bad field; nothing stored), writes in one transaction with its audit event and
emits its events after commit: the generic `record.created` / `record.updated` (search
index, automation rules) and the lead's own `lead.created`, `lead.assigned`,
`lead.returned`, `lead.converted`.

The pool (公海): a lead without an owner sits in its pool. Members of the pool's team (or
everyone, for a pool without a team) claim from it, up to the pool's `max_held` open leads
and `claims_per_day`; a claim locks the lead's row, so of two people claiming one lead at
once one wins. A rep gives a lead back (`lead_release`); a manager with the assign grant
gives it to someone (`lead_assign`); a lead without a follow-up for the pool's
`return_after_days` goes back by itself (`leads_return_stale`, daily on beat).

New leads without an owner go through the assignment rules: the first active rule whose
condition (the filter language over lead fields) holds gives the lead to its team by round
robin or by load, to a named person, or leaves it in its pool (default: the default pool).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from rapport.core import events, normalize, trail
from rapport.core.errors import PermissionDenied
from rapport.customers.models import Account, Contact, Industry
from rapport.customers.validators import (
    identifier_blind,
    normalize_email,
    normalize_phone,
    normalize_website,
)
from rapport.identity import policy
from rapport.identity.models import Action, Team, User

from ..models.leads import (
    OPEN_LEAD_STATUSES,
    AssignmentMethod,
    Lead,
    LeadAssignmentRule,
    LeadFollowUp,
    LeadPool,
    LeadRating,
    LeadSource,
    LeadStatus,
)

LEAD = Lead.security_type
POOL = LeadPool.security_type
FIELDS = (
    "name",
    "company",
    "title",
    "phone",
    "email",
    "source",
    "source_detail",
    "rating",
    "industry",
    "province",
    "city",
    "website",
    "description",
    "budget",
    "currency",
    "is_decision_maker",
    "need",
    "expected_purchase_date",
    "custom",
)
QUALIFICATION = (
    "budget",
    "currency",
    "is_decision_maker",
    "need",
    "expected_purchase_date",
    "rating",
)
# what the audit trail keeps of a lead (phone and e-mail are sealed by the trail)
TRACKED = (*FIELDS, "status", "owner", "pool", "team", "disqualify_reason")
# status moves people make; converted only through lead_convert
MOVES = {
    LeadStatus.NEW: {LeadStatus.WORKING, LeadStatus.QUALIFIED, LeadStatus.DISQUALIFIED},
    LeadStatus.WORKING: {LeadStatus.QUALIFIED, LeadStatus.DISQUALIFIED},
    LeadStatus.QUALIFIED: {LeadStatus.WORKING, LeadStatus.DISQUALIFIED},
    LeadStatus.DISQUALIFIED: {LeadStatus.WORKING},
    LeadStatus.CONVERTED: set(),
}
CURRENCIES = ("CNY", "USD", "EUR", "HKD", "JPY", "GBP")
_UNCHANGED: Any = object()


# --- errors and checks ---------------------------------------------------------------------


def _invalid(field: str, message: str, code: str) -> ValidationError:
    return ValidationError({field: ValidationError(message, code=code)})


def _denied(message: str | None = None, code: str = "lead_denied") -> PermissionDenied:
    return PermissionDenied(message or _("You may not do this to this lead."), code=code)


def _require_manage(actor: User) -> None:
    if not policy.has_grant(actor, POOL, Action.MANAGE):
        raise PermissionDenied(_("You may not change lead pools or rules."), code="pool_denied")


def pool_members(pool: LeadPool) -> Q:
    """People who may claim from `pool`: its team's members and lead (everyone, without a
    team)."""
    if pool.team_id is None:
        return Q()
    return Q(teams=pool.team_id) | Q(led_teams=pool.team_id)


def may_claim_from(user: User, pool: LeadPool | None) -> bool:
    """Whether `user` may take leads from `pool`: an active pool, a person who works on
    leads (the change grant), in the pool's team (any person, for a pool without a team)."""
    if pool is None or not pool.is_active:
        return False
    if not policy.has_grant(user, LEAD, Action.CHANGE):
        return False
    if pool.team_id is None:
        return True
    return pool.team_id in policy._team_ids(user)


def _reaches_pool_lead(actor: User, lead: Lead, action: str) -> bool:
    """A lead in a pool: may `actor` `action` it? Through their grant's scope (a manager's
    department holds the pool's team), or as someone who may claim from the pool."""
    if policy.can(actor, action, lead):
        return True
    if action == Action.ASSIGN:
        scope = policy.best_scope(actor, LEAD, Action.ASSIGN)
        return scope == "all" or (
            scope is not None and (lead.team_id is None or lead.team_id in policy._team_ids(actor))
        )
    return False


def _may_assign(actor: User, lead: Lead) -> bool:
    if not policy.has_grant(actor, LEAD, Action.ASSIGN):
        return False
    if lead.owner_id is None:
        return _reaches_pool_lead(actor, lead, Action.ASSIGN)
    return policy.can(actor, Action.ASSIGN, lead)


def _may_change(actor: User, lead: Lead) -> bool:
    if not policy.has_grant(actor, LEAD, Action.CHANGE):
        return False
    if lead.owner_id is None:  # a pool lead: claimed first, or worked by who may assign it
        return policy.can(actor, Action.CHANGE, lead) or _may_assign(actor, lead)
    return policy.can(actor, Action.CHANGE, lead)


def _works_on_leads(user: User | None) -> bool:
    return isinstance(user, User) and user.is_active and policy.has_grant(user, LEAD, Action.CHANGE)


# --- cleaning ------------------------------------------------------------------------------


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    """Normalise and validate the given lead fields: one ValidationError naming every bad
    field. Phones become E.164, e-mails lower-case domains, places their standard names."""
    errors: dict[str, list[ValidationError]] = {}

    def fail(name: str, message: str, code: str) -> None:
        errors.setdefault(name, []).append(ValidationError(message, code=code))

    unknown = set(values) - set(FIELDS)
    for name in sorted(unknown):
        fail(name, _("Unknown field."), "unknown_field")
    cleaned: dict[str, Any] = {}
    limits = {
        "name": 120,
        "company": 200,
        "title": 120,
        "source_detail": 200,
        "industry": 30,
        "province": 30,
        "city": 30,
    }
    places = {"province": normalize.province, "city": normalize.city}
    for name, limit in limits.items():
        if name in values:
            text = places.get(name, normalize.text)(values[name])
            if len(text) > limit:
                fail(name, _("At most %(n)d characters.") % {"n": limit}, "max_length")
            cleaned[name] = text
    if "name" in cleaned and not cleaned["name"]:
        fail("name", _("Enter the lead's name."), "required")
    for name in ("description", "need"):
        if name in values:
            text = normalize.text(values[name], multiline=True)
            if len(text) > 10000:
                fail(name, _("At most %(n)d characters.") % {"n": 10000}, "max_length")
            cleaned[name] = text
    for name, normalizer in (
        ("phone", normalize_phone),
        ("email", normalize_email),
        ("website", normalize_website),
    ):
        if name in values:
            try:
                cleaned[name] = normalizer(str(values[name] or ""))
            except ValidationError as error:
                errors.setdefault(name, []).append(error)
    for name, choices, blank in (("source", LeadSource, False), ("rating", LeadRating, True)):
        if name in values:
            value = values[name] or ""
            if (blank and value == "") or value in choices.values:
                cleaned[name] = value
            else:
                fail(
                    name,
                    _("“%(value)s” is not one of: %(choices)s.")
                    % {"value": value, "choices": ", ".join(choices.values)},
                    "invalid_choice",
                )
    if "budget" in values:
        raw = values["budget"]
        if raw in (None, ""):
            cleaned["budget"] = None
        else:
            try:
                budget = raw if isinstance(raw, Decimal) else Decimal(str(raw).replace(",", ""))
            except (InvalidOperation, ValueError):
                budget = None
                fail("budget", _("Enter an amount such as 50000 or 12500.50."), "invalid")
            if budget is not None:
                if not budget.is_finite() or budget < 0 or budget >= Decimal("1e16"):
                    fail("budget", _("Enter an amount of zero or more."), "invalid")
                elif budget != budget.quantize(Decimal("0.01")):
                    fail("budget", _("At most two decimal places."), "invalid")
                else:
                    cleaned["budget"] = budget
    if "currency" in values:
        currency = str(values["currency"] or "CNY").upper()
        if currency not in CURRENCIES:
            fail(
                "currency",
                _("“%(value)s” is not one of: %(choices)s.")
                % {"value": currency, "choices": ", ".join(CURRENCIES)},
                "invalid_choice",
            )
        cleaned["currency"] = currency
    if "is_decision_maker" in values:
        value = values["is_decision_maker"]
        if value in (None, ""):
            cleaned["is_decision_maker"] = None
        elif isinstance(value, bool):
            cleaned["is_decision_maker"] = value
        elif str(value).lower() in ("true", "1", "yes", "是"):
            cleaned["is_decision_maker"] = True
        elif str(value).lower() in ("false", "0", "no", "否"):
            cleaned["is_decision_maker"] = False
        else:
            fail("is_decision_maker", _("Answer yes, no or leave it empty."), "invalid")
    if "expected_purchase_date" in values:
        value = values["expected_purchase_date"]
        if isinstance(value, dt.datetime):
            value = value.date()
        if isinstance(value, dt.date) or value in (None, ""):
            cleaned["expected_purchase_date"] = value or None
        else:
            try:
                cleaned["expected_purchase_date"] = normalize.parse_date(value)
            except ValidationError as error:
                errors.setdefault("expected_purchase_date", []).append(error)
    if "custom" in values:
        custom = values["custom"] or {}
        if not isinstance(custom, dict):
            fail("custom", _("Custom fields are given as names and values."), "invalid")
        cleaned["custom"] = custom
    if errors:
        raise ValidationError(errors)
    return cleaned


def _fill_keys(lead: Lead) -> None:
    """The blind indexes of the phone and e-mail and the folded company name."""
    lead.phone_blind = identifier_blind("phone", lead.phone) if lead.phone else ""
    lead.email_blind = identifier_blind("email", lead.email) if lead.email else ""
    lead.company_key = normalize.company_key(lead.company) if lead.company else ""


def _announce(topic: str, lead: Lead, **extra: Any) -> None:
    events.emit(topic, {"type": LEAD, "id": lead.pk, **extra})


def _url(lead: Lead) -> str:
    try:
        return reverse("sales:lead_detail", args=[lead.pk])
    except Exception:  # noqa: BLE001  (pages not wired: no link)
        return ""


def default_pool() -> LeadPool | None:
    return LeadPool.objects.filter(is_default=True, is_active=True).select_related("team").first()


def _place_in_pool(lead: Lead, pool: LeadPool | None) -> None:
    lead.pool = pool
    lead.team_id = pool.team_id if pool is not None else None


# --- assignment rules ----------------------------------------------------------------------


def lead_filter_fields() -> dict:
    from ..lead_filtering import lead_fields

    return {spec.name: spec for spec in lead_fields()}


def rule_matches(rule: LeadAssignmentRule, lead: Lead) -> bool:
    """Whether the rule's condition holds for the (saved) lead; an empty condition always
    holds. A condition that no longer validates (a field removed) holds for nothing."""
    from rapport.core import filterlang

    condition = rule.condition or {}
    if not condition or condition in ({"and": []}, {"or": []}):
        return True
    fields = lead_filter_fields()
    try:
        tree = filterlang.validate(condition, fields)
    except ValidationError:
        return False
    return Lead.objects.filter(pk=lead.pk).filter(filterlang.to_q(tree, fields)).exists()


def _team_people(team: Team) -> list[User]:
    people = (
        User.objects.filter(Q(teams=team) | Q(led_teams=team), is_active=True)
        .distinct()
        .order_by("id")
    )
    return [person for person in people if policy.has_grant(person, LEAD, Action.CHANGE)]


def _round_robin(rule: LeadAssignmentRule) -> User | None:
    rule = LeadAssignmentRule.objects.select_for_update().get(pk=rule.pk)
    people = _team_people(rule.team) if rule.team_id else []
    if not people:
        return None
    after = [person for person in people if person.pk > (rule.last_assigned_id or 0)]
    chosen = (after or people)[0]
    rule.last_assigned = chosen
    rule.save(update_fields=["last_assigned", "updated_at"])
    return chosen


def open_counts(user_ids: list[int]) -> dict[int, int]:
    """Open leads each person holds."""
    rows = (
        Lead.objects.filter(owner_id__in=user_ids, status__in=OPEN_LEAD_STATUSES)
        .values("owner_id")
        .annotate(n=Count("id"))
    )
    return {row["owner_id"]: row["n"] for row in rows}


def _least_loaded(rule: LeadAssignmentRule) -> User | None:
    people = _team_people(rule.team) if rule.team_id else []
    if not people:
        return None
    counts = open_counts([person.pk for person in people])
    return min(people, key=lambda person: (counts.get(person.pk, 0), person.pk))


def _by_rules(lead: Lead) -> tuple[User | None, LeadPool | None, LeadAssignmentRule | None]:
    """Where the rules send the lead: (owner or None, pool, the rule that decided)."""
    rules = LeadAssignmentRule.objects.filter(is_active=True).select_related("pool", "team", "user")
    for rule in rules:
        if not rule_matches(rule, lead):
            continue
        pool = rule.pool if rule.pool_id and rule.pool.is_active else default_pool()
        owner: User | None = None
        if rule.method == AssignmentMethod.ROUND_ROBIN:
            owner = _round_robin(rule)
        elif rule.method == AssignmentMethod.LEAST_LOADED:
            owner = _least_loaded(rule)
        elif rule.method == AssignmentMethod.USER:
            owner = rule.user if _works_on_leads(rule.user) else None
        return owner, pool, rule
    return None, default_pool(), None


def _notify_assigned(actor: User, lead: Lead) -> None:
    from ..lead_notifications import lead_assigned

    lead_assigned(actor=actor, lead=lead, url=_url(lead))


# --- create and change ---------------------------------------------------------------------


def lead_create(
    *,
    actor: User,
    owner: User | None = _UNCHANGED,
    pool: LeadPool | None = None,
    **values: Any,
) -> Lead:
    """A new lead (status new) with its phone (E.164), e-mail, blind indexes and folded
    company name. `owner` given: it is theirs (someone else than the actor needs the assign
    grant); `owner=None`: it goes into `pool` (default: the default pool); not given: the
    assignment rules decide. Audited; emits record.created and lead.created (and
    lead.assigned when someone got it). The new owner is told."""
    if not policy.has_grant(actor, LEAD, Action.ADD):
        raise _denied(_("You may not add leads."))
    values.setdefault("name", "")
    cleaned = _clean(values)
    if owner is not _UNCHANGED and owner is not None:
        if not _works_on_leads(owner):
            raise _invalid("owner", _("Choose an active person who works on leads."), "invalid")
        if owner.pk != actor.pk and not policy.has_grant(actor, LEAD, Action.ASSIGN):
            raise _invalid("owner", _("You may not give leads to other people."), "invalid")
    if pool is not None and not pool.is_active:
        raise _invalid("pool", _("Choose an active pool."), "invalid")
    lead = Lead(**cleaned, created_by=actor if actor.pk else None, status=LeadStatus.NEW)
    _fill_keys(lead)
    with transaction.atomic():
        rule = None
        if owner is _UNCHANGED:
            _place_in_pool(lead, default_pool())
            lead.save()
            chosen, chosen_pool, rule = _by_rules(lead)
            _place_in_pool(lead, pool or chosen_pool)
            lead.owner = chosen
        else:
            _place_in_pool(lead, pool or default_pool())
            lead.owner = owner
        if lead.owner_id is not None:
            lead.assigned_at = timezone.now()
        lead.save()
        extra = {"rule": rule.pk} if rule is not None else None
        trail.record(
            actor=actor,
            action="create",
            target=lead,
            changes=trail.diff({}, trail.snapshot(lead, TRACKED)),
            extra=extra,
        )
        if lead.owner_id is not None:
            _notify_assigned(actor, lead)
        _announce("record.created", lead)
        _announce("lead.created", lead, owner=lead.owner_id, pool=lead.pool_id)
        if lead.owner_id is not None:
            _announce("lead.assigned", lead, owner=lead.owner_id, previous=None)
    return lead


def lead_update(*, actor: User, lead: Lead, **values: Any) -> Lead:
    """Change the lead's own fields (qualification included); owner, pool and status change
    through their own services. Audited with before/after."""
    if not _may_change(actor, lead):
        raise _denied()
    cleaned = _clean(values)
    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=lead.pk)
        if lead.status == LeadStatus.CONVERTED:
            raise _invalid("status", _("A converted lead cannot be changed."), "converted")
        before = trail.snapshot(lead, TRACKED)
        for name, value in cleaned.items():
            setattr(lead, name, value)
        _fill_keys(lead)
        changed = trail.diff(before, trail.snapshot(lead, TRACKED))
        if not changed:
            return lead
        lead.save()
        trail.record(actor=actor, action="update", target=lead, changes=changed)
        _announce("record.updated", lead, fields=sorted(changed))
    return lead


def may_delete(user: User, lead: Lead) -> bool:
    """The delete grant over the lead (a pool lead: as who may assign it); or the person who
    entered it (by hand or by import), while nobody has worked it yet (new, no follow-up)."""
    if (
        lead.created_by_id == user.pk
        and lead.status == LeadStatus.NEW
        and policy.has_grant(user, LEAD, Action.ADD)
        and not LeadFollowUp.objects.filter(lead=lead).exists()
    ):
        return True
    if not policy.has_grant(user, LEAD, Action.DELETE):
        return False
    return policy.can(user, Action.DELETE, lead) or (
        lead.owner_id is None and _may_assign(user, lead)
    )


def lead_delete(*, actor: User, lead: Lead) -> None:
    """Delete a lead entered by mistake (spam through the web form, a wrong import) with its
    follow-ups; who may: `may_delete` (rolling back an import needs it for each lead). A
    converted lead stays: its account, contact and opportunity came from it. Audited with
    what it held; its search entry goes with it."""
    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=lead.pk)
        if not may_delete(actor, lead):
            raise _denied()
        if lead.status == LeadStatus.CONVERTED:
            raise _invalid(
                "status",
                _(
                    "A converted lead cannot be deleted: its account, contact and opportunity "
                    "came from it."
                ),
                "converted",
            )
        snapshot = trail.snapshot(lead, TRACKED)
        pk, name = lead.pk, str(lead)
        lead.delete()
        trail.record(
            actor=actor,
            action="delete",
            object_type=LEAD,
            object_id=pk,
            object_repr=name,
            changes={field: [value, None] for field, value in snapshot.items() if value},
        )
        events.emit("record.deleted", {"type": LEAD, "id": pk})


def _set_status(actor: User, lead: Lead, status: str, values: dict[str, Any], reason: str) -> Lead:
    if status not in LeadStatus.values or status == LeadStatus.CONVERTED:
        raise _invalid(
            "status",
            _("“%(value)s” is not one of: %(choices)s.")
            % {
                "value": status,
                "choices": ", ".join(s for s in LeadStatus.values if s != LeadStatus.CONVERTED),
            },
            "invalid_choice",
        )
    if not _may_change(actor, lead):
        raise _denied()
    cleaned = _clean(values)
    reason = normalize.text(reason)
    if status == LeadStatus.DISQUALIFIED and not reason:
        raise _invalid("reason", _("Say why the lead is disqualified."), "required")
    if len(reason) > 300:
        raise _invalid("reason", _("At most %(n)d characters.") % {"n": 300}, "max_length")
    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=lead.pk)
        if status != lead.status and status not in MOVES[LeadStatus(lead.status)]:
            raise _invalid(
                "status",
                _("A lead cannot go from “%(from)s” to “%(to)s”.")
                % {"from": lead.get_status_display(), "to": LeadStatus(status).label},
                "invalid_move",
            )
        before = trail.snapshot(lead, TRACKED)
        for name, value in cleaned.items():
            setattr(lead, name, value)
        lead.status = status
        lead.disqualify_reason = reason if status == LeadStatus.DISQUALIFIED else ""
        changed = trail.diff(before, trail.snapshot(lead, TRACKED))
        if not changed:
            return lead
        lead.save()
        trail.record(actor=actor, action="status", target=lead, changes=changed)
        _announce("record.updated", lead, fields=sorted(changed))
        if "status" in changed:
            _announce("lead.status_changed", lead, status=status, previous=before["status"])
    return lead


def lead_set_status(*, actor: User, lead: Lead, status: str, reason: str = "") -> Lead:
    """Move the lead along new → working → qualified (or disqualified, with a reason; a
    disqualified lead may be worked again). Conversion has its own service."""
    return _set_status(actor, lead, status, {}, reason)


def lead_qualify(*, actor: User, lead: Lead, **qualification: Any) -> Lead:
    """Record the qualification (BANT: budget, decision maker, need, expected purchase date,
    and the rating) and mark the lead qualified."""
    unknown = set(qualification) - set(QUALIFICATION)
    if unknown:
        raise ValidationError(
            {name: ValidationError(_("Unknown field."), "unknown_field") for name in unknown}
        )
    return _set_status(actor, lead, LeadStatus.QUALIFIED, qualification, "")


def lead_disqualify(*, actor: User, lead: Lead, reason: str) -> Lead:
    """Mark the lead disqualified with the reason (required)."""
    return _set_status(actor, lead, LeadStatus.DISQUALIFIED, {}, reason)


def lead_follow_up_add(
    *,
    actor: User,
    lead: Lead,
    summary: str,
    kind: str = LeadFollowUp.Kind.CALL,
    occurred_at: dt.datetime | None = None,
    next_step: str = "",
) -> LeadFollowUp:
    """A call, visit or note on the lead by its owner (or someone who may change it); it
    keeps the lead with its rep (`last_follow_up_at`) and moves a new lead to working."""
    if not _may_change(actor, lead):
        raise _denied()
    errors: dict[str, list[ValidationError]] = {}
    summary = normalize.text(summary, multiline=True)
    if not summary:
        errors["summary"] = [ValidationError(_("Say what happened."), code="required")]
    elif len(summary) > 10000:
        errors["summary"] = [
            ValidationError(_("At most %(n)d characters.") % {"n": 10000}, code="max_length")
        ]
    if kind not in LeadFollowUp.Kind.values:
        errors["kind"] = [
            ValidationError(
                _("“%(value)s” is not one of: %(choices)s.")
                % {"value": kind, "choices": ", ".join(LeadFollowUp.Kind.values)},
                code="invalid_choice",
            )
        ]
    now = timezone.now()
    occurred_at = occurred_at or now
    if occurred_at > now + dt.timedelta(minutes=5):
        errors["occurred_at"] = [
            ValidationError(_("A follow-up cannot be in the future."), code="future")
        ]
    elif occurred_at.year < 2000:
        # (a year-881 time even rendered with a local-mean-time offset no client can parse)
        errors["occurred_at"] = [
            ValidationError(_("Enter a time from the year 2000 on."), code="too_early")
        ]
    next_step = normalize.text(next_step)
    if len(next_step) > 300:
        errors["next_step"] = [
            ValidationError(_("At most %(n)d characters.") % {"n": 300}, code="max_length")
        ]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=lead.pk)
        if lead.status == LeadStatus.CONVERTED:
            raise _invalid("status", _("A converted lead cannot be changed."), "converted")
        follow_up = LeadFollowUp.objects.create(
            lead=lead,
            kind=kind,
            summary=summary,
            occurred_at=occurred_at,
            next_step=next_step,
            author=actor,
        )
        fields = ["last_follow_up_at", "updated_at"]
        if lead.last_follow_up_at is None or occurred_at > lead.last_follow_up_at:
            lead.last_follow_up_at = occurred_at
        if lead.status == LeadStatus.NEW:
            lead.status = LeadStatus.WORKING
            fields.append("status")
        lead.save(update_fields=fields)
        trail.record(
            actor=actor,
            action="follow_up",
            target=lead,
            changes={"follow_up": [None, f"{kind}: {summary[:200]}"]},
            extra={"follow_up": follow_up.pk},
        )
        _announce("record.updated", lead, fields=["last_follow_up_at"])
    return follow_up


# --- the pool: claim, release, assign, return ------------------------------------------------


def _day_start(now: dt.datetime) -> dt.datetime:
    local = timezone.localtime(now)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def held_count(user: User, pool: LeadPool) -> int:
    """Open leads of `pool` that `user` holds."""
    return Lead.objects.filter(owner=user, pool=pool, status__in=OPEN_LEAD_STATUSES).count()


def claims_today(user: User, now: dt.datetime | None = None) -> int:
    """Leads `user` claimed today (from the audit trail: one event per claim)."""
    from rapport.audit.models import AuditEvent

    return AuditEvent.objects.filter(
        actor=user,
        action="claim",
        object_type="sales.lead",
        at__gte=_day_start(now or timezone.now()),
    ).count()


def lead_claim(*, actor: User, lead: Lead) -> Lead:
    """Take a lead from its pool. The actor must be able to claim from the pool (its team's
    members; everyone without a team), hold fewer than the pool's `max_held` open leads and
    have claimed fewer than `claims_per_day` today. The lead's row is locked, and so is the
    actor's, so of two claims of one lead one wins, and one person's claims are counted
    one at a time."""
    with transaction.atomic():
        # one person's claims one at a time: their limits are counted consistently
        User.objects.select_for_update().filter(pk=actor.pk).first()
        locked = Lead.objects.select_for_update().filter(pk=lead.pk).first()
        if locked is None:
            raise _denied()
        pool = LeadPool.objects.filter(pk=locked.pool_id).select_related("team").first()
        if not may_claim_from(actor, pool):
            raise _denied(_("You may not claim leads from this pool."), "pool_denied")
        if locked.owner_id is not None:
            raise _invalid("lead", _("Someone has already taken this lead."), "taken")
        if locked.status not in OPEN_LEAD_STATUSES:
            raise _invalid("lead", _("Only open leads can be claimed."), "not_open")
        if pool.max_held is not None and held_count(actor, pool) >= pool.max_held:
            raise _invalid(
                "lead",
                _("You already hold %(n)d open leads from this pool, the most allowed.")
                % {"n": pool.max_held},
                "max_held",
            )
        if pool.claims_per_day is not None and claims_today(actor) >= pool.claims_per_day:
            raise _invalid(
                "lead",
                _("You have claimed %(n)d leads today, the most allowed.")
                % {"n": pool.claims_per_day},
                "claims_per_day",
            )
        locked.owner = actor
        locked.assigned_at = timezone.now()
        locked.save(update_fields=["owner", "assigned_at", "updated_at"])
        trail.record(
            actor=actor, action="claim", target=locked, changes={"owner": [None, actor.pk]}
        )
        _announce("record.updated", locked, fields=["owner"])
        _announce("lead.assigned", locked, owner=actor.pk, previous=None, claimed=True)
    return locked


def lead_release(*, actor: User, lead: Lead, reason: str = "") -> Lead:
    """Give a lead back to its pool (the default pool when it has none): its owner does,
    or someone with the assign grant over it."""
    reason = normalize.text(reason)[:300]
    with transaction.atomic():
        locked = Lead.objects.select_for_update().get(pk=lead.pk)
        if locked.owner_id is None:
            raise _invalid("lead", _("This lead is already in the pool."), "in_pool")
        if locked.owner_id != actor.pk and not _may_assign(actor, locked):
            raise _denied()
        if locked.owner_id == actor.pk and not policy.can(actor, Action.VIEW, locked):
            raise _denied()
        if locked.status not in OPEN_LEAD_STATUSES:
            raise _invalid("lead", _("Only open leads go back to the pool."), "not_open")
        previous = locked.owner_id
        if locked.pool_id is None:
            _place_in_pool(locked, default_pool())
        locked.owner = None
        locked.assigned_at = None
        locked.save()
        trail.record(
            actor=actor,
            action="release",
            target=locked,
            changes={"owner": [previous, None]},
            extra={"reason": reason} if reason else None,
        )
        _announce("record.updated", locked, fields=["owner"])
        _announce("lead.returned", locked, previous=previous, reason="released")
    return locked


def lead_assign(
    *, actor: User, lead: Lead, owner: User | None, pool: LeadPool | None = _UNCHANGED
) -> Lead:
    """Give the lead to `owner` (None: back to its pool), optionally moving it to another
    pool. Needs the assign grant over the lead; the new owner is told."""
    if not _may_assign(actor, lead):
        raise _denied()
    if owner is not None and not _works_on_leads(owner):
        raise _invalid("owner", _("Choose an active person who works on leads."), "invalid")
    if pool is not _UNCHANGED and pool is not None and not pool.is_active:
        raise _invalid("pool", _("Choose an active pool."), "invalid")
    with transaction.atomic():
        locked = Lead.objects.select_for_update().get(pk=lead.pk)
        if locked.status == LeadStatus.CONVERTED:
            raise _invalid("status", _("A converted lead cannot be changed."), "converted")
        before = trail.snapshot(locked, ("owner", "pool", "team"))
        if pool is not _UNCHANGED:
            _place_in_pool(locked, pool)
        elif locked.pool_id is None:
            _place_in_pool(locked, default_pool())
        previous = locked.owner_id
        locked.owner = owner
        locked.assigned_at = timezone.now() if owner is not None else None
        changed = trail.diff(before, trail.snapshot(locked, ("owner", "pool", "team")))
        if not changed:
            return locked
        locked.save()
        trail.record(actor=actor, action="assign", target=locked, changes=changed)
        _announce("record.updated", locked, fields=sorted(changed))
        if "owner" in changed and owner is not None:
            _notify_assigned(actor, locked)
            _announce("lead.assigned", locked, owner=owner.pk, previous=previous)
        elif "owner" in changed:
            _announce("lead.returned", locked, previous=previous, reason="assigned")
    return locked


def _stale(pool: LeadPool, now: dt.datetime):
    cutoff = now - dt.timedelta(days=pool.return_after_days or 0)
    return (
        Lead.objects.filter(pool=pool, owner__isnull=False, status__in=OPEN_LEAD_STATUSES)
        .annotate(touched=Coalesce("last_follow_up_at", "assigned_at", "created_at"))
        .filter(touched__lt=cutoff)
    )


def leads_return_stale(*, now: dt.datetime | None = None, limit: int = 1000) -> int:
    """Owned open leads whose last follow-up (or assignment) is older than their pool's
    `return_after_days` go back to the pool: owner cleared, `returned_count` + 1, the rep
    told. Each lead is its own transaction (a crash loses nothing done), the condition is
    checked again under the row lock (a lead followed up meanwhile stays), and a second run
    finds nothing more to do. Returns how many went back."""
    from ..lead_intake import LEAD_SYSTEM
    from ..lead_notifications import lead_returned

    now = now or timezone.now()
    actor = LEAD_SYSTEM.get()
    returned = 0
    pools = LeadPool.objects.filter(is_active=True, return_after_days__isnull=False)
    for pool in pools:
        while returned < limit:
            ids = list(_stale(pool, now).order_by("id").values_list("id", flat=True)[:100])
            if not ids:
                break
            for pk in ids:
                with transaction.atomic():
                    locked = _stale(pool, now).select_for_update().filter(pk=pk).first()
                    if locked is None:
                        continue
                    previous = locked.owner
                    locked.owner = None
                    locked.assigned_at = None
                    locked.returned_count += 1
                    locked.save(
                        update_fields=["owner", "assigned_at", "returned_count", "updated_at"]
                    )
                    trail.record(
                        actor=actor,
                        action="return",
                        target=locked,
                        changes={
                            "owner": [previous.pk, None],
                            "returned_count": [locked.returned_count - 1, locked.returned_count],
                        },
                        extra={"days": pool.return_after_days},
                    )
                    lead_returned(
                        lead=locked,
                        previous=previous,
                        days=pool.return_after_days,
                        url=_url(locked),
                    )
                    _announce("record.updated", locked, fields=["owner", "returned_count"])
                    _announce("lead.returned", locked, previous=previous.pk, reason="stale")
                    returned += 1
                if returned >= limit:
                    break
    return returned


# --- duplicates ----------------------------------------------------------------------------


class LeadDuplicate:
    """A record that may be the same person or company: a lead, an account or a contact."""

    def __init__(self, kind: str, record: Any, score: int, reasons: list[str]) -> None:
        self.kind = kind
        self.record = record
        self.score = score
        self.reasons = reasons

    @property
    def url(self) -> str:
        names = {
            "lead": "sales:lead_detail",
            "account": "customers:account_detail",
            "contact": "customers:contact_detail",
        }
        try:
            return reverse(names[self.kind], args=[self.record.pk])
        except Exception:  # noqa: BLE001
            return ""


def _quiet(normalizer, value: Any) -> str:
    try:
        return normalizer(str(value or "")) if value else ""
    except ValidationError:
        return ""


def lead_duplicates(
    *, user: User, values: dict[str, Any], exclude_id: int | None = None, limit: int = 5
) -> list[LeadDuplicate]:
    """Records `user` may see that look like the lead about to be saved: leads with the same
    phone or e-mail (blind index) or the same folded company name; contacts with the same
    phone or e-mail (`ContactIdentifier`); accounts with the company's name (exact or alike,
    through the duplicate finder of dataops) — best first."""
    from rapport.core import duplicates
    from rapport.customers.models import ContactIdentifier

    from ..lead_selectors import leads_visible

    phone = _quiet(normalize_phone, values.get("phone"))
    email = _quiet(normalize_email, values.get("email"))
    company = normalize.text(values.get("company"))
    key = normalize.company_key(company) if company else ""
    found: list[LeadDuplicate] = []

    condition = Q()
    if phone:
        condition |= Q(phone_blind=identifier_blind("phone", phone))
    if email:
        condition |= Q(email_blind=identifier_blind("email", email))
    if key:
        condition |= Q(company_key=key)
    if condition:
        leads = leads_visible(user).filter(condition).select_related("owner")
        if exclude_id is not None:
            leads = leads.exclude(pk=exclude_id)
        for lead in leads.order_by("-id")[:limit]:
            reasons, score = [], 0
            if phone and lead.phone_blind == identifier_blind("phone", phone):
                reasons.append(_("same phone"))
                score = max(score, 90)
            if email and lead.email_blind == identifier_blind("email", email):
                reasons.append(_("same e-mail"))
                score = max(score, 95)
            if key and lead.company_key == key:
                reasons.append(_("same company"))
                score = max(score, 85)
            found.append(LeadDuplicate("lead", lead, score, reasons))

    wanted = [(kind, value) for kind, value in (("phone", phone), ("email", email)) if value]
    if wanted:
        blinds = Q()
        for kind, value in wanted:
            blinds |= Q(kind=kind, blind=identifier_blind(kind, value))
        matches: dict[int, set[str]] = {}
        for contact_id, kind in ContactIdentifier.objects.filter(blinds).values_list(
            "contact_id", "kind"
        )[:50]:
            matches.setdefault(contact_id, set()).add(kind)
        contacts = Contact.objects.restrict(user, Action.VIEW).filter(pk__in=matches)
        for contact in contacts.order_by("-id")[:limit]:
            kinds = matches[contact.pk]
            reasons = [_("same e-mail")] * ("email" in kinds) + [_("same phone")] * (
                "phone" in kinds
            )
            found.append(LeadDuplicate("contact", contact, 95 if "email" in kinds else 90, reasons))

    if company:
        seen: set[int] = set()
        exact = Account.objects.restrict(user, Action.VIEW).filter(name=company)
        for account in exact[:limit]:
            seen.add(account.pk)
            found.append(LeadDuplicate("account", account, 100, [_("same company name")]))
        for candidate in duplicates.find(user, Account.security_type, {"name": company}):
            if candidate.record.pk not in seen:
                seen.add(candidate.record.pk)
                found.append(
                    LeadDuplicate("account", candidate.record, candidate.score, candidate.reasons)
                )
    found.sort(key=lambda item: -item.score)
    return found


# --- conversion ----------------------------------------------------------------------------


def _account_values(lead: Lead) -> dict[str, Any]:
    values: dict[str, Any] = {"name": lead.company or lead.name}
    if lead.industry in Industry.values:
        values["industry"] = lead.industry
    for name in ("province", "city", "website"):
        if getattr(lead, name):
            values[name] = getattr(lead, name)
    return values


def lead_convert(
    *,
    actor: User,
    lead: Lead,
    account: Account | None = None,
    contact: Contact | None = None,
    create_opportunity: bool = True,
    opportunity_name: str = "",
    amount: Decimal | None = None,
    pipeline: Any = None,
) -> Lead:
    """Turn a qualified (or any open) lead into a customer, in ONE transaction: the account
    (the one given — an existing match — or a new one from the lead's company), the
    contact (the one given, which gets the lead's phone, e-mail and the account when it
    lacks them, or a new one), and an opportunity in `pipeline` (its default when None)
    for `amount`, all through their own services and grants; the lead is marked converted
    with links to the three. Any refusal leaves nothing stored. Audited."""
    from rapport.customers import services as customers

    if not _may_change(actor, lead):
        raise _denied()
    opportunity_name = normalize.text(opportunity_name)
    if create_opportunity and amount is not None:
        try:
            amount = Decimal(str(amount))
        except (InvalidOperation, ValueError):
            raise _invalid("amount", _("Enter an amount of zero or more."), "invalid") from None
        if not amount.is_finite() or amount < 0:
            raise _invalid("amount", _("Enter an amount of zero or more."), "invalid")
    if account is not None and not policy.can(actor, Action.VIEW, account):
        raise _invalid("account", _("Choose an account you can see."), "invalid")
    if contact is not None and not policy.can(actor, Action.VIEW, contact):
        raise _invalid("contact", _("Choose a contact you can see."), "invalid")
    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=lead.pk)
        if lead.status not in OPEN_LEAD_STATUSES:
            raise _invalid("status", _("Only open leads can be converted."), "not_open")
        owner = lead.owner or actor
        if account is None:
            account = customers.account_create(actor=actor, owner=owner, **_account_values(lead))
        if contact is None:
            contact = customers.contact_create(
                actor=actor,
                owner=owner,
                name=lead.name,
                title=lead.title,
                phones=[lead.phone] if lead.phone else [],
                emails=[lead.email] if lead.email else [],
                accounts=[account],
            )
        else:
            changes: dict[str, Any] = {}
            if lead.phone and lead.phone not in (contact.phones or []):
                changes["phones"] = [*(contact.phones or []), lead.phone]
            if lead.email and lead.email not in (contact.emails or []):
                changes["emails"] = [*(contact.emails or []), lead.email]
            if not contact.accounts.filter(pk=account.pk).exists():
                changes["accounts"] = [*contact.accounts.all(), account]
            if changes:
                customers.contact_update(actor=actor, contact=contact, **changes)
        opportunity = None
        if create_opportunity:
            opportunity = _create_opportunity(
                actor=actor,
                owner=owner,
                lead=lead,
                account=account,
                contact=contact,
                name=opportunity_name or (lead.company or lead.name),
                amount=amount,
                pipeline=pipeline,
            )
        before = trail.snapshot(lead, ("status",))
        lead.status = LeadStatus.CONVERTED
        lead.converted_at = timezone.now()
        lead.converted_account = account
        lead.converted_contact = contact
        lead.converted_opportunity = opportunity
        if lead.owner_id is None:
            lead.owner = actor
        lead.save()
        trail.record(
            actor=actor,
            action="convert",
            target=lead,
            changes={
                **trail.diff(before, trail.snapshot(lead, ("status",))),
                "converted_account": [None, account.pk],
                "converted_contact": [None, contact.pk],
                "converted_opportunity": [None, opportunity.pk if opportunity else None],
            },
        )
        _announce("record.updated", lead, fields=["status"])
        _announce(
            "lead.converted",
            lead,
            account=account.pk,
            contact=contact.pk,
            opportunity=opportunity.pk if opportunity else None,
        )
    return lead


def _create_opportunity(
    *,
    actor: User,
    owner: User,
    lead: Lead,
    account: Account,
    contact: Contact,
    name: str,
    amount: Decimal | None,
    pipeline: Any,
) -> Any:
    """The opportunity of a converted lead, through the pipeline services."""
    from . import pipeline as pipeline_services

    values: dict[str, Any] = {
        "actor": actor,
        "name": name,
        "account": account,
        "contact": contact,
        "owner": owner,
        "source_lead": lead,
    }
    if amount is not None:
        values["amount"] = amount
    if pipeline is not None:
        values["pipeline"] = pipeline
    return pipeline_services.opportunity_create(**values)


# --- pools and rules (administration) --------------------------------------------------------

POOL_FIELDS = (
    "name",
    "name_en",
    "team",
    "max_held",
    "claims_per_day",
    "return_after_days",
    "is_default",
    "is_active",
)
RULE_FIELDS = (
    "name",
    "name_en",
    "position",
    "condition",
    "method",
    "team",
    "user",
    "pool",
    "is_active",
)


def _clean_pool(values: dict[str, Any], pool: LeadPool | None) -> dict[str, Any]:
    errors: dict[str, list[ValidationError]] = {}
    for name in sorted(set(values) - set(POOL_FIELDS)):
        errors[name] = [ValidationError(_("Unknown field."), code="unknown_field")]
    cleaned = dict(values)
    for name in ("name", "name_en"):
        if name in cleaned:
            cleaned[name] = normalize.text(cleaned[name])
            if len(cleaned[name]) > 100:
                errors.setdefault(name, []).append(
                    ValidationError(_("At most %(n)d characters.") % {"n": 100}, code="max_length")
                )
    if "name" in cleaned:
        if not cleaned["name"]:
            errors.setdefault("name", []).append(
                ValidationError(_("Enter a name."), code="required")
            )
        elif (
            LeadPool.objects.filter(name=cleaned["name"])
            .exclude(pk=getattr(pool, "pk", None))
            .exists()
        ):
            errors.setdefault("name", []).append(
                ValidationError(_("Another pool has this name."), code="duplicate")
            )
    for name in ("max_held", "claims_per_day", "return_after_days"):
        if name in cleaned:
            value = cleaned[name]
            if value in (None, ""):
                cleaned[name] = None
                continue
            try:
                number = int(value)
            except (TypeError, ValueError):
                number = -1
            if number < 1 or number > 100000:
                errors.setdefault(name, []).append(
                    ValidationError(
                        _("Enter a whole number of 1 or more, or leave it empty."), code="invalid"
                    )
                )
            else:
                cleaned[name] = number
    if "team" in cleaned and cleaned["team"] is not None and not isinstance(cleaned["team"], Team):
        errors.setdefault("team", []).append(ValidationError(_("Choose a team."), code="invalid"))
    for name in ("is_default", "is_active"):
        if name in cleaned:
            cleaned[name] = bool(cleaned[name])
    if errors:
        raise ValidationError(errors)
    return cleaned


def _save_pool(actor: User, pool: LeadPool, cleaned: dict[str, Any], action: str) -> LeadPool:
    before = {} if action == "create" else trail.snapshot(pool, POOL_FIELDS)
    for name, value in cleaned.items():
        setattr(pool, name, value)
    with transaction.atomic():
        if pool.is_default:  # one default pool: the new one takes over
            LeadPool.objects.filter(is_default=True).exclude(pk=pool.pk).update(is_default=False)
        changed = trail.diff(before, trail.snapshot(pool, POOL_FIELDS))
        if not changed and action != "create":
            return pool
        pool.save()
        if "team" in changed and action != "create":
            Lead.objects.filter(pool=pool).update(team=pool.team)
        trail.record(actor=actor, action=action, target=pool, changes=changed)
    return pool


def pool_create(*, actor: User, **values: Any) -> LeadPool:
    """A lead pool; `is_default` makes it the default (the former default stops being it)."""
    _require_manage(actor)
    values.setdefault("name", "")
    return _save_pool(actor, LeadPool(), _clean_pool(values, None), "create")


def pool_update(*, actor: User, pool: LeadPool, **values: Any) -> LeadPool:
    """Change a pool; a new team moves the visibility of its leads with it."""
    _require_manage(actor)
    return _save_pool(actor, pool, _clean_pool(values, pool), "update")


def _clean_rule(values: dict[str, Any], rule: LeadAssignmentRule) -> dict[str, Any]:
    from rapport.core import filterlang

    errors: dict[str, list[ValidationError]] = {}
    for name in sorted(set(values) - set(RULE_FIELDS)):
        errors[name] = [ValidationError(_("Unknown field."), code="unknown_field")]
    cleaned = dict(values)
    for name in ("name", "name_en"):
        if name in cleaned:
            cleaned[name] = normalize.text(cleaned[name])[:100]
    if "name" in cleaned and not cleaned["name"]:
        errors["name"] = [ValidationError(_("Enter a name."), code="required")]
    if "position" in cleaned:
        try:
            cleaned["position"] = max(0, int(cleaned["position"] or 0))
        except (TypeError, ValueError):
            errors["position"] = [ValidationError(_("Enter a whole number."), code="invalid")]
    if "condition" in cleaned:
        condition = cleaned["condition"] or {}
        try:
            if isinstance(condition, str):
                condition = filterlang.parse(condition) if condition.strip() else {}
            if condition:
                condition = filterlang.validate(condition, lead_filter_fields())
                condition = _jsonable(condition)
        except ValidationError as error:
            errors["condition"] = [
                ValidationError(message, code="invalid") for message in error.messages
            ]
        cleaned["condition"] = condition
    if "method" in cleaned and cleaned["method"] not in AssignmentMethod.values:
        errors["method"] = [
            ValidationError(
                _("“%(value)s” is not one of: %(choices)s.")
                % {"value": cleaned["method"], "choices": ", ".join(AssignmentMethod.values)},
                code="invalid_choice",
            )
        ]
    if "is_active" in cleaned:
        cleaned["is_active"] = bool(cleaned["is_active"])
    merged = {name: getattr(rule, name) for name in ("method", "team", "user", "pool")}
    merged.update({k: v for k, v in cleaned.items() if k in merged})
    method = merged["method"]
    if (
        method in (AssignmentMethod.ROUND_ROBIN, AssignmentMethod.LEAST_LOADED)
        and merged["team"] is None
    ):
        errors.setdefault("team", []).append(
            ValidationError(_("Choose the team whose people get the leads."), code="required")
        )
    if method == AssignmentMethod.USER and not _works_on_leads(merged["user"]):
        errors.setdefault("user", []).append(
            ValidationError(_("Choose an active person who works on leads."), code="required")
        )
    if merged["pool"] is not None and not merged["pool"].is_active:
        errors.setdefault("pool", []).append(
            ValidationError(_("Choose an active pool."), code="invalid")
        )
    if errors:
        raise ValidationError(errors)
    return cleaned


def _jsonable(tree: Any) -> Any:
    """A validated filter tree as JSON (dates and decimals as text)."""
    from rapport.core import filterlang

    if isinstance(tree, dict):
        return {key: _jsonable(value) for key, value in tree.items()}
    if isinstance(tree, list):
        return [_jsonable(value) for value in tree]
    return filterlang._json_value(tree)


def rule_create(*, actor: User, **values: Any) -> LeadAssignmentRule:
    """An assignment rule (condition in the filter language, text or tree)."""
    _require_manage(actor)
    values.setdefault("name", "")
    rule = LeadAssignmentRule()
    cleaned = _clean_rule(values, rule)
    for name, value in cleaned.items():
        setattr(rule, name, value)
    with transaction.atomic():
        rule.save()
        trail.record(
            actor=actor,
            action="create",
            target=rule,
            changes=trail.diff({}, trail.snapshot(rule, RULE_FIELDS)),
        )
    return rule


def rule_update(*, actor: User, rule: LeadAssignmentRule, **values: Any) -> LeadAssignmentRule:
    _require_manage(actor)
    cleaned = _clean_rule(values, rule)
    before = trail.snapshot(rule, RULE_FIELDS)
    for name, value in cleaned.items():
        setattr(rule, name, value)
    changed = trail.diff(before, trail.snapshot(rule, RULE_FIELDS))
    if not changed:
        return rule
    with transaction.atomic():
        rule.save()
        trail.record(actor=actor, action="update", target=rule, changes=changed)
    return rule


def rule_delete(*, actor: User, rule: LeadAssignmentRule) -> None:
    _require_manage(actor)
    with transaction.atomic():
        trail.record(
            actor=actor,
            action="delete",
            target=rule,
            changes=trail.diff(trail.snapshot(rule, RULE_FIELDS), {}),
        )
        rule.delete()
