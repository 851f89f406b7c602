"""The home page: recently viewed and changed records, visible counts, open alerts."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from rapport.audit.models import Alert
from rapport.customers import services
from tests.factories import AccountFactory, ContactFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()  # the visible counts are cached per user


def login(client, user):
    # force_login: django-axes refuses client.login() (it needs a request to authenticate).
    client.force_login(user)
    return client


def section(body: str, testid: str) -> str:
    return body.split(f'data-testid="{testid}"')[1].split('data-testid="')[0]


def records_in(body: str, testid: str) -> list[str]:
    return re.findall(r'data-record="([\w.]+:\d+)"', section(body, testid))


def test_recently_viewed_newest_first_distinct_and_still_visible(client, org):
    user = org["rep_sh"]
    first = AccountFactory(owner=user, name="第一家")
    second = AccountFactory(owner=user, name="第二家")
    contact = ContactFactory(owner=user, name="联系人甲")
    given_away = AccountFactory(owner=user, name="已移交")
    login(client, user)
    for url in (
        reverse("customers:account_detail", args=[first.pk]),
        reverse("customers:account_detail", args=[given_away.pk]),
        reverse("customers:account_detail", args=[second.pk]),
        reverse("customers:contact_detail", args=[contact.pk]),
        reverse("customers:account_detail", args=[first.pk]),
    ):
        assert client.get(url).status_code == 200
    services.record_assign(actor=org["admin"], record=given_away, owner=org["rep_south"])

    body = client.get(reverse("web:home")).content.decode()
    assert records_in(body, "recently-viewed") == [
        f"customers.account:{first.pk}",
        f"customers.contact:{contact.pk}",
        f"customers.account:{second.pk}",
    ]
    assert "已移交" not in body


def test_recently_viewed_keeps_the_latest_ten(client, org):
    user = org["rep_sh"]
    accounts = [AccountFactory(owner=user) for _ in range(12)]
    for account in accounts:
        services.record_viewed(actor=user, record=account)
    body = login(client, user).get(reverse("web:home")).content.decode()
    assert records_in(body, "recently-viewed") == [
        f"customers.account:{account.pk}" for account in reversed(accounts[2:])
    ]


def test_recently_changed_by_the_user_only(client, org):
    user = org["rep_sh"]
    created = services.account_create(actor=user, name="我建的")
    changed = AccountFactory(owner=user, name="我改的")
    services.account_update(actor=user, account=changed, short_name="改")
    AccountFactory(owner=user, name="别人建的")
    services.account_create(actor=org["admin"], owner=user, name="管理员建的")
    body = login(client, user).get(reverse("web:home")).content.decode()
    assert records_in(body, "recently-changed") == [
        f"customers.account:{changed.pk}",
        f"customers.account:{created.pk}",
    ]


def test_counts_of_what_the_user_can_see(client, org):
    for _ in range(3):
        AccountFactory(owner=org["rep_sh"])
    AccountFactory(owner=org["rep_south"])
    AccountFactory(owner=org["rep_sh"], is_active=False)
    ContactFactory(owner=org["rep_sh"])
    body = login(client, org["rep_sh"]).get(reverse("web:home")).content.decode()
    assert re.search(r'data-count="accounts">3<', body)
    assert re.search(r'data-count="contacts">1<', body)
    client.logout()
    cache.clear()
    body = login(client, org["auditor"]).get(reverse("web:home")).content.decode()
    assert re.search(r'data-count="accounts">4<', body)


def test_open_alerts_for_auditors_only(client, org):
    open_alert = Alert.objects.create(
        rule="mass_view",
        subject=org["rep_sh"],
        subject_repr="rep_sh",
        message="stored text",
        details={"count": 60, "window_minutes": 10},
    )
    Alert.objects.create(
        rule="off_hours",
        subject=org["rep_sh"],
        subject_repr="rep_sh",
        message="已处理的告警",
        acknowledged_at="2026-01-01T00:00:00Z",
        acknowledged_by=org["auditor"],
    )
    body = login(client, org["auditor"]).get(reverse("web:home")).content.decode()
    assert 'data-testid="open-alerts"' in body
    assert re.findall(r'data-alert="(\d+)"', body) == [str(open_alert.pk)]
    assert "rep_sh viewed 60 customer records in 10 minutes." in body  # in the reader's language
    assert "已处理的告警" not in body
    org["auditor"].language = "zh-hans"
    org["auditor"].save()
    body = client.get(reverse("web:home")).content.decode()
    assert "rep_sh 在 10 分钟内查看了 60 条客户记录" in body
    client.logout()
    body = login(client, org["rep_sh"]).get(reverse("web:home")).content.decode()
    assert 'data-testid="open-alerts"' not in body
    assert "看了太多客户" not in body


def test_home_queries_do_not_grow(client, org, django_assert_num_queries):
    user = org["auditor"]
    owner = org["rep_sh"]

    def touch(count):
        for _ in range(count):
            account = AccountFactory(owner=owner)
            contact = ContactFactory(owner=owner)
            services.record_viewed(actor=user, record=account)
            services.record_viewed(actor=user, record=contact)
            Alert.objects.create(rule="mass_view", subject=owner, message="…")

    touch(5)
    login(client, user)
    client.get(reverse("web:home"))
    with CaptureQueriesContext(connection) as captured:
        client.get(reverse("web:home"))
    touch(25)
    with django_assert_num_queries(len(captured)):
        body = client.get(reverse("web:home")).content.decode()
    assert len(records_in(body, "recently-viewed")) == 10


def test_home_in_chinese(client, org, settings):
    user = org["rep_sh"]
    type(user).objects.filter(pk=user.pk).update(language="")
    login(client, user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    assert '<html lang="zh-hans">' in client.get(reverse("web:home")).content.decode()


def test_home_needs_login(client):
    response = client.get(reverse("web:home"))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
