"""Administration over the API: users, offboarding, roles and grants, requests, me, shares."""

from __future__ import annotations

import pytest

from rapport.audit.models import AuditEvent
from rapport.customers.models import Account
from rapport.identity.models import AccountRequest, ApiToken, Grant, RecordShare, Role, User
from tests.factories import AccountFactory, ContactFactory

from .helpers import error_of, field_codes

pytestmark = pytest.mark.django_db

USERS = "/api/v1/users/"


# --- users ---------------------------------------------------------------------------------


def test_admin_creates_a_user_with_roles(org, client_for):
    admin = client_for(org["admin"])
    response = admin.post(
        USERS,
        {
            "username": "wang.wei",
            "email": "Wang.Wei@Example.com",
            "display_name": "王伟",
            "department": org["departments"]["sh"].pk,
            "roles": ["sales_rep"],
            "language": "zh-hans",
            "timezone": "Asia/Shanghai",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["roles"] == ["sales_rep"]
    assert body["email"] == "wang.wei@example.com"
    assert body["department"]["id"] == org["departments"]["sh"].pk
    assert AuditEvent.objects.filter(action="user.create", object_id=str(body["id"])).exists()


def test_duplicate_username_names_the_field(org, client_for):
    admin = client_for(org["admin"])
    response = admin.post(USERS, {"username": "REP_SH"}, format="json")
    assert response.status_code == 400
    assert field_codes(response, "username") == ["duplicate"]
    assert User.objects.filter(username__iexact="rep_sh").count() == 1


def test_unknown_role_code_and_bad_time_zone(org, client_for):
    admin = client_for(org["admin"])
    response = admin.post(USERS, {"username": "x1", "roles": ["wizard"]}, format="json")
    assert response.status_code == 400
    assert field_codes(response, "roles") == ["does_not_exist"]
    response = admin.post(USERS, {"username": "x1", "timezone": "Mars/Base"}, format="json")
    assert response.status_code == 400
    assert field_codes(response, "timezone") == ["invalid_choice"]


def test_rep_cannot_create_users_and_sees_only_themselves(org, client_for):
    rep = client_for(org["rep_sh"])
    assert rep.post(USERS, {"username": "sneaky"}, format="json").status_code == 403
    listed = rep.get(USERS).json()["results"]
    assert [row["username"] for row in listed] == ["rep_sh"]
    assert rep.get(f"{USERS}{org['admin'].pk}/").status_code == 404


def test_user_list_search_and_filters(org, client_for):
    admin = client_for(org["admin"])
    names = {row["username"] for row in admin.get(USERS, {"q": "rep_"}).json()["results"]}
    assert names == {"rep_east", "rep_sh", "rep_south"}
    names = {row["username"] for row in admin.get(USERS, {"role": "auditor"}).json()["results"]}
    assert names == {"auditor"}


def test_admin_updates_a_user(org, client_for):
    admin = client_for(org["admin"])
    response = admin.patch(
        f"{USERS}{org['rep_sh'].pk}/", {"title": "Senior rep", "language": "zh-hans"}, format="json"
    )
    assert response.status_code == 200, response.content
    org["rep_sh"].refresh_from_db()
    assert (org["rep_sh"].title, org["rep_sh"].language) == ("Senior rep", "zh-hans")


def test_deactivate_revokes_tokens(org, client_for):
    rep = client_for(org["rep_sh"])
    admin = client_for(org["admin"])
    response = admin.post(f"{USERS}{org['rep_sh'].pk}/deactivate/", {"reason": "left"})
    assert response.status_code == 200
    assert response.json()["is_active"] is False
    assert rep.get("/api/v1/me/").status_code == 401


def test_admin_cannot_deactivate_themselves(org, client_for):
    admin = client_for(org["admin"])
    response = admin.post(f"{USERS}{org['admin'].pk}/deactivate/")
    assert response.status_code == 400
    assert error_of(response)["code"] == "self_deactivate"


def test_offboarding_moves_records_and_revokes_tokens(org, client_for):
    leaving = org["rep_sh"]
    accounts = [AccountFactory(owner=leaving) for _ in range(3)]
    contact = ContactFactory(owner=leaving)
    rep = client_for(leaving)
    admin = client_for(org["admin"])
    response = admin.post(
        f"{USERS}{leaving.pk}/offboard/",
        {"successor": org["rep_east"].pk, "reason": "resigned"},
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["moved"] == {"customers.account": 3, "customers.contact": 1}
    assert body["user"]["is_active"] is False
    assert body["user"]["successor"]["id"] == org["rep_east"].pk
    assert set(Account.objects.filter(owner=org["rep_east"])) == set(accounts)
    contact.refresh_from_db()
    assert contact.owner == org["rep_east"]
    assert not ApiToken.objects.filter(user=leaving, revoked_at__isnull=True).exists()
    assert rep.get("/api/v1/accounts/").status_code == 401
    # The successor now sees the records through the API.
    successor = client_for(org["rep_east"])
    assert len(successor.get("/api/v1/accounts/").json()["results"]) == 3


def test_offboarding_to_the_same_person_is_refused(org, client_for):
    admin = client_for(org["admin"])
    response = admin.post(
        f"{USERS}{org['rep_sh'].pk}/offboard/", {"successor": org["rep_sh"].pk}, format="json"
    )
    assert response.status_code == 400
    assert field_codes(response, "successor") == ["same_user"]


def test_set_user_roles(org, client_for):
    admin = client_for(org["admin"])
    response = admin.post(
        f"{USERS}{org['rep_sh'].pk}/roles/", {"roles": ["sales_rep", "marketer"]}, format="json"
    )
    assert response.status_code == 200, response.content
    assert sorted(response.json()["roles"]) == ["marketer", "sales_rep"]
    assert AuditEvent.objects.filter(action="permission.user_roles").exists()
    # A manager may view their department's users but not change roles.
    manager = client_for(org["sales_manager"])
    response = manager.post(
        f"{USERS}{org['rep_sh'].pk}/roles/", {"roles": ["administrator"]}, format="json"
    )
    assert response.status_code == 403
    assert not org["rep_sh"].roles.filter(code="administrator").exists()


# --- departments and teams -----------------------------------------------------------------


def test_departments_and_teams(org, client_for):
    admin = client_for(org["admin"])
    response = admin.post(
        "/api/v1/departments/",
        {"name": "北京办", "code": "bj", "parent": org["departments"]["hq"].pk},
        format="json",
    )
    assert response.status_code == 201, response.content
    beijing = response.json()
    assert beijing["parent"] == org["departments"]["hq"].pk
    response = admin.post("/api/v1/departments/", {"name": "Dup", "code": "bj"}, format="json")
    assert field_codes(response, "code") == ["duplicate"]
    response = admin.patch(
        f"/api/v1/departments/{beijing['id']}/",
        {"parent": org["departments"]["east"].pk},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["path"].startswith(org["departments"]["east"].path)

    response = admin.post(
        "/api/v1/teams/",
        {"name": "North", "lead": org["rep_east"].pk, "members": [org["rep_sh"].pk]},
        format="json",
    )
    assert response.status_code == 201, response.content
    team = response.json()
    response = admin.patch(
        f"/api/v1/teams/{team['id']}/", {"members": [org["rep_south"].pk]}, format="json"
    )
    assert [m["id"] for m in response.json()["members"]] == [org["rep_south"].pk]
    rep = client_for(org["rep_sh"])
    assert rep.post("/api/v1/teams/", {"name": "Mine"}, format="json").status_code == 403


# --- roles and grants ----------------------------------------------------------------------


def test_roles_list_nests_grants_and_field_rules(org, client_for):
    auditor = client_for(org["auditor"])
    role = Role.objects.get(code="auditor")
    body = auditor.get(f"/api/v1/roles/{role.pk}/").json()
    assert {"object_type": "audit.event", "action": "view", "scope": "all", "conditions": {}} in (
        body["grants"]
    )
    assert {"object_type": "customers.contact", "field": "phones", "rule": "masked"} in (
        body["field_rules"]
    )
    # Viewing roles is not managing them.
    response = auditor.post(f"/api/v1/roles/{role.pk}/grants/", {}, format="json")
    assert response.status_code == 403


def test_set_and_remove_a_grant(org, client_for):
    admin = client_for(org["admin"])
    role = Role.objects.get(code="sales_rep")
    url = f"/api/v1/roles/{role.pk}/grants/"
    response = admin.put(
        url,
        {
            "object_type": "customers.account",
            "action": "export",
            "scope": "own",
            "conditions": {"province": ["上海市"]},
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    grant = Grant.objects.get(role=role, object_type="customers.account", action="export")
    assert grant.conditions == {"province": ["上海市"]}
    response = admin.post(
        url, {"object_type": "customers.account", "action": "export", "scope": None}, format="json"
    )
    assert response.status_code == 200
    assert not Grant.objects.filter(role=role, action="export").exists()


def test_grant_with_unknown_action_is_refused(org, client_for):
    admin = client_for(org["admin"])
    role = Role.objects.get(code="sales_rep")
    response = admin.post(
        f"/api/v1/roles/{role.pk}/grants/",
        {"object_type": "customers.account", "action": "teleport", "scope": "all"},
        format="json",
    )
    assert response.status_code == 400
    assert field_codes(response, "action") == ["unknown_action"]
    assert not Grant.objects.filter(action="teleport").exists()


def test_create_role_and_field_rule(org, client_for):
    admin = client_for(org["admin"])
    response = admin.post(
        "/api/v1/roles/", {"code": "intern", "name": "Intern", "require_mfa": True}, format="json"
    )
    assert response.status_code == 201, response.content
    role_id = response.json()["id"]
    response = admin.post(
        f"/api/v1/roles/{role_id}/field-rules/",
        {"object_type": "customers.contact", "field": "emails", "rule": "hidden"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["field_rules"] == [
        {"object_type": "customers.contact", "field": "emails", "rule": "hidden"}
    ]
    response = admin.post("/api/v1/roles/", {"code": "intern", "name": "Again"}, format="json")
    assert field_codes(response, "code") == ["duplicate"]


# --- account requests ----------------------------------------------------------------------


def test_manager_requests_an_account_and_admin_approves(org, client_for):
    org["departments"]["east"].manager = org["sales_manager"]
    org["departments"]["east"].save(update_fields=["manager"])
    manager = client_for(org["sales_manager"])
    response = manager.post(
        "/api/v1/account-requests/",
        {
            "username": "new.rep",
            "email": "new.rep@example.com",
            "display_name": "新销售",
            "department": org["departments"]["east"].pk,
            "roles": ["sales_rep"],
            "reason": "Hired",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    request_id = response.json()["id"]
    assert manager.post(f"/api/v1/account-requests/{request_id}/approve/").status_code == 403

    admin = client_for(org["admin"])
    assert request_id in {r["id"] for r in admin.get("/api/v1/account-requests/").json()["results"]}
    response = admin.post(
        f"/api/v1/account-requests/{request_id}/approve/", {"note": "ok"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "approved"
    user = User.objects.get(username="new.rep")
    assert list(user.roles.values_list("code", flat=True)) == ["sales_rep"]
    response = admin.post(f"/api/v1/account-requests/{request_id}/reject/")
    assert error_of(response)["code"] == "already_decided"


def test_rep_cannot_request_accounts(org, client_for):
    rep = client_for(org["rep_sh"])
    response = rep.post(
        "/api/v1/account-requests/",
        {"username": "friend", "email": "friend@example.com", "display_name": "Friend"},
        format="json",
    )
    assert response.status_code == 403
    assert not AccountRequest.objects.exists()


# --- me ------------------------------------------------------------------------------------


def test_me_and_self_service_profile(org, client_for):
    rep = client_for(org["rep_sh"])
    body = rep.get("/api/v1/me/").json()
    assert body["username"] == "rep_sh"
    assert body["roles"] == ["sales_rep"]
    assert body["mfa_enabled"] is False
    response = rep.patch(
        "/api/v1/me/", {"language": "zh-hans", "timezone": "Europe/Paris"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["timezone"] == "Europe/Paris"
    assert response["Content-Language"] == "zh-hans"
    # Not self-service: the user's own roles or department.
    response = rep.patch("/api/v1/me/", {"department": None}, format="json")
    assert field_codes(response, "department") == ["unknown_field"]
    response = rep.patch("/api/v1/me/", {"language": "klingon"}, format="json")
    assert field_codes(response, "language") == ["invalid_choice"]


def test_my_tokens(org, client_for):
    rep = client_for(org["rep_sh"])
    response = rep.post("/api/v1/me/tokens/", {"name": "laptop", "days": 30}, format="json")
    assert response.status_code == 201, response.content
    secret = response.json()["token"]
    listed = rep.get("/api/v1/me/tokens/").json()["results"]
    assert {t["name"] for t in listed} == {"test", "laptop"}
    assert all("token" not in t for t in listed)
    response = rep.post("/api/v1/me/tokens/", {"name": "long", "days": 999}, format="json")
    assert field_codes(response, "days") == ["out_of_range"]
    # Someone else's token is not found.
    other = client_for(org["rep_east"])
    laptop = ApiToken.objects.get(name="laptop")
    assert other.delete(f"/api/v1/me/tokens/{laptop.pk}/").status_code == 404
    assert rep.delete(f"/api/v1/me/tokens/{laptop.pk}/").status_code == 204
    rep.credentials(HTTP_AUTHORIZATION="Bearer " + secret)
    assert rep.get("/api/v1/me/").status_code == 401


# --- shares --------------------------------------------------------------------------------


def test_share_a_record_then_unshare(org, client_for):
    account = AccountFactory(owner=org["rep_sh"])
    other = client_for(org["rep_south"])
    assert other.get(f"/api/v1/accounts/{account.pk}/").status_code == 404
    owner = client_for(org["rep_sh"])
    response = owner.post(
        "/api/v1/shares/",
        {
            "object_type": "customers.account",
            "object_id": account.pk,
            "user": org["rep_south"].pk,
            "level": "view",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    share_id = response.json()["id"]
    assert other.get(f"/api/v1/accounts/{account.pk}/").status_code == 200
    listed = owner.get(
        "/api/v1/shares/", {"object_type": "customers.account", "object_id": account.pk}
    ).json()["results"]
    assert [s["id"] for s in listed] == [share_id]
    # The viewer cannot remove the share (view only): refused, not hidden.
    assert other.delete(f"/api/v1/shares/{share_id}/").status_code == 403
    assert owner.delete(f"/api/v1/shares/{share_id}/").status_code == 204
    assert not RecordShare.objects.exists()
    assert other.get(f"/api/v1/accounts/{account.pk}/").status_code == 404


def test_sharing_someone_elses_record_reads_as_not_found(org, client_for):
    account = AccountFactory(owner=org["rep_south"])
    rep = client_for(org["rep_sh"])
    response = rep.post(
        "/api/v1/shares/",
        {"object_type": "customers.account", "object_id": account.pk, "user": org["rep_sh"].pk},
        format="json",
    )
    assert response.status_code == 404
    response = rep.post(
        "/api/v1/shares/",
        {"object_type": "identity.role", "object_id": 1, "user": org["rep_sh"].pk},
        format="json",
    )
    assert field_codes(response, "object_type") == ["unknown_object_type"]
