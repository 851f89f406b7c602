"""Custom fields: definitions managed by administrators, values checked by type and rules,
defaults and required fields, audited per field, filterable, and fast to filter."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from rapport.audit.models import AuditEvent
from rapport.core.customfields import indexes
from rapport.core.customfields import services as fields
from rapport.core.customfields.values import clean
from rapport.core.errors import PermissionDenied
from rapport.customers import services
from rapport.customers.filtering import apply_filter
from rapport.customers.models import Account, Contact

pytestmark = pytest.mark.django_db
ACCOUNT = "customers.account"


def add(org, key, type_, **values):
    return fields.custom_field_create(
        actor=org["admin"],
        object_type=ACCOUNT,
        key=key,
        type=type_,
        label=values.pop("label", key),
        **values,
    )


def test_only_administrators_manage_fields(org):
    with pytest.raises(PermissionDenied):
        fields.custom_field_create(
            actor=org["sales_manager"], object_type=ACCOUNT, key="x", type="text", label="X"
        )
    field = add(org, "region", "text", label="区域", label_en="Region")
    assert AuditEvent.objects.filter(object_type="core.customfield", action="create").exists()
    assert field.display_label in ("区域", "Region")


@pytest.mark.parametrize(
    ("values", "bad"),
    [
        ({"key": "Bad Key", "type": "text", "label": "x"}, {"key"}),
        ({"key": "ok", "type": "colour", "label": "x"}, {"type"}),
        ({"key": "ok", "type": "choice", "label": "x"}, {"choices"}),
        ({"key": "ok", "type": "choice", "label": "x", "choices": "a|甲\na|乙"}, {"choices"}),
        ({"key": "ok", "type": "number", "label": "x", "default": "many"}, {"default"}),
        ({"key": "ok", "type": "text", "label": ""}, {"label"}),
        (
            {"key": "ok", "type": "text", "label": "x", "validation": {"pattern": "("}},
            {"validation"},
        ),
    ],
)
def test_bad_definitions_name_the_field(org, values, bad):
    with pytest.raises(ValidationError) as error:
        fields.custom_field_create(actor=org["admin"], object_type=ACCOUNT, **values)
    assert set(error.value.message_dict) == bad


def test_values_are_checked_by_type(org):
    add(org, "employees", "number", validation={"min": 0, "max": 1000000})
    add(org, "revenue", "decimal")
    add(org, "founded", "date")
    add(org, "segment", "choice", choices="smb|中小企业|SMB\nent|大型企业|Enterprise")
    add(org, "products", "multi_choice", choices="a|甲\nb|乙\nc|丙")
    add(org, "listed", "boolean")
    add(org, "manager", "user")
    add(org, "site", "url")
    add(org, "billing", "email")
    add(org, "hotline", "phone")
    cleaned = clean(
        ACCOUNT,
        {
            "employees": "1,200",
            "revenue": "12.345",
            "founded": "1998-03-01",
            "segment": "ent",
            "products": ["c", "a"],
            "listed": "是",
            "manager": org["rep_sh"].pk,
            "site": "example.com",
            "billing": "Pay@EXAMPLE.com",
            "hotline": "021 6329 1979",
        },
        creating=True,
    )
    assert cleaned == {
        "employees": 1200,
        "revenue": 12.35,
        "founded": "1998-03-01",
        "segment": "ent",
        "products": ["a", "c"],
        "listed": True,
        "manager": org["rep_sh"].pk,
        "site": "https://example.com",
        "billing": "Pay@example.com",
        "hotline": "+862163291979",
    }
    with pytest.raises(ValidationError) as error:
        clean(
            ACCOUNT,
            {
                "employees": "-1",
                "founded": "1998-02-30",
                "segment": "huge",
                "products": ["z"],
                "listed": "maybe",
                "manager": 999999,
                "billing": "nope",
                "hotline": "12",
                "nosuch": 1,
            },
            creating=True,
        )
    assert set(error.value.message_dict) == {
        "custom.employees",
        "custom.founded",
        "custom.segment",
        "custom.products",
        "custom.listed",
        "custom.manager",
        "custom.billing",
        "custom.hotline",
        "custom.nosuch",
    }


def test_required_and_default_on_create_and_nothing_partial(org):
    add(org, "region", "choice", choices="e|华东\ns|华南", required=True)
    add(org, "grade", "text", default="standard")
    with pytest.raises(ValidationError) as error:
        services.account_create(actor=org["rep_sh"], name="缺必填", credit_code="")
    assert set(error.value.message_dict) == {"custom.region"}
    assert not Account.objects.exists()
    account = services.account_create(actor=org["rep_sh"], name="甲", custom={"region": "e"})
    assert account.custom == {"region": "e", "grade": "standard"}
    # An update that does not mention a required field leaves it alone.
    services.account_update(actor=org["rep_sh"], account=account, city="上海")
    with pytest.raises(ValidationError):
        services.account_update(actor=org["rep_sh"], account=account, custom={"region": ""})


def test_changes_are_audited_per_field(org):
    add(org, "employees", "number")
    account = services.account_create(actor=org["rep_sh"], name="乙", custom={"employees": 10})
    services.account_update(actor=org["rep_sh"], account=account, custom={"employees": 25})
    event = AuditEvent.objects.filter(object_id=str(account.pk), action="update").latest("seq")
    assert event.changes == {"custom.employees": [10, 25]}


def test_retired_fields_keep_their_values(org):
    field = add(org, "legacy", "text")
    account = services.account_create(actor=org["rep_sh"], name="丙", custom={"legacy": "x"})
    fields.custom_field_set_active(actor=org["admin"], field=field, active=False)
    with pytest.raises(ValidationError):
        services.account_update(actor=org["rep_sh"], account=account, custom={"legacy": "y"})
    account.refresh_from_db()
    assert account.custom == {"legacy": "x"}


def test_filtering_on_custom_fields(org):
    add(org, "employees", "number", indexed=True)
    add(org, "segment", "choice", choices="smb|中小\nent|大型")
    add(org, "products", "multi_choice", choices="a|甲\nb|乙")
    add(org, "founded", "date")
    rep = org["rep_sh"]
    big = services.account_create(
        actor=rep,
        name="大公司",
        custom={
            "employees": 5000,
            "segment": "ent",
            "products": ["a", "b"],
            "founded": "1990-01-01",
        },
    )
    small = services.account_create(
        actor=rep,
        name="小公司",
        custom={"employees": 12, "segment": "smb", "founded": "2020-06-01"},
    )
    services.account_create(actor=rep, name="空白公司")

    def names(text):
        return set(
            apply_filter(Account.objects.all(), rep, ACCOUNT, text).values_list("name", flat=True)
        )

    assert names("cf.employees >= 1000") == {"大公司"}
    assert names("cf.employees < 100 or cf.segment = ent") == {"大公司", "小公司"}
    assert names("cf.products = b") == {"大公司"}
    assert names("cf.employees is empty") == {"空白公司"}
    assert names("cf.founded < 2000-01-01") == {"大公司"}
    with pytest.raises(ValidationError):
        names("cf.segment = huge")
    assert big.pk and small.pk


def test_an_indexed_field_gets_a_database_index(org):
    field = add(org, "employees", "number", indexed=True)
    name = indexes.index_name(field)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", [name])
        else:
            cursor.execute(
                "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = %s", [name]
            )
        row = cursor.fetchone()
    assert row and "employees" in row[0]
    fields.custom_field_update(actor=org["admin"], field=field, indexed=False)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT 1 FROM pg_indexes WHERE indexname = %s", [name])
        else:
            cursor.execute("SELECT 1 FROM sqlite_master WHERE name = %s", [name])
        assert cursor.fetchone() is None


def test_contacts_and_interactions_have_their_own_fields(org):
    fields.custom_field_create(
        actor=org["admin"],
        object_type="customers.contact",
        key="wechat_id",
        type="text",
        label="微信号",
    )
    fields.custom_field_create(
        actor=org["admin"],
        object_type="customers.interaction",
        key="channel",
        type="choice",
        label="渠道",
        choices="phone|电话\nwechat|微信",
        required=True,
    )
    contact = services.contact_create(
        actor=org["rep_sh"], name="丁", custom={"wechat_id": "ding01"}
    )
    assert Contact.objects.get(pk=contact.pk).custom == {"wechat_id": "ding01"}
    with pytest.raises(ValidationError) as error:
        services.interaction_log(actor=org["rep_sh"], kind="note", contact=contact)
    assert set(error.value.message_dict) == {"custom.channel"}
    note = services.interaction_log(
        actor=org["rep_sh"], kind="note", contact=contact, custom={"channel": "wechat"}
    )
    assert note.custom == {"channel": "wechat"}
