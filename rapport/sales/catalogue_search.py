"""Products in the one search index (`rapport.core.search`): found by SKU, Chinese or
English name (and its pinyin), category, restricted like every read."""

from __future__ import annotations

from django.db.models import QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from rapport.core import search
from rapport.identity.models import User

from .models import Product


def product_document(product: Product) -> search.Document:
    category = product.category.name if product.category_id else ""
    return search.Document(
        title=f"{product.sku} {product.name}",
        subtitle=" · ".join(part for part in [product.name_en, category] if part),
        texts=[product.sku, product.name_en, category, product.description[:1000]],
    )


def products_for_indexing(products: QuerySet) -> QuerySet:
    return products.select_related("category")


def _url(product: Product) -> str:
    try:
        return reverse("sales:product_detail", args=[product.pk])
    except NoReverseMatch:
        return ""


def present_product(user: User, product: Product) -> search.Hit:
    return search.Hit(
        id=product.pk,
        title=f"{product.sku} {product.display_name}",
        subtitle=product.category.display_name if product.category_id else "",
        url=_url(product),
    )


def register() -> None:
    search.register(
        Product.security_type,
        model=Product,
        document=product_document,
        label=_("Products"),
        for_indexing=products_for_indexing,
        for_display=lambda user, products: products.select_related("category"),
        present=present_product,
    )
