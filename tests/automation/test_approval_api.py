"""The approvals API: processes for managers, submitting, seeing, deciding, cancelling,
"my approvals", delegations; permissions and query counts."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation
from rest_framework.test import APIClient

from rapport.automation import approvals
from rapport.automation.models import ApprovalProcess, ApprovalRequest, ApprovalState
from rapport.identity.services import token_create
from tests.factories import AccountFactory, UserFactory

pytestmark = pytest.mark.django_db

ACCOUNT = "customers.account"
PROCESSES = "/api/v1/automation/approval-processes/"
REQUESTS = "/api/v1/automation/approvals/"
TASKS = "/api/v1/automation/approval-tasks/"
DELEGATIONS = "/api/v1/automation/approval-delegations/"


@pytest.fixture
def client_for(db):
    def make(user) -> APIClient:
        _token, secret = token_create(actor=user, name="test")
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION="Bearer " + secret)
        return client

    return make


@pytest.fixture
def process(org) -> ApprovalProcess:
    return approvals.process_create(
        actor=org["admin"],
        name="大客户审批",
        object_type=ACCOUNT,
        steps=[
            {"name": "财务", "user": org["finance"].pk},
            {"number": 2, "name": "管理员", "user": org["admin"].pk},
        ],
    )


@pytest.fixture
def account(org):
    return AccountFactory(owner=org["rep_east"])


def test_processes_need_the_manage_grant(org, client_for):
    body = {
        "name": "报价折扣",
        "name_en": "Quote discount",
        "object_type": ACCOUNT,
        "condition": "tier = A",
        "steps": [
            {"name": "经理", "approver_kind": "manager", "manager_levels": 2},
            {"number": 2, "name": "财务", "user": org["finance"].pk, "remind_after_hours": 8},
        ],
    }
    assert client_for(org["rep_east"]).get(PROCESSES).status_code == 403
    assert client_for(org["rep_east"]).post(PROCESSES, body, format="json").status_code == 403
    admin = client_for(org["admin"])
    response = admin.post(PROCESSES, body, format="json")
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["version"] == 1 and created["lock_record"] is True
    assert [step["approver_kind"] for step in created["steps"]] == ["manager", "user"]
    assert created["condition"] == {"field": "tier", "op": "=", "value": "A"}
    listed = admin.get(PROCESSES).json()["results"]
    installed = ApprovalProcess.objects.exclude(pk=created["id"]).values_list("pk", flat=True)
    assert sorted(row["id"] for row in listed) == sorted([created["id"], *installed])
    response = admin.patch(f"{PROCESSES}{created['id']}/", {"name_en": "Discounts"}, format="json")
    assert response.status_code == 200 and response.json()["version"] == 2
    response = admin.post(f"{PROCESSES}{created['id']}/deactivate/")
    assert response.status_code == 200 and response.json()["is_active"] is False


def test_a_step_naming_a_deactivated_user_is_refused(org, client_for):
    gone = UserFactory(username="gone", is_active=False)
    installed = ApprovalProcess.objects.count()  # the quotes' discount process comes with migrate
    client = client_for(org["admin"])
    response = client.post(
        PROCESSES,
        {"name": "坏流程", "object_type": ACCOUNT, "steps": [{"name": "某人", "user": gone.pk}]},
        format="json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert fields["steps[0].user"][0]["code"] == "inactive_user"
    assert ApprovalProcess.objects.count() == installed


def test_submit_see_and_decide(org, client_for, process, account):
    rep = client_for(org["rep_east"])
    response = rep.post(
        REQUESTS,
        {"object_type": ACCOUNT, "object_id": account.pk, "comment": "请批"},
        format="json",
    )
    assert response.status_code == 201, response.content
    request_id = response.json()["id"]
    assert response.json()["state"] == "pending"
    assert [task["approver"]["username"] for task in response.json()["tasks"]] == ["finance"]
    # a second submission while pending
    again = rep.post(REQUESTS, {"object_type": ACCOUNT, "object_id": account.pk}, format="json")
    assert again.status_code == 400
    assert again.json()["error"]["fields"]["record"][0]["code"] == "pending"
    # someone who cannot see the account can neither submit nor see the request
    south = client_for(org["rep_south"])
    assert (
        south.post(
            REQUESTS, {"object_type": ACCOUNT, "object_id": account.pk}, format="json"
        ).status_code
        == 404
    )
    assert south.get(f"{REQUESTS}{request_id}/").status_code == 404
    assert south.get(REQUESTS).json()["results"] == []
    # the record's approvals
    listed = rep.get(REQUESTS, {"object_type": ACCOUNT, "object_id": account.pk}).json()
    assert [row["id"] for row in listed["results"]] == [request_id]
    # my approvals
    finance = client_for(org["finance"])
    (task,) = finance.get(TASKS).json()["results"]
    assert task["request"]["id"] == request_id and task["step_name"] == "财务"
    assert rep.get(TASKS).json()["results"] == []
    # the submitter may not decide; who cannot see the account does not see the task
    own = rep.post(f"{TASKS}{task['id']}/decide/", {"approve": True}, format="json")
    assert own.status_code == 400
    assert own.json()["error"]["fields"]["task"][0]["code"] == "own_request"
    decided = south.post(f"{TASKS}{task['id']}/decide/", {"approve": True}, format="json")
    assert decided.status_code == 404
    # who sees the account (marketers see all) but is not the approver: refused
    viewer = client_for(org["marketer"])
    decided = viewer.post(f"{TASKS}{task['id']}/decide/", {"approve": True}, format="json")
    assert decided.status_code == 403
    # rejecting needs a comment; approving moves to step 2
    no_comment = finance.post(f"{TASKS}{task['id']}/decide/", {"approve": False}, format="json")
    assert no_comment.status_code == 400
    assert no_comment.json()["error"]["fields"]["comment"][0]["code"] == "required"
    response = finance.post(
        f"{TASKS}{task['id']}/decide/", {"approve": True, "comment": "同意"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["current_number"] == 2
    (second,) = client_for(org["admin"]).get(TASKS).json()["results"]
    response = client_for(org["admin"]).post(
        f"{TASKS}{second['id']}/decide/", {"approve": False, "comment": "额度太高"}, format="json"
    )
    assert response.json()["state"] == "rejected"
    assert ApprovalRequest.objects.get(pk=request_id).state == ApprovalState.REJECTED


def test_cancel(org, client_for, process, account):
    request = approvals.approval_submit(actor=org["rep_east"], object_type=ACCOUNT, record=account)
    assert client_for(org["finance"]).post(f"{REQUESTS}{request.pk}/cancel/").status_code == 403
    response = client_for(org["rep_east"]).post(f"{REQUESTS}{request.pk}/cancel/")
    assert response.status_code == 200 and response.json()["state"] == "cancelled"


def test_delegations(org, client_for):
    today = timezone.localdate()
    finance = client_for(org["finance"])
    body = {
        "delegate": org["agent"].pk,
        "starts_on": today.isoformat(),
        "ends_on": (today + timedelta(days=5)).isoformat(),
        "reason": "年假",
    }
    response = finance.post(DELEGATIONS, body, format="json")
    assert response.status_code == 201, response.content
    delegation_id = response.json()["id"]
    assert [row["id"] for row in finance.get(DELEGATIONS).json()["results"]] == [delegation_id]
    assert client_for(org["agent"]).get(DELEGATIONS).json()["results"] == []
    # for someone else: managers of processes only
    other = client_for(org["rep_east"]).post(
        DELEGATIONS, {**body, "user": org["finance"].pk}, format="json"
    )
    assert other.status_code == 403
    assert client_for(org["agent"]).post(f"{DELEGATIONS}{delegation_id}/end/").status_code == 404
    response = finance.post(f"{DELEGATIONS}{delegation_id}/end/")
    assert response.status_code == 200 and response.json()["is_active"] is False


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


def test_lists_take_the_same_queries_for_more_rows(org, client_for, process):
    rep, finance = client_for(org["rep_east"]), client_for(org["finance"])

    def grow(n):
        for _ in range(n):
            approvals.approval_submit(
                actor=org["rep_east"],
                object_type=ACCOUNT,
                record=AccountFactory(owner=org["rep_east"]),
            )

    grow(1)
    rep.get(REQUESTS)
    finance.get(TASKS)
    few_requests, few_tasks = _queries(rep, REQUESTS), _queries(finance, TASKS)
    grow(4)
    assert len(rep.get(REQUESTS).json()["results"]) == 5
    assert len(finance.get(TASKS).json()["results"]) == 5
    assert _queries(rep, REQUESTS) == few_requests
    assert _queries(finance, TASKS) == few_tasks


# --- the console ---------------------------------------------------------------------------


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_cli_submit_list_approve_reject(org, process, account):
    with translation.override("en"):
        out = run(
            "approval", "submit", ACCOUNT, str(account.pk), "--comment", "请批", "--as", "rep_east"
        )
        assert "Submitted for approval" in out
        request = ApprovalRequest.objects.get()
        (task,) = request.tasks.all()
        mine = run("approval", "list", "--mine", "--as", "finance")
        assert str(request.title) in mine and "财务" in mine
        with pytest.raises(CommandError, match="own request"):
            run("approval", "approve", str(task.pk), "--as", "rep_east")
        with pytest.raises(CommandError, match="comment: Say why"):
            run("approval", "reject", str(task.pk), "--as", "finance")
        assert "pending" in run("approval", "approve", str(task.pk), "--as", "finance").lower()
        shown = run("approval", "show", str(request.pk), "--as", "rep_east")
        assert "Approved" in shown and "管理员" in shown
        with pytest.raises(CommandError, match="There is no request"):
            run("approval", "show", str(request.pk), "--as", "rep_south")
        assert "大客户审批" in run("approval", "processes", "--as", "admin")
        with pytest.raises(CommandError, match="permission"):
            run("approval", "processes", "--as", "rep_east")
        today = timezone.localdate().isoformat()
        out = run(
            "approval", "delegate", "agent", "--from", today, "--until", today, "--as", "finance"
        )
        assert "decides your approvals" in out
        with pytest.raises(CommandError, match="until: .*not a date"):
            run(
                "approval", "delegate", "agent", "--from", today, "--until", "someday", "--as", "cm"
            )
