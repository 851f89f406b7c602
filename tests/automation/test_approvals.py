"""Approval processes: routing (each approver kind, parallel steps, any/all, manager levels,
delegation), deciding, locking the record, e-mail link tokens, reminders and escalation,
bad input, the audit trail and the start_approval action run by a rule."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from rapport.audit.models import AuditEvent
from rapport.automation import actor as system_actor
from rapport.automation import approval_selectors, approvals, monitor, services
from rapport.automation.models import (
    ApprovalProcess,
    ApprovalRequest,
    ApprovalState,
    ApprovalTask,
    ApprovalTaskState,
    RuleRun,
    RunState,
)
from rapport.core import locks
from rapport.core.errors import NotFound, PermissionDenied
from rapport.core.notifications.models import Notification
from rapport.customers import services as customer_services
from rapport.identity.models import Role, Team
from tests.factories import AccountFactory, ContactFactory, UserFactory

pytestmark = pytest.mark.django_db

ACCOUNT = "customers.account"


def make_process(admin, steps, **values) -> ApprovalProcess:
    values.setdefault("name", "大合同审批")
    values.setdefault("name_en", "Large contracts")
    values.setdefault("object_type", ACCOUNT)
    return approvals.process_create(actor=admin, steps=steps, **values)


def user_step(user, number=1, **extra) -> dict:
    return {"number": number, "name": f"审批 {user.username}", "user": user.pk, **extra}


def submit(actor, record, **values) -> ApprovalRequest:
    return approvals.approval_submit(actor=actor, object_type=ACCOUNT, record=record, **values)


def pending(request: ApprovalRequest, approver=None) -> list[ApprovalTask]:
    tasks = request.tasks.filter(state=ApprovalTaskState.PENDING).order_by("id")
    if approver is not None:
        tasks = tasks.filter(approver=approver)
    return list(tasks)


def codes(error: ValidationError) -> dict[str, list[str]]:
    return {name: [item.code for item in items] for name, items in error.error_dict.items()}


@pytest.fixture
def account(org):
    return AccountFactory(owner=org["rep_east"], tier="C")


# --- routing -------------------------------------------------------------------------------


def test_two_step_process_approved_step_by_step(org, account):
    admin, rep = org["admin"], org["rep_east"]
    process = make_process(admin, [user_step(org["sales_manager"]), user_step(org["finance"], 2)])
    request = submit(rep, account, comment="合同金额 60 万")
    assert request.state == ApprovalState.PENDING
    assert request.current_number == 1
    assert request.process_version == process.version
    (first,) = pending(request)
    assert first.approver == org["sales_manager"]
    assert Notification.objects.filter(recipient=org["sales_manager"]).count() == 1
    approvals.approval_decide(actor=org["sales_manager"], task=first, approve=True)
    request.refresh_from_db()
    assert request.state == ApprovalState.PENDING and request.current_number == 2
    (second,) = pending(request)
    assert second.approver == org["finance"]
    approvals.approval_decide(actor=org["finance"], task=second, approve=True, comment="好")
    request.refresh_from_db()
    assert request.state == ApprovalState.APPROVED
    assert request.decided_at is not None
    outcome = Notification.objects.get(recipient=rep, kind="approval.outcome")
    with translation.override("en"):
        assert outcome.text.startswith("Approved:")


def test_role_step_any_one_member_approves_for_all(org, account):
    second_finance = UserFactory(username="finance2", roles=["finance"])
    UserFactory(username="finance_gone", roles=["finance"], is_active=False)
    role = Role.objects.get(code="finance")
    make_process(
        org["admin"],
        [{"name": "财务", "approver_kind": "role", "role": role.pk, "mode": "any"}],
    )
    request = submit(org["rep_east"], account)
    assert {task.approver for task in pending(request)} == {org["finance"], second_finance}
    approvals.approval_decide(
        actor=second_finance, task=pending(request, second_finance)[0], approve=True
    )
    request.refresh_from_db()
    assert request.state == ApprovalState.APPROVED
    states = dict(request.tasks.values_list("approver__username", "state"))
    assert states == {"finance2": "approved", "finance": "skipped"}


def test_team_step_all_members_must_approve(org, account):
    team = Team.objects.get(name="Key accounts")  # lead cm, member rep_sh
    make_process(
        org["admin"],
        [{"name": "大客户组", "approver_kind": "team", "team": team.pk, "mode": "all"}],
    )
    request = submit(org["rep_east"], account)
    assert {task.approver for task in pending(request)} == {org["cm"], org["rep_sh"]}
    approvals.approval_decide(actor=org["cm"], task=pending(request, org["cm"])[0], approve=True)
    request.refresh_from_db()
    assert request.state == ApprovalState.PENDING
    approvals.approval_decide(
        actor=org["rep_sh"], task=pending(request, org["rep_sh"])[0], approve=True
    )
    request.refresh_from_db()
    assert request.state == ApprovalState.APPROVED


def test_parallel_steps_all_approve_before_the_next_number(org, account):
    make_process(
        org["admin"],
        [user_step(org["finance"], 1), user_step(org["cm"], 1), user_step(org["admin"], 2)],
    )
    request = submit(org["rep_east"], account)
    assert {task.approver for task in pending(request)} == {org["finance"], org["cm"]}
    approvals.approval_decide(actor=org["cm"], task=pending(request, org["cm"])[0], approve=True)
    request.refresh_from_db()
    assert request.current_number == 1
    assert [task.approver for task in pending(request)] == [org["finance"]]
    approvals.approval_decide(
        actor=org["finance"], task=pending(request, org["finance"])[0], approve=True
    )
    request.refresh_from_db()
    assert request.current_number == 2
    assert [task.approver for task in pending(request)] == [org["admin"]]


def test_manager_n_levels_up(org, account):
    rep, manager, director = org["rep_east"], org["sales_manager"], org["cm"]
    rep.manager = manager
    rep.save()
    manager.manager = director
    manager.save()
    make_process(
        org["admin"],
        [
            {"name": "直属经理", "approver_kind": "manager", "manager_levels": 1},
            {"number": 2, "name": "上两级", "approver_kind": "manager", "manager_levels": 2},
        ],
    )
    request = submit(rep, account)
    assert [task.approver for task in pending(request)] == [manager]
    approvals.approval_decide(actor=manager, task=pending(request)[0], approve=True)
    assert [task.approver for task in pending(request)] == [director]


def test_manager_falls_back_to_the_department_manager(org):
    east = org["departments"]["east"]
    east.manager = org["sales_manager"]
    east.save()
    # rep_sh is in Shanghai (no manager), below East
    assert approvals.manager_of(org["rep_sh"]) == org["sales_manager"]
    # the department's manager is not their own manager: the next department up
    assert approvals.manager_of(org["sales_manager"]) is None


def test_no_manager_is_refused_at_submit_naming_the_step(org, account):
    make_process(org["admin"], [{"name": "直属经理", "approver_kind": "manager"}])
    with translation.override("en"), pytest.raises(ValidationError) as caught:
        submit(org["rep_east"], account)
    assert codes(caught.value) == {"steps": ["unroutable"]}
    assert "Step “直属经理”" in caught.value.messages[0]
    assert "no manager" in caught.value.messages[0]
    assert not ApprovalRequest.objects.exists()


def test_delegation_routes_new_tasks_to_the_delegate(org, account):
    finance, agent = org["finance"], org["agent"]
    today = timezone.localdate()
    approvals.delegation_set(
        actor=finance, delegate=agent, starts_on=today, ends_on=today + timedelta(days=3)
    )
    make_process(org["admin"], [user_step(finance)])
    request = submit(org["rep_east"], account)
    (task,) = pending(request)
    assert task.approver == agent and task.delegated_from == finance
    assert list(approval_selectors.pending_tasks_for(agent)) == [task]
    approvals.approval_decide(actor=agent, task=task, approve=True)
    request.refresh_from_db()
    assert request.state == ApprovalState.APPROVED


def test_delegate_may_decide_tasks_created_before_the_delegation(org, account):
    finance, agent, outsider = org["finance"], org["agent"], org["marketer"]
    make_process(org["admin"], [user_step(finance)])
    request = submit(org["rep_east"], account)
    (task,) = pending(request)
    with pytest.raises(PermissionDenied):
        approvals.approval_decide(actor=agent, task=task, approve=True)
    today = timezone.localdate()
    delegation = approvals.delegation_set(
        actor=finance, delegate=agent, starts_on=today, ends_on=today
    )
    assert list(approval_selectors.pending_tasks_for(agent)) == [task]
    with pytest.raises(PermissionDenied):
        approvals.approval_decide(actor=outsider, task=task, approve=True)
    approvals.delegation_end(actor=finance, delegation=delegation)
    assert list(approval_selectors.pending_tasks_for(agent)) == []
    with pytest.raises(PermissionDenied):
        approvals.approval_decide(actor=agent, task=task, approve=True)


def test_overlapping_delegation_refused(org):
    today = timezone.localdate()
    approvals.delegation_set(
        actor=org["finance"], delegate=org["agent"], starts_on=today, ends_on=today
    )
    with pytest.raises(ValidationError) as caught:
        approvals.delegation_set(
            actor=org["finance"], delegate=org["cm"], starts_on=today, ends_on=today
        )
    assert codes(caught.value) == {"starts_on": ["overlap"]}


# --- deciding ------------------------------------------------------------------------------


def test_approving_ones_own_request_is_refused(org, account):
    manager, rep = org["sales_manager"], org["rep_east"]
    make_process(org["admin"], [user_step(manager)])
    request = submit(rep, account)
    today = timezone.localdate()
    # the approver hands their approvals to the submitter, who still may not decide
    approvals.delegation_set(actor=manager, delegate=rep, starts_on=today, ends_on=today)
    with translation.override("en"), pytest.raises(ValidationError) as caught:
        approvals.approval_decide(actor=rep, task=pending(request)[0], approve=True)
    assert codes(caught.value) == {"task": ["own_request"]}
    assert caught.value.messages == ["You cannot approve your own request."]


def test_submitter_is_never_routed_to(org, account):
    rep = org["rep_east"]
    # a step naming the submitter goes to its escalation user
    make_process(org["admin"], [user_step(rep, escalate_to=org["cm"].pk)])
    request = submit(rep, account)
    assert [task.approver for task in pending(request)] == [org["cm"]]


def test_reject_needs_a_comment_and_ends_the_request(org, account):
    make_process(org["admin"], [user_step(org["finance"], 1), user_step(org["cm"], 1)])
    request = submit(org["rep_east"], account)
    task = pending(request, org["finance"])[0]
    with translation.override("en"), pytest.raises(ValidationError) as caught:
        approvals.approval_decide(actor=org["finance"], task=task, approve=False, comment="  ")
    assert codes(caught.value) == {"comment": ["required"]}
    assert caught.value.messages == ["Say why you reject it."]
    task.refresh_from_db()
    assert task.state == ApprovalTaskState.PENDING  # nothing stored
    approvals.approval_decide(actor=org["finance"], task=task, approve=False, comment="价格太低")
    request.refresh_from_db()
    assert request.state == ApprovalState.REJECTED
    assert dict(request.tasks.values_list("approver__username", "state")) == {
        "finance": "rejected",
        "cm": "cancelled",
    }
    outcome = Notification.objects.get(recipient=org["rep_east"], kind="approval.outcome")
    assert "价格太低" in outcome.text
    with pytest.raises(ValidationError) as caught:
        approvals.approval_decide(
            actor=org["cm"], task=request.tasks.get(approver=org["cm"]), approve=True
        )
    assert codes(caught.value) == {"task": ["decided"]}


def test_already_pending_and_no_process_refused(org, account):
    make_process(org["admin"], [user_step(org["finance"])], condition="tier = A")
    with pytest.raises(ValidationError) as caught:
        submit(org["rep_east"], account)
    assert codes(caught.value) == {"process": ["no_process"]}
    customer_services.account_update(actor=org["rep_east"], account=account, tier="A")
    submit(org["rep_east"], account)
    with pytest.raises(ValidationError) as caught:
        submit(org["rep_east"], account)
    assert codes(caught.value) == {"record": ["pending"]}
    assert ApprovalRequest.objects.count() == 1


def test_submit_needs_view_and_change_of_the_record(org, account):
    make_process(org["admin"], [user_step(org["finance"])])
    with pytest.raises(NotFound):
        submit(org["rep_south"], account)  # cannot see another region's account
    assert not ApprovalRequest.objects.exists()


def test_cancel_by_submitter_unlocks(org, account):
    make_process(org["admin"], [user_step(org["finance"])])
    request = submit(org["rep_east"], account)
    with pytest.raises(PermissionDenied):
        approvals.approval_cancel(actor=org["finance"], request=request)
    approvals.approval_cancel(actor=org["rep_east"], request=request)
    request.refresh_from_db()
    assert request.state == ApprovalState.CANCELLED
    assert pending(request) == []
    customer_services.account_update(actor=org["rep_east"], account=account, name="改名")


# --- locking -------------------------------------------------------------------------------


def test_record_locked_while_pending_for_everyone(org, account):
    make_process(org["admin"], [user_step(org["finance"])])
    request = submit(org["rep_east"], account)
    for actor in (org["rep_east"], org["admin"], system_actor.get()):
        with translation.override("en"), pytest.raises(ValidationError) as caught:
            customer_services.account_update(actor=actor, account=account, name="改名公司")
        assert caught.value.error_list[0].code == "locked"
        assert "waiting for approval" in caught.value.messages[0]
    with pytest.raises(ValidationError):
        customer_services.record_assign(actor=org["admin"], record=account, owner=org["rep_sh"])
    with pytest.raises(ValidationError):
        customer_services.account_deactivate(actor=org["admin"], account=account)
    account.refresh_from_db()
    assert account.name != "改名公司" and account.is_active
    approvals.approval_decide(actor=org["finance"], task=pending(request)[0], approve=True)
    customer_services.account_update(actor=org["rep_east"], account=account, name="改名公司")
    account.refresh_from_db()
    assert account.name == "改名公司"


def test_tagging_a_locked_record_is_refused_and_bulk_tagging_is_all_or_nothing(org, account):
    from rapport.core.models import TaggedRecord
    from rapport.core.tags import services as tag_services

    tag = tag_services.tag_create(actor=org["admin"], name="重点")
    free = AccountFactory(owner=org["rep_east"])
    make_process(org["admin"], [user_step(org["finance"])])
    submit(org["rep_east"], account)
    with translation.override("en"), pytest.raises(ValidationError) as caught:
        tag_services.records_tag(actor=org["admin"], records=[free, account], tags=[tag])
    assert caught.value.error_list[0].code == "locked"
    assert str(account) in caught.value.messages[0]
    assert not TaggedRecord.objects.filter(tag=tag).exists()
    tag_services.records_tag(actor=org["admin"], records=[free], tags=[tag])
    assert TaggedRecord.objects.filter(tag=tag, object_id=free.pk).exists()


def test_contacts_locked_and_lock_record_off(org):
    contact = ContactFactory(owner=org["rep_east"])
    approvals.process_create(
        actor=org["admin"],
        name="联系人审批",
        object_type="customers.contact",
        steps=[user_step(org["finance"])],
    )
    approvals.approval_submit(
        actor=org["rep_east"], object_type="customers.contact", record=contact
    )
    with pytest.raises(ValidationError):
        customer_services.contact_update(actor=org["rep_east"], contact=contact, title="经理")
    account = AccountFactory(owner=org["rep_east"])
    make_process(org["admin"], [user_step(org["finance"])], lock_record=False)
    submit(org["rep_east"], account)
    assert locks.lock_reason(account) is None
    customer_services.account_update(actor=org["rep_east"], account=account, name="不锁")


# --- tokens --------------------------------------------------------------------------------


def test_email_link_decides_once(org, account, django_capture_on_commit_callbacks):
    make_process(org["admin"], [user_step(org["finance"])])
    with django_capture_on_commit_callbacks(execute=True):
        request = submit(org["rep_east"], account)
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [org["finance"].email]
    (task,) = pending(request)
    # the e-mail carries an approve and a reject link (the web page that decides on POST)
    links = re.findall(r"/approvals/decide/([^/\s]+)/", mail.outbox[0].body)
    assert len(links) == 2
    approve, reject = links
    assert approvals.token_task(approve) == (task, True)
    assert approvals.token_task(reject) == (task, False)
    approvals.approval_decide_by_token(token=approve, comment="邮件批准")
    request.refresh_from_db()
    assert request.state == ApprovalState.APPROVED
    task.refresh_from_db()
    assert task.decided_by == org["finance"] and task.comment == "邮件批准"
    event = AuditEvent.objects.get(action="automation.approval_approve")
    assert event.extra["via"] == "email"
    for token in (approve, reject):
        with translation.override("en"), pytest.raises(ValidationError) as caught:
            approvals.approval_decide_by_token(token=token)
        assert codes(caught.value) == {"token": ["used"]}
        assert "already been used" in caught.value.messages[0]
    _task, _approve, problem = approvals.read_decision_token(approve)
    assert problem


def test_expired_and_forged_links_refused(org, account, settings):
    make_process(org["admin"], [user_step(org["finance"])])
    request = submit(org["rep_east"], account)
    token = approvals.decision_token(pending(request)[0], True)
    with pytest.raises(ValidationError) as caught:
        approvals.approval_decide_by_token(token=token[:-2] + "xx")
    assert codes(caught.value) == {"token": ["invalid"]}
    settings.APPROVAL_LINK_MAX_AGE = -1
    with translation.override("en"), pytest.raises(ValidationError) as caught:
        approvals.approval_decide_by_token(token=token)
    assert codes(caught.value) == {"token": ["expired"]}
    assert "expired" in caught.value.messages[0]
    assert pending(request)  # nothing decided


def test_reject_by_link_needs_a_comment(org, account):
    make_process(org["admin"], [user_step(org["finance"])])
    request = submit(org["rep_east"], account)
    token = approvals.decision_token(pending(request)[0], False)
    with pytest.raises(ValidationError) as caught:
        approvals.approval_decide_by_token(token=token)
    assert codes(caught.value) == {"comment": ["required"]}
    approvals.approval_decide_by_token(token=token, comment="不行")
    request.refresh_from_db()
    assert request.state == ApprovalState.REJECTED


# --- reminders and escalation --------------------------------------------------------------


def test_reminder_then_escalation_each_once(org, account):
    finance, cm = org["finance"], org["cm"]
    make_process(
        org["admin"],
        [user_step(finance, remind_after_hours=1, escalate_after_hours=4, escalate_to=cm.pk)],
    )
    request = submit(org["rep_east"], account)
    (task,) = pending(request)
    start = task.created_at
    assert task.due_at == start + timedelta(hours=4)
    assert approvals.approvals_remind_due(now=start + timedelta(minutes=30)) == 0
    assert approvals.approvals_remind_due(now=start + timedelta(hours=2)) == 1
    assert approvals.approvals_remind_due(now=start + timedelta(hours=2)) == 0
    assert Notification.objects.filter(recipient=finance, kind="approval.reminder").count() == 1
    assert approvals.approvals_remind_due(now=start + timedelta(hours=5)) == 1
    assert approvals.approvals_remind_due(now=start + timedelta(hours=5, minutes=30)) == 0
    # the escalation user is reminded in their turn, after remind_after_hours
    assert approvals.approvals_remind_due(now=start + timedelta(hours=6)) == 1
    assert approvals.approvals_remind_due(now=start + timedelta(hours=9)) == 0
    assert Notification.objects.filter(recipient=cm, kind="approval.reminder").count() == 1
    task.refresh_from_db()
    assert task.reminded_at is not None and task.escalated_at is not None
    (escalation,) = pending(request, cm)
    assert escalation.escalated_from == task
    assert Notification.objects.filter(recipient=cm, kind="approval.escalated").count() == 1
    assert AuditEvent.objects.filter(action="automation.approval_escalate").count() == 1
    approvals.approval_decide(actor=cm, task=escalation, approve=True)
    request.refresh_from_db()
    task.refresh_from_db()
    assert request.state == ApprovalState.APPROVED
    assert task.state == ApprovalTaskState.SKIPPED


def test_escalation_goes_to_the_approvers_manager(org, account):
    finance = org["finance"]
    finance.manager = org["admin"]
    finance.save()
    make_process(org["admin"], [user_step(finance, escalate_after_hours=1)])
    request = submit(org["rep_east"], account)
    (task,) = pending(request)
    assert approvals.approvals_remind_due(now=task.created_at + timedelta(hours=2)) == 1
    assert [t.approver for t in pending(request, org["admin"])] == [org["admin"]]
    # the original approver may still decide: one decision counts for both
    approvals.approval_decide(actor=finance, task=task, approve=True)
    request.refresh_from_db()
    assert request.state == ApprovalState.APPROVED
    assert pending(request) == []


# --- bad input -----------------------------------------------------------------------------


def test_deactivated_user_refused_on_save(org):
    gone = UserFactory(username="gone", is_active=False)
    installed = ApprovalProcess.objects.count()  # the quotes' discount process comes with migrate
    with translation.override("en"), pytest.raises(ValidationError) as caught:
        make_process(org["admin"], [user_step(gone)])
    assert codes(caught.value) == {"steps[0].user": ["inactive_user"]}
    assert "deactivated" in caught.value.messages[0]
    assert ApprovalProcess.objects.count() == installed


def test_user_deactivated_later_fails_the_submission_or_goes_to_escalation(org, account):
    leaver = UserFactory(username="leaver")
    process = make_process(org["admin"], [user_step(leaver)])
    leaver.is_active = False
    leaver.save()
    with translation.override("en"), pytest.raises(ValidationError) as caught:
        submit(org["rep_east"], account)
    assert codes(caught.value) == {"steps": ["unroutable"]}
    assert "deactivated" in caught.value.messages[0]
    assert "审批 leaver" in caught.value.messages[0]
    assert not ApprovalRequest.objects.exists()
    # the same step with an escalation user: routed there
    process.steps.update(escalate_to=org["cm"])
    request = submit(org["rep_east"], account)
    assert [task.approver for task in pending(request)] == [org["cm"]]


def test_deactivation_after_submit_refuses_the_decision_opening_the_step(org, account):
    leaver = UserFactory(username="leaver2")
    make_process(org["admin"], [user_step(org["finance"]), user_step(leaver, 2)])
    request = submit(org["rep_east"], account)
    leaver.is_active = False
    leaver.save()
    with translation.override("en"), pytest.raises(ValidationError) as caught:
        approvals.approval_decide(actor=org["finance"], task=pending(request)[0], approve=True)
    assert codes(caught.value) == {"steps": ["unroutable"]}
    request.refresh_from_db()
    assert request.current_number == 1
    assert [task.approver for task in pending(request)] == [org["finance"]]  # nothing stored


def test_role_without_active_members_refused_at_submit(org, account):
    role = Role.objects.create(code="empty_role", name="空角色")
    UserFactory(username="inactive_member", roles=[role], is_active=False)
    make_process(
        org["admin"], [{"name": "法务", "approver_kind": "role", "role": role.pk, "mode": "all"}]
    )
    with translation.override("en"), pytest.raises(ValidationError) as caught:
        submit(org["rep_east"], account)
    assert "Step “法务”" in caught.value.messages[0]
    assert "no active members" in caught.value.messages[0]
    assert not ApprovalRequest.objects.exists()
    assert not ApprovalTask.objects.exists()


def test_processes_are_managed_with_the_rule_grant(org):
    with pytest.raises(PermissionDenied):
        make_process(org["sales_manager"], [user_step(org["finance"])])
    with pytest.raises(ValidationError) as caught:
        make_process(
            org["admin"],
            [{"name": "", "approver_kind": "nobody"}],
            object_type="customers.nothing",
            condition="nosuchfield = 1",
        )
    assert set(codes(caught.value)) >= {"object_type", "steps[0].name", "steps[0].approver_kind"}
    with pytest.raises(ValidationError) as caught:
        make_process(org["admin"], [user_step(org["finance"])], condition="nosuchfield = 1")
    assert "condition" in codes(caught.value)


def test_process_changes_are_versioned_and_audited_pending_requests_keep_their_steps(org, account):
    process = make_process(org["admin"], [user_step(org["finance"])])
    request = submit(org["rep_east"], account)
    process = approvals.process_update(
        actor=org["admin"], process=process, steps=[user_step(org["cm"])]
    )
    assert process.version == 2
    assert [step.user for step in process.steps.all()] == [org["cm"]]
    request.refresh_from_db()
    assert request.steps[0]["user"] == org["finance"].pk
    events = AuditEvent.objects.filter(
        object_id=str(process.pk), action__startswith="automation.approval_process"
    )
    assert [event.action for event in events.order_by("seq")] == [
        "automation.approval_process_create",
        "automation.approval_process_update",
    ]
    unchanged = approvals.process_update(actor=org["admin"], process=process, name=process.name)
    assert unchanged.version == 2
    approvals.process_set_active(actor=org["admin"], process=process, active=False)
    process.refresh_from_db()
    assert not process.is_active and process.version == 3


def test_the_trail_is_on_the_record(org, account):
    make_process(org["admin"], [user_step(org["finance"])])
    request = submit(org["rep_east"], account, comment="请批")
    approvals.approval_decide(actor=org["finance"], task=pending(request)[0], approve=True)
    actions = list(
        AuditEvent.objects.filter(object_type=ACCOUNT, object_id=str(account.pk))
        .filter(action__startswith="automation.approval")
        .order_by("seq")
        .values_list("action", flat=True)
    )
    assert actions == [
        "automation.approval_submit",
        "automation.approval_approve",
        "automation.approval_approved",
    ]
    history = list(approval_selectors.requests_for_record(org["rep_east"], ACCOUNT, account.pk))
    assert history == [request]
    assert list(approval_selectors.requests_for_record(org["rep_south"], ACCOUNT, account.pk)) == []


def test_visibility_of_requests(org, account):
    make_process(org["admin"], [user_step(org["finance"])])
    request = submit(org["rep_east"], account)
    for who in ("rep_east", "finance", "admin", "sales_manager"):  # submitter, approver,
        assert request in approval_selectors.requests_visible_to(org[who]), who  # manager, viewer
    assert request not in approval_selectors.requests_visible_to(org["rep_south"])


def test_process_figures(org, account):
    process = make_process(org["admin"], [user_step(org["finance"]), user_step(org["cm"], 2)])
    request = submit(org["rep_east"], account)
    approvals.approval_decide(actor=org["finance"], task=pending(request)[0], approve=True)
    other = AccountFactory(owner=org["rep_east"])
    second = submit(org["rep_east"], other)
    approvals.approval_decide(
        actor=org["finance"], task=pending(second)[0], approve=False, comment="不"
    )
    (figure,) = [f for f in monitor.process_figures() if f.process == process]
    assert figure.counts == {"pending": 1, "rejected": 1} and figure.total == 2
    assert figure.average is not None
    steps = {step.number: (step.decided, step.pending) for step in figure.steps}
    assert steps == {1: (2, 0), 2: (0, 1)}
    assert figure.bottleneck.number == 1  # the only step whose tasks were decided


# --- the start_approval action -------------------------------------------------------------


def test_rule_starts_an_approval_for_the_owner(org, eager, django_capture_on_commit_callbacks):
    rep, manager = org["rep_east"], org["sales_manager"]
    rep.manager = manager
    rep.save()
    process = make_process(org["admin"], [{"name": "经理", "approver_kind": "manager"}])
    rule = services.rule_create(
        actor=org["admin"],
        name="A 级客户审批",
        object_type=ACCOUNT,
        trigger="updated",
        trigger_config={"field": "tier", "to": "A"},
        actions=[{"type": "start_approval", "process": process.pk}],
        is_active=True,
    )
    account = AccountFactory(owner=rep, tier="C")
    with django_capture_on_commit_callbacks(execute=True):
        customer_services.account_update(actor=rep, account=account, tier="A")
    (run,) = RuleRun.objects.filter(rule=rule)
    assert run.state == RunState.SUCCEEDED, run.error
    request = ApprovalRequest.objects.get(object_id=account.pk)
    assert request.submitted_by == rep  # on behalf of the owner: their manager approves
    assert [task.approver for task in pending(request)] == [manager]
    assert run.results[0]["changes"] == {"approval": request.pk, "process": process.pk}
    submitted = AuditEvent.objects.get(action="automation.approval_submit")
    assert submitted.actor.username == system_actor.USERNAME
    assert submitted.extra["cause"]["rule"] == rule.pk
    with pytest.raises(ValidationError):  # now locked, for the rule too
        customer_services.account_update(actor=rep, account=account, name="改")


def test_start_approval_settings_checked_on_save(org):
    with pytest.raises(ValidationError) as caught:
        services.rule_create(
            actor=org["admin"],
            name="坏规则",
            object_type=ACCOUNT,
            trigger="updated",
            actions=[{"type": "start_approval", "process": 999999}],
        )
    assert "actions[0].process" in codes(caught.value)


def test_the_sweep_runs_every_15_minutes_on_beat(org, account):
    from django_celery_beat.models import PeriodicTask

    from rapport.automation import tasks

    beat = PeriodicTask.objects.get(name="Automation: approval reminders")
    assert beat.task == "automation.approvals_sweep"
    assert (beat.interval.every, beat.interval.period) == (15, "minutes")
    make_process(org["admin"], [user_step(org["finance"], remind_after_hours=1)])
    request = submit(org["rep_east"], account)
    ApprovalTask.objects.filter(request=request).update(
        remind_at=timezone.now() - timedelta(minutes=1)
    )
    assert tasks.approvals_sweep() == 1
    assert tasks.approvals_sweep() == 0
