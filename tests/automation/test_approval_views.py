"""The approval pages: the process designer, "My approvals", a request's page, deciding (from
the inbox, the record, an e-mail link), the 360 panel, delegation and the process monitor."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation

from rapport.automation import approvals
from rapport.automation.models import (
    ApprovalDelegation,
    ApprovalProcess,
    ApprovalRequest,
    ApprovalState,
    ApprovalTask,
    ApprovalTaskState,
    Rule,
    RuleRun,
    RunState,
    Trigger,
)
from tests.factories import AccountFactory, UserFactory
from tests.query_counts import assert_flat, page_queries

pytestmark = pytest.mark.django_db

ACCOUNT = "customers.account"
HTMX = {"HTTP_HX_REQUEST": "true"}


def english(*users):
    for user in users:
        user.language = "en"
        user.save(update_fields=["language"])


@pytest.fixture
def people(org):
    english(*(org[name] for name in ("admin", "sales_manager", "finance", "rep_east", "rep_sh")))
    return org


def two_step(admin, org, **values) -> ApprovalProcess:
    values.setdefault("name", "大客户审批")
    values.setdefault("name_en", "Large accounts")
    values.setdefault("object_type", ACCOUNT)
    values.setdefault("condition", "tier = A")
    return approvals.process_create(
        actor=admin,
        steps=[
            {
                "number": 1,
                "name": "销售经理",
                "name_en": "Sales manager",
                "user": org["sales_manager"].pk,
            },
            {"number": 2, "name": "财务", "name_en": "Finance", "user": org["finance"].pk},
        ],
        **values,
    )


def submitted(org, process=None, **account_values) -> ApprovalRequest:
    account_values.setdefault("tier", "A")
    account = AccountFactory(owner=org["rep_east"], **account_values)
    return approvals.approval_submit(
        actor=org["rep_east"], object_type=ACCOUNT, record=account, process=process
    )


def task_of(request: ApprovalRequest, approver) -> ApprovalTask:
    return request.tasks.get(approver=approver, state=ApprovalTaskState.PENDING)


def decide(client, task, decision, comment="", htmx=False, **extra):
    return client.post(
        reverse("approvals:task_decide", args=[task.pk]),
        {f"task{task.pk}-decision": decision, f"task{task.pk}-comment": comment, **extra},
        **(HTMX if htmx else {}),
    )


# --- the designer ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        reverse("approvals:process_list"),
        reverse("approvals:process_create") + "?type=customers.account",
        reverse("approvals:monitor"),
    ],
)
def test_designer_and_monitor_are_for_managers_of_automation(client, people, url):
    client.force_login(people["sales_manager"])
    assert client.get(url).status_code == 403
    client.force_login(people["admin"])
    assert client.get(url).status_code == 200


def step_data(index, **values) -> dict[str, str]:
    base = {
        "number": "1",
        "name": "",
        "name_en": "",
        "approver_kind": "user",
        "user": "",
        "role": "",
        "manager_levels": "1",
        "team": "",
        "mode": "any",
        "remind_after_hours": "",
        "escalate_after_hours": "",
        "escalate_to": "",
    }
    base.update({name: str(value) for name, value in values.items()})
    return {f"steps-{index}-{name}": value for name, value in base.items()}


def designer_post(steps: list[dict], **values) -> dict[str, str]:
    data = {
        "name": "大客户审批",
        "name_en": "Large accounts",
        "description": "",
        "filter": "tier = A",
        "lock_record": "on",
        "steps-TOTAL_FORMS": str(len(steps)),
        "steps-INITIAL_FORMS": "0",
        "steps-MIN_NUM_FORMS": "0",
        "steps-MAX_NUM_FORMS": "30",
    }
    for index, step in enumerate(steps):
        data.update(step_data(index, **step))
    data.update(values)
    return data


def test_designer_builds_a_two_step_process_with_parallel_steps(client, people):
    org = people
    client.force_login(org["admin"])
    url = reverse("approvals:process_create") + "?type=customers.account"
    page = client.get(url)
    assert page.status_code == 200
    assert 'data-testid="filter-builder"' in page.content.decode()
    response = client.post(
        url,
        designer_post(
            [
                {"number": 1, "name": "销售经理", "user": org["sales_manager"].pk},
                {"number": 2, "name": "财务", "user": org["finance"].pk},
                {"number": 2, "name": "上级", "approver_kind": "manager", "manager_levels": 2},
            ]
        ),
    )
    assert response.status_code == 302
    process = ApprovalProcess.objects.get(name="大客户审批")
    assert process.object_type == ACCOUNT
    assert process.lock_record is True
    assert process.condition == {"field": "tier", "op": "=", "value": "A"}
    steps = list(
        process.steps.order_by("number", "id").values_list("number", "name", "approver_kind")
    )
    assert steps == [(1, "销售经理", "user"), (2, "财务", "user"), (2, "上级", "manager")]

    # Editing shows the steps again; removing one keeps the rest.
    edit = reverse("approvals:process_edit", args=[process.pk])
    body = client.get(edit).content.decode()
    assert 'value="财务"' in body and "tier = A" in body
    data = designer_post(
        [
            {"number": 1, "name": "销售经理", "user": org["sales_manager"].pk},
            {"number": 2, "name": "财务", "user": org["finance"].pk, "DELETE": "on"},
        ],
        **{"steps-INITIAL_FORMS": "2"},
    )
    assert client.post(edit, data).status_code == 302
    process.refresh_from_db()
    assert list(process.steps.values_list("name", flat=True)) == ["销售经理"]
    assert process.version == 2


def test_designer_shows_service_errors_beside_the_step_and_stores_nothing(client, people):
    org = people
    process = two_step(org["admin"], org)
    # The finance approver leaves after the process was built.
    finance = org["finance"]
    finance.is_active = False
    finance.save(update_fields=["is_active"])
    client.force_login(org["admin"])
    edit = reverse("approvals:process_edit", args=[process.pk])
    assert "(deactivated)" in client.get(edit).content.decode()
    response = client.post(
        edit,
        designer_post(
            [
                {"number": 1, "name": "经理", "user": org["sales_manager"].pk},
                {"number": 2, "name": "财务", "user": finance.pk},
            ],
            name="改名",
            filter="no_such_field = 1",
            **{"steps-INITIAL_FORMS": "2"},
        ),
    )
    assert response.status_code == 400
    body = response.content.decode()
    steps = body.split("data-step-form")
    assert "is deactivated; choose an active user." in steps[2]
    assert "is deactivated" not in steps[1]
    assert 'data-testid="filter-error"' in body
    process.refresh_from_db()
    assert (process.name, process.version) == ("大客户审批", 1)


def test_designer_turns_a_process_off_and_on(client, people):
    process = two_step(people["admin"], people)
    client.force_login(people["admin"])
    url = reverse("approvals:process_set_active", args=[process.pk])
    client.post(url, {"active": "0"})
    process.refresh_from_db()
    assert process.is_active is False
    client.post(url, {"active": "1"})
    process.refresh_from_db()
    assert process.is_active is True


# --- "My approvals" and deciding --------------------------------------------------------------


def test_inbox_lists_my_pending_tasks_with_the_overdue_marker(client, people):
    org = people
    request = submitted(org, two_step(org["admin"], org), name="上海银行")
    task = task_of(request, org["sales_manager"])
    ApprovalTask.objects.filter(pk=task.pk).update(due_at=timezone.now() - timedelta(hours=1))
    client.force_login(org["sales_manager"])
    body = client.get(reverse("approvals:inbox")).content.decode()
    assert "上海银行" in body
    assert 'data-testid="overdue"' in body
    assert "Step 1: Sales manager" in body
    assert 'data-testid="nav-approvals-count">1' in body
    # Not the finance approver's yet (step 2 is not open).
    client.force_login(org["finance"])
    body = client.get(reverse("approvals:inbox")).content.decode()
    assert "上海银行" not in body and 'data-testid="no-approvals"' in body


def test_approve_from_the_inbox_opens_the_next_step(client, people):
    org = people
    request = submitted(org, two_step(org["admin"], org))
    client.force_login(org["sales_manager"])
    response = decide(
        client,
        task_of(request, org["sales_manager"]),
        "approve",
        htmx=True,
        next=reverse("approvals:inbox"),
    )
    assert response.status_code == 204
    assert response["HX-Redirect"] == reverse("approvals:inbox")
    request.refresh_from_db()
    assert request.state == ApprovalState.PENDING and request.current_number == 2
    assert task_of(request, org["finance"])


def test_reject_needs_a_comment(client, people):
    org = people
    request = submitted(org, two_step(org["admin"], org))
    task = task_of(request, org["sales_manager"])
    client.force_login(org["sales_manager"])
    response = decide(client, task, "reject", htmx=True)
    assert response.status_code == 200
    assert "Say why you reject the request." in response.content.decode()
    task.refresh_from_db()
    assert task.state == ApprovalTaskState.PENDING

    response = decide(client, task, "reject", comment="额度太高", htmx=True)
    assert response.status_code == 204
    request.refresh_from_db()
    assert request.state == ApprovalState.REJECTED
    task.refresh_from_db()
    assert (task.state, task.comment) == (ApprovalTaskState.REJECTED, "额度太高")


def test_deciding_ones_own_request_is_refused_and_shown(client, people):
    org = people
    request = submitted(org, two_step(org["admin"], org))
    task = task_of(request, org["sales_manager"])
    # The manager is away and hands their approvals to the submitter.
    today = timezone.localdate()
    approvals.delegation_set(
        actor=org["sales_manager"], delegate=org["rep_east"], starts_on=today, ends_on=today
    )
    client.force_login(org["rep_east"])
    assert "data-decide-task" in client.get(reverse("approvals:inbox")).content.decode()
    response = decide(client, task, "approve", htmx=True)
    assert response.status_code == 200
    assert "You cannot approve your own request." in response.content.decode()
    task.refresh_from_db()
    assert task.state == ApprovalTaskState.PENDING
    # Without htmx: the same refusal as a page message.
    response = decide(client, task, "approve", next=reverse("approvals:inbox"))
    assert response.status_code == 302
    assert "You cannot approve your own request." in client.get(response.url).content.decode()


def test_someone_else_cannot_decide_a_task(client, people):
    org = people
    request = submitted(org, two_step(org["admin"], org))
    client.force_login(org["finance"])
    response = decide(client, task_of(request, org["sales_manager"]), "approve")
    assert response.status_code == 403
    assert request.tasks.filter(state=ApprovalTaskState.PENDING).count() == 1


def test_my_requests_tab_and_cancel_by_the_submitter(client, people):
    org = people
    request = submitted(org, two_step(org["admin"], org), name="杭州银行")
    client.force_login(org["rep_east"])
    body = client.get(reverse("approvals:inbox") + "?tab=submitted").content.decode()
    assert "杭州银行" in body
    detail = client.get(reverse("approvals:request_detail", args=[request.pk])).content.decode()
    assert 'data-testid="cancel-request"' in detail
    client.post(reverse("approvals:request_cancel", args=[request.pk]))
    request.refresh_from_db()
    assert request.state == ApprovalState.CANCELLED
    # An approver cannot withdraw someone else's request.
    other = submitted(org, two_step(org["admin"], org))
    client.force_login(org["sales_manager"])
    assert (
        'data-testid="cancel-request"'
        not in client.get(reverse("approvals:request_detail", args=[other.pk])).content.decode()
    )
    assert client.post(reverse("approvals:request_cancel", args=[other.pk])).status_code == 403


def test_request_page_shows_parallel_steps_and_the_trail(client, people):
    org = people
    process = approvals.process_create(
        actor=org["admin"],
        name="并行",
        name_en="Parallel",
        object_type=ACCOUNT,
        steps=[
            {"number": 1, "name": "经理", "name_en": "Manager", "user": org["sales_manager"].pk},
            {"number": 1, "name": "财务", "name_en": "Finance", "user": org["finance"].pk},
            {"number": 2, "name": "总部", "name_en": "HQ", "user": org["admin"].pk},
        ],
    )
    request = submitted(org, process)
    approvals.approval_decide(
        actor=org["sales_manager"],
        task=task_of(request, org["sales_manager"]),
        approve=True,
        comment="同意",
    )
    client.force_login(org["rep_east"])
    body = client.get(reverse("approvals:request_detail", args=[request.pk])).content.decode()
    step_one = body.split('data-step-number="1"')[1].split('data-step-number="2"')[0]
    assert 'data-step="0"' in step_one and 'data-step="1"' in step_one  # side by side
    assert "in parallel" in step_one
    assert 'data-step-state="current"' in body
    trail = body.split('data-testid="request-trail"')[1]
    assert trail.index('data-trail="submitted"') < trail.index('data-trail="approved"')
    assert "“同意”" in trail
    # Someone with no part in it and who cannot see the record: not found.
    client.force_login(org["rep_south"])
    assert client.get(reverse("approvals:request_detail", args=[request.pk])).status_code == 404


def test_delegation_is_set_and_ended_from_my_approvals(client, people):
    org = people
    client.force_login(org["sales_manager"])
    today = timezone.localdate()
    response = client.post(
        reverse("approvals:delegation_set"),
        {
            "delegate": org["rep_east"].pk,
            "starts_on": today.isoformat(),
            "ends_on": (today + timedelta(days=3)).isoformat(),
            "reason": "出差",
        },
    )
    assert response.status_code == 302
    delegation = ApprovalDelegation.objects.get(user=org["sales_manager"])
    assert delegation.delegate == org["rep_east"]
    bad = client.post(
        reverse("approvals:delegation_set"),
        {
            "delegate": org["finance"].pk,
            "starts_on": today.isoformat(),
            "ends_on": today.isoformat(),
        },
    )
    assert bad.status_code == 400
    assert "overlaps these dates" in bad.content.decode()
    client.post(reverse("approvals:delegation_end", args=[delegation.pk]))
    delegation.refresh_from_db()
    assert delegation.is_active is False


# --- the record's panel -------------------------------------------------------------------------


def test_account_page_submits_for_approval_and_shows_the_decision(client, people):
    org = people
    process = two_step(org["admin"], org)
    two_step(org["admin"], org, name="第二个", name_en="Second one")
    account = AccountFactory(owner=org["rep_east"], tier="A", name="宁波银行")
    page = reverse("customers:account_detail", args=[account.pk])
    client.force_login(org["rep_east"])
    body = client.get(page).content.decode()
    assert 'data-testid="submit-for-approval"' in body
    assert "Second one" in body  # more than one applies: the submitter chooses
    response = client.post(
        reverse("approvals:record_submit", args=[ACCOUNT, account.pk]),
        {"approval-process": process.pk, "approval-comment": "请批准"},
    )
    assert response.status_code == 302 and response.url == page + "#approvals"
    request = ApprovalRequest.objects.get(object_id=account.pk)
    assert (request.process, request.comment) == (process, "请批准")
    body = client.get(page).content.decode()
    panel = body.split('data-testid="approval-panel"')[1]
    assert "Pending" in panel and "step 1: Sales manager" in panel
    assert 'data-testid="submit-for-approval"' not in panel
    # Submitting again is refused with a message.
    again = client.post(reverse("approvals:record_submit", args=[ACCOUNT, account.pk]), {})
    assert "already waiting for approval" in client.get(again.url).content.decode()
    # The approver decides from the account page.
    client.force_login(org["sales_manager"])
    body = client.get(page).content.decode()
    assert f'data-decide-task="{task_of(request, org["sales_manager"]).pk}"' in body


def test_no_panel_without_processes_or_requests(client, people):
    account = AccountFactory(owner=people["rep_east"])
    client.force_login(people["rep_east"])
    body = client.get(reverse("customers:account_detail", args=[account.pk])).content.decode()
    assert 'data-testid="approval-panel"' not in body


# --- the e-mail link ----------------------------------------------------------------------------


def test_email_link_shows_and_decides_only_on_post(client, people):
    org = people
    request = submitted(org, two_step(org["admin"], org), name="苏州银行")
    task = task_of(request, org["sales_manager"])
    url = reverse("approvals:decide_by_token", args=[approvals.decision_token(task, True)])
    page = client.get(url)  # no login: the link is the approver's
    assert page.status_code == 200
    assert "苏州银行" in page.content.decode()
    task.refresh_from_db()
    assert task.state == ApprovalTaskState.PENDING  # a GET never decides
    done = client.post(url, {"comment": "OK"})
    assert done.status_code == 200 and 'data-testid="token-done"' in done.content.decode()
    task.refresh_from_db()
    assert (task.state, task.decided_by) == (ApprovalTaskState.APPROVED, org["sales_manager"])
    used = client.get(url)
    assert used.status_code == 410
    assert 'data-testid="token-problem"' in used.content.decode()
    assert client.post(url, {"comment": "again"}).status_code == 410


def test_email_reject_link_needs_a_comment_and_bad_links_say_so(client, people):
    org = people
    request = submitted(org, two_step(org["admin"], org))
    task = task_of(request, org["sales_manager"])
    url = reverse("approvals:decide_by_token", args=[approvals.decision_token(task, False)])
    response = client.post(url, {"comment": ""})
    with translation.override(settings.LANGUAGE_CODE):  # no one signed in: the site's language
        expected = translation.gettext("Say why you reject the request.")
    assert expected in response.content.decode()
    task.refresh_from_db()
    assert task.state == ApprovalTaskState.PENDING
    bad = client.get(reverse("approvals:decide_by_token", args=["not-a-token"]))
    assert bad.status_code == 410


# --- the monitor ------------------------------------------------------------------------------


def test_monitor_figures_per_process(client, people):
    org = people
    process = two_step(org["admin"], org)
    now = timezone.now()
    for hours, approve in ((2, True), (4, True), (6, False)):
        request = submitted(org, process)
        ApprovalRequest.objects.filter(pk=request.pk).update(
            submitted_at=now - timedelta(hours=hours)
        )
        ApprovalTask.objects.filter(request=request).update(created_at=now - timedelta(hours=hours))
        request.refresh_from_db()
        approvals.approval_decide(
            actor=org["sales_manager"],
            task=task_of(request, org["sales_manager"]),
            approve=approve,
            comment="" if approve else "不行",
        )
        if approve:
            approvals.approval_decide(
                actor=org["finance"], task=task_of(request, org["finance"]), approve=True
            )
    waiting = submitted(org, process, name="还在等")
    ApprovalTask.objects.filter(request=waiting).update(due_at=now - timedelta(minutes=5))
    client.force_login(org["admin"])
    body = client.get(reverse("approvals:monitor")).content.decode()
    row = body.split(f'data-process="{process.pk}"')[1].split("</tr>")[0]
    counts = dict(re.findall(r'data-count="(\w+)">(\d+)<', row))
    assert counts == {"pending": "1", "approved": "2", "rejected": "1", "cancelled": "0"}
    assert re.search(r'data-figure="average">4 hours', row)
    assert re.search(r'data-figure="p95">6 hours', row)
    assert 'data-step-figure="1"' in row and 'data-step-figure="2"' in row
    requests = body.split('data-testid="monitor-requests"')[1]
    assert "还在等" in requests and 'data-testid="overdue"' in requests
    assert "1. Sales manager" in requests


def test_monitor_filters_by_department_overdue_and_type(client, people):
    org = people
    process = two_step(org["admin"], org)
    east = submitted(org, process, name="华东的")  # submitted by rep_east (east)
    account = AccountFactory(owner=org["rep_sh"], tier="A", name="上海的")
    approvals.approval_submit(actor=org["rep_sh"], object_type=ACCOUNT, record=account)
    ApprovalTask.objects.filter(request=east).update(due_at=timezone.now() - timedelta(hours=1))
    rule = Rule.objects.create(name="r", object_type=ACCOUNT, trigger=Trigger.CREATED)
    RuleRun.objects.create(
        rule=rule,
        rule_version=1,
        object_type=ACCOUNT,
        object_id=account.pk,
        state=RunState.FAILED,
        idempotency_key="x",
        error="boom",
    )
    client.force_login(org["admin"])
    url = reverse("approvals:monitor")

    def shown(params):
        body = client.get(url, params).content.decode()
        requests = body.split('data-testid="monitor-requests"')[1].split(
            'data-testid="monitor-runs"'
        )[0]
        runs = body.split('data-testid="monitor-runs"')[1]
        return ("华东的" in requests, "上海的" in requests, "boom" in runs)

    assert shown({}) == (True, True, True)
    sh = org["departments"]["sh"]
    assert shown({"department": sh.pk}) == (False, True, False)
    assert shown({"department": org["departments"]["east"].pk}) == (True, True, False)
    assert shown({"overdue": "on"}) == (True, False, True)
    assert shown({"object_type": "customers.contact"}) == (False, False, False)


# --- query counts -------------------------------------------------------------------------------


def test_inbox_queries_do_not_grow(client, people):
    org = people
    process = two_step(org["admin"], org)
    client.force_login(org["sales_manager"])

    def grow(n):
        for _ in range(n):
            submitted(org, process)

    assert_flat(
        client,
        reverse("approvals:inbox"),
        grow,
        few=2,
        many=8,
        rows=lambda body: body.count('data-testid="approval-task"'),
    )


def test_my_requests_queries_do_not_grow(client, people):
    org = people
    process = two_step(org["admin"], org)
    client.force_login(org["rep_east"])

    def grow(n):
        for _ in range(n):
            submitted(org, process)

    assert_flat(
        client,
        reverse("approvals:inbox"),
        grow,
        few=2,
        many=8,
        params={"tab": "submitted"},
        rows=lambda body: body.count("data-request="),
    )


def test_request_page_queries_do_not_grow_with_approvers(client, people):
    org = people
    members = [UserFactory(department=org["departments"]["hq"]) for _ in range(8)]
    from rapport.identity.models import Team

    team = Team.objects.create(name="评审组")
    team.members.set(members[:2])
    process = approvals.process_create(
        actor=org["admin"],
        name="全体",
        name_en="All",
        object_type=ACCOUNT,
        steps=[
            {"number": 1, "name": "组", "approver_kind": "team", "team": team.pk, "mode": "all"}
        ],
    )
    request = submitted(org, process)
    client.force_login(org["rep_east"])
    url = reverse("approvals:request_detail", args=[request.pk])
    client.get(url)
    few, _ = page_queries(client, url)
    for member in members[2:]:
        ApprovalTask.objects.create(
            request=request, step_index=0, step_number=1, step_name="组", approver=member
        )
    many, body = page_queries(client, url)
    assert body.count("data-step-task=") == 8
    assert many == few


def test_monitor_queries_do_not_grow(client, people):
    org = people
    processes = [two_step(org["admin"], org, name=f"流程{i}") for i in range(2)]
    client.force_login(org["admin"])

    def grow(n):
        for index in range(n):
            request = submitted(org, processes[index % 2])
            if index % 3 == 0:
                approvals.approval_decide(
                    actor=org["sales_manager"],
                    task=task_of(request, org["sales_manager"]),
                    approve=False,
                    comment="否",
                )

    assert_flat(client, reverse("approvals:monitor"), grow, few=3, many=12)
    assert_flat(
        client,
        reverse("approvals:monitor"),
        lambda n: None,
        few=0,
        many=0,
        params={"overdue": "on", "department": org["departments"]["east"].pk},
    )


def test_menu_counts_tasks_delegated_to_me(client, people):
    org = people
    submitted(org, two_step(org["admin"], org))
    today = timezone.localdate()
    client.force_login(org["cm"])
    assert (
        'data-testid="nav-approvals-count"'
        not in client.get(reverse("approvals:inbox")).content.decode()
    )
    approvals.delegation_set(
        actor=org["sales_manager"], delegate=org["cm"], starts_on=today, ends_on=today
    )
    body = client.get(reverse("approvals:inbox")).content.decode()
    assert 'data-testid="nav-approvals-count">1' in body
    assert body.count('data-testid="approval-task"') == 1


def test_contact_page_offers_a_contact_process(client, people):
    from tests.factories import ContactFactory

    org = people
    approvals.process_create(
        actor=org["admin"],
        name="联系人审批",
        name_en="Contacts",
        object_type="customers.contact",
        steps=[{"number": 1, "name": "经理", "user": org["sales_manager"].pk}],
    )
    contact = ContactFactory(owner=org["rep_east"])
    client.force_login(org["rep_east"])
    page = reverse("customers:contact_detail", args=[contact.pk])
    assert 'data-testid="submit-for-approval"' in client.get(page).content.decode()
    client.post(reverse("approvals:record_submit", args=["customers.contact", contact.pk]), {})
    request = ApprovalRequest.objects.get(object_type="customers.contact", object_id=contact.pk)
    assert request.state == ApprovalState.PENDING
