"""Concurrent claims of one lead on PostgreSQL: the row lock lets exactly one win; the other
claimants are told it is taken, and one person's claims respect the pool's limit even when
they click several leads at once."""

from __future__ import annotations

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from rapport.identity.models import Role
from rapport.sales.models import Lead, LeadPool
from rapport.sales.services import leads as services
from tests.factories import TeamFactory, UserFactory


def _race(callables) -> tuple[list, list]:
    won, refused = [], []
    barrier = threading.Barrier(len(callables))

    def run(call):
        try:
            barrier.wait()
            won.append(call())
        except ValidationError as error:
            refused.append(error.error_dict["lead"][0].code)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(call,)) for call in callables]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return won, refused


@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_of_one_lead_one_wins():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers; the row lock is what PostgreSQL needs")
    from rapport.identity.services import roles_sync_builtin

    roles_sync_builtin()
    rep_role = Role.objects.get(code="sales_rep")
    reps = [UserFactory(roles=[rep_role]) for _ in range(4)]
    admin = UserFactory(is_superuser=True)
    team = TeamFactory(members=reps)
    LeadPool.objects.create(name="公海", team=team, is_default=True)
    lead = services.lead_create(actor=admin, owner=None, name="抢手线索")

    won, refused = _race(
        [lambda rep=rep: services.lead_claim(actor=rep, lead=lead) for rep in reps]
    )
    assert len(won) == 1 and refused == ["taken"] * 3
    assert Lead.objects.get(pk=lead.pk).owner_id == won[0].owner_id


@pytest.mark.django_db(transaction=True)
def test_one_rep_claiming_many_at_once_stays_within_the_limit():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers; the row lock is what PostgreSQL needs")
    from rapport.identity.services import roles_sync_builtin

    roles_sync_builtin()
    rep = UserFactory(roles=[Role.objects.get(code="sales_rep")])
    admin = UserFactory(is_superuser=True)
    LeadPool.objects.create(
        name="公海", team=TeamFactory(members=[rep]), is_default=True, max_held=2
    )
    leads = [services.lead_create(actor=admin, owner=None, name=f"线索{i}") for i in range(5)]

    won, refused = _race(
        [lambda lead=lead: services.lead_claim(actor=rep, lead=lead) for lead in leads]
    )
    assert len(won) == 2 and refused == ["max_held"] * 3
    assert Lead.objects.filter(owner=rep).count() == 2
