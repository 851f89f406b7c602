"""The bell and the notifications page: the unread count on every page, the inbox in the
reader's language, opening one leads to its target and reads it, only one's own."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from rapport.core.notifications.models import Notification
from rapport.customers import notifications as task_notifications
from rapport.customers import services
from tests.query_counts import assert_flat, page_queries

pytestmark = pytest.mark.django_db

LIST = "/notifications/"


def login(client, user):
    client.force_login(user)  # django-axes refuses client.login()
    return client


def bell_count(body: str) -> str | None:
    found = re.search(r'data-testid="bell-count">([^<]+)<', body)
    return found.group(1) if found else None


@pytest.fixture
def account(org):
    return services.account_create(actor=org["rep_sh"], name="中国银行上海分行")


def _reminder(user, account, subject="回访张总"):
    now = timezone.now()
    task = services.task_create(
        actor=user,
        subject=subject,
        account=account,
        due_at=now + timedelta(hours=1),
        remind_at=now - timedelta(minutes=1),
    )
    services.task_reminders_send(now=now)
    return task, Notification.objects.filter(recipient=user, object_id=str(task.pk)).get()


def _given(actor, assignee, account, n: int) -> None:
    for index in range(n):
        services.task_create(
            actor=actor, subject=f"任务{index}", account=account, assignee=assignee
        )


def test_the_bell_shows_the_unread_count_on_every_page(client, org, account):
    rep = org["rep_sh"]
    login(client, rep)
    assert bell_count(client.get("/").content.decode()) is None
    _reminder(rep, account)
    for url in ("/", reverse("customers:task_list"), LIST):
        assert bell_count(client.get(url).content.decode()) == "1"


def test_the_bell_says_99_plus_for_a_neglected_inbox(client, org):
    rep = org["rep_sh"]
    Notification.objects.bulk_create(
        Notification(
            recipient=rep,
            kind="test",
            message_key=task_notifications.ASSIGNED,
            params={"actor": "A", "subject": "S"},
            idempotency_key=f"many-{n}",
        )
        for n in range(120)
    )
    assert bell_count(login(client, rep).get("/").content.decode()) == "99+"


def test_the_bell_costs_one_query_whatever_the_inbox(client, org, account):
    rep, manager = org["rep_sh"], org["sales_manager"]
    login(client, rep)
    client.get("/")  # warm up
    before, _ = page_queries(client, "/")
    _given(manager, rep, account, 30)
    after, body = page_queries(client, "/")
    assert bell_count(body) == "30"
    assert after == before


def test_the_page_lists_ones_own_in_the_readers_language(client, org, account):
    rep, manager = org["rep_sh"], org["sales_manager"]
    rep.language, manager.language = "zh-hans", "en"
    rep.save(update_fields=["language"])
    manager.save(update_fields=["language"])
    services.task_create(actor=manager, subject="寄合同", account=account, assignee=rep)
    services.task_create(actor=rep, subject="审批折扣", account=account, assignee=manager)
    chinese = login(client, rep).get(LIST).content.decode()
    assert "给您分配了任务：“寄合同”" in chinese and "审批折扣" not in chinese
    english = login(client, manager).get(LIST).content.decode()
    assert "gave you a task: “审批折扣”" in english and "寄合同" not in english


def test_opening_a_notification_reads_it_and_leads_to_the_task(client, org, account):
    rep = org["rep_sh"]
    task, reminder = _reminder(rep, account)
    login(client, rep)
    response = client.get(reverse("web:notification_open", args=[reminder.pk]))
    assert response.status_code == 302
    assert response["Location"] == f"/customers/interactions/{task.pk}/edit/"
    reminder.refresh_from_db()
    assert reminder.read_at is not None
    page = client.get(response["Location"])
    assert page.status_code == 200 and "回访张总" in page.content.decode()
    assert bell_count(page.content.decode()) is None


def test_someone_elses_notification_is_not_found(client, org, account):
    rep = org["rep_sh"]
    _task, reminder = _reminder(rep, account)
    login(client, org["sales_manager"])
    assert client.get(reverse("web:notification_open", args=[reminder.pk])).status_code == 404
    assert client.post(reverse("web:notification_read", args=[reminder.pk])).status_code == 404
    assert "回访张总" not in client.get(LIST).content.decode()
    assert "回访张总" not in client.get(reverse("web:notification_menu")).content.decode()
    reminder.refresh_from_db()
    assert reminder.read_at is None


def test_mark_one_and_mark_all_read(client, org, account):
    rep, manager = org["rep_sh"], org["sales_manager"]
    _given(manager, rep, account, 3)
    login(client, rep)
    first = Notification.objects.filter(recipient=rep).order_by("id").first()
    response = client.post(
        reverse("web:notification_read", args=[first.pk]), {"next": f"{LIST}?unread=1"}
    )
    assert response["Location"] == f"{LIST}?unread=1"
    body = client.get(f"{LIST}?unread=1").content.decode()
    assert body.count('data-testid="notification"') == 2 and bell_count(body) == "2"
    response = client.post(reverse("web:notifications_read_all"), {"next": LIST})
    assert response["Location"] == LIST
    body = client.get(f"{LIST}?unread=1").content.decode()
    assert 'data-testid="no-notifications"' in body and bell_count(body) is None


def test_a_notification_never_redirects_off_the_site(client, org):
    rep = org["rep_sh"]
    evil = Notification.objects.create(
        recipient=rep,
        kind="test",
        message_key=task_notifications.ASSIGNED,
        params={"actor": "A", "subject": "S"},
        url="//evil.example.com/",
        idempotency_key="evil",
    )
    login(client, rep)
    response = client.get(reverse("web:notification_open", args=[evil.pk]))
    assert response["Location"] == LIST
    response = client.post(
        reverse("web:notifications_read_all"), {"next": "https://evil.example.com/"}
    )
    assert response["Location"] == LIST


def test_the_menu_shows_the_latest_few(client, org, account):
    rep, manager = org["rep_sh"], org["sales_manager"]
    _given(manager, rep, account, 12)
    body = login(client, rep).get(reverse("web:notification_menu")).content.decode()
    assert body.count('data-testid="notification"') == 8
    assert "任务11" in body and "任务0" not in body  # newest first
    assert reverse("web:notification_list") in body


def test_the_page_is_keyset_paged(client, org, account):
    rep, manager = org["rep_sh"], org["sales_manager"]
    _given(manager, rep, account, 35)
    body = login(client, rep).get(LIST).content.decode()
    assert body.count('data-testid="notification"') == 30
    next_url = re.search(r'href="([^"]+)" rel="next"', body).group(1).replace("&amp;", "&")
    rest = client.get(LIST + next_url).content.decode()
    assert rest.count('data-testid="notification"') == 5
    subjects = re.findall(r"任务(\d+)", body + rest)
    assert sorted(set(subjects), key=int) == [str(n) for n in range(35)]


def test_the_page_queries_do_not_grow_with_rows(client, org, account):
    rep, manager = org["rep_sh"], org["sales_manager"]
    login(client, rep)
    assert_flat(
        client,
        LIST,
        lambda n: _given(manager, rep, account, n),
        few=2,
        many=25,
        rows=lambda body: body.count('data-testid="notification"'),
    )


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get(LIST)
    assert response.status_code == 302 and "login" in response["Location"]
