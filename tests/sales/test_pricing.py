"""The arithmetic every priced document shares (rapport.sales.pricing), and document numbers."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection, transaction
from hypothesis import given
from hypothesis import strategies as st

from rapport.sales import pricing
from rapport.sales.numbering import next_number

D = Decimal


def test_a_quote_with_line_and_overall_discounts_and_vat():
    amounts = pricing.compute(
        [
            pricing.LineInput(D("3"), D("1000.00"), D("10"), D("13")),  # 2,700 net of line
            pricing.LineInput(D("1.5"), D("333.33"), D("0"), D("6")),  # 500.00 (499.995 ↑)
        ],
        discount_percent=D("5"),
    )
    first, second = amounts.lines
    assert first.gross_amount == D("3000.00")
    assert first.net_amount == D("2565.00")  # 2,700 less 5 %
    assert first.tax_amount == D("333.45")
    assert second.gross_amount == D("500.00")
    assert second.net_amount == D("475.00")
    assert second.tax_amount == D("28.50")
    assert amounts.subtotal == D("3200.00")
    assert amounts.discount_total == D("460.00")
    assert amounts.effective_discount_percent == D("13.14")
    assert amounts.tax_total == D("361.95")
    assert amounts.total == D("3401.95")


def test_an_empty_document_is_zero_and_a_free_line_has_no_discount_share():
    assert pricing.compute([]).total == 0
    free = pricing.compute([pricing.LineInput(D("2"), D("0"), D("50"), D("13"))])
    assert (free.total, free.effective_discount_percent) == (0, 0)


amounts_st = st.decimals(min_value=0, max_value=10**7, places=2, allow_nan=False)
quantities = st.decimals(min_value=D("0.001"), max_value=10**5, places=3, allow_nan=False)
percents = st.decimals(min_value=0, max_value=100, places=2, allow_nan=False)


@given(
    lines=st.lists(
        st.builds(pricing.LineInput, quantities, amounts_st, percents, percents), max_size=8
    ),
    overall=percents,
)
def test_totals_add_up_to_the_cent_and_discounts_never_exceed_the_price(lines, overall):
    amounts = pricing.compute(lines, discount_percent=overall)
    assert amounts.total == sum((line.total_amount for line in amounts.lines), D(0))
    assert amounts.tax_total == sum((line.tax_amount for line in amounts.lines), D(0))
    for line, given_line in zip(amounts.lines, lines, strict=True):
        assert D(0) <= line.net_amount <= line.gross_amount
        assert line.tax_amount >= 0
        assert line.net_amount == line.net_amount.quantize(D("0.01"))
        if given_line.discount_percent == 0 and overall == 0:
            assert line.net_amount == line.gross_amount
    assert D(0) <= amounts.effective_discount_percent <= D(100)
    assert amounts.discount_total >= 0


@pytest.mark.django_db
def test_document_numbers_count_up_per_kind_and_year():
    with transaction.atomic():
        assert next_number("quote", year=2026) == "Q2026-000001"
        assert next_number("quote", year=2026) == "Q2026-000002"
        assert next_number("invoice", year=2026) == "INV2026-000001"
        assert next_number("quote", year=2027) == "Q2027-000001"


@pytest.mark.django_db
def test_a_rolled_back_document_gives_its_number_back():
    with transaction.atomic():
        next_number("order", year=2026)
    with pytest.raises(RuntimeError), transaction.atomic():
        assert next_number("order", year=2026) == "SO2026-000002"
        raise RuntimeError("the order was refused")
    with transaction.atomic():
        assert next_number("order", year=2026) == "SO2026-000002"


def test_a_number_outside_a_transaction_is_refused():
    with pytest.raises(RuntimeError):
        next_number("quote")


@pytest.mark.django_db(transaction=True)
def test_concurrent_documents_never_share_a_number():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers; the row lock is what PostgreSQL needs")
    numbers: list[str] = []

    def take() -> None:
        try:
            for _ in range(10):
                with transaction.atomic():
                    numbers.append(next_number("contract", year=2026))
        finally:
            connection.close()

    threads = [threading.Thread(target=take) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(numbers) == [f"HT2026-{n:06d}" for n in range(1, 41)]


@pytest.mark.django_db
def test_lines_are_checked_and_each_problem_names_its_line_and_field():
    from django.core.exceptions import ValidationError

    from rapport.sales.lines import clean_lines
    from tests.factories import ProductFactory

    product = ProductFactory(list_price=D("250.00"))
    good = clean_lines([{"product": str(product.pk), "quantity": "2"}])
    assert good[0].unit_price == D("250.00")
    assert good[0].tax_percent == D("13")  # the product's VAT rate
    assert good[0].description == product.display_name
    with pytest.raises(ValidationError) as refused:
        clean_lines(
            [
                {"product": product.pk, "quantity": "2"},
                {"description": "安装服务", "quantity": "-1", "unit_price": "100"},
                {
                    "description": "折扣",
                    "quantity": "1",
                    "unit_price": "5",
                    "discount_percent": "120",
                },
                {"product": "999999", "quantity": "1"},
            ]
        )
    assert set(refused.value.message_dict) == {
        "lines.1.quantity",
        "lines.2.discount_percent",
        "lines.3.product",
    }
    assert refused.value.error_dict["lines.2.discount_percent"][0].code == "out_of_range"
    with pytest.raises(ValidationError) as empty:
        clean_lines([])
    assert "lines" in empty.value.message_dict
