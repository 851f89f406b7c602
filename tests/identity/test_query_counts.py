"""Administration and profile pages: the number of queries does not grow with the rows shown.

Each test renders a page with a few rows, adds many more, and renders it again: the second
render must run exactly as many queries as the first (no N+1 through lazy relations).
"""

from __future__ import annotations

import itertools
import re

import pytest
from django.test import Client
from django.urls import reverse

from rapport.identity import services
from rapport.identity.models import AccountRequest, Role
from tests.factories import DepartmentFactory, TeamFactory, UserFactory
from tests.query_counts import assert_flat as _assert_flat

pytestmark = pytest.mark.django_db

_numbers = itertools.count()


@pytest.fixture
def admin(client, org):
    # force_login: django-axes refuses client.login() (it needs a request to authenticate).
    client.force_login(org["admin"])
    return client


def _count(pattern: str):
    return lambda body: len(re.findall(pattern, body))


def _colleague(org, *, with_team: bool = True):
    """A user with a department, a manager, two roles and a team: every relation a row shows."""
    number = next(_numbers)
    department = DepartmentFactory(parent=org["departments"]["east"])
    user = UserFactory(
        username=f"colleague{number:03}",
        department=department,
        roles=["sales_rep", "marketer"],
    )
    user.manager = org["sales_manager"]
    user.save(update_fields=["manager"])
    if with_team:
        TeamFactory(lead=org["cm"], department=department, members=[user, org["rep_sh"]])
    return user


# --- users ---------------------------------------------------------------------------------


def test_user_list_queries_do_not_grow(admin, org):
    def grow(count):
        for _ in range(count):
            _colleague(org)

    _assert_flat(
        admin,
        reverse("identity:user_list"),
        grow,
        few=3,
        many=25,
        rows=_count(r'data-username="colleague'),
    )


def test_user_list_filtered_by_role_queries_do_not_grow(admin, org):
    def grow(count):
        for _ in range(count):
            _colleague(org)

    marketer = Role.objects.get(code="marketer")
    _assert_flat(
        admin,
        reverse("identity:user_list"),
        grow,
        few=3,
        many=25,
        params={"role": marketer.pk, "active": "1"},
        rows=_count(r'data-username="colleague'),
    )


def test_user_detail_queries_do_not_grow(admin, org):
    subject = _colleague(org)

    def grow(count):
        for _ in range(count):
            # More people to choose a manager from, more departments and roles to pick.
            _colleague(org)
            role = Role.objects.create(code=f"custom-{next(_numbers)}", name="Custom")
            subject.roles.add(role)
            TeamFactory(members=[subject])

    _assert_flat(admin, reverse("identity:user_detail", args=[subject.pk]), grow, few=3, many=25)


def test_user_detail_queries_do_not_grow_with_sessions(admin, org):
    subject = org["rep_sh"]

    def grow(count):
        for _ in range(count):
            browser = Client()
            browser.force_login(subject)
            browser.get(reverse("identity:profile"))  # usersessions records the session

    _assert_flat(
        admin,
        reverse("identity:user_detail", args=[subject.pk]),
        grow,
        few=2,
        many=10,
        rows=_count(r'data-testid="user-session"'),
    )


# --- departments and teams ----------------------------------------------------------------


def test_department_list_queries_do_not_grow(admin, org):
    def grow(count):
        for _ in range(count):
            parent = DepartmentFactory(parent=org["departments"]["east"], manager=UserFactory())
            DepartmentFactory(parent=parent, manager=UserFactory())

    _assert_flat(
        admin,
        reverse("identity:department_list"),
        grow,
        few=3,
        many=25,
        rows=_count(r"/admin/departments/\d+/"),
    )


def test_team_list_queries_do_not_grow(admin, org):
    def grow(count):
        for _ in range(count):
            TeamFactory(
                department=DepartmentFactory(),
                lead=UserFactory(),
                members=[UserFactory(), UserFactory(), org["rep_sh"]],
            )

    _assert_flat(
        admin,
        reverse("identity:team_list"),
        grow,
        few=3,
        many=25,
        rows=_count(r"/admin/teams/\d+/"),
    )


def test_team_detail_queries_do_not_grow(admin, org):
    team = TeamFactory(department=org["departments"]["east"], lead=org["cm"])

    def grow(count):
        for _ in range(count):
            team.members.add(_colleague(org, with_team=False))
            # A deactivated member stays choosable; active non-members are offered too.
            team.members.add(UserFactory(is_active=False))
            UserFactory()

    _assert_flat(admin, reverse("identity:team_detail", args=[team.pk]), grow, few=3, many=25)


# --- roles (read only here) ----------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "auditor"])
def test_role_list_queries_do_not_grow(client, org, role):
    client.force_login(org[role])

    def grow(count):
        for _ in range(count):
            custom = Role.objects.create(code=f"custom-{next(_numbers)}", name="Custom")
            custom.grants.create(object_type="customers.account", action="view", scope="own")
            UserFactory(roles=[custom])

    _assert_flat(
        client,
        reverse("identity:role_list"),
        grow,
        few=3,
        many=25,
        rows=_count(r"<code>custom-"),
    )


# --- account requests ----------------------------------------------------------------------


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


def test_pending_request_list_queries_do_not_grow(admin, org):
    def grow(count):
        for _ in range(count):
            _ask(org, org["admin"])

    _assert_flat(
        admin,
        reverse("identity:request_list"),
        grow,
        few=3,
        many=25,
        rows=_count(r"/admin/requests/\d+/decide/"),
    )


@pytest.mark.parametrize("approve", [True, False])
def test_decided_request_list_queries_do_not_grow(admin, org, approve):
    def grow(count):
        for _ in range(count):
            services.account_request_decide(
                actor=org["admin"], request=_ask(org, org["admin"]), approve=approve, note="ok"
            )

    state = AccountRequest.State.APPROVED if approve else AccountRequest.State.REJECTED
    _assert_flat(
        admin,
        reverse("identity:request_list"),
        grow,
        few=3,
        many=25,
        params={"state": state},
        rows=_count(r"Newcomer \d+"),
    )


def test_own_request_list_queries_do_not_grow(client, org):
    """A department manager (no user-manage grant) sees only the requests they made."""
    org["departments"]["east"].manager = org["sales_manager"]
    org["departments"]["east"].save(update_fields=["manager"])
    client.force_login(org["sales_manager"])

    def grow(count):
        for _ in range(count):
            _ask(org, org["sales_manager"])

    _assert_flat(
        client,
        reverse("identity:request_list"),
        grow,
        few=3,
        many=25,
        rows=_count(r"Newcomer \d+"),
    )


# --- own profile and tokens ----------------------------------------------------------------


def test_profile_queries_do_not_grow(client, org):
    user = org["sales_manager"]
    client.force_login(user)

    def grow(count):
        for _ in range(count):
            DepartmentFactory(manager=user)
            TeamFactory(lead=user, members=[user])
            services.token_create(actor=user, name=f"token {next(_numbers)}")

    _assert_flat(client, reverse("identity:profile"), grow, few=3, many=25)


def test_tokens_page_queries_do_not_grow(client, org):
    user = org["rep_sh"]
    client.force_login(user)

    def grow(count):
        for number in range(count):
            token, _secret = services.token_create(actor=user, name=f"token {next(_numbers)}")
            if number % 3 == 0:
                services.token_revoke(actor=user, token=token)

    _assert_flat(
        client,
        reverse("identity:tokens"),
        grow,
        few=3,
        many=25,
        rows=_count(r"<code>[^<]+…</code>"),
    )
