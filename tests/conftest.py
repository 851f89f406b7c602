from __future__ import annotations

import pytest

from tests.factories import DepartmentFactory, TeamFactory, UserFactory


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Argon2 is the production hasher; tests use a fast one so hundreds of users stay cheap."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _allow_flush_of_audit_events(request):
    """Transactional tests end with a flush of every table; the append-only triggers would
    refuse it. A purge permit (the same door retention uses) lets that one flush through."""
    if not {"transactional_db", "live_server"} & set(request.fixturenames) and not any(
        marker.kwargs.get("transaction") for marker in request.node.iter_markers("django_db")
    ):
        yield
        return
    request.getfixturevalue("transactional_db")
    yield
    from rapport.audit.models import AuditEvent, PurgePermit

    # The permit stays until the flush removes it: PostgreSQL's TRUNCATE trigger checks it,
    # and on SQLite the events are already gone, so the table order of the flush is moot.
    PurgePermit.objects.create()
    AuditEvent.objects.all().delete()


@pytest.fixture
def org(db):
    """A small organisation: HQ > East region > Shanghai office, with a user for each role.

    sales_manager manages East (so sees East and Shanghai); rep_sh and rep_east are reps;
    rep_south is in another region; cm leads a team with rep_sh.
    """
    hq = DepartmentFactory(name="总部", code="hq")
    east = DepartmentFactory(name="华东区", code="east", parent=hq)
    shanghai = DepartmentFactory(name="上海办", code="sh", parent=east)
    south = DepartmentFactory(name="华南区", code="south", parent=hq)
    users = {
        "admin": UserFactory(username="admin", department=hq, roles=["administrator"]),
        "auditor": UserFactory(username="auditor", department=hq, roles=["auditor"]),
        "sales_manager": UserFactory(username="manager", department=east, roles=["sales_manager"]),
        "rep_east": UserFactory(username="rep_east", department=east, roles=["sales_rep"]),
        "rep_sh": UserFactory(username="rep_sh", department=shanghai, roles=["sales_rep"]),
        "rep_south": UserFactory(username="rep_south", department=south, roles=["sales_rep"]),
        "cm": UserFactory(username="cm", department=east, roles=["customer_manager"]),
        "agent": UserFactory(username="agent", department=hq, roles=["service_agent"]),
        "service_manager": UserFactory(
            username="svcmgr", department=south, roles=["service_manager"]
        ),
        "marketer": UserFactory(username="marketer", department=hq, roles=["marketer"]),
        "finance": UserFactory(username="finance", department=hq, roles=["finance"]),
    }
    TeamFactory(name="Key accounts", lead=users["cm"], members=[users["rep_sh"]])
    return {"departments": {"hq": hq, "east": east, "sh": shanghai, "south": south}, **users}


@pytest.fixture(autouse=True)
def _fresh_account_options():
    """The configured tiers and stages are held in memory per process; a test's own
    (rolled back) options must not leak into the next test."""
    from rapport.customers import options

    options._memory.by_field = None
    yield
    options._memory.by_field = None
