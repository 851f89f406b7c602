"""API lists of identity, audit and jobs: the number of queries does not grow with the rows.

Each test lists with a few rows, adds many more, and lists again: the second request must run
exactly as many queries as the first (no N+1 through lazy relations in the serializers).
"""

from __future__ import annotations

import itertools

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from rapport.audit.models import Alert, BehaviourRule
from rapport.core import jobs, trail
from rapport.identity import services
from rapport.identity.models import Role
from tests.factories import AccountFactory, DepartmentFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

_numbers = itertools.count()


def _queries(client, url: str, params: dict | None = None) -> tuple[int, list]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params or {})
    assert response.status_code == 200, response.content
    return len(captured), response.json()["results"]


def _assert_flat(client, url, grow, *, few: int, many: int, params=None) -> list:
    """List `url` with `few` rows, then with `many`: the query count must not change."""
    grow(few)
    client.get(url, params or {})  # warm up: the token's first use records last_used_at
    expected, _rows = _queries(client, url, params)
    grow(many - few)
    actual, rows = _queries(client, url, params)
    assert len(rows) >= many, "the many rows were not all in the page"
    assert actual == expected, f"{actual} queries for {many} rows, {expected} for {few}"
    return rows


def _colleague(org):
    """A user with a department, a manager, a successor, two roles and a team."""
    department = DepartmentFactory(parent=org["departments"]["east"])
    user = UserFactory(department=department, roles=["sales_rep", "marketer"])
    user.manager = org["sales_manager"]
    user.successor = org["rep_east"]
    user.save(update_fields=["manager", "successor"])
    TeamFactory(lead=org["cm"], department=department, members=[user, org["cm"]])
    return user


# --- identity ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "auditor", "sales_manager", "cm"])
def test_user_list_queries_do_not_grow(org, client_for, role):
    def grow(count):
        for _ in range(count):
            _colleague(org)

    rows = _assert_flat(
        client_for(org[role]), "/api/v1/users/", grow, few=3, many=25, params={"page_size": 100}
    )
    colleagues = [row for row in rows if row["successor"]]
    assert len(colleagues) == 25
    assert all(
        row["department"] and row["manager"] and len(row["roles"]) == 2 for row in colleagues
    )


def test_department_list_queries_do_not_grow(org, client_for):
    def grow(count):
        for _ in range(count):
            DepartmentFactory(parent=org["departments"]["east"], manager=UserFactory())

    _assert_flat(client_for(org["admin"]), "/api/v1/departments/", grow, few=3, many=25)


def test_team_list_queries_do_not_grow(org, client_for):
    def grow(count):
        for _ in range(count):
            TeamFactory(
                department=DepartmentFactory(),
                lead=UserFactory(),
                members=[UserFactory(), UserFactory(), org["rep_sh"]],
            )

    _assert_flat(client_for(org["admin"]), "/api/v1/teams/", grow, few=3, many=25)


def test_role_list_queries_do_not_grow(org, client_for):
    def grow(count):
        for _ in range(count):
            role = Role.objects.create(code=f"custom-{next(_numbers)}", name="Custom")
            role.grants.create(object_type="customers.account", action="view", scope="own")
            role.grants.create(object_type="customers.contact", action="view", scope="team")
            role.field_rules.create(object_type="customers.contact", field="phones", rule="masked")

    _assert_flat(client_for(org["auditor"]), "/api/v1/roles/", grow, few=3, many=25)


def _ask(org, requester):
    number = next(_numbers)
    return services.account_request_create(
        actor=requester,
        username=f"newcomer{number}",
        email=f"newcomer{number}@example.com",
        display_name=f"Newcomer {number}",
        department=org["departments"]["east"],
        roles=list(Role.objects.filter(code__in=["sales_rep", "marketer"])),
        reason="joins next week",
    )


def test_account_request_list_queries_do_not_grow(org, client_for):
    def grow(count):
        for number in range(count):
            request = _ask(org, org["admin"])
            if number % 2:
                services.account_request_decide(
                    actor=org["admin"], request=request, approve=number % 4 == 1, note="ok"
                )

    _assert_flat(client_for(org["admin"]), "/api/v1/account-requests/", grow, few=3, many=25)


def test_own_account_request_list_queries_do_not_grow(org, client_for):
    org["departments"]["east"].manager = org["sales_manager"]
    org["departments"]["east"].save(update_fields=["manager"])

    def grow(count):
        for _ in range(count):
            _ask(org, org["sales_manager"])

    _assert_flat(
        client_for(org["sales_manager"]), "/api/v1/account-requests/", grow, few=3, many=25
    )


def test_my_token_list_queries_do_not_grow(org, client_for):
    user = org["rep_sh"]

    def grow(count):
        for number in range(count):
            token, _secret = services.token_create(actor=user, name=f"token {next(_numbers)}")
            if number % 3 == 0:
                services.token_revoke(actor=user, token=token)

    _assert_flat(client_for(user), "/api/v1/me/tokens/", grow, few=3, many=25)


def test_user_session_list_queries_do_not_grow(org, client_for):
    subject = org["rep_sh"]
    url = f"/api/v1/users/{subject.pk}/sessions/"
    client = client_for(org["admin"])

    def grow(count):
        for _ in range(count):
            browser = Client()
            browser.force_login(subject)
            browser.get("/profile/")  # usersessions records the session

    grow(2)
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    grow(8)
    with CaptureQueriesContext(connection) as many:
        assert len(client.get(url).json()) == 10
    assert len(many) == len(few)


# --- audit ---------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["auditor", "admin"])
def test_audit_event_list_queries_do_not_grow(org, client_for, role):
    def grow(count):
        for _ in range(count):
            actor = UserFactory()
            trail.record(
                actor=actor,
                action="update",
                target=AccountFactory(owner=actor),
                changes={"tier": ["B", "A"]},
            )

    _assert_flat(client_for(org[role]), "/api/v1/audit/events/", grow, few=5, many=40)


def test_alert_list_queries_do_not_grow(org, client_for):
    def grow(count):
        for number in range(count):
            subject = UserFactory()
            acknowledged_by = org["admin"] if number % 2 else None
            Alert.objects.create(
                rule=BehaviourRule.Code.MASS_VIEW,
                subject=subject,
                subject_repr=subject.username,
                message="…",
                details={"count": 60, "window_minutes": 10},
                acknowledged_by=acknowledged_by,
                acknowledged_at=timezone.now() if acknowledged_by else None,
            )

    rows = _assert_flat(client_for(org["auditor"]), "/api/v1/audit/alerts/", grow, few=5, many=40)
    assert all(row["subject"] for row in rows)


# --- jobs ----------------------------------------------------------------------------------


def test_job_list_queries_do_not_grow(org, client_for):
    user = org["marketer"]

    def grow(count):
        for _ in range(count):
            job = jobs.job_create(actor=user, kind="export", title="Accounts", total=10)
            jobs.job_start(job=job)

    _assert_flat(client_for(user), "/api/v1/jobs/", grow, few=3, many=25)
