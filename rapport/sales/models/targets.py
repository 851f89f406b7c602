"""Sales targets (quotas) per person, team or department and period."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from rapport.core.models import TimeStampedModel
from rapport.identity.querysets import RestrictedManager

from .common import currency_field, money_field


class TargetPeriod(models.TextChoices):
    MONTH = "month", _("Month")
    QUARTER = "quarter", _("Quarter")
    YEAR = "year", _("Year")


class TargetMetric(models.TextChoices):
    WON_AMOUNT = "won_amount", _("Won amount")
    ORDER_AMOUNT = "order_amount", _("Confirmed order amount")
    PAYMENTS = "payments", _("Payments received")
    WON_COUNT = "won_count", _("Deals won")


class Target(TimeStampedModel):
    """What one person, team or department should reach in a month, quarter or year."""

    security_type = "sales.target"
    # Visibility keys on the person (own / team / department scope) and the team; a
    # department's own targets are added by `rapport.sales.forecast.targets_for`.
    scope_owner_field = "user"
    scope_team_field = "team"

    period = models.CharField(
        _("period"), max_length=10, choices=TargetPeriod, default=TargetPeriod.MONTH
    )
    # the first day of the month, quarter or year
    period_start = models.DateField(_("from"))
    metric = models.CharField(
        _("measure"), max_length=20, choices=TargetMetric, default=TargetMetric.WON_AMOUNT
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    team = models.ForeignKey(
        "identity.Team",
        verbose_name=_("team"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    department = models.ForeignKey(
        "identity.Department",
        verbose_name=_("department"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    amount = money_field(_("target"))
    currency = currency_field()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("set by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    objects = RestrictedManager()

    class Meta:
        verbose_name = _("target")
        verbose_name_plural = _("targets")
        ordering = ["-period_start", "id"]
        constraints = [
            # exactly one of person, team, department
            models.CheckConstraint(
                condition=(
                    Q(user__isnull=False, team__isnull=True, department__isnull=True)
                    | Q(user__isnull=True, team__isnull=False, department__isnull=True)
                    | Q(user__isnull=True, team__isnull=True, department__isnull=False)
                ),
                name="sales_target_one_holder",
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="sales_target_gte0"),
            models.UniqueConstraint(
                fields=["period", "period_start", "metric", "user"],
                condition=Q(user__isnull=False),
                name="sales_target_user_unique",
            ),
            models.UniqueConstraint(
                fields=["period", "period_start", "metric", "team"],
                condition=Q(team__isnull=False),
                name="sales_target_team_unique",
            ),
            models.UniqueConstraint(
                fields=["period", "period_start", "metric", "department"],
                condition=Q(department__isnull=False),
                name="sales_target_department_unique",
            ),
        ]
        indexes = [models.Index(fields=["period", "period_start"], name="target_period_idx")]

    def __str__(self) -> str:
        holder = self.user_id or self.team_id or self.department_id
        return f"{self.period} {self.period_start} {self.metric} {holder}"
