"""Custom fields end to end: an administrator adds one on the admin page; it appears in the
account form, on the detail page, in the API (and its schema) and in filters."""

from __future__ import annotations

import pytest
from django.urls import reverse

from rapport.core.customfields import services as fields
from rapport.core.customfields.models import CustomField
from rapport.customers import services
from rapport.customers.models import Account

pytestmark = pytest.mark.django_db


def test_administrator_adds_a_field_on_the_admin_page(client, org):
    client.force_login(org["admin"])
    url = reverse("identity:custom_field_list")
    response = client.post(
        url,
        {
            "object_type": "customers.account",
            "key": "Bad key",
            "type": "choice",
            "label": "客户规模",
            "position": 10,
        },
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert 'data-field-error="key"' in body and 'data-field-error="choices"' in body
    assert not CustomField.objects.exists()
    response = client.post(
        url,
        {
            "object_type": "customers.account",
            "key": "size",
            "type": "choice",
            "label": "客户规模",
            "label_en": "Company size",
            "choices": "smb|中小企业|SMB\nent|大型企业|Enterprise",
            "required": "on",
            "indexed": "on",
            "position": 10,
        },
    )
    assert response.status_code == 302
    field = CustomField.objects.get()
    assert field.required and field.indexed and len(field.choices) == 2
    client.force_login(org["sales_manager"])
    assert client.get(url).status_code == 403


def test_the_field_appears_in_the_form_detail_and_history(client, org):
    fields.custom_field_create(
        actor=org["admin"],
        object_type="customers.account",
        key="employees",
        type="number",
        label="员工数",
        label_en="Employees",
        validation={"min": 1},
    )
    client.force_login(org["rep_sh"])
    form = client.get(reverse("customers:account_create")).content.decode()
    assert 'name="custom.employees"' in form and "Employees" in form
    response = client.post(
        reverse("customers:account_create"),
        {"name": "新客户", "tier": "C", "lifecycle_stage": "prospect", "custom.employees": "0"},
    )
    assert response.status_code == 200
    assert 'data-field-error="custom.employees"' in response.content.decode()
    assert not Account.objects.exists()
    response = client.post(
        reverse("customers:account_create"),
        {"name": "新客户", "tier": "C", "lifecycle_stage": "prospect", "custom.employees": "350"},
    )
    assert response.status_code == 302
    account = Account.objects.get()
    assert account.custom == {"employees": 350}
    detail = client.get(reverse("customers:account_detail", args=[account.pk])).content.decode()
    assert 'data-field="custom.employees"' in detail and "350" in detail
    client.post(
        reverse("customers:account_edit", args=[account.pk]),
        {"name": "新客户", "tier": "C", "lifecycle_stage": "prospect", "custom.employees": "420"},
    )
    account.refresh_from_db()
    assert account.custom == {"employees": 420}
    history = client.get(reverse("customers:account_history", args=[account.pk])).content.decode()
    assert "Employees" in history and "420" in history


def test_custom_fields_are_list_columns_and_filters(client, org):
    fields.custom_field_create(
        actor=org["admin"],
        object_type="customers.account",
        key="segment",
        type="choice",
        label="细分",
        label_en="Segment",
        choices="smb|中小企业|SMB\nent|大型企业|Enterprise",
    )
    rep = org["rep_sh"]
    services.account_create(actor=rep, name="大客户甲", custom={"segment": "ent"})
    services.account_create(actor=rep, name="小客户乙", custom={"segment": "smb"})
    client.force_login(rep)
    url = reverse("customers:account_list")
    response = client.get(url, {"col": ["", "cf.segment"], "filter": "cf.segment = ent"})
    body = response.content.decode()
    assert '<th data-column="cf.segment"' in body
    assert "大客户甲" in body and "小客户乙" not in body
    assert "Enterprise" in body  # the choice label in the reader's language


def test_interaction_custom_values_show_on_the_timeline_in_fixed_queries(client, org):
    from datetime import timedelta

    from django.utils import timezone

    from tests.query_counts import assert_flat

    fields.custom_field_create(
        actor=org["admin"],
        object_type="customers.interaction",
        key="channel",
        type="choice",
        label="渠道",
        label_en="Channel",
        choices="wechat|微信|WeChat\nphone|电话|Phone",
    )
    fields.custom_field_create(
        actor=org["admin"],
        object_type="customers.interaction",
        key="referrer",
        type="user",
        label="推荐人",
        label_en="Referred by",
    )
    rep = org["rep_sh"]
    account = services.account_create(actor=rep, name="有渠道的客户")
    start = timezone.now() - timedelta(days=10)
    made = {"n": 0}

    def grow(n):
        for _ in range(n):
            made["n"] += 1
            services.interaction_log(
                actor=rep,
                kind="note",
                account=account,
                occurred_at=start + timedelta(minutes=made["n"]),
                custom={"channel": "wechat", "referrer": org["rep_east"].pk},
            )

    client.force_login(rep)
    url = reverse("customers:account_detail", args=[account.pk])
    assert_flat(
        client,
        url,
        grow,
        few=1,
        many=8,
        rows=lambda body: body.count('data-testid="interaction-custom"'),
    )
    body = client.get(url).content.decode()
    assert "Channel:</span> WeChat" in body and str(org["rep_east"]) in body
