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
from django.utils import timezone
from django.utils.translation import gettext as _

from rapport.core import events, trail
from rapport.core.errors import PermissionDenied
from rapport.customers.models import Account, Contact
from rapport.identity import policy
from rapport.identity.models import Action, User

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
