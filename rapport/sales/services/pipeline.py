"""Every write to opportunities, and to the pipelines, stages and lost reasons they move
through.

Each service checks the actor's grant (`policy`), validates the whole change (one
ValidationError naming every bad field; nothing stored), writes in one transaction with its
audit event (`rapport.core.trail`), and emits its events after commit: the generic
`record.created` / `record.updated` (search index, automation rules) and the opportunity's own
`stage.changed`, `opportunity.won`, `opportunity.lost`.

Stage rules: an opportunity enters a stage only with the stage's `required_fields` filled; a
lost stage needs a lost reason; entering a won or lost stage closes it (status, closed time,
probability, forecast category "closed"); leaving one reopens it. Every entry writes a
`StageChange` with the seconds spent in the stage it left.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from rapport.core import events, trail
from rapport.core.errors import PermissionDenied
from rapport.customers.models import Account, Contact
from rapport.identity import policy
from rapport.identity.models import Action, Team, User

from .. import lines as sales_lines
from .. import pricing
from ..models import (
    ForecastCategory,
    Lead,
    LostReason,
    Opportunity,
    OpportunityLine,
    OpportunityStatus,
    Pipeline,
    Stage,
    StageChange,
)

PIPELINE_MANAGE = ("sales.pipeline", Action.MANAGE)
# what the audit trail keeps of an opportunity
FIELDS = (
    "name",
    "account",
    "contact",
    "pipeline",
    "stage",
    "status",
    "amount",
    "currency",
    "probability",
    "expected_close_date",
    "closed_at",
    "forecast_category",
    "lost_reason",
    "lost_note",
    "next_step",
    "description",
    "owner",
    "source_lead",
)
# what `opportunity_update` (and a move's `values`) may change
EDITABLE = (
    "name",
    "account",
    "contact",
    "amount",
    "currency",
    "expected_close_date",
    "forecast_category",
    "next_step",
    "description",
    "lines",
)
# fields a stage may require before an opportunity enters it (`Stage.required_fields`)
REQUIRABLE = ("amount", "expected_close_date", "contact", "next_step", "description", "lines")
# forecast categories a rep may choose for an open opportunity ("closed" follows the stage)
OPEN_FORECAST = tuple(c for c in ForecastCategory.values if c != ForecastCategory.CLOSED)
MAX_AMOUNT = Decimal("10000000000000000")  # Decimal(18, 2)
# kanban order: ranks spaced by GAP so a drop between two cards renumbers only that card
GAP = 1024
_UNCHANGED: Any = object()

DEFAULT_PIPELINE = ("新业务", "New business")
DEFAULT_STAGES = (
    # name, English name, probability, won, lost
    ("初步接触", "Prospecting", 10, False, False),
    ("需求确认", "Qualification", 30, False, False),
    ("方案报价", "Proposal", 60, False, False),
    ("商务谈判", "Negotiation", 80, False, False),
    ("赢单", "Won", 100, True, False),
    ("输单", "Lost", 0, False, True),
)
DEFAULT_LOST_REASONS = (
    ("价格", "Price"),
    ("竞争对手", "Competitor"),
    ("预算取消", "No budget"),
    ("时机不对", "Timing"),
)


def requirable_fields() -> list[tuple[str, str]]:
    """(field, label) of the opportunity fields a stage may require, for the stage form."""
    labels = {
        "amount": Opportunity._meta.get_field("amount").verbose_name,
        "expected_close_date": Opportunity._meta.get_field("expected_close_date").verbose_name,
        "contact": Opportunity._meta.get_field("contact").verbose_name,
        "next_step": Opportunity._meta.get_field("next_step").verbose_name,
        "description": Opportunity._meta.get_field("description").verbose_name,
        "lines": _("products"),
    }
    return [(name, str(labels[name])) for name in REQUIRABLE]


# --- defaults --------------------------------------------------------------------------------


def ensure_default_pipeline(sender=None, using: str = "default", **kwargs) -> bool:
    """After `migrate`: the default pipeline (新业务 / New business with its six stages) when
    there is no pipeline at all, and the usual lost reasons when there is none. Returns
    whether the pipeline was created."""
    if not LostReason.objects.using(using).exists():
        for position, (name, name_en) in enumerate(DEFAULT_LOST_REASONS, start=1):
            LostReason.objects.using(using).create(name=name, name_en=name_en, position=position)
    if Pipeline.objects.using(using).exists():
        return False
    with transaction.atomic(using=using):
        pipeline = Pipeline.objects.using(using).create(
            name=DEFAULT_PIPELINE[0], name_en=DEFAULT_PIPELINE[1], is_default=True, position=1
        )
        _create_stages(pipeline, DEFAULT_STAGES, using=using)
    return True


def _create_stages(pipeline: Pipeline, rows, *, using: str = "default") -> list[Stage]:
    return [
        Stage.objects.using(using).create(
            pipeline=pipeline,
            name=name,
            name_en=name_en,
            position=position,
            probability=probability,
            is_won=won,
            is_lost=lost,
        )
        for position, (name, name_en, probability, won, lost) in enumerate(rows, start=1)
    ]


def default_pipeline() -> Pipeline:
    """The default pipeline (created with its stages if there is none yet)."""
    pipeline = Pipeline.objects.filter(is_default=True, is_active=True).first()
    if pipeline is None:
        pipeline = Pipeline.objects.filter(is_active=True).order_by("position", "id").first()
    if pipeline is None:
        ensure_default_pipeline()
        pipeline = Pipeline.objects.filter(is_active=True).order_by("position", "id").first()
    return pipeline


def first_open_stage(pipeline: Pipeline) -> Stage | None:
    return (
        pipeline.stages.filter(is_active=True, is_won=False, is_lost=False)
        .order_by("position", "id")
        .first()
    )


# --- helpers ---------------------------------------------------------------------------------


def _denied() -> PermissionDenied:
    return PermissionDenied(
        _("You may not do this to this opportunity."), code="opportunity_denied"
    )


def _require(actor: User, action: str, opportunity: Opportunity) -> None:
    if not policy.can(actor, action, opportunity):
        raise _denied()


def _require_manage(actor: User) -> None:
    if not policy.has_grant(actor, *PIPELINE_MANAGE):
        raise PermissionDenied(
            _("You may not change pipelines, stages or lost reasons."), code="pipeline_denied"
        )


Errors = dict[str, list[ValidationError]]


def _fail(errors: Errors, name: str, message: str, code: str) -> None:
    errors.setdefault(name, []).append(ValidationError(message, code=code))


def _raise(errors: Errors) -> None:
    if errors:
        raise ValidationError(errors)


def clean_amount(value: Any, *, name: str, errors: Errors) -> Decimal | None:
    """A money amount ≥ 0 with at most two decimals (never a float's rounding)."""
    if value is None or value == "":
        return Decimal("0")
    if isinstance(value, bool):
        _fail(errors, name, _("Enter a number."), "invalid")
        return None
    if isinstance(value, float):
        value = repr(value)
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        _fail(errors, name, _("Enter a number."), "invalid")
        return None
    if not amount.is_finite():
        _fail(errors, name, _("Enter a number."), "invalid")
        return None
    if amount < 0:
        _fail(errors, name, _("The amount cannot be negative."), "out_of_range")
        return None
    if amount >= MAX_AMOUNT:
        _fail(errors, name, _("The amount is too large."), "out_of_range")
        return None
    if amount != amount.quantize(Decimal("0.01")):
        _fail(errors, name, _("Use at most two decimal places."), "too_precise")
        return None
    return amount.quantize(Decimal("0.01"))


def _text(value: Any, *, name: str, limit: int, errors: Errors, required: bool = False) -> str:
    text = str(value or "").strip()
    if name in ("name", "next_step", "lost_note"):
        text = " ".join(text.split())
    if required and not text:
        _fail(errors, name, _("This field is required."), "required")
    elif len(text) > limit:
        _fail(errors, name, _("At most %(n)d characters.") % {"n": limit}, "max_length")
    return text


def _date(value: Any, *, name: str, errors: Errors) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        _fail(errors, name, _("Enter a date as YYYY-MM-DD."), "invalid")
        return None


def _clean(actor: User, values: Mapping[str, Any]) -> dict[str, Any]:
    """Normalise and validate the given opportunity fields; related records must be ones the
    actor may see (one they cannot see is refused as if it did not exist)."""
    errors: Errors = {}
    cleaned: dict[str, Any] = {}
    if "name" in values:
        cleaned["name"] = _text(
            values["name"], name="name", limit=200, errors=errors, required=True
        )
    if "account" in values:
        account = values["account"]
        if not (isinstance(account, Account) and policy.can(actor, Action.VIEW, account)):
            _fail(errors, "account", _("Choose an account you can see."), "invalid")
        cleaned["account"] = account
    if "contact" in values:
        contact = values["contact"]
        if contact is not None and not (
            isinstance(contact, Contact) and policy.can(actor, Action.VIEW, contact)
        ):
            _fail(errors, "contact", _("Choose a contact you can see."), "invalid")
        cleaned["contact"] = contact
    if "amount" in values:
        cleaned["amount"] = clean_amount(values["amount"], name="amount", errors=errors)
    if "currency" in values:
        currency = str(values["currency"] or "").strip().upper()
        if not (len(currency) == 3 and currency.isascii() and currency.isalpha()):
            _fail(
                errors,
                "currency",
                _("Enter a three-letter currency code such as CNY."),
                "invalid",
            )
        cleaned["currency"] = currency
    if "expected_close_date" in values:
        cleaned["expected_close_date"] = _date(
            values["expected_close_date"], name="expected_close_date", errors=errors
        )
    if "forecast_category" in values:
        category = values["forecast_category"]
        if category not in OPEN_FORECAST:
            _fail(
                errors,
                "forecast_category",
                _("“%(value)s” is not one of: %(choices)s.")
                % {"value": category, "choices": ", ".join(OPEN_FORECAST)},
                "invalid_choice",
            )
        cleaned["forecast_category"] = category
    if "next_step" in values:
        cleaned["next_step"] = _text(
            values["next_step"], name="next_step", limit=300, errors=errors
        )
    if "description" in values:
        cleaned["description"] = _text(
            values["description"], name="description", limit=20_000, errors=errors
        )
    if "source_lead" in values:
        lead = values["source_lead"]
        if lead is not None and not (
            isinstance(lead, Lead) and policy.can(actor, Action.VIEW, lead)
        ):
            _fail(errors, "source_lead", _("Choose a lead you can see."), "invalid")
        cleaned["source_lead"] = lead
    if "lines" in values:
        raw = values["lines"]
        if raw is None:
            cleaned["lines"] = None
        elif isinstance(raw, (list, tuple)):
            try:
                cleaned["lines"] = sales_lines.clean_lines(list(raw), required=False)
            except ValidationError as error:
                for name, problems in error.message_dict.items():
                    for problem, original in zip(problems, error.error_dict[name], strict=False):
                        _fail(errors, name, problem, original.code or "invalid")
        else:
            _fail(errors, "lines", _("Give the lines as a list."), "invalid")
    _raise(errors)
    return cleaned


def _line_amounts(clean_lines: Sequence[sales_lines.CleanLine]) -> tuple[list, Decimal]:
    """Each line's net amount (after its discount, before VAT) and their sum: an opportunity
    with products is worth what its lines are."""
    computed = sales_lines.compute(clean_lines, discount_percent=pricing.ZERO)
    amounts = [line.net_amount for line in computed.lines]
    return amounts, sum(amounts, pricing.ZERO)


def _store_lines(opportunity: Opportunity, clean_lines: Sequence[sales_lines.CleanLine]) -> None:
    amounts, _total = _line_amounts(clean_lines)
    OpportunityLine.objects.filter(opportunity=opportunity).delete()
    OpportunityLine.objects.bulk_create(
        [
            OpportunityLine(
                opportunity=opportunity,
                position=position,
                product=line.product,
                description=line.description,
                quantity=line.quantity,
                unit_price=line.unit_price,
                discount_percent=line.discount_percent,
                amount=amount,
            )
            for position, (line, amount) in enumerate(zip(clean_lines, amounts, strict=True), 1)
        ]
    )


def _lines_summary(clean_lines: Sequence[sales_lines.CleanLine]) -> list[dict[str, Any]]:
    return [
        {
            "product": line.product.pk if line.product else None,
            "description": line.description,
            "quantity": str(line.quantity),
            "unit_price": str(line.unit_price),
            "discount_percent": str(line.discount_percent),
        }
        for line in clean_lines
    ]


def _has_value(opportunity: Opportunity, name: str, line_count: int | None = None) -> bool:
    if name == "lines":
        if line_count is not None:
            return line_count > 0
        return opportunity.pk is not None and opportunity.lines.exists()
    value = getattr(opportunity, name, None)
    if name == "amount":
        return value is not None and Decimal(value) > 0
    return value not in (None, "")


def _missing_required(
    opportunity: Opportunity, stage: Stage, line_count: int | None = None
) -> list[str]:
    return [
        name
        for name in stage.required_fields or []
        if name in REQUIRABLE and not _has_value(opportunity, name, line_count)
    ]


def _required_errors(stage: Stage, missing: Sequence[str], errors: Errors) -> None:
    for name in missing:
        _fail(
            errors,
            name,
            _("Fill this in before moving to “%(stage)s”.") % {"stage": stage.display_name},
            "required_for_stage",
        )


def _top_rank(stage_id: int) -> int:
    """A rank above every open card of the column (the board's index answers it)."""
    first = (
        Opportunity.objects.filter(stage_id=stage_id, status=OpportunityStatus.OPEN)
        .order_by("board_rank", "id")
        .values_list("board_rank", flat=True)
        .first()
    )
    return 0 if first is None else first - GAP


def _announce(topic: str, opportunity: Opportunity, **extra: Any) -> None:
    events.emit(topic, {"type": Opportunity.security_type, "id": opportunity.pk, **extra})


# --- opportunities ---------------------------------------------------------------------------


def opportunity_create(
    *,
    actor: User,
    account: Account,
    name: str,
    pipeline: Pipeline | None = None,
    stage: Stage | None = None,
    amount: Decimal | int | str | None = None,
    currency: str | None = None,
    expected_close_date: date | str | None = None,
    contact: Contact | None = None,
    owner: User | None = None,
    source_lead: Lead | None = None,
    description: str = "",
    forecast_category: str | None = None,
    lines: Sequence[Mapping[str, Any]] | None = None,
    next_step: str = "",
) -> Opportunity:
    """A new open opportunity on an account the actor can see: in the given pipeline (the
    default one) and stage (its first open stage), at the stage's probability, owned by the
    actor unless another owner is given (within the actor's add grant). With product `lines`
    its amount is their net total. The entry stage's required fields must be filled; a won
    or lost stage is reached by moving, not at creation. Writes the first stage-history row;
    audited; `record.created` after commit."""
    if not policy.has_grant(actor, Opportunity.security_type, Action.ADD):
        raise _denied()
    from ..config import get_settings

    values: dict[str, Any] = {
        "name": name,
        "account": account,
        "contact": contact,
        "amount": amount,
        "currency": currency or get_settings().default_currency,
        "expected_close_date": expected_close_date,
        "forecast_category": forecast_category or ForecastCategory.PIPELINE,
        "description": description,
        "next_step": next_step,
        "source_lead": source_lead,
    }
    if lines is not None:
        values["lines"] = lines
    cleaned = _clean(actor, values)
    errors: Errors = {}
    if pipeline is None:
        pipeline = stage.pipeline if isinstance(stage, Stage) else default_pipeline()
    if not (isinstance(pipeline, Pipeline) and pipeline.is_active):
        _fail(errors, "pipeline", _("Choose an active pipeline."), "invalid")
    elif stage is None:
        stage = first_open_stage(pipeline)
        if stage is None:
            _fail(errors, "stage", _("This pipeline has no open stage."), "invalid")
    elif not (isinstance(stage, Stage) and stage.pipeline_id == pipeline.pk and stage.is_active):
        _fail(errors, "stage", _("Choose an active stage of this pipeline."), "invalid")
    elif stage.is_closed:
        _fail(
            errors,
            "stage",
            _("Create the opportunity in an open stage, then mark it won or lost."),
            "closed_stage",
        )
    if owner is not None and not (isinstance(owner, User) and owner.is_active):
        _fail(errors, "owner", _("Choose an active user."), "invalid")
    _raise(errors)
    clean_lines = cleaned.pop("lines", None) or []
    if clean_lines:
        cleaned["amount"] = _line_amounts(clean_lines)[1]
    opportunity = Opportunity(
        **cleaned,
        pipeline=pipeline,
        stage=stage,
        status=OpportunityStatus.OPEN,
        probability=stage.probability,
        owner=owner or actor,
        created_by=actor,
    )
    missing = _missing_required(opportunity, stage, line_count=len(clean_lines))
    if missing:
        _required_errors(stage, missing, errors)
        _raise(errors)
    if not policy.can(actor, Action.ADD, opportunity):
        raise ValidationError(
            {
                "owner": ValidationError(
                    _("You may not give opportunities to this person."), code="invalid"
                )
            }
        )
    with transaction.atomic():
        now = timezone.now()
        opportunity.stage_entered_at = now
        opportunity.board_rank = _top_rank(stage.pk)
        opportunity.save()
        if clean_lines:
            _store_lines(opportunity, clean_lines)
        StageChange.objects.create(
            opportunity=opportunity,
            from_stage=None,
            to_stage=stage,
            changed_at=now,
            changed_by=actor,
            seconds_in_from_stage=None,
            amount=opportunity.amount,
        )
        changes = trail.diff({}, trail.snapshot(opportunity, FIELDS))
        if clean_lines:
            changes["lines"] = [None, _lines_summary(clean_lines)]
        trail.record(actor=actor, action="create", target=opportunity, changes=changes)
        _announce("record.created", opportunity)
    return opportunity


def _lock(opportunity: Opportunity) -> Opportunity:
    return (
        Opportunity.objects.select_for_update(of=("self",))
        .select_related("stage")
        .get(pk=opportunity.pk)
    )


def _apply(opportunity: Opportunity, cleaned: dict[str, Any]) -> list | None:
    """Set cleaned fields on a locked opportunity; returns the clean lines when given (their
    total becomes the amount)."""
    clean_lines = cleaned.pop("lines", None) if "lines" in cleaned else None
    for name, value in cleaned.items():
        setattr(opportunity, name, value)
    if clean_lines:
        opportunity.amount = _line_amounts(clean_lines)[1]
    return clean_lines


def _editable_only(values: Mapping[str, Any]) -> None:
    unknown = set(values) - set(EDITABLE)
    if unknown:
        raise ValidationError(
            {name: ValidationError(_("Unknown field."), "unknown_field") for name in unknown}
        )


def opportunity_update(*, actor: User, opportunity: Opportunity, **changes: Any) -> Opportunity:
    """Change the opportunity's own fields (name, account, contact, amount, currency, expected
    close date, forecast category, next step, description, product `lines` — a list replaces
    every line, and their net total becomes the amount). Its stage changes through
    `opportunity_move`, its owner through `opportunity_assign`. A field the current stage
    requires cannot be emptied. Audited with before/after; `record.updated` after commit."""
    _editable_only(changes)
    _require(actor, Action.CHANGE, opportunity)
    cleaned = _clean(actor, changes)
    if "forecast_category" in cleaned and not opportunity.is_open:
        raise ValidationError(
            {
                "forecast_category": ValidationError(
                    _("A closed opportunity's forecast category is “closed”."), "closed"
                )
            }
        )
    with transaction.atomic():
        opportunity = _lock(opportunity)
        before = trail.snapshot(opportunity, FIELDS)
        clean_lines = _apply(opportunity, cleaned)
        line_count = len(clean_lines) if clean_lines is not None else None
        if "lines" in changes and clean_lines is None:
            line_count = 0
        errors: Errors = {}
        missing = [
            name
            for name in _missing_required(opportunity, opportunity.stage, line_count)
            if name in changes
        ]
        _required_errors(opportunity.stage, missing, errors)
        _raise(errors)
        changed = trail.diff(before, trail.snapshot(opportunity, FIELDS))
        if clean_lines is not None or ("lines" in changes and line_count == 0):
            old_lines = list(
                opportunity.lines.values_list(
                    "product_id", "description", "quantity", "unit_price", "discount_percent"
                )
            )
            new_lines = clean_lines or []
            if [
                (
                    ln.product.pk if ln.product else None,
                    ln.description,
                    ln.quantity,
                    ln.unit_price,
                    ln.discount_percent,
                )
                for ln in new_lines
            ] != old_lines:
                _store_lines(opportunity, new_lines)
                changed["lines"] = [len(old_lines), _lines_summary(new_lines)]
        if not changed:
            return opportunity
        opportunity.save()
        trail.record(actor=actor, action="update", target=opportunity, changes=changed)
        _announce("record.updated", opportunity, fields=sorted(changed))
    return opportunity


def opportunity_move(
    *,
    actor: User,
    opportunity: Opportunity,
    stage: Stage,
    lost_reason: LostReason | None = None,
    lost_note: str = "",
    values: Mapping[str, Any] | None = None,
) -> Opportunity:
    """Move the opportunity to another stage of its pipeline, applying `values` (editable
    fields, e.g. what the stage requires) first. The stage's required fields must then have
    values; a lost stage needs a lost reason. Entering a won or lost stage closes the
    opportunity (status, closed time, the stage's probability, forecast "closed"); leaving
    one reopens it (forecast "pipeline"). Writes a stage-history row with the seconds spent
    in the stage left; the card goes to the top of its new column. One ValidationError names
    every missing field and nothing is stored. Audited; `record.updated`, `stage.changed`
    and `opportunity.won` / `opportunity.lost` after commit."""
    values = dict(values or {})
    _editable_only(values)
    _require(actor, Action.CHANGE, opportunity)
    errors: Errors = {}
    if not (
        isinstance(stage, Stage)
        and stage.pipeline_id == opportunity.pipeline_id
        and stage.is_active
    ):
        _fail(
            errors, "stage", _("Choose an active stage of this opportunity's pipeline."), "invalid"
        )
        _raise(errors)
    cleaned = _clean(actor, values)
    lost_note = _text(lost_note, name="lost_note", limit=300, errors=errors)
    if stage.is_lost:
        if not (isinstance(lost_reason, LostReason) and lost_reason.is_active):
            _fail(errors, "lost_reason", _("Choose why the opportunity was lost."), "required")
    elif lost_reason is not None:
        _fail(errors, "lost_reason", _("Only a lost stage takes a lost reason."), "invalid")
    _raise(errors)
    with transaction.atomic():
        opportunity = _lock(opportunity)
        previous = opportunity.stage
        before = trail.snapshot(opportunity, FIELDS)
        clean_lines = _apply(opportunity, cleaned)
        line_count = None if clean_lines is None else len(clean_lines)
        if "lines" in values and clean_lines is None:
            line_count = 0
        missing = _missing_required(opportunity, stage, line_count)
        _required_errors(stage, missing, errors)
        _raise(errors)
        if previous.pk == stage.pk and not cleaned:
            return opportunity
        now = timezone.now()
        moved = previous.pk != stage.pk
        if moved:
            entered = opportunity.stage_entered_at or opportunity.created_at
            seconds = max(0, int((now - entered).total_seconds())) if entered else None
            opportunity.stage = stage
            opportunity.probability = stage.probability
            opportunity.stage_entered_at = now
            if stage.is_won or stage.is_lost:
                opportunity.status = (
                    OpportunityStatus.WON if stage.is_won else OpportunityStatus.LOST
                )
                opportunity.closed_at = now
                opportunity.forecast_category = ForecastCategory.CLOSED
                opportunity.lost_reason = lost_reason if stage.is_lost else None
                opportunity.lost_note = lost_note if stage.is_lost else ""
            else:
                if previous.is_closed:
                    opportunity.forecast_category = ForecastCategory.PIPELINE
                opportunity.status = OpportunityStatus.OPEN
                opportunity.closed_at = None
                opportunity.lost_reason = None
                opportunity.lost_note = ""
                opportunity.board_rank = _top_rank(stage.pk)
        elif stage.is_lost:
            opportunity.lost_reason = lost_reason
            opportunity.lost_note = lost_note
        if clean_lines is not None or line_count == 0:
            _store_lines(opportunity, clean_lines or [])
        opportunity.save()
        changed = trail.diff(before, trail.snapshot(opportunity, FIELDS))
        if clean_lines is not None:
            changed["lines"] = [None, _lines_summary(clean_lines)]
        if moved:
            StageChange.objects.create(
                opportunity=opportunity,
                from_stage=previous,
                to_stage=stage,
                changed_at=now,
                changed_by=actor,
                seconds_in_from_stage=seconds,
                amount=opportunity.amount,
            )
        trail.record(
            actor=actor, action="move" if moved else "update", target=opportunity, changes=changed
        )
        if changed:
            _announce("record.updated", opportunity, fields=sorted(changed))
        if moved:
            _announce(
                "stage.changed",
                opportunity,
                pipeline=opportunity.pipeline_id,
                before=previous.pk,
                after=stage.pk,
                status=opportunity.status,
            )
            if stage.is_won:
                _announce("opportunity.won", opportunity, amount=str(opportunity.amount))
            elif stage.is_lost:
                _announce("opportunity.lost", opportunity, lost_reason=opportunity.lost_reason_id)
    return opportunity


def opportunity_reorder(
    *,
    actor: User,
    opportunity: Opportunity,
    after: Opportunity | None = None,
    before: Opportunity | None = None,
) -> Opportunity:
    """Place an open card within its kanban column: just below `after` (the card above it;
    None: at the top) — `before` (the card below it) is used when `after` is not given.
    Ranks keep gaps, so usually only this card changes; when the neighbours touch, the few
    cards below are pushed down to make room."""
    _require(actor, Action.CHANGE, opportunity)
    if not opportunity.is_open:
        raise ValidationError(
            {
                "opportunity": ValidationError(
                    _("Only open opportunities are on the board."), "closed"
                )
            }
        )
    for name, neighbour in (("after", after), ("before", before)):
        if neighbour is not None and (
            neighbour.stage_id != opportunity.stage_id or not neighbour.is_open
        ):
            raise ValidationError(
                {name: ValidationError(_("Choose a card of the same column."), "invalid")}
            )
    with transaction.atomic():
        opportunity = _lock(opportunity)
        column = Opportunity.objects.filter(
            stage_id=opportunity.stage_id, status=OpportunityStatus.OPEN
        ).exclude(pk=opportunity.pk)
        if after is None and before is not None:
            above = (
                column.filter(board_rank__lte=before.board_rank)
                .exclude(board_rank=before.board_rank, id__gte=before.pk)
                .order_by("-board_rank", "-id")
                .values_list("pk", "board_rank")
                .first()
            )
            if above is None:
                rank = before.board_rank - GAP
                return _set_rank(actor, opportunity, rank)
            after = Opportunity(pk=above[0], board_rank=above[1])
        if after is None:
            return _set_rank(
                actor, opportunity, _top_rank(opportunity.stage_id) if column.exists() else 0
            )
        after_rank = Opportunity.objects.values_list("board_rank", flat=True).get(pk=after.pk)
        below = list(
            column.filter(board_rank__gte=after_rank)
            .exclude(board_rank=after_rank, id__lte=after.pk)
            .order_by("board_rank", "id")
            .values_list("pk", "board_rank")[:200]
        )
        if not below:
            return _set_rank(actor, opportunity, after_rank + GAP)
        if below[0][1] - after_rank >= 2:
            return _set_rank(actor, opportunity, (after_rank + below[0][1]) // 2)
        # the neighbours touch: push the following cards down until a gap absorbs them
        rank = after_rank + GAP
        next_rank = rank
        pushed = []
        for pk, current in below:
            next_rank += GAP
            if current >= next_rank:
                break
            pushed.append(Opportunity(pk=pk, board_rank=next_rank))
        else:
            if len(below) == 200:
                last = below[-1][1]
                column.filter(board_rank__gt=last).update(board_rank=F("board_rank") + 201 * GAP)
        Opportunity.objects.bulk_update(pushed, ["board_rank"])
        return _set_rank(actor, opportunity, rank)


def _set_rank(actor: User, opportunity: Opportunity, rank: int) -> Opportunity:
    if opportunity.board_rank == rank:
        return opportunity
    before = opportunity.board_rank
    opportunity.board_rank = rank
    opportunity.save(update_fields=["board_rank", "updated_at"])
    trail.record(
        actor=actor, action="reorder", target=opportunity, changes={"board_rank": [before, rank]}
    )
    return opportunity


def opportunity_assign(*, actor: User, opportunity: Opportunity, owner: User) -> Opportunity:
    """Give the opportunity to another owner: an active user who works on opportunities, and
    one the actor's assign grant reaches (a manager hands deals within their department).
    Audited; `record.updated` after commit."""
    _require(actor, Action.ASSIGN, opportunity)
    if not (
        isinstance(owner, User)
        and owner.is_active
        and policy.has_grant(owner, Opportunity.security_type, Action.VIEW)
    ):
        raise ValidationError(
            {
                "owner": ValidationError(
                    _("Choose an active person who works on opportunities."), "invalid"
                )
            }
        )
    probe = Opportunity(
        owner=owner, status=opportunity.status, forecast_category=opportunity.forecast_category
    )
    if not _assign_reaches(actor, probe):
        raise ValidationError(
            {
                "owner": ValidationError(
                    _("You may not give opportunities to this person."), "invalid"
                )
            }
        )
    with transaction.atomic():
        opportunity = _lock(opportunity)
        if opportunity.owner_id == owner.pk:
            return opportunity
        before = opportunity.owner_id
        opportunity.owner = owner
        opportunity.save(update_fields=["owner", "updated_at"])
        trail.record(
            actor=actor, action="assign", target=opportunity, changes={"owner": [before, owner.pk]}
        )
        _announce("record.updated", opportunity, fields=["owner"])
    return opportunity


def _assign_reaches(actor: User, probe: Opportunity) -> bool:
    """Whether the actor's assign grant covers an opportunity owned by `probe.owner`."""
    from rapport.identity.models import Scope

    scope = policy.best_scope(actor, Opportunity.security_type, Action.ASSIGN)
    if scope == Scope.ALL:
        return True
    if probe.owner_id == actor.pk:
        return True
    if scope == Scope.DEPARTMENT and actor.department_id:
        owner = probe.owner
        return bool(owner.department_id and owner.department.path.startswith(actor.department.path))
    if scope == Scope.TEAM:
        teams = Team.objects.filter(Q(members=actor) | Q(lead=actor))
        return (
            Team.objects.filter(pk__in=teams.values("pk"))
            .filter(Q(members=probe.owner) | Q(lead=probe.owner))
            .exists()
        )
    return False


# --- pipelines, stages, lost reasons (needs `manage` on sales.pipeline) ----------------------

PIPELINE_FIELDS = ("name", "name_en", "position", "is_default", "is_active")
STAGE_FIELDS = (
    "name",
    "name_en",
    "position",
    "probability",
    "is_won",
    "is_lost",
    "required_fields",
    "stale_after_days",
    "is_active",
)
LOST_REASON_FIELDS = ("name", "name_en", "position", "is_active")


def _unknown(changes: Mapping[str, Any], allowed: Sequence[str]) -> None:
    unknown = set(changes) - set(allowed)
    if unknown:
        raise ValidationError(
            {name: ValidationError(_("Unknown field."), "unknown_field") for name in unknown}
        )


def _names(values: Mapping[str, Any], errors: Errors, *, model, instance=None) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    if "name" in values:
        cleaned["name"] = _text(
            values["name"], name="name", limit=100, errors=errors, required=True
        )
        if (
            cleaned["name"]
            and model.objects.filter(name=cleaned["name"])
            .exclude(pk=getattr(instance, "pk", None))
            .exists()
        ):
            _fail(errors, "name", _("This name is already used."), "unique")
    if "name_en" in values:
        cleaned["name_en"] = _text(values["name_en"], name="name_en", limit=100, errors=errors)
    if "position" in values:
        try:
            cleaned["position"] = max(0, int(values["position"]))
        except (TypeError, ValueError):
            _fail(errors, "position", _("Enter a whole number."), "invalid")
    for flag in ("is_active", "is_default"):
        if flag in values:
            cleaned[flag] = bool(values[flag])
    return cleaned


def pipeline_create(
    *,
    actor: User,
    name: str,
    name_en: str = "",
    is_default: bool = False,
    stages: Sequence[tuple[str, str, int, bool, bool]] | None = None,
) -> Pipeline:
    """A new pipeline with its stages (name, English name, probability, won, lost) — the
    usual six when none are given. It has exactly one won and at least one lost stage. Made
    the default, it takes that from the previous default."""
    _require_manage(actor)
    errors: Errors = {}
    cleaned = _names({"name": name, "name_en": name_en}, errors, model=Pipeline)
    rows = list(stages) if stages is not None else list(DEFAULT_STAGES)
    for index, row in enumerate(rows):
        if not str(row[0] or "").strip():
            _fail(errors, f"stages.{index}.name", _("This field is required."), "required")
        if not 0 <= int(row[2]) <= 100:
            _fail(
                errors,
                f"stages.{index}.probability",
                _("Enter a percentage from 0 to 100."),
                "out_of_range",
            )
    won = sum(1 for row in rows if row[3])
    lost = sum(1 for row in rows if row[4])
    if won != 1 or lost < 1 or any(row[3] and row[4] for row in rows):
        _fail(
            errors,
            "stages",
            _("A pipeline has exactly one won stage and at least one lost stage."),
            "won_lost",
        )
    if not any(not row[3] and not row[4] for row in rows):
        _fail(errors, "stages", _("A pipeline needs at least one open stage."), "no_open_stage")
    _raise(errors)
    with transaction.atomic():
        if is_default:
            for current in Pipeline.objects.select_for_update().filter(is_default=True):
                current.is_default = False
                current.save(update_fields=["is_default", "updated_at"])
                trail.record(
                    actor=actor,
                    action="update",
                    target=current,
                    changes={"is_default": [True, False]},
                )
        last = Pipeline.objects.order_by("-position").values_list("position", flat=True).first()
        pipeline = Pipeline.objects.create(
            **cleaned, is_default=bool(is_default), position=(last or 0) + 1
        )
        created = _create_stages(
            pipeline,
            [(str(r[0]).strip(), str(r[1] or "").strip(), int(r[2]), r[3], r[4]) for r in rows],
        )
        trail.record(
            actor=actor,
            action="create",
            target=pipeline,
            changes=trail.diff({}, trail.snapshot(pipeline, PIPELINE_FIELDS)),
            extra={"stages": [stage.pk for stage in created]},
        )
    return pipeline


def pipeline_update(*, actor: User, pipeline: Pipeline, **changes: Any) -> Pipeline:
    """Rename, reorder, make default or (de)activate a pipeline. The default pipeline stays
    active (make another the default first); a pipeline with open opportunities cannot be
    deactivated."""
    _require_manage(actor)
    _unknown(changes, PIPELINE_FIELDS)
    errors: Errors = {}
    cleaned = _names(changes, errors, model=Pipeline, instance=pipeline)
    _raise(errors)
    with transaction.atomic():
        pipeline = Pipeline.objects.select_for_update().get(pk=pipeline.pk)
        before = trail.snapshot(pipeline, PIPELINE_FIELDS)
        if cleaned.get("is_default") is False and pipeline.is_default:
            _fail(errors, "is_default", _("Make another pipeline the default instead."), "default")
        becomes_default = cleaned.get("is_default") and not pipeline.is_default
        stays_default = pipeline.is_default or becomes_default
        if cleaned.get("is_active") is False:
            if stays_default:
                _fail(
                    errors,
                    "is_active",
                    _("The default pipeline stays active; make another the default first."),
                    "default",
                )
            elif Opportunity.objects.filter(
                pipeline=pipeline, status=OpportunityStatus.OPEN
            ).exists():
                _fail(
                    errors,
                    "is_active",
                    _("Close or move its open opportunities first."),
                    "in_use",
                )
        if becomes_default and cleaned.get("is_active", pipeline.is_active) is False:
            _fail(errors, "is_default", _("The default pipeline must be active."), "default")
        _raise(errors)
        if becomes_default:
            for current in Pipeline.objects.select_for_update().filter(is_default=True):
                current.is_default = False
                current.save(update_fields=["is_default", "updated_at"])
                trail.record(
                    actor=actor,
                    action="update",
                    target=current,
                    changes={"is_default": [True, False]},
                )
        for name, value in cleaned.items():
            setattr(pipeline, name, value)
        changed = trail.diff(before, trail.snapshot(pipeline, PIPELINE_FIELDS))
        if not changed:
            return pipeline
        pipeline.save()
        trail.record(actor=actor, action="update", target=pipeline, changes=changed)
    return pipeline


def _clean_stage(values: Mapping[str, Any], errors: Errors) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    if "name" in values:
        cleaned["name"] = _text(
            values["name"], name="name", limit=100, errors=errors, required=True
        )
    if "name_en" in values:
        cleaned["name_en"] = _text(values["name_en"], name="name_en", limit=100, errors=errors)
    if "probability" in values:
        try:
            probability = int(values["probability"])
        except (TypeError, ValueError):
            _fail(errors, "probability", _("Enter a whole number."), "invalid")
        else:
            if not 0 <= probability <= 100:
                _fail(
                    errors,
                    "probability",
                    _("Enter a percentage from 0 to 100."),
                    "out_of_range",
                )
            cleaned["probability"] = probability
    if "required_fields" in values:
        fields = values["required_fields"] or []
        if isinstance(fields, str) or not all(isinstance(name, str) for name in fields):
            _fail(errors, "required_fields", _("Give the fields as a list."), "invalid")
        else:
            unknown = [name for name in fields if name not in REQUIRABLE]
            if unknown:
                _fail(
                    errors,
                    "required_fields",
                    _("“%(value)s” is not one of: %(choices)s.")
                    % {"value": ", ".join(unknown), "choices": ", ".join(REQUIRABLE)},
                    "invalid_choice",
                )
            cleaned["required_fields"] = [name for name in REQUIRABLE if name in fields]
    if "stale_after_days" in values:
        days = values["stale_after_days"]
        if days in (None, ""):
            cleaned["stale_after_days"] = None
        else:
            try:
                cleaned["stale_after_days"] = int(days)
                if not 1 <= cleaned["stale_after_days"] <= 3650:
                    raise ValueError
            except (TypeError, ValueError):
                _fail(
                    errors,
                    "stale_after_days",
                    _("Enter a number of days from 1 to 3650."),
                    "invalid",
                )
    for flag in ("is_won", "is_lost", "is_active"):
        if flag in values:
            cleaned[flag] = bool(values[flag])
    if "position" in values:
        try:
            cleaned["position"] = max(0, int(values["position"]))
        except (TypeError, ValueError):
            _fail(errors, "position", _("Enter a whole number."), "invalid")
    if cleaned.get("is_won") and cleaned.get("is_lost"):
        _fail(errors, "is_lost", _("A stage is either won or lost, not both."), "won_and_lost")
    return cleaned


def _check_won_lost(pipeline: Pipeline, errors: Errors, field: str) -> None:
    """After a change (unsaved rows read from the database as changed): exactly one active
    won stage and at least one active lost stage."""
    stages = pipeline.stages.filter(is_active=True)
    if stages.filter(is_won=True).count() != 1 or not stages.filter(is_lost=True).exists():
        _fail(
            errors,
            field,
            _("A pipeline has exactly one won stage and at least one lost stage."),
            "won_lost",
        )
    if not stages.filter(is_won=False, is_lost=False).exists():
        _fail(errors, field, _("A pipeline needs at least one open stage."), "no_open_stage")


def _stage_used(stage: Stage) -> bool:
    return (
        Opportunity.objects.filter(stage=stage).exists()
        or StageChange.objects.filter(Q(to_stage=stage) | Q(from_stage=stage)).exists()
    )


def stage_create(
    *,
    actor: User,
    pipeline: Pipeline,
    name: str,
    name_en: str = "",
    probability: int = 10,
    is_won: bool = False,
    is_lost: bool = False,
    required_fields: Sequence[str] = (),
    stale_after_days: int | None = None,
) -> Stage:
    """A new stage of a pipeline: an open stage goes before the won and lost ones, a closing
    one at the end. A second won stage is refused; won means 100 %, lost 0 %."""
    _require_manage(actor)
    errors: Errors = {}
    cleaned = _clean_stage(
        {
            "name": name,
            "name_en": name_en,
            "probability": probability,
            "is_won": is_won,
            "is_lost": is_lost,
            "required_fields": list(required_fields),
            "stale_after_days": stale_after_days,
        },
        errors,
    )
    if cleaned.get("is_won") and pipeline.stages.filter(is_won=True, is_active=True).exists():
        _fail(errors, "is_won", _("This pipeline already has a won stage."), "won_lost")
    _raise(errors)
    if cleaned["is_won"]:
        cleaned["probability"] = 100
    elif cleaned["is_lost"]:
        cleaned["probability"] = 0
    with transaction.atomic():
        stages = list(pipeline.stages.select_for_update().order_by("position", "id"))
        closed_at = next(
            (index for index, stage in enumerate(stages) if stage.is_closed), len(stages)
        )
        position = len(stages) if cleaned["is_won"] or cleaned["is_lost"] else closed_at
        stage = Stage(pipeline=pipeline, **cleaned)
        stages.insert(position, stage)
        for number, row in enumerate(stages, start=1):
            if row.pk is not None and row.position != number:
                row.position = number
                row.save(update_fields=["position"])
        stage.position = position + 1
        stage.save()
        trail.record(
            actor=actor,
            action="create",
            target=stage,
            changes=trail.diff({}, trail.snapshot(stage, STAGE_FIELDS)),
            extra={"pipeline": pipeline.pk},
        )
    return stage


def stage_update(*, actor: User, stage: Stage, **changes: Any) -> Stage:
    """Change a stage: names, probability, required fields, stalled-after days, active. Its
    won/lost flags change only while no opportunity ever entered it; the pipeline keeps one
    won and at least one lost stage; a stage holding open opportunities stays active. The
    probability of open opportunities in it follows a new probability."""
    _require_manage(actor)
    _unknown(changes, [name for name in STAGE_FIELDS if name != "position"])
    errors: Errors = {}
    cleaned = _clean_stage(changes, errors)
    _raise(errors)
    with transaction.atomic():
        stage = Stage.objects.select_for_update().get(pk=stage.pk)
        before = trail.snapshot(stage, STAGE_FIELDS)
        for name, value in cleaned.items():
            setattr(stage, name, value)
        if stage.is_won and stage.is_lost:
            _fail(errors, "is_lost", _("A stage is either won or lost, not both."), "won_and_lost")
            _raise(errors)
        if stage.is_won:
            stage.probability = 100
        elif stage.is_lost:
            stage.probability = 0
        changed = trail.diff(before, trail.snapshot(stage, STAGE_FIELDS))
        if not changed:
            return stage
        if ("is_won" in changed or "is_lost" in changed) and _stage_used(stage):
            _fail(
                errors,
                "is_won" if "is_won" in changed else "is_lost",
                _("Opportunities have been in this stage; its won or lost flag stays."),
                "in_use",
            )
        if (
            changed.get("is_active") == [True, False]
            and Opportunity.objects.filter(stage=stage, status=OpportunityStatus.OPEN).exists()
        ):
            _fail(errors, "is_active", _("Move its open opportunities first."), "in_use")
        _raise(errors)
        stage.save()
        if {"is_won", "is_lost", "is_active"} & set(changed):
            _check_won_lost(
                stage.pipeline,
                errors,
                next(iter({"is_won", "is_lost", "is_active"} & set(changed))),
            )
            if errors:
                transaction.set_rollback(True)
                _raise(errors)
        if "probability" in changed:
            Opportunity.objects.filter(stage=stage, status=OpportunityStatus.OPEN).update(
                probability=stage.probability
            )
        trail.record(actor=actor, action="update", target=stage, changes=changed)
    return stage


def stage_delete(*, actor: User, stage: Stage) -> None:
    """Delete a stage no opportunity was ever in (otherwise deactivate it), keeping the
    pipeline's one won and at least one lost stage."""
    _require_manage(actor)
    errors: Errors = {}
    with transaction.atomic():
        stage = Stage.objects.select_for_update().get(pk=stage.pk)
        if _stage_used(stage):
            _fail(
                errors,
                "stage",
                _("Opportunities have been in this stage; deactivate it instead."),
                "in_use",
            )
            _raise(errors)
        pipeline = stage.pipeline
        snapshot = trail.snapshot(stage, STAGE_FIELDS)
        trail.record(
            actor=actor,
            action="delete",
            target=stage,
            changes=trail.diff(snapshot, {}),
            extra={"pipeline": pipeline.pk},
        )
        stage.delete()
        _check_won_lost(pipeline, errors, "stage")
        if errors:
            transaction.set_rollback(True)
            _raise(errors)


def stages_reorder(*, actor: User, pipeline: Pipeline, stages: Sequence[Stage]) -> list[Stage]:
    """Put the pipeline's stages in this order (every stage of the pipeline, once)."""
    _require_manage(actor)
    wanted = [stage.pk for stage in stages]
    with transaction.atomic():
        current = {s.pk: s for s in pipeline.stages.select_for_update().order_by("position")}
        if sorted(wanted) != sorted(current):
            raise ValidationError(
                {"stages": ValidationError(_("List every stage of the pipeline once."), "invalid")}
            )
        before = [s.pk for s in current.values()]
        for position, pk in enumerate(wanted, start=1):
            stage = current[pk]
            if stage.position != position:
                stage.position = position
                stage.save(update_fields=["position"])
        if before != wanted:
            trail.record(
                actor=actor,
                action="reorder",
                target=pipeline,
                changes={"stages": [before, wanted]},
            )
        return [current[pk] for pk in wanted]


def lost_reason_create(*, actor: User, name: str, name_en: str = "") -> LostReason:
    """A new lost reason, offered when an opportunity is lost (last in the list)."""
    _require_manage(actor)
    errors: Errors = {}
    cleaned = _names({"name": name, "name_en": name_en}, errors, model=LostReason)
    _raise(errors)
    with transaction.atomic():
        last = LostReason.objects.order_by("-position").values_list("position", flat=True).first()
        reason = LostReason.objects.create(**cleaned, position=(last or 0) + 1)
        trail.record(
            actor=actor,
            action="create",
            target=reason,
            changes=trail.diff({}, trail.snapshot(reason, LOST_REASON_FIELDS)),
        )
    return reason


def lost_reason_update(*, actor: User, lost_reason: LostReason, **changes: Any) -> LostReason:
    """Rename, reorder or (de)activate a lost reason; an inactive one is no longer offered
    and opportunities lost for it keep it."""
    _require_manage(actor)
    _unknown(changes, LOST_REASON_FIELDS)
    errors: Errors = {}
    cleaned = _names(changes, errors, model=LostReason, instance=lost_reason)
    _raise(errors)
    with transaction.atomic():
        reason = LostReason.objects.select_for_update().get(pk=lost_reason.pk)
        before = trail.snapshot(reason, LOST_REASON_FIELDS)
        for name, value in cleaned.items():
            setattr(reason, name, value)
        changed = trail.diff(before, trail.snapshot(reason, LOST_REASON_FIELDS))
        if changed:
            reason.save()
            trail.record(actor=actor, action="update", target=reason, changes=changed)
    return reason


def lost_reasons_reorder(*, actor: User, lost_reasons: Sequence[LostReason]) -> None:
    """Put the lost reasons in this order (the ones not named keep their place after)."""
    _require_manage(actor)
    with transaction.atomic():
        rows = {r.pk: r for r in LostReason.objects.select_for_update()}
        order = [r.pk for r in lost_reasons if r.pk in rows]
        order += [pk for pk in sorted(rows, key=lambda k: (rows[k].position, k)) if pk not in order]
        for position, pk in enumerate(order, start=1):
            if rows[pk].position != position:
                before = rows[pk].position
                rows[pk].position = position
                rows[pk].save(update_fields=["position", "updated_at"])
                trail.record(
                    actor=actor,
                    action="update",
                    target=rows[pk],
                    changes={"position": [before, position]},
                )
