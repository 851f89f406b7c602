"""The "fast filtering" index of a custom field serves the filter language's conditions on
it, on SQLite and on PostgreSQL (the database says so in its query plan), and the way the
conditions are written for that index finds exactly what the filter means, by type."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from rapport.core.customfields import indexes
from rapport.core.customfields import services as fields
from rapport.core.customfields.models import CustomField
from rapport.customers import services
from rapport.customers.filtering import apply_filter
from rapport.customers.models import Account

pytestmark = pytest.mark.django_db

ACCOUNT = "customers.account"


def add(org, key: str, kind: str, **extra) -> CustomField:
    return fields.custom_field_create(
        actor=org["admin"], object_type=ACCOUNT, key=key, type=kind, label=key, **extra
    )


@pytest.fixture
def typed(org):
    add(org, "size", "choice", choices="smb|中小|SMB\nent|大型|Enterprise", indexed=True)
    add(org, "employees", "number", indexed=True)
    add(org, "revenue", "decimal")
    add(org, "since", "date", indexed=True)
    add(org, "checked_at", "datetime")
    add(org, "vip", "boolean", indexed=True)
    add(org, "note", "text")
    add(org, "keeper", "user")
    add(org, "products", "multi_choice", choices="a|A|A\nb|B|B", indexed=True)
    rep = org["rep_sh"]
    records = {
        "甲": {
            "size": "ent",
            "employees": 5000,
            "revenue": "12.5",
            "since": "1998-05-01",
            "checked_at": "2026-01-02T08:00:00+08:00",
            "vip": True,
            "note": "Key account",
            "keeper": rep.pk,
            "products": ["a", "b"],
        },
        "乙": {
            "size": "smb",
            "employees": 40,
            "revenue": "3",
            "since": "2015-03-01",
            "checked_at": "2026-01-01T08:00:00+08:00",
            "vip": False,
            "note": "small",
            "products": ["b"],
        },
        "丙": {},
    }
    for name, custom in records.items():
        services.account_create(actor=rep, name=name, custom=custom)
    return rep


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("cf.size = ent", {"甲"}),
        ("cf.size in (ent, smb)", {"甲", "乙"}),
        ("cf.size is empty", {"丙"}),
        ("cf.size is not empty", {"甲", "乙"}),
        ("cf.employees >= 5000", {"甲"}),
        ("cf.employees < 100", {"乙"}),
        ("cf.employees in (40, 41)", {"乙"}),
        ("cf.employees = 40", {"乙"}),
        ("cf.revenue > 10", {"甲"}),
        ("cf.revenue <= 3", {"乙"}),
        ("cf.since < 2000-01-01", {"甲"}),
        ("cf.since >= 2015-03-01", {"乙"}),
        ('cf.checked_at > "2026-01-02 00:00"', {"甲"}),
        ("cf.checked_at < 2026-01-02", {"乙"}),
        ("cf.vip = true", {"甲"}),
        ("cf.vip = false", {"乙"}),
        ("cf.note = small", {"乙"}),
        ("cf.note ~ account", {"甲"}),
        ("cf.note ^ sm", {"乙"}),
        ("cf.keeper = me", {"甲"}),
        ("cf.keeper is empty", {"乙", "丙"}),
        ("cf.products = a", {"甲"}),
        ("cf.products in (a, b)", {"甲", "乙"}),
        ("cf.products is empty", {"丙"}),
    ],
)
def test_conditions_on_custom_fields_find_what_they_mean(typed, text, expected):
    found = apply_filter(Account.objects.all(), typed, ACCOUNT, text)
    assert set(found.values_list("name", flat=True)) == expected


def _plan(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # A handful of rows: make the planner show whether it *can* use the index.
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("EXPLAIN " + sql, params)
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        return "\n".join(str(row) for row in cursor.fetchall())


@pytest.mark.parametrize(
    ("key", "text"),
    [
        ("size", "cf.size = ent"),
        ("size", "cf.size in (ent, smb)"),
        ("employees", "cf.employees = 40"),
        ("employees", "cf.employees >= 1000"),
        ("since", "cf.since < 2000-01-01"),
        ("vip", "cf.vip = true"),
    ],
)
def test_filters_on_an_indexed_field_use_its_index(typed, key, text):
    field = CustomField.objects.get(object_type=ACCOUNT, key=key)
    # Without an ORDER BY: the list's keyset order is a separate choice of the planner.
    found = apply_filter(Account.objects.all(), typed, ACCOUNT, text).order_by()
    assert indexes.index_name(field) in _plan(found)


def test_the_index_is_used_for_emptiness_on_sqlite_and_containment_on_postgresql(typed):
    if connection.vendor == "postgresql":
        field = CustomField.objects.get(object_type=ACCOUNT, key="products")
        found = apply_filter(Account.objects.all(), typed, ACCOUNT, "cf.products = a")
    else:
        field = CustomField.objects.get(object_type=ACCOUNT, key="size")
        found = apply_filter(Account.objects.all(), typed, ACCOUNT, "cf.size is empty")
    assert indexes.index_name(field) in _plan(found.order_by())


def test_without_the_index_the_same_filter_scans(typed, org):
    field = CustomField.objects.get(object_type=ACCOUNT, key="size")
    fields.custom_field_update(actor=org["admin"], field=field, indexed=False)
    found = apply_filter(Account.objects.all(), typed, ACCOUNT, "cf.size = ent").order_by()
    assert indexes.index_name(field) not in _plan(found)
    assert set(found.values_list("name", flat=True)) == {"甲"}
