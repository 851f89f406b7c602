"""Notifications through their services: a due reminder reaches its assignee exactly once,
committed with the reminder; a task given by someone else is announced; each reader sees
the message in their own language; only one's own can be read; deactivated users get none."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone, translation

from rapport.core.errors import NotFound
from rapport.core.notifications import registry, selectors
from rapport.core.notifications.models import Notification
from rapport.core.notifications.services import (
    notification_email_send,
    notification_mark_read,
    notifications_mark_all_read,
    notify,
)
from rapport.customers import notifications as task_notifications
from rapport.customers import services
from rapport.customers.models import Interaction
from rapport.identity.services import user_deactivate

pytestmark = pytest.mark.django_db


@pytest.fixture
def account(org):
    return services.account_create(actor=org["rep_sh"], name="中国银行上海分行")


def _due_task(actor, account, *, assignee=None, subject="回访张总", minutes_ago=1):
    now = timezone.now()
    return services.task_create(
        actor=actor,
        subject=subject,
        account=account,
        assignee=assignee or actor,
        due_at=now + timedelta(hours=2),
        remind_at=now - timedelta(minutes=minutes_ago),
    )


def _of(user, kind=None):
    rows = Notification.objects.filter(recipient=user)
    return rows.filter(kind=kind) if kind else rows


# --- reminders ------------------------------------------------------------------------------


def test_a_due_reminder_notifies_the_assignee_once_however_often_it_runs(org, account):
    rep = org["rep_sh"]
    task = _due_task(rep, account)
    _due_task(rep, account, subject="以后再说", minutes_ago=-60)  # not due yet
    now = timezone.now()
    assert services.task_reminders_send(now=now) == 1
    assert services.task_reminders_send(now=now) == 0
    assert services.task_reminders_send(now=now + timedelta(minutes=1)) == 0
    reminder = _of(rep, "task.reminder").get()
    assert (reminder.object_type, reminder.object_id) == ("customers.interaction", str(task.pk))
    assert reminder.url == f"/customers/interactions/{task.pk}/edit/"
    assert reminder.read_at is None
    assert selectors.unread_count(rep) == 1


def test_delivering_the_same_reminder_again_is_refused_without_breaking_the_caller(org, account):
    """Belt and braces beside the claim: even a caller that skipped it delivers once, and its
    own transaction carries on (the duplicate is refused inside a savepoint)."""
    rep = org["rep_sh"]
    task = _due_task(rep, account)
    task = Interaction.objects.get(pk=task.pk)
    with transaction.atomic():
        task_notifications.task_reminder(task)
        task_notifications.task_reminder(task)
        Interaction.objects.filter(pk=task.pk).update(reminded_at=timezone.now())
    assert _of(rep, "task.reminder").count() == 1
    assert Interaction.objects.get(pk=task.pk).reminded_at is not None


def test_a_moved_reminder_is_delivered_again(org, account):
    rep = org["rep_sh"]
    task = _due_task(rep, account)
    now = timezone.now()
    services.task_reminders_send(now=now)
    services.interaction_update(actor=rep, interaction=task, remind_at=now + timedelta(minutes=5))
    services.task_reminders_send(now=now + timedelta(minutes=10))
    assert _of(rep, "task.reminder").count() == 2


def test_the_notification_commits_with_the_reminder_or_not_at_all(org, account):
    rep = org["rep_sh"]
    task = _due_task(rep, account)
    with pytest.raises(RuntimeError), transaction.atomic():
        services.task_reminders_send(now=timezone.now())
        raise RuntimeError("the worker died before commit")
    assert not _of(rep, "task.reminder").exists()
    assert Interaction.objects.get(pk=task.pk).reminded_at is None  # so it is sent next run
    assert services.task_reminders_send(now=timezone.now()) == 1
    assert _of(rep, "task.reminder").count() == 1


def test_a_deactivated_assignee_gets_no_notification(org, account):
    rep, colleague = org["rep_sh"], org["rep_east"]
    _due_task(rep, account, assignee=colleague)
    Notification.objects.all().delete()  # the "task given to you" one
    user_deactivate(actor=org["admin"], user=colleague)
    assert services.task_reminders_send(now=timezone.now()) == 1  # claimed all the same
    assert not _of(colleague).exists()
    colleague.refresh_from_db()
    assert (
        notify(
            recipient=colleague,
            kind="task.assigned",
            message_key=task_notifications.ASSIGNED,
            params={"actor": "x", "subject": "y"},
        )
        is None
    )
    assert not _of(colleague).exists()


@pytest.mark.django_db(transaction=True)
def test_two_workers_sending_at_once_deliver_one_notification(org, account):
    if connection.vendor == "sqlite":
        pytest.skip("SQLite's in-memory test database serialises writers; run on PostgreSQL")
    rep = org["rep_sh"]
    _due_task(rep, account)
    now = timezone.now()
    start = threading.Barrier(2)
    sent: list[int] = []
    failures: list[BaseException] = []

    def worker() -> None:
        try:
            start.wait(timeout=10)
            sent.append(services.task_reminders_send(now=now))
        except BaseException as error:  # noqa: BLE001  (reported below)
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not failures
    assert sorted(sent) == [0, 1]
    assert _of(rep, "task.reminder").count() == 1


def test_a_reminder_is_emailed_once_in_the_recipients_language(
    org, account, django_capture_on_commit_callbacks, settings
):
    settings.SITE_URL = "https://crm.example.com"
    rep = org["rep_sh"]
    rep.language = "zh-hans"
    rep.save(update_fields=["language"])
    _due_task(rep, account, subject="续约")
    with translation.override("en"), django_capture_on_commit_callbacks(execute=True):
        services.task_reminders_send(now=timezone.now())
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [rep.email]
    assert "提醒" in mail.outbox[0].subject and "续约" in mail.outbox[0].subject
    task = Interaction.objects.get(subject="续约")
    # The e-mail links to the task on the configured site.
    link = "https://crm.example.com" + reverse("customers:interaction_edit", args=[task.pk])
    assert link in mail.outbox[0].body.split()
    notification = _of(rep, "task.reminder").get()
    assert notification_email_send(notification_id=notification.pk) is False  # sent already
    assert len(mail.outbox) == 1


# --- tasks given by someone else ------------------------------------------------------------


def test_a_task_given_by_someone_else_is_announced_to_the_assignee(org, account):
    rep, colleague = org["rep_sh"], org["rep_east"]
    services.task_create(actor=rep, subject="自己的事", account=account)
    assert not Notification.objects.exists()  # nobody is told what they gave themselves
    task = services.task_create(actor=rep, subject="请跟进", account=account, assignee=colleague)
    given = _of(colleague, "task.assigned").get()
    assert given.object_id == str(task.pk)
    with translation.override("en"):
        assert given.text == f"{rep} gave you a task: “请跟进”."


def test_reassigning_a_task_announces_it_to_the_new_assignee_only(org, account):
    rep, colleague, other = org["rep_sh"], org["rep_east"], org["sales_manager"]
    task = services.task_create(actor=rep, subject="报价", account=account)
    services.interaction_update(actor=rep, interaction=task, priority="high")
    assert not Notification.objects.exists()
    services.interaction_update(actor=rep, interaction=task, assignee=colleague)
    assert list(Notification.objects.values_list("recipient", flat=True)) == [colleague.pk]
    services.interaction_update(actor=rep, interaction=task, subject="报价（改）")
    assert Notification.objects.count() == 1
    services.interaction_update(actor=rep, interaction=task, assignee=other)
    assert _of(other, "task.assigned").count() == 1


def test_a_follow_up_for_a_colleague_is_announced(org, account):
    rep, colleague = org["rep_sh"], org["rep_east"]
    services.interaction_log(
        actor=rep,
        kind="call",
        account=account,
        next_step="寄样品",
        follow_up_due=timezone.now() + timedelta(days=1),
        follow_up_assignee=colleague,
    )
    assert _of(colleague, "task.assigned").count() == 1


# --- reading --------------------------------------------------------------------------------


def test_each_reader_sees_the_message_in_their_own_language(org, account):
    rep = org["rep_sh"]
    with translation.override("en"):  # written while English is active …
        _due_task(rep, account, subject="续约")
        services.task_reminders_send(now=timezone.now())
    reminder = _of(rep, "task.reminder").get()
    with translation.override("zh-hans"):  # … read in Chinese
        assert reminder.text.startswith("提醒：“续约”")
    with translation.override("en"):
        assert reminder.text.startswith("Reminder: “续约” — due ")


def test_a_message_whose_app_is_gone_still_reads(org):
    rep = org["rep_sh"]
    registry.register("tests.temporary", "%(what)s happened")
    notification = notify(
        recipient=rep, kind="test", message_key="tests.temporary", params={"what": "X"}
    )
    assert notification.text == "X happened"
    notification.message_key = "tests.gone"
    with translation.override("en"):
        assert notification.text == "You have a new notification."
    with pytest.raises(ValueError):
        notify(recipient=rep, kind="test", message_key="tests.never_registered")


def test_only_ones_own_notification_can_be_marked_read(org, account):
    rep, colleague = org["rep_sh"], org["rep_east"]
    _due_task(rep, account)
    _due_task(colleague, services.account_create(actor=colleague, name="华东客户"))
    services.task_reminders_send(now=timezone.now())
    mine = _of(rep).get()
    with pytest.raises(NotFound):
        notification_mark_read(actor=colleague, notification=mine)
    assert _of(rep).get().read_at is None
    notification_mark_read(actor=rep, notification=mine)
    first = _of(rep).get().read_at
    assert first is not None
    notification_mark_read(actor=rep, notification=_of(rep).get())
    assert _of(rep).get().read_at == first  # read twice keeps the first time
    assert selectors.unread_count(rep) == 0 and selectors.unread_count(colleague) == 1


def test_marking_all_read_touches_only_the_actors_own(org, account):
    rep, colleague = org["rep_sh"], org["sales_manager"]  # the manager sees rep's account
    for subject in ("一", "二", "三"):
        services.task_create(actor=colleague, subject=subject, account=account, assignee=rep)
    services.task_create(actor=rep, subject="四", account=account, assignee=colleague)
    assert notifications_mark_all_read(actor=rep) == 3
    assert selectors.unread_count(rep) == 0
    assert selectors.unread_count(colleague) == 1


def test_the_unread_count_stops_counting_past_the_cap(org):
    rep = org["rep_sh"]
    Notification.objects.bulk_create(
        Notification(
            recipient=rep,
            kind="test",
            message_key=task_notifications.ASSIGNED,
            idempotency_key=f"cap-{n}",
        )
        for n in range(selectors.UNREAD_CAP + 5)
    )
    assert selectors.unread_count(rep) == selectors.UNREAD_CAP + 1
