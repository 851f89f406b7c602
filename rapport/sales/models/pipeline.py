"""Pipelines, their stages and the opportunities that move through them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from rapport.core.models import BilingualNameMixin, OwnedModel, TimeStampedModel
from rapport.identity.querysets import RestrictedManager

from .common import MONEY, PERCENT, QUANTITY, currency_field, money_field


class Pipeline(BilingualNameMixin, TimeStampedModel):
    """A sales process (new business, renewals, projects …) with its ordered stages."""

    security_type = "sales.pipeline"

    name = models.CharField(_("name"), max_length=100, unique=True)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)
    position = models.PositiveIntegerField(_("position"), default=0)
    is_default = models.BooleanField(_("default"), default=False)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("pipeline")
        verbose_name_plural = _("pipelines")
        ordering = ["-is_default", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=Q(is_default=True),
                name="sales_pipeline_one_default",
            )
        ]

    def __str__(self) -> str:
        return self.display_name


class Stage(BilingualNameMixin, models.Model):
    """A step of a pipeline: its probability of winning, whether it closes the opportunity as
    won or lost, and the opportunity fields that must be filled before entering it."""

    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="stages")
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)
    position = models.PositiveIntegerField(_("position"), default=0)
    probability = models.PositiveSmallIntegerField(_("probability (%)"), default=10)
    is_won = models.BooleanField(_("won"), default=False)
    is_lost = models.BooleanField(_("lost"), default=False)
    # names of Opportunity fields that must have a value to enter this stage
    required_fields = models.JSONField(_("required fields"), default=list, blank=True)
    # an opportunity longer than this in the stage is flagged as stalled on the board
    stale_after_days = models.PositiveIntegerField(_("stalled after (days)"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("stage")
        verbose_name_plural = _("stages")
        ordering = ["pipeline", "position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~(Q(is_won=True) & Q(is_lost=True)), name="sales_stage_won_or_lost"
            ),
            models.CheckConstraint(
                condition=Q(probability__lte=100), name="sales_stage_probability_range"
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def is_closed(self) -> bool:
        return self.is_won or self.is_lost


class LostReason(BilingualNameMixin, TimeStampedModel):
    security_type = "sales.pipeline"

    name = models.CharField(_("name"), max_length=100, unique=True)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)
    position = models.PositiveIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("lost reason")
        verbose_name_plural = _("lost reasons")
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.display_name


class OpportunityStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("opportunity status", "Open")
    WON = "won", _("Won")
    LOST = "lost", _("Lost")


class ForecastCategory(models.TextChoices):
    """The rep's call on an open opportunity, rolled up by the manager hierarchy."""

    PIPELINE = "pipeline", _("Pipeline")
    BEST_CASE = "best_case", _("Best case")
    COMMIT = "commit", _("Commit")
    OMITTED = "omitted", _("Omitted")
    CLOSED = "closed", _("Closed")


class Opportunity(OwnedModel):
    """A deal being worked: with whom, how much, in which stage of which pipeline, when it is
    expected to close. `status` mirrors the stage's won/lost flags so lists and reports read
    one indexed column."""

    security_type = "sales.opportunity"
    shareable = True

    name = models.CharField(_("name"), max_length=200)
    account = models.ForeignKey(
        "customers.Account",
        verbose_name=_("account"),
        on_delete=models.PROTECT,
        related_name="opportunities",
    )
    contact = models.ForeignKey(
        "customers.Contact",
        verbose_name=_("contact"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="opportunities",
    )
    pipeline = models.ForeignKey(
        Pipeline, verbose_name=_("pipeline"), on_delete=models.PROTECT, related_name="+"
    )
    stage = models.ForeignKey(
        Stage, verbose_name=_("stage"), on_delete=models.PROTECT, related_name="opportunities"
    )
    status = models.CharField(
        _("status"), max_length=10, choices=OpportunityStatus, default=OpportunityStatus.OPEN
    )
    amount = money_field(_("amount"))
    currency = currency_field()
    probability = models.PositiveSmallIntegerField(_("probability (%)"), default=10)
    expected_close_date = models.DateField(_("expected close date"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    forecast_category = models.CharField(
        _("forecast category"),
        max_length=20,
        choices=ForecastCategory,
        default=ForecastCategory.PIPELINE,
    )
    lost_reason = models.ForeignKey(
        LostReason,
        verbose_name=_("lost reason"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    lost_note = models.CharField(_("why it was lost"), max_length=300, blank=True)
    next_step = models.CharField(_("next step"), max_length=300, blank=True)
    description = models.TextField(_("description"), blank=True)
    source_lead = models.ForeignKey(
        "sales.Lead",
        verbose_name=_("from lead"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    stage_entered_at = models.DateTimeField(_("in this stage since"), null=True, blank=True)
    # order within a kanban column (smaller first); gaps let a drop renumber one card
    board_rank = models.BigIntegerField(default=0)
    custom = models.JSONField(_("custom fields"), default=dict, blank=True)

    objects = RestrictedManager()

    class Meta:
        ordering = ["-id"]
        verbose_name = _("opportunity")
        verbose_name_plural = _("opportunities")
        indexes = [
            models.Index(fields=["owner", "status", "-id"], name="opp_owner_idx"),
            models.Index(fields=["account", "-id"], name="opp_account_idx"),
            # the board: open cards of a stage in board order
            models.Index(
                fields=["stage", "board_rank", "id"],
                condition=Q(status="open"),
                name="opp_board_idx",
            ),
            models.Index(fields=["status", "expected_close_date"], name="opp_close_idx"),
            models.Index(fields=["pipeline", "status", "stage"], name="opp_pipeline_idx"),
            # deals won or lost in a period (attainment, forecast, the pipeline report)
            models.Index(fields=["status", "closed_at"], name="opp_closed_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_open(self) -> bool:
        return self.status == OpportunityStatus.OPEN


class OpportunityLine(models.Model):
    """A product (or a described service) the opportunity is about."""

    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField(default=0)
    product = models.ForeignKey(
        "sales.Product",
        verbose_name=_("product"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    description = models.CharField(_("description"), max_length=300, blank=True)
    quantity = models.DecimalField(_("quantity"), **QUANTITY, default=1)
    unit_price = models.DecimalField(_("unit price"), **MONEY)
    discount_percent = models.DecimalField(_("discount (%)"), **PERCENT, default=0)
    amount = money_field(_("amount"))

    class Meta:
        verbose_name = _("opportunity line")
        verbose_name_plural = _("opportunity lines")
        ordering = ["opportunity", "position", "id"]

    def __str__(self) -> str:
        return self.description or str(self.product_id)


class StageChange(models.Model):
    """One move of an opportunity between stages: the stage history and the time spent in
    each stage, for the pipeline report (the audit trail keeps who changed what; this keeps
    the durations in a shape reports can sum)."""

    opportunity = models.ForeignKey(
        Opportunity, on_delete=models.CASCADE, related_name="stage_changes"
    )
    from_stage = models.ForeignKey(
        Stage, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    to_stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="+")
    changed_at = models.DateTimeField(_("changed at"))
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("changed by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    # how long the opportunity had been in `from_stage`
    seconds_in_from_stage = models.BigIntegerField(null=True, blank=True)
    amount = money_field(_("amount"))

    class Meta:
        verbose_name = _("stage change")
        verbose_name_plural = _("stage changes")
        ordering = ["opportunity", "changed_at", "id"]
        indexes = [
            models.Index(fields=["opportunity", "changed_at"], name="stage_change_opp_idx"),
            models.Index(fields=["to_stage", "changed_at"], name="stage_change_stage_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.opportunity_id}: {self.from_stage_id} → {self.to_stage_id}"
