"""Data-quality scores of accounts and contacts: rules, scoring, the computing job, reads.

Each active record gets four component scores (0–100) and a weighted total:

- completeness: the weight of the rule's fields that are filled, over the weight of all of
  them (model fields, "custom.<key>" custom fields, and "contacts" / "accounts": linked to
  at least one active contact / account);
- validity: of the values that can be checked (phones in E.164, e-mails, the unified social
  credit code and ID number check characters, web addresses, custom phone, e-mail, web and
  date fields, dates between 1900 and 2100), the share that passes — the same normalizers
  and validators the services use;
- freshness: 100 while the last change or interaction is at most the rule's days old, then
  down in a straight line to 0 at three times that;
- duplicates: 100 less the best score of an open "possible duplicate" pair with another
  active record.

Reasons are stored as codes and field names, never the values (phones, e-mails and ID
numbers are encrypted at rest; their scores must not leak them). The computing job walks
each type in id order in batches, the checkpoint (type, last id) committed with the batch,
so a restart resumes where it stopped; nightly on celery beat and on demand. Scores are not
recomputed when a record is saved: pages say when they were computed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Avg, Count, Max, Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rapport.core import errors, jobs, trail
from rapport.core.customfields import values as custom_values
from rapport.core.customfields.models import FieldType
from rapport.core.models import Job
from rapport.customers import validators
from rapport.customers.models import Account, AccountContact, Contact, Interaction
from rapport.identity import policy
from rapport.identity.models import Action, Department, User

from .models import DuplicatePair, PairState, QualityRule, QualityScore

KIND = "dataops.quality_compute"
QUALITY = "dataops.quality"  # the grant to change the rules and recompute (manage)
ACCOUNT = Account.security_type
CONTACT = Contact.security_type
MODELS: dict[str, type[Account] | type[Contact]] = {ACCOUNT: Account, CONTACT: Contact}
COMPONENTS = ("completeness", "validity", "freshness", "duplicates")
BATCH = 500
FIELD_WEIGHT_MAX = 10
COMPONENT_WEIGHT_MAX = 100
FRESHNESS_MAX_DAYS = 3650
# Bands of the distribution: (code, lowest score, highest score).
BANDS = (("poor", 0, 49), ("fair", 50, 69), ("good", 70, 89), ("excellent", 90, 100))
BAND_LABELS = {
    "poor": gettext_lazy("Poor (below 50)"),
    "fair": gettext_lazy("Fair (50–69)"),
    "good": gettext_lazy("Good (70–89)"),
    "excellent": gettext_lazy("Excellent (90+)"),
}
COMPONENT_LABELS = {
    "completeness": gettext_lazy("Completeness"),
    "validity": gettext_lazy("Validity"),
    "freshness": gettext_lazy("Freshness"),
    "duplicates": gettext_lazy("Duplicates"),
}
TYPE_LABELS = {ACCOUNT: gettext_lazy("Accounts"), CONTACT: gettext_lazy("Contacts")}

# Fields a rule may weigh, besides the custom fields of the type.
RULE_FIELDS = {
    ACCOUNT: (
        "short_name",
        "credit_code",
        "industry",
        "province",
        "city",
        "address",
        "phone",
        "website",
        "parent",
        "contacts",
    ),
    CONTACT: ("title", "phones", "emails", "id_number", "accounts"),
}
# Not columns of the record: whether it is linked to an active contact / account.
LINK_FIELDS = {
    "contacts": gettext_lazy("at least one contact"),
    "accounts": gettext_lazy("linked to an account"),
}
DEFAULT_RULES: dict[str, dict[str, Any]] = {
    ACCOUNT: {
        "fields": {
            "credit_code": 3,
            "industry": 2,
            "province": 2,
            "city": 2,
            "address": 1,
            "phone": 3,
            "website": 1,
            "contacts": 2,
        },
        "freshness_days": 180,
        "weights": {"completeness": 40, "validity": 30, "freshness": 15, "duplicates": 15},
    },
    # ID numbers are left out on purpose: collect them only where a purpose needs them (PIPL).
    CONTACT: {
        "fields": {"title": 1, "phones": 3, "emails": 3, "accounts": 3},
        "freshness_days": 180,
        "weights": {"completeness": 40, "validity": 30, "freshness": 15, "duplicates": 15},
    },
}
EARLIEST_DATE, LATEST_DATE = date(1900, 1, 1), date(2100, 12, 31)
CHECKED_CUSTOM_TYPES = (
    FieldType.DATE,
    FieldType.DATETIME,
    FieldType.EMAIL,
    FieldType.PHONE,
    FieldType.URL,
)


# --- rules ---------------------------------------------------------------------------------


def rule_for(object_type: str) -> QualityRule:
    """The stored rule of `object_type`, or an unsaved one with the defaults."""
    rule = QualityRule.objects.filter(object_type=object_type).first()
    return rule if rule is not None else default_rule(object_type)


def default_rule(object_type: str) -> QualityRule:
    defaults = DEFAULT_RULES[object_type]
    return QualityRule(
        object_type=object_type,
        fields=dict(defaults["fields"]),
        freshness_days=defaults["freshness_days"],
        weights=dict(defaults["weights"]),
    )


def rules_all() -> dict[str, QualityRule]:
    stored = {rule.object_type: rule for rule in QualityRule.objects.filter(object_type__in=MODELS)}
    return {t: stored.get(t) or default_rule(t) for t in MODELS}


def field_labels(object_type: str) -> dict[str, str]:
    """{field name: label in the reader's language} of every field a rule may weigh."""
    model = MODELS[object_type]
    labels: dict[str, str] = {}
    for name in RULE_FIELDS[object_type]:
        if name in LINK_FIELDS:
            labels[name] = capfirst(str(LINK_FIELDS[name]))
        else:
            labels[name] = capfirst(str(model._meta.get_field(name).verbose_name))
    for custom in custom_values.definitions(object_type):
        labels[f"custom.{custom.key}"] = custom.display_label
    return labels


def _whole(value: Any, *, low: int, high: int, field_name: str) -> int:
    bounds = {"low": low, "high": high}
    if isinstance(value, bool):
        value = None
    try:
        number = int(value)
        if isinstance(value, float) and number != value:
            raise ValueError
    except (TypeError, ValueError):
        raise ValidationError(
            {field_name: _("Enter a whole number from %(low)d to %(high)d.") % bounds},
            code="invalid",
        ) from None
    if not low <= number <= high:
        raise ValidationError(
            {field_name: _("Enter a whole number from %(low)d to %(high)d.") % bounds},
            code="out_of_range",
        )
    return number


def _clean_rule(
    object_type: str,
    fields: dict[str, Any] | None,
    freshness_days: Any,
    weights: dict[str, Any] | None,
) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    if fields is not None:
        if not isinstance(fields, dict):
            raise ValidationError({"fields": _("Give {field: weight}.")}, code="invalid")
        known = field_labels(object_type)
        unknown = sorted(str(name) for name in fields if name not in known)
        if unknown:
            raise ValidationError(
                {"fields": _("No such field to weigh: %(names)s.") % {"names": ", ".join(unknown)}},
                code="unknown_field",
            )
        weighed = {
            name: _whole(weight, low=0, high=FIELD_WEIGHT_MAX, field_name=f"fields.{name}")
            for name, weight in fields.items()
        }
        cleaned["fields"] = {name: weight for name, weight in weighed.items() if weight}
        if not cleaned["fields"]:
            raise ValidationError(
                {"fields": _("Give at least one field a weight above 0.")}, code="required"
            )
    if freshness_days is not None:
        cleaned["freshness_days"] = _whole(
            freshness_days, low=1, high=FRESHNESS_MAX_DAYS, field_name="freshness_days"
        )
    if weights is not None:
        if not isinstance(weights, dict):
            raise ValidationError({"weights": _("Give {component: weight}.")}, code="invalid")
        unknown = sorted(str(name) for name in weights if name not in COMPONENTS)
        if unknown:
            raise ValidationError(
                {
                    "weights": _("No such component: %(names)s (use %(known)s).")
                    % {"names": ", ".join(unknown), "known": ", ".join(COMPONENTS)}
                },
                code="unknown_component",
            )
        merged = dict(rule_for(object_type).weights)
        for name, weight in weights.items():
            merged[name] = _whole(
                weight, low=0, high=COMPONENT_WEIGHT_MAX, field_name=f"weights.{name}"
            )
        if not any(merged.get(name) for name in COMPONENTS):
            raise ValidationError(
                {"weights": _("Give at least one component a weight above 0.")}, code="required"
            )
        cleaned["weights"] = {name: merged.get(name, 0) for name in COMPONENTS}
    return cleaned


def rule_update(
    *,
    actor: User,
    object_type: str,
    fields: dict[str, Any] | None = None,
    freshness_days: Any = None,
    weights: dict[str, Any] | None = None,
) -> QualityRule:
    """Change how `object_type` is scored (only what is given). Needs the manage grant on
    data quality; each value checked (weights are whole numbers, fields must exist);
    audited with before/after. Scores change at the next computation."""
    if not policy.has_grant(actor, QUALITY, Action.MANAGE):
        raise errors.PermissionDenied()
    if object_type not in MODELS:
        raise ValidationError(
            {"type": _("Use one of: %(types)s.") % {"types": ", ".join(MODELS)}}, code="invalid"
        )
    cleaned = _clean_rule(object_type, fields, freshness_days, weights)
    names = ["fields", "freshness_days", "weights"]
    with transaction.atomic():
        rule = QualityRule.objects.select_for_update().filter(object_type=object_type).first()
        creating = rule is None
        if rule is None:
            rule = default_rule(object_type)
        before = {} if creating else trail.snapshot(rule, names)
        for name, value in cleaned.items():
            setattr(rule, name, value)
        rule.updated_by = actor
        rule.save()
        changes = trail.diff(before, trail.snapshot(rule, names))
        trail.record(
            actor=actor,
            action="quality.rule_update",
            target=rule,
            changes=changes,
            extra={"type": object_type},
        )
    return rule


def rule_reset(*, actor: User, object_type: str) -> QualityRule:
    """Back to the defaults. Same grant and audit as `rule_update`."""
    defaults = DEFAULT_RULES.get(object_type)
    if defaults is None:
        return rule_update(actor=actor, object_type=object_type)  # refuses the type
    return rule_update(
        actor=actor,
        object_type=object_type,
        fields=defaults["fields"],
        freshness_days=defaults["freshness_days"],
        weights=defaults["weights"],
    )


# --- scoring -------------------------------------------------------------------------------


@dataclass
class Score:
    completeness: int = 100
    validity: int = 100
    freshness: int = 100
    duplicates: int = 100
    total: int = 100
    reasons: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class BatchFacts:
    """What scoring a batch of records needs beyond the records: read once per batch."""

    linked: set[int] = field(default_factory=set)
    last_interaction: dict[int, datetime] = field(default_factory=dict)
    pairs: dict[int, list[tuple[int, int]]] = field(default_factory=dict)  # id: [(other, score)]
    custom_fields: list[Any] = field(default_factory=list)


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _filled(record, name: str, facts: BatchFacts) -> bool:
    if name in LINK_FIELDS:
        return record.pk in facts.linked
    if name.startswith("custom."):
        return not _empty((record.custom or {}).get(name.removeprefix("custom.")))
    if name == "parent":
        return record.parent_id is not None
    return not _empty(getattr(record, name, None))


def _check(checker: Callable[[str], str], value: str) -> str | None:
    """The error code of `value`, or None when valid."""
    try:
        checker(value)
    except ValidationError as error:
        return error.code or "invalid"
    return None


def _phone_problem(value: str) -> str | None:
    problem = _check(validators.normalize_phone, value)
    if problem is None and validators.normalize_phone(value) != value:
        return "phone_not_e164"
    return problem


def _date_problem(kind: str, value: Any) -> str | None:
    text = str(value)
    if kind == FieldType.DATE:
        parsed = parse_date(text)
    else:
        moment = parse_datetime(text)
        parsed = moment.date() if moment is not None else None
    if parsed is None:
        return "date_invalid"
    if not EARLIEST_DATE <= parsed <= LATEST_DATE:
        return "date_implausible"
    return None


def _validity(record, object_type: str, facts: BatchFacts) -> tuple[int, list[dict[str, Any]]]:
    checks: list[tuple[str, str | None, int | None]] = []  # (field, problem, index)
    if object_type == ACCOUNT:
        if record.phone:
            checks.append(("phone", _phone_problem(record.phone), None))
        if record.credit_code:
            checks.append(
                ("credit_code", _check(validators.normalize_credit_code, record.credit_code), None)
            )
        if record.website:
            checks.append(("website", _check(validators.normalize_website, record.website), None))
    else:
        for index, phone in enumerate(record.phones or []):
            checks.append(("phones", _phone_problem(str(phone)), index))
        for index, email in enumerate(record.emails or []):
            checks.append(("emails", _check(validators.normalize_email, str(email)), index))
        if record.id_number:
            checks.append(
                ("id_number", _check(validators.normalize_id_number, record.id_number), None)
            )
    custom = record.custom or {}
    for definition in facts.custom_fields:
        value = custom.get(definition.key)
        if _empty(value) or definition.type not in CHECKED_CUSTOM_TYPES:
            continue
        name = f"custom.{definition.key}"
        problem = None
        if definition.type in (FieldType.DATE, FieldType.DATETIME):
            problem = _date_problem(definition.type, value)
        if problem is None:
            try:
                custom_values.clean(object_type, {definition.key: value}, creating=False)
            except ValidationError:
                problem = "custom_invalid"
        checks.append((name, problem, None))
    reasons = [
        {"component": "validity", "code": problem, "field": name, **({"index": i} if i else {})}
        for name, problem, i in checks
        if problem is not None
    ]
    if not checks:
        return 100, reasons
    return round(100 * (len(checks) - len(reasons)) / len(checks)), reasons


def _freshness(record, rule: QualityRule, facts: BatchFacts, now: datetime):
    last = record.updated_at
    interaction = facts.last_interaction.get(record.pk)
    if interaction is not None and (last is None or interaction > last):
        last = interaction
    days = max(0, (now - last).days) if last is not None else 0
    limit = max(1, rule.freshness_days)
    if days <= limit:
        return 100, []
    score = max(0, round(100 * (1 - (days - limit) / (2 * limit))))
    return score, [{"component": "freshness", "code": "stale", "days": days, "limit": limit}]


def score_record(
    record, object_type: str, rule: QualityRule, facts: BatchFacts, now: datetime
) -> Score:
    """The score of one record under `rule` (pure: every lookup is in `facts`)."""
    reasons: list[dict[str, Any]] = []
    weighed = {name: w for name, w in (rule.fields or {}).items() if w}
    missing = [name for name in weighed if not _filled(record, name, facts)]
    total_weight = sum(weighed.values())
    completeness = (
        round(100 * (total_weight - sum(weighed[n] for n in missing)) / total_weight)
        if total_weight
        else 100
    )
    for name in sorted(missing, key=lambda n: (-weighed[n], n)):
        reasons.append(
            {"component": "completeness", "code": "missing", "field": name, "weight": weighed[name]}
        )
    validity, invalid = _validity(record, object_type, facts)
    freshness, stale = _freshness(record, rule, facts, now)
    pairs = sorted(facts.pairs.get(record.pk, []), key=lambda pair: (-pair[1], pair[0]))
    duplicates = 100 - max((score for _other, score in pairs), default=0)
    duplicate_reasons = [
        {"component": "duplicates", "code": "duplicate", "other": other, "score": score}
        for other, score in pairs[:3]
    ]
    components = {
        "completeness": completeness,
        "validity": validity,
        "freshness": freshness,
        "duplicates": max(0, duplicates),
    }
    weights = {name: int((rule.weights or {}).get(name, 0)) for name in COMPONENTS}
    weight_sum = sum(weights.values())
    total = (
        round(sum(components[name] * weights[name] for name in COMPONENTS) / weight_sum)
        if weight_sum
        else round(sum(components.values()) / len(COMPONENTS))
    )
    return Score(
        total=total,
        reasons=[*reasons, *invalid, *stale, *duplicate_reasons],
        **components,
    )


def open_pairs(object_type: str) -> dict[int, list[tuple[int, int]]]:
    """{record id: [(other id, pair score)]} of the open possible duplicates of the type
    (read once per run: the pairs are few next to the records)."""
    found: dict[int, list[tuple[int, int]]] = defaultdict(list)
    rows = DuplicatePair.objects.filter(object_type=object_type, state=PairState.OPEN)
    for first, second, score in rows.values_list("first_id", "second_id", "score").iterator(
        chunk_size=5000
    ):
        found[first].append((second, score))
        found[second].append((first, score))
    return dict(found)


def batch_facts(
    object_type: str,
    ids: list[int],
    pairs: dict[int, list[tuple[int, int]]],
    now: datetime,
) -> BatchFacts:
    """Links, last interactions and open pairs (with an active other record) of `ids`."""
    facts = BatchFacts(custom_fields=list(custom_values.definitions(object_type)))
    interactions = Interaction.objects.filter(is_active=True, occurred_at__lte=now)
    if object_type == ACCOUNT:
        facts.linked = set(
            AccountContact.objects.filter(account_id__in=ids, contact__is_active=True)
            .values_list("account_id", flat=True)
            .distinct()
        )
        latest = (
            interactions.filter(account_id__in=ids)
            .values("account_id")
            .annotate(last=Max("occurred_at"))
            .values_list("account_id", "last")
        )
        facts.last_interaction = dict(latest)
    else:
        facts.linked = set(
            AccountContact.objects.filter(contact_id__in=ids, account__is_active=True)
            .values_list("contact_id", flat=True)
            .distinct()
        )
        latest = dict(
            interactions.filter(contact_id__in=ids)
            .values("contact_id")
            .annotate(last=Max("occurred_at"))
            .values_list("contact_id", "last")
        )
        present = Interaction.participant_contacts.through.objects.filter(
            contact_id__in=ids, interaction__is_active=True, interaction__occurred_at__lte=now
        )
        for contact_id, last in (
            present.values("contact_id")
            .annotate(last=Max("interaction__occurred_at"))
            .values_list("contact_id", "last")
        ):
            if contact_id not in latest or last > latest[contact_id]:
                latest[contact_id] = last
        facts.last_interaction = latest
    mine = {pk: pairs[pk] for pk in ids if pk in pairs}
    others = {other for found in mine.values() for other, _score in found}
    if others:
        active = set(
            MODELS[object_type]
            .objects.filter(pk__in=others, is_active=True)
            .values_list("pk", flat=True)
        )
        mine = {
            pk: [(other, score) for other, score in found if other in active]
            for pk, found in mine.items()
        }
    facts.pairs = {pk: found for pk, found in mine.items() if found}
    return facts


def score_batch(
    object_type: str,
    records: list,
    rule: QualityRule,
    pairs: dict[int, list[tuple[int, int]]],
    now: datetime,
) -> list[QualityScore]:
    """Score `records` and store the scores (one upsert); returns them."""
    with custom_values.remembered_definitions():
        facts = batch_facts(object_type, [record.pk for record in records], pairs, now)
        rows = []
        for record in records:
            score = score_record(record, object_type, rule, facts, now)
            rows.append(
                QualityScore(
                    object_type=object_type,
                    record_id=record.pk,
                    total=score.total,
                    completeness=score.completeness,
                    validity=score.validity,
                    freshness=score.freshness,
                    duplicates=score.duplicates,
                    reasons=score.reasons,
                    owner_id=record.owner_id,
                    department_id=record.owner.department_id if record.owner_id else None,
                    computed_at=now,
                )
            )
    QualityScore.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["object_type", "record_id"],
        update_fields=[
            "total",
            "completeness",
            "validity",
            "freshness",
            "duplicates",
            "reasons",
            "owner",
            "department",
            "computed_at",
        ],
    )
    return rows


def _records(object_type: str, after: int) -> list:
    model = MODELS[object_type]
    return list(
        model.objects.filter(is_active=True, pk__gt=after)
        .select_related("owner")
        .order_by("pk")[:BATCH]
    )


# --- the job -------------------------------------------------------------------------------


def compute_start(*, actor: User | None) -> Job:
    """A computing job (or the unfinished one, to resume). Starting one from a page, the API
    or the CLI needs the manage grant; the nightly schedule starts one without an actor."""
    if actor is not None and not policy.has_grant(actor, QUALITY, Action.MANAGE):
        raise errors.PermissionDenied()
    unfinished = (
        Job.objects.filter(kind=KIND, state__in=[Job.State.QUEUED, Job.State.RUNNING])
        .order_by("-id")
        .first()
    )
    if unfinished is not None:
        return unfinished
    total = sum(model.objects.filter(is_active=True).count() for model in MODELS.values())
    return jobs.job_create(actor=actor, kind=KIND, title="Data-quality scores", total=total)


# A job whose worker reported within this long is taken to be in hand.
LIVE = timedelta(minutes=10)


def in_hand(job: Job) -> bool:
    """Whether a worker is on `job` (or about to be): running with a recent heartbeat, or
    queued moments ago. Starting another worker on it would only do the work twice."""
    recent = timezone.now() - LIVE
    if job.state == Job.State.RUNNING:
        return job.heartbeat_at is not None and job.heartbeat_at > recent
    return job.state == Job.State.QUEUED and job.created_at > recent


def compute_request(*, actor: User) -> tuple[Job, bool]:
    """ "Recompute now": the job, and whether a worker must be queued for it — not when the
    unfinished job it returns is already in hand. Needs the manage grant."""
    waiting = last_job(running_only=True)
    job = compute_start(actor=actor)
    return job, waiting is None or not in_hand(job)


def _cancelled(job: Job) -> bool:
    return Job.objects.filter(pk=job.pk, state=Job.State.CANCELLED).exists()


def compute_run(job: Job, *, progress: Callable[[Job], None] | None = None) -> Job:
    """Score every active account and contact from the job's checkpoint on, batch by batch
    (each batch's scores and checkpoint in one transaction), drop the scores of records no
    longer active, and finish the job with the averages."""
    jobs.job_start(job=job)
    checkpoint = dict(job.checkpoint or {})
    done: list[str] = list(checkpoint.get("done", []))
    processed = job.processed
    rules = rules_all()
    try:
        for object_type in MODELS:
            if object_type in done:
                continue
            after = (
                int(checkpoint.get("after") or 0) if checkpoint.get("type") == object_type else 0
            )
            pairs = open_pairs(object_type)
            while True:
                records = _records(object_type, after)
                if not records:
                    break
                if _cancelled(job):
                    job.refresh_from_db()
                    return job
                with transaction.atomic():
                    score_batch(object_type, records, rules[object_type], pairs, timezone.now())
                    after = records[-1].pk
                    processed += len(records)
                    jobs.job_progress(
                        job=job,
                        processed=processed,
                        succeeded=processed,
                        total=max(job.total, processed),
                        checkpoint={"type": object_type, "after": after, "done": done},
                    )
                if progress is not None:
                    progress(job)
            with transaction.atomic():
                model = MODELS[object_type]
                QualityScore.objects.filter(object_type=object_type).exclude(
                    record_id__in=model.objects.filter(is_active=True).values("pk")
                ).delete()
                done.append(object_type)
                jobs.job_progress(job=job, checkpoint={"type": "", "after": 0, "done": done})
    except Exception as error:
        jobs.job_progress(job=job, error={"message": str(error)[:500]})
        jobs.job_finish(job=job, state=Job.State.FAILED)
        raise
    averages = {
        object_type: QualityScore.objects.filter(object_type=object_type).aggregate(
            average=Avg("total"), count=Count("id")
        )
        for object_type in MODELS
    }
    result = {
        object_type: {
            "count": values["count"],
            "average": round(values["average"]) if values["average"] is not None else None,
        }
        for object_type, values in averages.items()
    }
    return jobs.job_finish(job=job, result={"types": result})


def last_job(*, running_only: bool = False) -> Job | None:
    found = Job.objects.filter(kind=KIND)
    if running_only:
        found = found.filter(state__in=[Job.State.QUEUED, Job.State.RUNNING])
    return found.order_by("-id").first()


# --- reads ---------------------------------------------------------------------------------


def visible_scores(user, object_type: str | None = None) -> QuerySet[QualityScore]:
    """Scores of the active records `user` may see (of one type, or of both)."""
    condition = Q(pk__in=[])
    for code, model in MODELS.items():
        if object_type is not None and code != object_type:
            continue
        visible = model.objects.restrict(user, Action.VIEW)
        if not visible.query.is_empty():
            condition |= Q(
                object_type=code, record_id__in=visible.filter(is_active=True).values("pk")
            )
    return QualityScore.objects.filter(condition)


def narrowed(
    scores: QuerySet[QualityScore], *, owner: int | None = None, department: int | None = None
) -> QuerySet[QualityScore]:
    """Only one owner's records, or one department's (and the departments below it)."""
    if owner is not None:
        scores = scores.filter(owner_id=owner)
    if department is not None:
        path = Department.objects.filter(pk=department).values_list("path", flat=True).first()
        if path is None:
            return scores.none()
        scores = scores.filter(department__path__startswith=path)
    return scores


def summary(scores: QuerySet[QualityScore]) -> dict[str, Any]:
    """Count, average, component averages, distribution and when computed: one query."""
    aggregates: dict[str, Any] = {
        "count": Count("id"),
        "average": Avg("total"),
        "computed_at": Max("computed_at"),
        **{name: Avg(name) for name in COMPONENTS},
        **{
            f"band_{code}": Count("id", filter=Q(total__gte=low, total__lte=high))
            for code, low, high in BANDS
        },
    }
    values = scores.aggregate(**aggregates)
    count = values["count"] or 0

    def rounded(value) -> int | None:
        return None if value is None else round(value)

    return {
        "count": count,
        "average": rounded(values["average"]),
        "computed_at": values["computed_at"],
        "components": [
            {"code": name, "label": str(COMPONENT_LABELS[name]), "average": rounded(values[name])}
            for name in COMPONENTS
        ],
        "bands": [
            {
                "code": code,
                "label": str(BAND_LABELS[code]),
                "low": low,
                "high": high,
                "count": values[f"band_{code}"] or 0,
                "percent": round(100 * (values[f"band_{code}"] or 0) / count) if count else 0,
            }
            for code, low, high in BANDS
        ],
    }


GROUP_LIMIT = 50


def by_group(scores: QuerySet[QualityScore], group: str) -> list[dict[str, Any]]:
    """Average and count per owner or per department, weakest first (two queries)."""
    column = {"owner": "owner_id", "department": "department_id"}[group]
    rows = list(
        scores.values(column)
        .annotate(
            count=Count("id"),
            average=Avg("total"),
            poor=Count("id", filter=Q(total__lt=BANDS[1][1])),
        )
        .order_by("average", column)[:GROUP_LIMIT]
    )
    ids = [row[column] for row in rows if row[column] is not None]
    if group == "owner":
        names = {user.pk: str(user) for user in User.objects.filter(pk__in=ids)}
    else:
        names = {
            department.pk: str(department) for department in Department.objects.filter(pk__in=ids)
        }
    return [
        {
            "id": row[column],
            "name": names.get(row[column], "—") if row[column] is not None else "—",
            "count": row["count"],
            "average": round(row["average"]) if row["average"] is not None else None,
            "poor": row["poor"],
        }
        for row in rows
    ]


def with_records(user, scores: list[QualityScore]) -> list[QualityScore]:
    """Attach `.record` (visible to `user`, one query per type) and `.reason_texts`."""
    by_type: dict[str, set[int]] = defaultdict(set)
    for score in scores:
        by_type[score.object_type].add(score.record_id)
    records = {
        object_type: MODELS[object_type]
        .objects.restrict(user, Action.VIEW)
        .only("pk", "name", "owner_id")
        .in_bulk(list(ids))
        for object_type, ids in by_type.items()
    }
    labels = {object_type: field_labels(object_type) for object_type in by_type}
    for score in scores:
        score.record = records.get(score.object_type, {}).get(score.record_id)
        score.reason_texts = [
            reason_text(reason, labels.get(score.object_type, {})) for reason in score.reasons
        ]
    return scores


# --- reason texts ---------------------------------------------------------------------------

_INVALID = {
    "phone_invalid": gettext_lazy("%(field)s is not a valid phone number"),
    "phone_not_e164": gettext_lazy("%(field)s is not in international form (E.164)"),
    "email_invalid": gettext_lazy("%(field)s is not a valid e-mail address"),
    "website_invalid": gettext_lazy("%(field)s is not a valid web address"),
    "credit_code_length": gettext_lazy("%(field)s does not have 18 characters"),
    "credit_code_characters": gettext_lazy("%(field)s has characters it cannot have"),
    "credit_code_check_digit": gettext_lazy("%(field)s: the check character is wrong"),
    "id_number_format": gettext_lazy("%(field)s is not 18 characters of digits (and X)"),
    "id_number_birth": gettext_lazy("%(field)s: the birth date is not a real date"),
    "id_number_check_digit": gettext_lazy("%(field)s: the check character is wrong"),
    "date_invalid": gettext_lazy("%(field)s is not a date"),
    "date_implausible": gettext_lazy(
        "%(field)s is not a plausible date (before 1900 or after 2100)"
    ),
    "custom_invalid": gettext_lazy("%(field)s does not fit the field’s rules"),
}


def reason_text(reason: dict[str, Any], labels: dict[str, str]) -> str:
    """One reason in the reader's language, naming the field but never its value."""
    code = reason.get("code")
    name = str(reason.get("field") or "")
    label = labels.get(name, name)
    if reason.get("index"):
        label = f"{label} {int(reason['index']) + 1}"
    if code == "missing":
        if name == "contacts":
            return _("No contact")
        if name == "accounts":
            return _("Not linked to an account")
        return _("%(field)s is empty") % {"field": label}
    if code == "stale":
        return _("No change or interaction for %(days)d days (fresh for %(limit)d)") % {
            "days": reason.get("days", 0),
            "limit": reason.get("limit", 0),
        }
    if code == "duplicate":
        return _("Possible duplicate of record %(other)s (%(score)d%%)") % {
            "other": reason.get("other"),
            "score": reason.get("score", 0),
        }
    template = _INVALID.get(str(code))
    if template is not None:
        return str(template) % {"field": label}
    return _("%(field)s is not valid") % {"field": label}
