"""Every write path stores values normalized (`rapport.core.normalize`): the services, and so
forms, the API, rules and imports through them."""

from __future__ import annotations

import pytest

from rapport.customers import services
from rapport.customers.models import Account

pytestmark = pytest.mark.django_db


def test_account_values_are_normalized_by_the_service(org):
    rep = org["rep_east"]
    account = services.account_create(
        actor=rep,
        name="  华信科技（深圳）有限公司　",
        short_name="ＨＸ　科技",
        province="广东",
        city="Shenzhen",
        phone="０７５５－８６１２３４５６",
        address="南山区  科技园\u200b",
    )
    account.refresh_from_db()
    assert account.name == "华信科技（深圳）有限公司"  # official brackets kept
    assert account.short_name == "HX 科技"
    assert account.province == "广东省"
    assert account.city == "深圳市"
    assert account.phone == "+8675586123456"
    assert account.address == "南山区 科技园"
    services.account_update(actor=rep, account=account, province="Guangdong Province", city="广州")
    account.refresh_from_db()
    assert (account.province, account.city) == ("广东省", "广州市")


def test_contact_phones_and_emails_split_on_chinese_separators(org):
    contact = services.contact_create(
        actor=org["rep_east"],
        name=" 张　伟 ",
        title="销售总监 ",
        phones="１３８１２３４５６７８、+86 139 1234 5678，13812345678",
        emails="Zhang.Wei@Example.COM；zw@example.com",
    )
    assert contact.name == "张 伟"
    assert contact.title == "销售总监"
    assert contact.phones == ["+8613812345678", "+8613912345678"]
    assert contact.emails == ["Zhang.Wei@example.com", "zw@example.com"]


def test_api_writes_are_normalized_alike(org):
    from rest_framework.test import APIClient

    from rapport.identity.services import token_create

    _token, secret = token_create(actor=org["rep_east"], name="test")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer " + secret)
    response = client.post(
        "/api/v1/accounts/",
        {"name": "ＡＣＭＥ　Trading", "province": "Beijing", "city": "北京"},
        format="json",
    )
    assert response.status_code == 201, response.content
    stored = Account.objects.get(pk=response.json()["id"])
    assert (stored.name, stored.province, stored.city) == ("ACME Trading", "北京市", "北京市")
