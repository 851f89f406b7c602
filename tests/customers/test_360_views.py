"""The 360 pages: log a call and a task from them, complete tasks, see the timeline, roles and
hints; "My tasks"; and page query counts that do not grow with the history."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from rapport.customers import services
from rapport.customers.models import AccountContact, Interaction
from tests.query_counts import assert_flat

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(org):
    rep = org["rep_sh"]
    account = services.account_create(actor=rep, name="中国银行上海分行", phone="021-63291979")
    contact = services.contact_create(actor=rep, name="张伟", accounts=[account])
    return account, contact


def _detail(kind: str, pk: int) -> str:
    return reverse(f"customers:{kind}_detail", args=[pk])


def test_log_a_call_with_a_follow_up_from_the_account_page(client, org, customer):
    account, contact = customer
    client.force_login(org["rep_sh"])
    response = client.post(
        reverse("customers:interaction_log", args=["accounts", account.pk]),
        {
            "log-kind": "call",
            "log-contact": contact.pk,
            "log-occurred_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
            "log-direction": "outbound",
            "log-outcome": "connected",
            "log-duration_minutes": "8",
            "log-body": "客户同意下周见面",
            "log-next_step": "准备方案",
            "log-follow_up_due": (timezone.localtime() + timedelta(days=2)).strftime(
                "%Y-%m-%dT%H:%M"
            ),
        },
    )
    assert response.status_code == 302
    assert response["Location"].endswith("#timeline")
    page = client.get(_detail("account", account.pk)).content.decode()
    timeline = page[page.index('data-testid="timeline"') :]
    assert "Call with 张伟" in timeline and "客户同意下周见面" in timeline
    tasks = page[page.index('data-testid="tasks"') : page.index('data-testid="tasks"') + 4000]
    assert "准备方案" in tasks
    assert 'data-hint="no_interactions"' not in page


def test_bad_input_on_the_log_form_names_the_field_and_stores_nothing(client, org, customer):
    account, _contact = customer
    client.force_login(org["rep_sh"])
    response = client.post(
        reverse("customers:interaction_log", args=["accounts", account.pk]),
        {
            "log-kind": "call",
            "log-occurred_at": "2026-13-45T99:99",
            "log-outcome": "held",
            "log-follow_up_due": "tomorrow-ish",
        },
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert 'data-field-error="occurred_at"' in body
    assert 'data-field-error="follow_up_due"' in body
    assert not Interaction.objects.exists()


def test_service_errors_show_beside_their_field_in_chinese(client, org, customer):
    account, _contact = customer
    user = org["rep_sh"]
    user.language = "zh-hans"
    user.save(update_fields=["language"])
    client.force_login(user)
    response = client.post(
        reverse("customers:interaction_log", args=["accounts", account.pk]),
        {
            "log-kind": "call",
            "log-occurred_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
            "log-outcome": "held",
        },
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert response.status_code == 400
    body = response.content.decode()
    error = re.search(r'data-field-error="outcome">([^<]+)<', body)
    assert error and "“已举行”不是此类互动的结果" in error.group(1)
    assert not Interaction.objects.exists()


def test_add_and_complete_a_task_from_the_contact_page(client, org, customer):
    account, contact = customer
    client.force_login(org["rep_sh"])
    response = client.post(
        reverse("customers:task_add", args=["contacts", contact.pk]),
        {
            "task-subject": "寄合同",
            "task-due_at": (timezone.localtime() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
            "task-assignee": org["rep_sh"].pk,
            "task-priority": "high",
            "task-account": account.pk,
        },
    )
    assert response.status_code == 302
    task = Interaction.objects.get(kind="task")
    assert task.contact == contact and task.account == account and task.priority == "high"
    page = client.get(_detail("contact", contact.pk)).content.decode()
    assert f'data-task="{task.pk}"' in page
    response = client.post(
        reverse("customers:task_complete", args=[task.pk]),
        {"next": _detail("contact", contact.pk)},
    )
    assert response.status_code == 302 and response["Location"] == _detail("contact", contact.pk)
    task.refresh_from_db()
    assert task.done_at is not None
    page = client.get(_detail("contact", contact.pk)).content.decode()
    timeline = page[page.index('data-testid="timeline"') :]
    assert f'data-interaction="{task.pk}"' in timeline  # a done task joins the timeline


def test_completing_ignores_a_next_url_off_the_site(client, org, customer):
    account, _contact = customer
    task = services.task_create(actor=org["rep_sh"], subject="x", account=account)
    client.force_login(org["rep_sh"])
    response = client.post(
        reverse("customers:task_complete", args=[task.pk]), {"next": "//evil.example/"}
    )
    assert response["Location"] == _detail("account", account.pk)


def test_a_user_who_cannot_see_the_account_cannot_log_on_it(client, org, customer):
    account, _contact = customer
    client.force_login(org["rep_south"])
    response = client.post(
        reverse("customers:interaction_log", args=["accounts", account.pk]),
        {"log-kind": "note", "log-occurred_at": "2026-11-01T10:00", "log-body": "x"},
    )
    assert response.status_code == 404
    assert not Interaction.objects.exists()


def test_a_role_without_the_add_grant_sees_no_log_form(client, org, customer):
    account, _contact = customer
    client.force_login(org["auditor"])
    page = client.get(_detail("account", account.pk)).content.decode()
    assert 'data-testid="timeline"' in page
    assert 'data-testid="log-form"' not in page


def test_stage_and_tier_show_who_changed_them(client, org, customer):
    account, _contact = customer
    services.account_update(actor=org["sales_manager"], account=account, tier="A")
    client.force_login(org["rep_sh"])
    page = client.get(_detail("account", account.pk)).content.decode()
    tier = page[page.index('data-testid="tier"') :][:600]
    assert str(org["sales_manager"]) in tier
    stage = page[page.index('data-testid="stage"') :][:600]
    assert str(org["rep_sh"]) in stage  # set when the account was created


def test_quality_hints(client, org):
    rep = org["rep_sh"]
    account = services.account_create(actor=rep, name="没有电话的公司")
    services.interaction_log(
        actor=rep, kind="visit", account=account, occurred_at=timezone.now() - timedelta(days=120)
    )
    client.force_login(rep)
    page = client.get(_detail("account", account.pk)).content.decode()
    for hint in ("missing_phone", "stale", "no_contacts", "missing_credit_code"):
        assert f'data-hint="{hint}"' in page
    assert "120" in page


def test_contact_roles_are_shown_and_set_on_the_account_page(client, org, customer):
    account, contact = customer
    client.force_login(org["rep_sh"])
    response = client.post(
        reverse("customers:contact_role", args=[account.pk, contact.pk]),
        {"role": "decision_maker"},
    )
    assert response.status_code == 302
    assert AccountContact.objects.get(contact=contact).role == "decision_maker"
    page = client.get(_detail("contact", contact.pk)).content.decode()
    assert 'data-testid="role">Decision maker<' in page


def test_a_peer_may_not_set_a_role_on_a_contact_they_cannot_change(client, org, customer):
    account, contact = customer
    client.force_login(org["agent"])  # sees every customer, changes only their own contacts
    response = client.post(
        reverse("customers:contact_role", args=[account.pk, contact.pk]), {"role": "user"}
    )
    assert response.status_code == 403
    assert AccountContact.objects.get(contact=contact).role == ""


def test_edit_an_interaction_and_remove_it(client, org, customer):
    account, _contact = customer
    rep = org["rep_sh"]
    note = services.interaction_log(actor=rep, kind="note", account=account, subject="旧标题")
    client.force_login(rep)
    url = reverse("customers:interaction_edit", args=[note.pk])
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {
            "subject": "新标题",
            "occurred_at": timezone.localtime(note.occurred_at).strftime("%Y-%m-%dT%H:%M"),
            "body": "补充",
        },
    )
    assert response.status_code == 302
    note.refresh_from_db()
    assert note.subject == "新标题" and note.body == "补充"
    response = client.post(reverse("customers:interaction_delete", args=[note.pk]))
    assert response.status_code == 302
    note.refresh_from_db()
    assert not note.is_active
    page = client.get(_detail("account", account.pk)).content.decode()
    assert "新标题" not in page[page.index('data-testid="timeline"') :]


def test_my_tasks_lists_overdue_first_and_filters(client, org, customer):
    account, _contact = customer
    rep = org["rep_sh"]
    now = timezone.now()
    late = services.task_create(
        actor=rep, subject="早该做了", account=account, due_at=now - timedelta(days=2)
    )
    soon = services.task_create(
        actor=rep, subject="明天做", account=account, due_at=now + timedelta(days=1)
    )
    services.task_create(
        actor=org["sales_manager"],
        subject="别人的",
        account=account,
        assignee=org["sales_manager"],
        due_at=now,
    )
    client.force_login(rep)
    page = client.get(reverse("customers:task_list")).content.decode()
    assert page.index(f'data-task="{late.pk}"') < page.index(f'data-task="{soon.pk}"')
    assert "别人的" not in page
    assert 'data-testid="overdue-count">1 overdue' in page
    overdue = client.get(reverse("customers:task_list"), {"view": "overdue"}).content.decode()
    assert f'data-task="{late.pk}"' in overdue and f'data-task="{soon.pk}"' not in overdue
    client.force_login(org["sales_manager"])
    team = client.get(reverse("customers:task_list"), {"view": "team"}).content.decode()
    assert "早该做了" in team and "别人的" in team


def test_the_timeline_pages_older_entries(client, org, customer):
    account, _contact = customer
    rep = org["rep_sh"]
    start = timezone.now() - timedelta(days=60)
    for day in range(25):
        services.interaction_log(
            actor=rep,
            kind="note",
            account=account,
            subject=f"第{day:02d}条",
            occurred_at=start + timedelta(days=day),
        )
    client.force_login(rep)
    page = client.get(_detail("account", account.pk)).content.decode()
    assert "第24条" in page and "第05条" in page and "第04条" not in page
    more = re.search(r'hx-get="([^"]+)"[^>]*data-testid="timeline-more"', page)
    assert more
    older = client.get(more.group(1).replace("&amp;", "&")).content.decode()
    assert "第04条" in older and "第00条" in older and "第05条" not in older


# --- query counts ------------------------------------------------------------------------------


def _history_grower(org, account, contact):
    rep = org["rep_sh"]
    colleague = org["rep_east"]
    start = timezone.now() - timedelta(days=30)
    made = {"n": 0}

    def grow(n: int) -> None:
        for _ in range(n):
            made["n"] += 1
            services.interaction_log(
                actor=rep,
                kind="meeting",
                account=account,
                contact=contact,
                participant_contacts=[contact],
                participant_users=[colleague],
                occurred_at=start + timedelta(minutes=made["n"]),
            )
            services.task_create(
                actor=rep, subject=f"任务{made['n']}", account=account, contact=contact
            )

    return grow


def test_the_account_360_page_query_count_does_not_grow_with_history(client, org, customer):
    account, contact = customer
    client.force_login(org["sales_manager"])
    assert_flat(
        client,
        _detail("account", account.pk),
        _history_grower(org, account, contact),
        few=1,
        many=12,
        rows=lambda body: body.count('data-kind="meeting"') + body.count("data-task="),
    )


def test_the_contact_360_page_query_count_does_not_grow_with_history(client, org, customer):
    account, contact = customer
    client.force_login(org["rep_sh"])
    assert_flat(
        client,
        _detail("contact", contact.pk),
        _history_grower(org, account, contact),
        few=1,
        many=12,
        rows=lambda body: body.count('data-kind="meeting"') + body.count("data-task="),
    )


def test_my_tasks_query_count_does_not_grow(client, org, customer):
    account, contact = customer
    rep = org["rep_sh"]
    due = timezone.now() + timedelta(days=1)

    def grow(n: int) -> None:
        for i in range(n):
            services.task_create(
                actor=rep, subject=f"t{i}", account=account, contact=contact, due_at=due
            )
            services.task_create(actor=rep, subject=f"u{i}", contact=contact)

    client.force_login(rep)
    assert_flat(
        client,
        reverse("customers:task_list"),
        grow,
        few=1,
        many=10,
        rows=lambda body: body.count("data-task="),
    )
