"""Administration pages: users, lifecycle, departments, teams, roles and grants, requests."""

from __future__ import annotations

import pytest
from allauth.usersessions.models import UserSession
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse

from rapport.audit.models import AuditEvent
from rapport.customers.models import Account
from rapport.identity.models import AccountRequest, Department, FieldRule, Grant, Role, Team, User
from tests.factories import PASSWORD, AccountFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(org) -> Client:
    client = Client()
    client.force_login(org["admin"])
    return client


def signed_in_client(username: str) -> Client:
    client = Client()
    response = client.post(reverse("account_login"), {"login": username, "password": PASSWORD})
    assert response.status_code == 302
    return client


# --- access --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "identity:user_list",
        "identity:user_create",
        "identity:department_list",
        "identity:team_list",
    ],
)
def test_user_administration_is_for_administrators(org, name):
    rep = Client()
    rep.force_login(org["rep_sh"])
    assert rep.get(reverse(name)).status_code == 403
    auditor = Client()
    auditor.force_login(org["auditor"])
    assert auditor.get(reverse(name)).status_code == 403


def test_auditor_sees_roles_read_only(org):
    auditor = Client()
    auditor.force_login(org["auditor"])
    role = Role.objects.get(code="sales_rep")
    page = auditor.get(reverse("identity:role_detail", args=[role.pk]))
    assert page.status_code == 200
    assert b'data-testid="save-matrix"' not in page.content
    response = auditor.post(
        reverse("identity:role_detail", args=[role.pk]),
        {"section": "matrix", "grant:customers.account:view": "all"},
    )
    assert response.status_code == 403
    assert (
        Grant.objects.get(role=role, object_type="customers.account", action="view").scope == "own"
    )


# --- users ---------------------------------------------------------------------------------


def test_user_list_filters_by_department_role_and_state(admin_client, org):
    org["rep_south"].is_active = False
    org["rep_south"].save()
    east = org["departments"]["east"]
    page = admin_client.get(reverse("identity:user_list"), {"department": east.pk})
    content = page.content.decode()
    assert 'data-username="rep_sh"' in content  # Shanghai is under East
    assert 'data-username="rep_east"' in content
    assert 'data-username="rep_south"' not in content
    role = Role.objects.get(code="sales_rep")
    content = admin_client.get(
        reverse("identity:user_list"), {"role": role.pk, "active": "0"}
    ).content.decode()
    assert 'data-username="rep_south"' in content
    assert 'data-username="rep_sh"' not in content


def test_user_list_pages_with_a_cursor(admin_client, org):
    for number in range(60):
        UserFactory(username=f"bulk{number:03d}")
    first = admin_client.get(reverse("identity:user_list"))
    assert first.context["page"].next_url
    second = admin_client.get(reverse("identity:user_list") + first.context["page"].next_url)
    first_names = {user.username for user, _locked in first.context["rows"]}
    second_names = {user.username for user, _locked in second.context["rows"]}
    assert first_names and second_names and not first_names & second_names


def test_create_user(admin_client, org):
    role = Role.objects.get(code="sales_rep")
    response = admin_client.post(
        reverse("identity:user_create"),
        {
            "username": "newbie",
            "email": "newbie@example.com",
            "display_name": "新同事",
            "department": org["departments"]["sh"].pk,
            "roles": [role.pk],
            "language": "zh-hans",
            "timezone": "Asia/Shanghai",
            "password": "Correct-Horse-Battery-9",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(username="newbie")
    assert list(user.roles.all()) == [role]
    assert user.check_password("Correct-Horse-Battery-9")
    assert AuditEvent.objects.filter(action="user.create", object_id=str(user.pk)).exists()


def test_duplicate_username_is_shown_beside_the_field(admin_client, org):
    before = User.objects.count()
    response = admin_client.post(
        reverse("identity:user_create"),
        {"username": "REP_SH", "language": "en", "timezone": "Asia/Shanghai"},
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert "username" in form.errors
    assert b'data-field-error="username"' in response.content
    assert User.objects.count() == before


def test_weak_password_is_refused_with_the_validator_message(admin_client, org):
    before = User.objects.count()
    response = admin_client.post(
        reverse("identity:user_create"),
        {"username": "weakling", "password": "12345", "language": "en", "timezone": "UTC"},
    )
    assert response.status_code == 200
    messages = response.context["form"].errors["password"]
    assert any("too short" in message for message in messages)
    assert b'data-field-error="password"' in response.content
    assert User.objects.count() == before


def test_edit_user_and_roles(admin_client, org):
    rep = org["rep_sh"]
    url = reverse("identity:user_detail", args=[rep.pk])
    response = admin_client.post(
        url,
        {
            "section": "edit",
            "username": rep.username,
            "email": "new-address@example.com",
            "display_name": "Rep Shanghai",
            "department": org["departments"]["east"].pk,
            "language": "en",
            "timezone": "Europe/Berlin",
        },
    )
    assert response.status_code == 302
    rep.refresh_from_db()
    assert rep.email == "new-address@example.com"
    assert rep.department == org["departments"]["east"]
    assert rep.timezone == "Europe/Berlin"

    manager_role = Role.objects.get(code="sales_manager")
    admin_client.post(url, {"section": "roles", "roles": [manager_role.pk]})
    assert list(rep.roles.all()) == [manager_role]
    assert AuditEvent.objects.filter(action="permission.user_roles", object_id=str(rep.pk)).exists()


def test_edit_user_with_taken_email_stores_nothing(admin_client, org):
    rep = org["rep_sh"]
    response = admin_client.post(
        reverse("identity:user_detail", args=[rep.pk]),
        {
            "section": "edit",
            "username": rep.username,
            "email": "rep_east@example.com",
            "display_name": "Changed",
            "language": "en",
            "timezone": "UTC",
        },
    )
    assert response.status_code == 200
    assert b'data-field-error="email"' in response.content
    rep.refresh_from_db()
    assert rep.display_name != "Changed"


def test_deactivate_ends_the_users_sessions(admin_client, org):
    rep_client = signed_in_client("rep_sh")
    assert rep_client.get(reverse("web:home")).status_code == 200
    session_key = rep_client.session.session_key
    response = admin_client.post(
        reverse("identity:user_deactivate", args=[org["rep_sh"].pk]), {"reason": "left"}
    )
    assert response.status_code == 302
    assert not UserSession.objects.filter(user=org["rep_sh"]).exists()
    assert not Session.objects.filter(session_key=session_key).exists()
    assert rep_client.get(reverse("web:home")).status_code == 302
    org["rep_sh"].refresh_from_db()
    assert not org["rep_sh"].is_active


def test_cannot_deactivate_yourself(admin_client, org):
    response = admin_client.post(
        reverse("identity:user_deactivate", args=[org["admin"].pk]), follow=True
    )
    assert "yourself" in response.content.decode()
    org["admin"].refresh_from_db()
    assert org["admin"].is_active


def test_offboard_moves_records_and_ends_sessions(admin_client, org):
    leaving, successor = org["rep_sh"], org["rep_east"]
    for _number in range(3):
        AccountFactory(owner=leaving)
    rep_client = signed_in_client("rep_sh")
    page = admin_client.get(reverse("identity:user_offboard", args=[leaving.pk]))
    assert page.status_code == 200
    response = admin_client.post(
        reverse("identity:user_offboard", args=[leaving.pk]),
        {"successor": successor.pk, "reason": "resigned"},
    )
    assert response.status_code == 200
    assert b'data-testid="offboard-result"' in response.content
    assert b'data-testid="moved-count">3<' in response.content
    assert Account.objects.filter(owner=successor).count() == 3
    assert not Account.objects.filter(owner=leaving).exists()
    assert rep_client.get(reverse("web:home")).status_code == 302
    assert not UserSession.objects.filter(user=leaving).exists()


def test_offboard_to_an_inactive_colleague_is_refused(admin_client, org):
    AccountFactory(owner=org["rep_sh"])
    org["rep_east"].is_active = False
    org["rep_east"].save()
    response = admin_client.post(
        reverse("identity:user_offboard", args=[org["rep_sh"].pk]),
        {"successor": org["rep_east"].pk},
    )
    assert response.status_code == 200
    assert "successor" in response.context["form"].errors
    assert Account.objects.filter(owner=org["rep_sh"]).count() == 1


# --- departments and teams -----------------------------------------------------------------


def test_department_create_move_and_rename(admin_client, org):
    east = org["departments"]["east"]
    response = admin_client.post(
        reverse("identity:department_list"), {"name": "杭州办", "code": "hz", "parent": east.pk}
    )
    assert response.status_code == 302
    hangzhou = Department.objects.get(code="hz")
    assert hangzhou.path == f"{east.path}{hangzhou.pk}/"

    south = org["departments"]["south"]
    response = admin_client.post(
        reverse("identity:department_edit", args=[hangzhou.pk]),
        {"name": "杭州分公司", "parent": south.pk},
    )
    assert response.status_code == 302
    hangzhou.refresh_from_db()
    assert hangzhou.name == "杭州分公司"
    assert hangzhou.path.startswith(south.path)

    page = admin_client.get(reverse("identity:department_list"))
    assert "杭州分公司" in page.content.decode()


def test_department_duplicate_code_is_refused(admin_client, org):
    count = Department.objects.count()
    response = admin_client.post(reverse("identity:department_list"), {"name": "X", "code": "east"})
    assert response.status_code == 200
    assert b'data-field-error="code"' in response.content
    assert Department.objects.count() == count


def test_team_create_and_members(admin_client, org):
    response = admin_client.post(
        reverse("identity:team_list"),
        {"name": "North stars", "lead": org["rep_east"].pk, "members": [org["rep_sh"].pk]},
    )
    assert response.status_code == 302
    team = Team.objects.get(name="North stars")
    assert list(team.members.all()) == [org["rep_sh"]]
    admin_client.post(
        reverse("identity:team_detail", args=[team.pk]),
        {"members": [org["rep_sh"].pk, org["cm"].pk]},
    )
    assert set(team.members.all()) == {org["rep_sh"], org["cm"]}


# --- roles and the grant matrix ------------------------------------------------------------


@pytest.fixture
def custom_role(admin_client, org):
    response = admin_client.post(
        reverse("identity:role_list"), {"code": "analyst", "name": "Analyst"}
    )
    assert response.status_code == 302
    role = Role.objects.get(code="analyst")
    org["rep_south"].roles.set([role])
    return role


def test_grant_matrix_changes_what_users_see(admin_client, org, custom_role):
    AccountFactory.create_batch(2, owner=org["rep_sh"])
    analyst = User.objects.get(pk=org["rep_south"].pk)
    assert not Account.objects.restrict(analyst, "view").exists()

    page = admin_client.get(reverse("identity:role_detail", args=[custom_role.pk]))
    assert b'name="grant:customers.account:view"' in page.content
    assert b'name="grant:identity.role:manage"' in page.content
    response = admin_client.post(
        reverse("identity:role_detail", args=[custom_role.pk]),
        {
            "section": "matrix",
            "grant:customers.account:view": "all",
            "grant:customers.account:export": "",
            "grant:customers.contact:view": "own",
        },
    )
    assert response.status_code == 302
    analyst = User.objects.get(pk=org["rep_south"].pk)
    assert Account.objects.restrict(analyst, "view").count() == 2
    events = AuditEvent.objects.filter(action="permission.grant", object_id=str(custom_role.pk))
    assert {key for event in events for key in event.changes} == {
        "customers.account.view",
        "customers.contact.view",
    }


@pytest.mark.parametrize(
    "bad",
    [
        {"grant:customers.account:fly": "all"},
        {"grant:customers.account:delete": "galaxy"},
        {"grant:no.such_type:view": "all"},
    ],
)
def test_grant_matrix_refuses_unknown_values_and_stores_nothing(admin_client, custom_role, bad):
    events_before = AuditEvent.objects.count()
    response = admin_client.post(
        reverse("identity:role_detail", args=[custom_role.pk]),
        {"section": "matrix", "grant:customers.account:view": "all", **bad},
    )
    assert response.status_code == 400
    assert b'data-testid="matrix-errors"' in response.content
    assert not Grant.objects.filter(role=custom_role).exists()
    assert AuditEvent.objects.count() == events_before


def test_field_rules_and_require_mfa(admin_client, custom_role):
    url = reverse("identity:role_detail", args=[custom_role.pk])
    response = admin_client.post(
        url,
        {
            "section": "fields",
            "rule:customers.contact:phones": "masked",
            "rule:customers.account:credit_code": "hidden",
            "rule:customers.contact:emails": "",
        },
    )
    assert response.status_code == 302
    assert dict(FieldRule.objects.filter(role=custom_role).values_list("field", "rule")) == {
        "phones": "masked",
        "credit_code": "hidden",
    }
    bad = admin_client.post(url, {"section": "fields", "rule:customers.contact:phones": "blurred"})
    assert bad.status_code == 400
    assert FieldRule.objects.get(role=custom_role, field="phones").rule == "masked"

    admin_client.post(url, {"section": "settings", "name": "Analyst", "require_mfa": "on"})
    custom_role.refresh_from_db()
    assert custom_role.require_mfa


def test_duplicate_role_code_is_refused(admin_client, org):
    response = admin_client.post(reverse("identity:role_list"), {"code": "auditor", "name": "X"})
    assert response.status_code == 200
    assert b'data-field-error="code"' in response.content


# --- account requests ----------------------------------------------------------------------


def test_team_lead_requests_and_admin_approves(admin_client, org):
    lead = Client()
    lead.force_login(org["cm"])  # leads "Key accounts"
    role = Role.objects.get(code="sales_rep")
    response = lead.post(
        reverse("identity:request_list"),
        {
            "username": "xiaoming",
            "email": "xiaoming@example.com",
            "display_name": "小明",
            "roles": [role.pk],
            "reason": "new hire",
        },
    )
    assert response.status_code == 302
    request = AccountRequest.objects.get(username="xiaoming")

    page = admin_client.get(reverse("identity:request_list"))
    assert "小明" in page.content.decode()
    response = admin_client.post(
        reverse("identity:request_decide", args=[request.pk]), {"decision": "approve"}
    )
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.state == AccountRequest.State.APPROVED
    created = User.objects.get(username="xiaoming")
    assert list(created.roles.all()) == [role]


def test_reject_request(admin_client, org):
    lead = Client()
    lead.force_login(org["cm"])
    lead.post(
        reverse("identity:request_list"),
        {"username": "nobody", "email": "nobody@example.com", "display_name": "Nobody"},
    )
    request = AccountRequest.objects.get(username="nobody")
    admin_client.post(
        reverse("identity:request_decide", args=[request.pk]),
        {"decision": "reject", "note": "no budget"},
    )
    request.refresh_from_db()
    assert request.state == AccountRequest.State.REJECTED
    assert request.decision_note == "no budget"
    assert not User.objects.filter(username="nobody").exists()


def test_request_with_missing_email_is_refused(org):
    lead = Client()
    lead.force_login(org["cm"])
    response = lead.post(
        reverse("identity:request_list"), {"username": "noemail", "display_name": "No Mail"}
    )
    assert response.status_code == 200
    assert b'data-field-error="email"' in response.content
    assert not AccountRequest.objects.exists()


def test_plain_rep_cannot_request_accounts(org):
    rep = Client()
    rep.force_login(org["rep_sh"])
    assert rep.get(reverse("identity:request_list")).status_code == 403
