"""Every write to the catalogue: product categories (a tree), products and their variants,
tax rates and price lists. Needs `manage` on `sales.product`; audited."""

from __future__ import annotations

from decimal import Decimal

from ..models import TaxRate

# China's VAT rates: goods 13 %, transport, construction and farm produce 9 %, services 6 %,
# exports and exempt supplies 0 %.
DEFAULT_TAX_RATES = (
    ("增值税 13%", "VAT 13%", Decimal("13"), True),
    ("增值税 9%", "VAT 9%", Decimal("9"), False),
    ("增值税 6%", "VAT 6%", Decimal("6"), False),
    ("零税率 0%", "Zero rate 0%", Decimal("0"), False),
)


def ensure_default_tax_rates(sender=None, using: str = "default", **kwargs) -> bool:
    """After `migrate`: China's VAT rates (13 % the default) when there is no tax rate at
    all. Returns whether they were created."""
    if TaxRate.objects.using(using).exists():
        return False
    TaxRate.objects.using(using).bulk_create(
        [
            TaxRate(name=name, name_en=name_en, rate=rate, is_default=is_default)
            for name, name_en, rate, is_default in DEFAULT_TAX_RATES
        ]
    )
    return True
