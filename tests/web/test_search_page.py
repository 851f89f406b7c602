"""The global search page and the search box in the top bar."""

from __future__ import annotations

import re

from django.core.cache import cache
from django.urls import reverse

from tests.factories import AccountFactory, ContactFactory
from tests.query_counts import assert_flat


def test_top_bar_has_the_search_box(client, org):
    client.force_login(org["rep_sh"])
    page = client.get(reverse("web:home")).content.decode()
    assert 'data-testid="top-search"' in page and 'action="/search/"' in page


def test_results_grouped_with_links_and_masked_fields(client, org):
    cache.clear()
    agent = org["marketer"]  # sees contacts, phones masked
    account = AccountFactory(owner=org["rep_sh"], name="中国银行")
    contact = ContactFactory(owner=org["rep_sh"], name="王小明", phones=["+8613812345678"])
    contact.accounts.add(account)
    ContactFactory(owner=org["rep_sh"], name="王小明", phones=["+8613812345678"])
    client.force_login(agent)
    page = client.get(reverse("web:search"), {"q": "王小明"}).content.decode()
    assert 'data-testid="search-group-customers.contact"' in page
    assert f'href="/customers/contacts/{contact.pk}/"' in page
    assert "13812345678" not in page and "****5678" in page
    empty = client.get(reverse("web:search"), {"q": "没有这个公司"}).content.decode()
    assert 'data-testid="search-empty"' in empty


def test_search_page_needs_sign_in(client):
    response = client.get(reverse("web:search"), {"q": "x"})
    assert response.status_code == 302


def test_query_count_does_not_grow_with_results(client, org):
    cache.clear()
    user = org["sales_manager"]
    account = AccountFactory(owner=user, name="远望科技有限公司")

    def grow(count):
        for number in range(count):
            contact = ContactFactory(owner=user, name=f"远望{number}号联系人")
            contact.accounts.add(account)
            AccountFactory(owner=user, name=f"远望{number}号分公司")

    client.force_login(user)
    assert_flat(
        client,
        reverse("web:search"),
        grow,
        few=1,
        many=8,
        params={"q": "远望"},
        rows=lambda body: len(re.findall('data-testid="search-hit"', body)) // 2,
    )
