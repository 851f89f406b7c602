"""Accounts and contacts through the search index: what users type, what they may see, and
documents that follow the records' writes."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django.urls import reverse

from rapport.core import search
from rapport.core.search.models import SearchDocument, SearchKey
from rapport.customers import services
from rapport.customers.models import Account, Contact
from rapport.customers.querysets import accounts_matching, contacts_matching
from rapport.identity import policy
from rapport.identity.models import FieldRule, Role
from tests.factories import AccountFactory


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run a write and deliver its after-commit events, as a real request would."""

    def run(write, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return write(*args, **kwargs)

    return run


def found(user, text_query, object_type=Account.security_type, **options) -> list[int]:
    results = search.search(user, text_query, types=[object_type], **options)
    return [hit.id for group in results.groups for hit in group.hits]


@pytest.fixture
def bank(org, committed):
    rep = org["rep_sh"]
    bank = committed(services.account_create, actor=rep, name="中国银行", city="上海市")
    other = committed(services.account_create, actor=rep, name="上海华信电子有限公司")
    return bank, other


@pytest.mark.parametrize(
    "typed",
    ["中国银行", "银行", "zhongguo", "zgyh", "中國銀行", "zhongguoyinhang", "ZGYH", "中国银"],
)
def test_the_bank_is_found_however_it_is_typed(org, bank, typed):
    assert found(org["rep_sh"], typed) == [bank[0].pk]


def test_fragments_and_jieba_words_of_a_longer_name(org, bank):
    user = org["rep_sh"]
    assert found(user, "华信电子") == [bank[1].pk]
    assert found(user, "电子 华信") == [bank[1].pk]
    assert found(user, "huaxin") == [bank[1].pk]
    assert found(user, "信电") == [bank[1].pk]
    assert found(user, "农业银行") == []


@pytest.mark.parametrize(
    "typed", ["138 1234 5678", "+86 138-1234-5678", "13812345678", "+8613812345678"]
)
def test_a_contact_is_found_by_phone_in_any_format(org, committed, typed):
    rep = org["rep_sh"]
    wang = committed(services.contact_create, actor=rep, name="王小明", phones=["13812345678"])
    committed(services.contact_create, actor=rep, name="李雷", phones=["13900001111"])
    assert found(rep, typed, Contact.security_type) == [wang.pk]
    assert found(rep, "1381234567", Contact.security_type) == []  # exact only, no fragments


def test_a_contact_is_found_by_email_in_any_case_and_no_plaintext_is_stored(org, committed):
    rep = org["rep_sh"]
    li = committed(
        services.contact_create,
        actor=rep,
        name="Li Lei",
        emails=["li.lei@example.com"],
        phones=["+8613812345678"],
    )
    for typed in ("li.lei@example.com", "LI.LEI@Example.COM"):
        assert found(rep, typed, Contact.security_type) == [li.pk]
    document = SearchDocument.objects.get(object_type=Contact.security_type, object_id=li.pk)
    stored = document.terms + document.title + document.subtitle
    stored += " ".join(SearchKey.objects.filter(document=document).values_list("key", flat=True))
    for secret in ("example", "13812345678", "8613812345678", "li.lei"):
        assert secret not in stored


def test_contacts_are_found_by_name_fragment_pinyin_and_account(org, committed, bank):
    rep = org["rep_sh"]
    wang = committed(
        services.contact_create, actor=rep, name="王小明", title="采购经理", accounts=[bank[0]]
    )
    for typed in ("小明", "wangxiaoming", "xiaoming", "wxm", "采购", "中国银行"):
        assert found(rep, typed, Contact.security_type) == [wang.pk], typed


def test_english_prefix_and_typos(org, committed):
    rep = org["rep_sh"]
    acme = committed(services.account_create, actor=rep, name="Acme Trading Co., Ltd.")
    committed(services.account_create, actor=rep, name="Apex Logistics")
    assert found(rep, "acm") == [acme.pk]
    assert found(rep, "ACME trad") == [acme.pk]
    for typo in ("acne", "amce", "tradign"):
        results = search.search(rep, typo, types=[Account.security_type])
        assert [hit.id for hit in results.groups[0].hits] == [acme.pk], typo
        assert results.fuzzy
    assert not search.search(rep, "acme").fuzzy
    assert found(rep, "zzzz") == []


def test_a_user_finds_only_what_they_may_see(org, committed):
    mine = committed(services.account_create, actor=org["rep_sh"], name="远望科技上海公司")
    east = committed(services.account_create, actor=org["rep_east"], name="远望科技华东公司")
    south = committed(services.account_create, actor=org["rep_south"], name="远望科技深圳公司")
    assert found(org["rep_sh"], "远望科技") == [mine.pk]
    assert set(found(org["sales_manager"], "远望科技")) == {mine.pk, east.pk}
    assert set(found(org["admin"], "yuanwang")) == {mine.pk, east.pk, south.pk}
    # The same restriction in lists and the API.
    visible = Account.objects.restrict(org["rep_south"], "view")
    assert list(accounts_matching(visible, "远望").values_list("pk", flat=True)) == [south.pk]


def test_a_user_who_sees_few_records_still_gets_their_matches(org):
    """Matches are joined with the restriction in SQL, not cut to the best N then filtered."""
    for _ in range(30):
        AccountFactory(owner=org["rep_south"], name="远望科技有限公司")
    mine = AccountFactory(owner=org["rep_sh"], name="远望科技有限公司分部")
    assert found(org["rep_sh"], "远望科技", limit=5) == [mine.pk]
    results = search.search(org["admin"], "远望科技", types=[Account.security_type], limit=5)
    assert len(results.groups[0].hits) == 5 and results.groups[0].more


@pytest.mark.parametrize("candidates", [2, 5, 1000])
def test_ranking_the_best_matches_first_gives_the_same_answer(org, candidates, monkeypatch):
    """Whether the visible best matches are found among the first candidates or every match
    has to be checked, the answer is the same (ranks, then ids, order every match)."""
    from rapport.core.search import index

    names = ["远望科技", "远望科技有限公司", "上海远望科技发展有限公司", "远望"]
    for number in range(12):
        owner = org["rep_sh"] if number % 4 == 0 else org["rep_south"]
        AccountFactory(owner=owner, name=names[number % len(names)] + f"{number:02d}")
    expected = {}
    monkeypatch.setattr(index, "CANDIDATES", 10**6)
    for user in ("rep_sh", "sales_manager", "admin"):
        expected[user] = found(org[user], "远望科技", limit=4)
    monkeypatch.setattr(index, "CANDIDATES", candidates)
    for user in ("rep_sh", "sales_manager", "admin"):
        assert found(org[user], "远望科技", limit=4) == expected[user]
    assert len(expected["admin"]) == 4 and len(expected["rep_sh"]) == 3


def test_best_match_first(org):
    rep = org["rep_sh"]
    loose = AccountFactory(owner=rep, name="上海银行大厦物业管理有限公司", short_name="银行大厦")
    exact = AccountFactory(owner=rep, name="中国银行")
    assert found(rep, "中国银行")[0] == exact.pk
    assert set(found(rep, "银行")) == {exact.pk, loose.pk}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's order")
def test_postgresql_puts_name_matches_first_closest_names_first(org, committed):
    """Records whose name holds the words come first, shortest name first (newest among
    equal lengths); then those matching elsewhere (a contact by its company), newest first."""
    rep = org["rep_sh"]
    long_name = AccountFactory(owner=rep, name="北京华信软件有限公司")
    short_old = AccountFactory(owner=rep, name="华信集团")
    short_new = AccountFactory(owner=rep, name="华信物流")
    exact = AccountFactory(owner=rep, name="华信")
    city_only = AccountFactory(owner=rep, name="远东贸易有限公司", short_name="华信")
    assert found(rep, "华信") == [exact.pk, short_new.pk, short_old.pk, long_name.pk, city_only.pk]
    assert found(rep, "huaxin", limit=2) == [exact.pk, short_new.pk]
    company = committed(services.account_create, actor=rep, name="华信科技有限公司")
    by_company = [
        committed(services.contact_create, actor=rep, name=name, accounts=[company])
        for name in ("李明", "王芳")
    ]
    by_name = committed(services.contact_create, actor=rep, name="张华信")
    assert found(rep, "华信", Contact.security_type) == [
        by_name.pk,
        by_company[1].pk,
        by_company[0].pk,
    ]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's plans")
@pytest.mark.parametrize("popular", [1, 3, 10_000])
def test_postgresql_gives_the_same_order_whichever_plan_it_pins(
    org, committed, popular, monkeypatch
):
    """A popular text is read in ranking order from an index, a rare one sorted from all its
    matches: the same records in the same order either way, and the planner's settings are
    back as they were afterwards."""
    from rapport.core.search import index

    rep = org["rep_sh"]
    for name in ("华信", "华信物流", "北京华信软件有限公司", "华信集团", "远东贸易"):
        AccountFactory(owner=rep, name=name, short_name="华信" if name == "远东贸易" else "")
    AccountFactory(owner=org["rep_south"], name="华信南方")
    company = committed(services.account_create, actor=rep, name="华信科技")
    for person in ("李明", "王芳", "华信安"):
        committed(services.contact_create, actor=rep, name=person, accounts=[company])
    monkeypatch.setattr(index, "POPULAR", 10_000)
    expected = {
        t: found(rep, "华信", t, limit=4) for t in (Account.security_type, Contact.security_type)
    }
    monkeypatch.setattr(index, "POPULAR", popular)
    for object_type, ids in expected.items():
        assert found(rep, "华信", object_type, limit=4) == ids
    assert len(expected[Account.security_type]) == 4
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('enable_indexscan'), current_setting('enable_bitmapscan')"
        )
        assert cursor.fetchone() == ("on", "on")


def test_documents_follow_create_update_and_rename(org, committed, bank):
    rep = org["rep_sh"]
    account = bank[0]
    zhang = committed(services.contact_create, actor=rep, name="张伟", accounts=[account])
    committed(services.account_update, actor=rep, account=account, name="招商银行")
    assert found(rep, "招商银行") == [account.pk]
    assert found(rep, "zhaoshang") == [account.pk]
    assert found(rep, "中国银行") == []
    # The contact's document shows its account's new name.
    assert found(rep, "招商", Contact.security_type) == [zhang.pk]
    assert found(rep, "中国银行", Contact.security_type) == []
    committed(services.contact_update, actor=rep, contact=zhang, phones=["+8613700001234"])
    assert found(rep, "137 0000 1234", Contact.security_type) == [zhang.pk]


def test_a_deactivated_record_is_still_found(org, committed, bank):
    rep = org["rep_sh"]
    committed(services.account_deactivate, actor=org["admin"], account=bank[0])
    assert found(rep, "中国银行") == [bank[0].pk]


def test_a_rolled_back_write_leaves_the_index_alone(org, committed, bank):
    rep = org["rep_sh"]

    def failing_rename():
        with transaction.atomic():
            services.account_update(actor=rep, account=bank[0], name="已回滚银行")
            raise RuntimeError("the request failed after the write")

    with pytest.raises(RuntimeError):
        committed(failing_rename)

    def failing_create():
        with transaction.atomic():
            services.account_create(actor=rep, name="回滚公司")
            raise RuntimeError("the request failed after the write")

    with pytest.raises(RuntimeError):
        committed(failing_create)
    assert found(rep, "已回滚") == []
    assert found(rep, "回滚公司") == []
    assert found(rep, "中国银行") == [bank[0].pk]
    assert not SearchDocument.objects.filter(title__contains="回滚").exists()


def test_a_hidden_phone_cannot_be_searched(org, committed):
    rep = org["rep_sh"]
    committed(services.contact_create, actor=rep, name="王小明", phones=["13812345678"])
    role = Role.objects.get(code="sales_rep")
    assert found(rep, "13812345678", Contact.security_type)
    FieldRule.objects.create(
        role=role, object_type=Contact.security_type, field="phones", rule="hidden"
    )
    policy.forget(rep)  # drop the cached field rules
    assert found(rep, "13812345678", Contact.security_type) == []


def test_credit_code_prefix_still_matches(org):
    from tests.api.helpers import credit_code

    code = credit_code()
    account = AccountFactory(owner=org["rep_sh"], credit_code=code)
    visible = Account.objects.restrict(org["rep_sh"], "view")
    for typed in (code, code[:8], code[:10].lower()):
        assert list(accounts_matching(visible, typed).values_list("pk", flat=True)) == [account.pk]


def test_list_pages_lookup_and_api_search_through_the_index(client, org, committed, bank):
    rep = org["rep_sh"]
    wang = committed(
        services.contact_create,
        actor=rep,
        name="王小明",
        phones=["13812345678"],
        accounts=[bank[0]],
    )
    client.force_login(rep)
    page = client.get(reverse("customers:account_list"), {"q": "zgyh"}).content.decode()
    assert re.findall(r'data-account="(\d+)"', page) == [str(bank[0].pk)]
    page = client.get(reverse("customers:contact_list"), {"q": "138-1234-5678"}).content.decode()
    assert re.findall(r'data-contact="(\d+)"', page) == [str(wang.pk)]
    options = client.get(reverse("customers:account_lookup"), {"q": "中國"}).content.decode()
    assert "中国银行" in options and "华信" not in options
    visible = Contact.objects.restrict(rep, "view")
    assert list(contacts_matching(visible, "wxm").values_list("pk", flat=True)) == [wang.pk]


def test_a_hidden_phone_cannot_be_searched_from_a_list(
    client, org, django_capture_on_commit_callbacks
):
    from django.urls import reverse

    from rapport.customers import services
    from rapport.identity import services as identity_services

    with django_capture_on_commit_callbacks(execute=True):  # the index updates after commit
        contact = services.contact_create(
            actor=org["admin"], name="隐藏号码", phones=["13866668888"]
        )
    role = Role.objects.get(code="marketer")
    identity_services.field_rule_set(
        actor=org["admin"],
        role=role,
        object_type="customers.contact",
        field="phones",
        rule="hidden",
    )
    client.force_login(org["marketer"])
    page = client.get(reverse("customers:contact_list"), {"q": "13866668888"}).content.decode()
    assert f'data-contact="{contact.pk}"' not in page and "隐藏号码" not in page
    client.force_login(org["admin"])
    page = client.get(reverse("customers:contact_list"), {"q": "13866668888"}).content.decode()
    assert "隐藏号码" in page
