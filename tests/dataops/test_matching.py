"""Duplicate matching: identifiers, fuzzy company names (script, suffixes, sound), people
by name only together with another signal, and only records the user may see."""

from __future__ import annotations

import pytest
from django.utils import translation

from rapport.core import duplicates
from rapport.customers import services
from rapport.dataops import matching

pytestmark = pytest.mark.django_db


@pytest.fixture
def accounts(org, django_capture_on_commit_callbacks):
    rep = org["rep_east"]
    with django_capture_on_commit_callbacks(execute=True):
        made = {
            "huaxin": services.account_create(
                actor=rep, name="北京华信软件有限公司", city="北京", phone="010-65521234"
            ),
            "other": services.account_create(actor=rep, name="上海银行股份有限公司"),
            "similar_trade": services.account_create(actor=rep, name="北京华为软件有限公司"),
        }
    return made


def names(found) -> list[str]:
    return [candidate.record.name for candidate in found]


@pytest.mark.parametrize(
    "typed",
    [
        "北京华信软件有限公司",
        "北京華信軟件有限責任公司",
        "北京华信软件股份有限公司",
        "华信软件",
        "北京华新软件有限公司",  # same sound, a typo
    ],
)
def test_company_name_variants_find_the_account(org, accounts, typed):
    found = matching.find_accounts(org["rep_east"], {"name": typed})
    assert names(found)[:1] == ["北京华信软件有限公司"], typed
    assert found[0].score >= matching.THRESHOLD


def test_unrelated_names_are_not_duplicates(org, accounts):
    assert matching.find_accounts(org["rep_east"], {"name": "杭州阿里巴巴网络技术有限公司"}) == []
    found = matching.find_accounts(org["rep_east"], {"name": "北京华为软件"})
    assert "北京华信软件有限公司" not in names(found[:1])


def test_same_phone_in_any_form_is_a_reason(org, accounts):
    with translation.override("en"):
        found = matching.find_accounts(
            org["rep_east"], {"name": "完全不同的名字", "phone": "+86 10 6552 1234"}
        )
    assert names(found) == ["北京华信软件有限公司"]
    assert found[0].reasons == ["same phone"]
    assert found[0].score == 90


def test_same_city_strengthens_a_similar_name(org, accounts):
    with translation.override("en"):
        (plain,) = matching.find_accounts(org["rep_east"], {"name": "北京华信软件科技有限公司"})[:1]
        (located,) = matching.find_accounts(
            org["rep_east"], {"name": "北京华信软件科技有限公司", "city": "Beijing"}
        )[:1]
    assert located.score > plain.score
    assert "same city" in located.reasons[0]


def test_excluded_record_and_hidden_records_are_not_offered(org, accounts):
    huaxin = accounts["huaxin"]
    assert "北京华信软件有限公司" not in names(
        matching.find_accounts(org["rep_east"], {"name": huaxin.name}, exclude_id=huaxin.pk)
    )
    # rep_south sees neither East's accounts nor their phones
    assert (
        matching.find_accounts(org["rep_south"], {"name": huaxin.name, "phone": "01065521234"})
        == []
    )


def test_contacts_need_more_than_a_common_name(org, accounts, django_capture_on_commit_callbacks):
    rep = org["rep_east"]
    huaxin = accounts["huaxin"]
    with django_capture_on_commit_callbacks(execute=True):
        zhang = services.contact_create(
            actor=rep,
            name="张伟",
            accounts=[huaxin],
            phones=["13812345678"],
            emails=["zhang.wei@huaxin.example"],
        )
        services.contact_create(actor=rep, name="张伟", accounts=[accounts["other"]])
    # a name alone: not enough
    assert matching.find_contacts(rep, {"name": "张伟"}) == []
    # the same name at the same account
    with translation.override("en"):
        (same_account,) = matching.find_contacts(rep, {"name": "张 伟", "accounts": [huaxin]})
    assert same_account.record == zhang
    assert "same account" in same_account.reasons[0]
    # an e-mail written differently, or a phone in full-width digits
    (by_email,) = matching.find_contacts(
        rep, {"name": "Wei Zhang", "emails": "Zhang.Wei@HUAXIN.example"}
    )
    assert by_email.record == zhang and by_email.score == 95
    (by_phone,) = matching.find_contacts(rep, {"phones": "１３８ １２３４ ５６７８"})
    assert by_phone.record == zhang


def test_the_hook_reaches_the_finders(org, accounts):
    found = duplicates.find(org["rep_east"], "customers.account", {"name": "华信软件"})
    assert names(found)[:1] == ["北京华信软件有限公司"]
    assert duplicates.find(org["rep_east"], "no.such_type", {"name": "x"}) == []


@pytest.mark.parametrize(
    ("a", "b", "alike"),
    [
        ("深圳市华为技术有限公司", "华为技术（深圳）", True),  # words in another order
        ("北京华信软件有限公司", "北京华新软件有限公司", True),  # the same sound
        ("Acme Trading Co., Ltd.", "ACME TRADING LIMITED", True),
        ("北京华信软件有限公司", "北京华为软件有限公司", False),  # another brand, same trade
        ("北京华信软件有限公司", "杭州阿里巴巴网络技术有限公司", False),
    ],
)
def test_name_score(a, b, alike):
    assert (matching.name_score(a, b, company=True) >= matching.THRESHOLD) is alike


def test_every_write_of_a_name_keeps_its_matching_keys(org):
    from rapport.customers.models import Account

    admin = org["admin"]
    account = services.account_create(actor=admin, name="北京華信軟件有限責任公司")
    account.refresh_from_db()
    assert (account.name_key, account.name_core, account.name_sound) == (
        "北京华信软件",
        "华信",
        "huaxin",
    )
    services.account_update(actor=admin, account=account, name="Acme Trading Co., Ltd.")
    account.refresh_from_db()
    assert account.name_key == "acmetrading" and account.name_sound == ""
    (made,) = services.accounts_create_many(actor=admin, rows=[{"name": "上海华新科技有限公司"}])
    made = Account.objects.get(pk=made.pk)
    assert (made.name_core, made.name_sound) == ("华新", "huaxin")
    # the same sound finds it; a name sharing only generic words does not
    found = matching.name_candidates(Account.objects.all(), "华信")
    assert set(found.values_list("name", flat=True)) == {"上海华新科技有限公司"}
    assert not matching.name_candidates(Account.objects.all(), "北京软件有限公司").exists()
