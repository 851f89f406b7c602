"""New user accounts as a guarded action: an approval process for account requests decides
them instead of an administrator, the request is locked while it waits, and the account is
created (or the request rejected) on the approval's authority when it ends."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import translation

from rapport.audit.models import AuditEvent
from rapport.automation import actor as system_actor
from rapport.automation import approvals, services
from rapport.automation.models import ApprovalRequest, ApprovalState, ApprovalTaskState
from rapport.core.errors import PermissionDenied
from rapport.identity import services as identity_services
from rapport.identity.models import AccountRequest, Department, Role, User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

TYPE = "identity.account_request"


@pytest.fixture
def process(org):
    """New accounts in East: first the asker's manager, then any administrator."""
    east = Department.objects.get(code="east")
    admin_role = Role.objects.get(code="administrator")
    return approvals.process_create(
        actor=org["admin"],
        object_type=TYPE,
        name="新账号审批",
        name_en="New accounts",
        condition={"field": "department", "op": "=", "value": str(east.pk)},
        steps=[
            {"number": 1, "name": "直属经理", "approver_kind": "manager", "manager_levels": 1},
            {
                "number": 2,
                "name": "管理员",
                "approver_kind": "role",
                "role": admin_role.pk,
                "mode": "any",
            },
        ],
    )


def ask(org, username="xiaoming", department="east") -> AccountRequest:
    return identity_services.account_request_create(
        actor=org["cm"],
        username=username,
        email=f"{username}@example.com",
        display_name="小明",
        department=Department.objects.get(code=department),
        roles=[Role.objects.get(code="sales_rep")],
        reason="new hire",
    )


def approval_of(request: AccountRequest) -> ApprovalRequest:
    return ApprovalRequest.objects.get(object_type=TYPE, object_id=request.pk)


def decide(approval: ApprovalRequest, actor, approve=True, comment=""):
    task = approval.tasks.get(state=ApprovalTaskState.PENDING, approver=actor)
    return approvals.approval_decide(actor=actor, task=task, approve=approve, comment=comment)


def test_request_waits_for_the_process_and_is_created_when_approved(org, process):
    manager_of_manager = UserFactory(username="director", roles=["sales_manager"])
    org["cm"].manager = manager_of_manager
    org["cm"].save(update_fields=["manager"])
    request = ask(org)
    approval = approval_of(request)
    assert approval.state == ApprovalState.PENDING
    assert approval.submitted_by == org["cm"]
    assert approval.process == process

    # nobody decides it directly while it waits, administrators included
    with pytest.raises(ValidationError) as locked:
        identity_services.account_request_decide(actor=org["admin"], request=request, approve=True)
    assert locked.value.error_list[0].code == "locked"
    assert not User.objects.filter(username="xiaoming").exists()

    decide(approval, manager_of_manager, comment="同意")
    assert not User.objects.filter(username="xiaoming").exists()
    approval.refresh_from_db()
    decide(approval, org["admin"], comment="账号已批")

    request.refresh_from_db()
    approval.refresh_from_db()
    assert approval.state == ApprovalState.APPROVED
    assert request.state == AccountRequest.State.APPROVED
    created = User.objects.get(username="xiaoming")
    assert request.created_user == created
    assert list(created.roles.values_list("code", flat=True)) == ["sales_rep"]
    assert created.manager == org["cm"]
    assert request.decided_by == system_actor.get()
    assert request.decision_note == "账号已批"
    event = AuditEvent.objects.get(action="account_request.approve")
    assert event.extra == {"by_approval": True}
    assert AuditEvent.objects.filter(action="user.create", object_id=str(created.pk)).exists()


def test_rejected_approval_rejects_the_request(org, process):
    org["cm"].manager = org["admin"]
    org["cm"].save(update_fields=["manager"])
    request = ask(org, username="nobody")
    decide(approval_of(request), org["admin"], approve=False, comment="没有编制")
    request.refresh_from_db()
    assert request.state == AccountRequest.State.REJECTED
    assert request.decision_note == "没有编制"
    assert not User.objects.filter(username="nobody").exists()


def test_request_outside_the_condition_goes_to_the_administrators(org, process):
    request = ask(org, username="southern", department="south")
    assert not ApprovalRequest.objects.filter(object_type=TYPE).exists()
    identity_services.account_request_decide(actor=org["admin"], request=request, approve=True)
    assert User.objects.filter(username="southern").exists()


def test_failed_action_undoes_the_final_decision(org, process):
    org["cm"].manager = org["admin"]
    org["cm"].save(update_fields=["manager"])
    second_admin = UserFactory(username="admin2", roles=["administrator"])
    request = ask(org, username="taken")
    approval = approval_of(request)
    decide(approval, org["admin"])  # step 1 (the manager is the admin)
    approval.refresh_from_db()
    UserFactory(username="taken")  # someone made the account meanwhile
    with pytest.raises(ValidationError) as refused:
        decide(approval, second_admin)
    assert "username" in refused.value.message_dict
    approval.refresh_from_db()
    request.refresh_from_db()
    assert approval.state == ApprovalState.PENDING
    assert approval.tasks.filter(approver=second_admin, state="pending").exists()
    assert request.state == AccountRequest.State.PENDING


def test_ended_approval_authorises_only_its_own_outcome(org, process):
    org["cm"].manager = org["admin"]
    org["cm"].save(update_fields=["manager"])
    request = ask(org, username="only_reject")
    decide(approval_of(request), org["admin"], approve=False, comment="不批")
    request.state = AccountRequest.State.PENDING  # even if it were pending again
    request.save(update_fields=["state"])
    with pytest.raises(PermissionDenied):
        identity_services.account_request_decide(
            actor=org["rep_east"], request=request, approve=True
        )


def test_guarded_type_is_not_submitted_by_hand_nor_offered_to_rules(org, process):
    request = AccountRequest.objects.create(
        requested_by=org["cm"], username="byhand", email="b@example.com"
    )
    with pytest.raises(ValidationError) as refused:
        approvals.approval_submit(actor=org["admin"], object_type=TYPE, record=request)
    assert refused.value.error_dict["object_type"][0].code == "guarded"
    with pytest.raises(ValidationError) as no_rule:
        services.rule_create(
            actor=org["admin"],
            name="规则",
            object_type=TYPE,
            trigger="created",
            actions=[{"type": "create_task", "subject": "x", "due_in_days": 2}],
        )
    assert "object_type" in no_rule.value.message_dict


def test_request_page_shows_the_wait_and_no_decision_buttons(org, process):
    org["cm"].manager = org["admin"]
    org["cm"].save(update_fields=["manager"])
    asker = Client()
    asker.force_login(org["cm"])
    org["cm"].language = "en"
    org["cm"].save(update_fields=["language"])
    response = asker.post(
        reverse("identity:request_list"),
        {
            "username": "pagetest",
            "email": "pagetest@example.com",
            "display_name": "Page Test",
            "department": Department.objects.get(code="east").pk,
            "roles": [Role.objects.get(code="sales_rep").pk],
        },
        follow=True,
    )
    assert "waiting for approval" in response.content.decode()
    admin = Client()
    org["admin"].language = "zh-hans"
    org["admin"].save(update_fields=["language"])
    admin.force_login(org["admin"])
    page = admin.get(reverse("identity:request_list")).content.decode()
    request = AccountRequest.objects.get(username="pagetest")
    with translation.override("zh-hans"):
        assert translation.gettext("Decided by the approval process") in page
    assert reverse("identity:request_decide", args=[request.pk]) not in page
    # the approver finds it in their inbox, linked to the request
    inbox = admin.get(reverse("approvals:inbox")).content.decode()
    assert f"#request-{request.pk}" in inbox


def test_api_shows_the_wait_and_refuses_a_direct_decision(org, process):
    from rest_framework.test import APIClient

    from rapport.identity.services import token_create

    org["cm"].manager = org["admin"]
    org["cm"].save(update_fields=["manager"])
    request = ask(org, username="apiwait")
    _token, secret = token_create(actor=org["admin"], name="test")
    admin = APIClient()
    admin.credentials(HTTP_AUTHORIZATION="Bearer " + secret, HTTP_ACCEPT_LANGUAGE="en")
    listed = admin.get("/api/v1/account-requests/").json()["results"]
    (item,) = [row for row in listed if row["id"] == request.pk]
    assert "waiting for approval" in item["waiting_for_approval"]
    detail = admin.get(f"/api/v1/account-requests/{request.pk}/").json()
    assert detail["waiting_for_approval"] == item["waiting_for_approval"]
    response = admin.post(f"/api/v1/account-requests/{request.pk}/approve/", {}, format="json")
    assert response.status_code == 400
    assert "waiting for approval" in str(response.json())
    assert not User.objects.filter(username="apiwait").exists()


def test_process_designer_offers_new_accounts_with_their_fields(org):
    admin = Client()
    org["admin"].language = "en"
    org["admin"].save(update_fields=["language"])
    admin.force_login(org["admin"])
    listing = admin.get(reverse("approvals:process_list")).content.decode()
    assert "For new user accounts" in listing
    page = admin.get(reverse("approvals:process_create") + f"?type={TYPE}")
    assert page.status_code == 200
    body = page.content.decode()
    assert "Role asked for" in body and "Asked by" in body


# --- exports -------------------------------------------------------------------------------


@pytest.fixture
def export_process(org):
    return approvals.process_create(
        actor=org["admin"],
        object_type="dataops.export",
        name="大批量导出审批",
        name_en="Large exports",
        condition={"field": "total", "op": ">=", "value": 2},
        steps=[{"number": 1, "name": "审计", "approver_kind": "user", "user": org["auditor"].pk}],
    )


def test_a_large_export_waits_for_approval_and_runs_when_approved(
    org, export_process, django_capture_on_commit_callbacks, settings
):
    from rapport.celery import app
    from rapport.core.models import Job
    from rapport.customers import services as customer_services
    from rapport.dataops import exporting

    for name in ("甲公司", "乙公司"):
        customer_services.account_create(actor=org["admin"], name=name)
    job = exporting.export_start(actor=org["admin"], object_type="customers.account", state={})
    assert exporting.waiting(job)  # locked until the approval ends
    with pytest.raises(ValidationError):
        exporting.export_execute(job)  # not while it waits
    approval = ApprovalRequest.objects.get(object_type="dataops.export", object_id=job.pk)
    previous, app.conf.task_always_eager = app.conf.task_always_eager, True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            decide(approval, org["auditor"])
    finally:
        app.conf.task_always_eager = previous
    job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED and job.result["rows"] == 2


def test_a_rejected_export_is_cancelled_and_a_small_one_needs_no_approval(org, export_process):
    from rapport.core.models import Job
    from rapport.customers import services as customer_services
    from rapport.dataops import exporting

    customer_services.account_create(actor=org["admin"], name="甲公司")
    small = exporting.export_start(actor=org["admin"], object_type="customers.account", state={})
    assert exporting.waiting(small) == ""
    customer_services.account_create(actor=org["admin"], name="乙公司")
    large = exporting.export_start(actor=org["admin"], object_type="customers.account", state={})
    approval = ApprovalRequest.objects.get(object_type="dataops.export", object_id=large.pk)
    decide(approval, org["auditor"], approve=False, comment="数据量太大")
    large.refresh_from_db()
    assert large.state == Job.State.CANCELLED
    with pytest.raises(ValidationError):
        exporting.export_execute(large)
