"""The line editor's product picker: options as the rep types (SKU prefix, Chinese or
English name), only active products, the chosen "id · SKU name" read back into the line;
editing a saved quote shows each line's product by its label."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import translation

from rapport.core import search
from rapport.sales.catalogue_views import product_label
from rapport.sales.models import Product
from rapport.sales.quote_forms import posted_lines
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db
PRODUCT = Product.security_type


def _options(client, text: str) -> list[str]:
    """The options offered, as the picker would post them (in the page's language)."""
    response = client.get("/sales/products/lookup/", {"line-product": text})
    assert response.status_code == 200
    body = response.content.decode()
    return [part.split('"')[0] for part in body.split('<option value="')[1:]]


def _label(product) -> str:
    with translation.override("en"):  # the rep reads English (their own setting)
        return product_label(product)


def test_typing_finds_products_by_sku_and_names(org):
    lathe = ProductFactory(sku="CNC-100", name="数控机床", name_en="CNC lathe")
    drill = ProductFactory(sku="DR-200", name="台式钻床", name_en="Bench drill")
    ProductFactory(sku="CNC-900", name="旧机床", is_active=False)
    search.index_records({PRODUCT: list(Product.objects.all())})  # the factory writes none
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(org["rep_sh"])
    assert _options(client, "cnc") == [_label(lathe)]
    assert _options(client, "机床") == [_label(lathe)]
    assert _options(client, "drill") == [_label(drill)]
    assert _options(client, "钻床") == [_label(drill)]
    assert _options(client, _label(lathe)) == []  # chosen: no new list
    assert _options(client, "") == []


def test_more_than_a_select_could_hold(org):
    products = [ProductFactory(sku=f"P-{n:04d}", name=f"零件{n}") for n in range(350)]
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(org["rep_sh"])
    assert _options(client, "P-0349") == [_label(products[-1])]
    assert len(_options(client, "P-0")) == 20


def test_the_picker_needs_the_catalogue(org):
    client = Client()
    client.force_login(org["agent"])
    assert client.get("/sales/products/lookup/", {"line-product": "x"}).status_code == 403


def test_the_chosen_label_is_read_back_as_the_product(org):
    from django.http import QueryDict

    lathe = ProductFactory(sku="CNC-100", name="数控机床")
    data = QueryDict(mutable=True)
    data.setlist("line-product", [product_label(lathe), "CNC-100", ""])
    data.setlist("line-quantity", ["2", "1", "1"])
    data.setlist("line-description", ["", "", "安装"])
    lines = posted_lines(data)
    assert lines[0]["product"] == str(lathe.pk)
    assert lines[1]["product"] == "CNC-100"  # typed, not chosen: the service refuses it
    assert "product" not in lines[2]
