"""Reads of invoices: what is still owed on each (total less credit notes and payments) and
the receivables ageing — open invoices' balances per customer in buckets of days overdue —
restricted like every read, summed in SQL."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import (
    Case,
    DecimalField,
    ExpressionWrapper,
    F,
    OuterRef,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from rapport.identity.models import Action, User

from .models import Invoice, InvoiceKind, InvoiceStatus

MONEY = DecimalField(max_digits=18, decimal_places=2)
ZERO = Value(Decimal("0"), output_field=MONEY)
OPEN = (InvoiceStatus.ISSUED, InvoiceStatus.PARTIALLY_PAID)
BUCKETS = (
    ("current", _("Not yet due")),
    ("days_1_30", _("1–30 days")),
    ("days_31_60", _("31–60 days")),
    ("days_61_90", _("61–90 days")),
    ("days_over_90", _("Over 90 days")),
)


def with_balance(invoices: QuerySet) -> QuerySet:
    """`credited` (credit notes against each invoice) and `owed` (still owed)."""
    credits = (
        Invoice.objects.filter(
            credited_invoice=OuterRef("pk"),
            kind=InvoiceKind.CREDIT_NOTE,
            status__in=(
                InvoiceStatus.ISSUED,
                InvoiceStatus.PARTIALLY_PAID,
                InvoiceStatus.PAID,
                InvoiceStatus.CREDITED,
            ),
        )
        .order_by()
        .values("credited_invoice")
        .annotate(total=Sum("total"))
        .values("total")
    )
    return invoices.annotate(
        credited=Coalesce(Subquery(credits, output_field=MONEY), ZERO)
    ).annotate(
        owed=ExpressionWrapper(F("total") - F("paid_total") - F("credited"), output_field=MONEY)
    )


def open_invoices(user: User) -> QuerySet:
    return Invoice.objects.restrict(user, Action.VIEW).filter(
        kind=InvoiceKind.INVOICE, status__in=OPEN
    )


@dataclass
class AgeingRow:
    account_id: int
    account_name: str
    currency: str
    buckets: dict[str, Decimal] = field(default_factory=dict)
    total: Decimal = Decimal("0")
    invoices: int = 0

    def amounts(self) -> list[Decimal]:
        return [self.buckets.get(key, Decimal("0")) for key, _label in BUCKETS]

    def cells(self) -> list[tuple[str, Decimal]]:
        """(bucket label, amount) in bucket order, for the page."""
        return [(label, self.buckets.get(key, Decimal("0"))) for key, label in BUCKETS]


def _cents(value) -> Decimal:
    # SQLite sums decimals as floats-in-text; the page and API show cents
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


def _bucket_cases(today: date) -> dict[str, Sum]:
    balance = F("owed")

    def owed_when(**condition) -> Sum:
        return Sum(Case(When(then=balance, **condition), default=ZERO, output_field=MONEY))

    return {
        # no due date yet counts as not yet due
        "current": Sum(
            Case(
                When(due_date__isnull=True, then=balance),
                When(due_date__gte=today, then=balance),
                default=ZERO,
                output_field=MONEY,
            )
        ),
        "days_1_30": owed_when(due_date__lt=today, due_date__gte=today - timedelta(days=30)),
        "days_31_60": owed_when(
            due_date__lt=today - timedelta(days=30), due_date__gte=today - timedelta(days=60)
        ),
        "days_61_90": owed_when(
            due_date__lt=today - timedelta(days=60), due_date__gte=today - timedelta(days=90)
        ),
        "days_over_90": owed_when(due_date__lt=today - timedelta(days=90)),
    }


def receivables_ageing(
    user: User, *, today: date | None = None, account_id: int | None = None, limit: int = 500
) -> tuple[list[AgeingRow], dict[str, dict[str, Decimal]]]:
    """Per customer and currency: what open invoices still owe, by days overdue, largest
    first; and the totals per currency. Only invoices `user` may see."""
    today = today or timezone.localdate()
    invoices = with_balance(open_invoices(user))
    if account_id is not None:
        invoices = invoices.filter(account_id=account_id)
    rows = (
        invoices.order_by()
        .values("account_id", "account__name", "currency")
        .annotate(**_bucket_cases(today), owed_total=Sum("owed"), count=Sum(Value(1)))
        .order_by("-owed_total", "account_id")[:limit]
    )
    result: list[AgeingRow] = []
    totals: dict[str, dict[str, Decimal]] = {}
    for row in rows:
        if not row["owed_total"]:
            continue
        ageing = AgeingRow(
            account_id=row["account_id"],
            account_name=row["account__name"],
            currency=row["currency"],
            buckets={key: _cents(row[key]) for key, _label in BUCKETS},
            total=_cents(row["owed_total"]),
            invoices=row["count"],
        )
        result.append(ageing)
        currency_totals = totals.setdefault(
            ageing.currency, {key: Decimal("0") for key, _l in BUCKETS}
        )
        for key, _label in BUCKETS:
            currency_totals[key] += ageing.buckets[key]
        currency_totals.setdefault("total", Decimal("0"))
        currency_totals["total"] += ageing.total
    return result, totals
