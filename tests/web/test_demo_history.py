"""Demo data with a history: interactions, tasks, contact roles and consents.

The small demo writes them through the services (audited, deterministic for a seed); the
bulk sizes write them in batches as a resumable job, with the blind index of every contact.
"""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import translation

from rapport.audit import chain
from rapport.audit.models import AuditEvent
from rapport.core.models import Job
from rapport.customers.models import (
    OUTCOMES_BY_KIND,
    Account,
    AccountContact,
    Consent,
    ConsentStatus,
    Contact,
    ContactIdentifier,
    Interaction,
    InteractionKind,
)
from rapport.customers.querysets import contacts_with_identifier
from rapport.web import demo_bulk

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    """Assertions read English messages (the CLI would pick the language from LANG)."""
    with translation.override("en"):
        yield


def run(*args: str) -> str:
    out = StringIO()
    call_command("demo", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


SMALL = ("--size", "small", "--accounts", "12", "--contacts", "24", "--interactions", "40")
BULK = ("--size", "medium", "--accounts", "30", "--contacts", "60", "--interactions", "150")


def history_rows() -> list[tuple]:
    return sorted(
        Interaction.objects.values_list(
            "kind",
            "subject",
            "outcome",
            "direction",
            "duration_minutes",
            "next_step",
            "account__name",
            "contact__name",
            "owner__username",
        )
    )


class _Rollback(Exception):
    pass


def test_small_demo_logs_a_history_through_the_services():
    run(*SMALL, "--seed", "3")
    logged = Interaction.objects.exclude(kind=InteractionKind.TASK)
    assert logged.count() == 40
    kinds = set(logged.values_list("kind", flat=True))
    assert {InteractionKind.CALL, InteractionKind.EMAIL, InteractionKind.CHAT} <= kinds
    for interaction in Interaction.objects.select_related("account"):
        # each one audited, by the owner of its account, with an outcome that fits its kind
        assert AuditEvent.objects.filter(
            action="create",
            object_type="customers.interaction",
            object_id=str(interaction.pk),
            actor=interaction.owner,
        ).exists()
        assert interaction.owner_id == interaction.account.owner_id
        assert not interaction.outcome or interaction.outcome in OUTCOMES_BY_KIND[interaction.kind]
    tasks = Interaction.objects.filter(kind=InteractionKind.TASK)
    assert tasks.filter(done_at__isnull=True).exists()  # open follow-ups
    assert tasks.filter(follow_up_of__isnull=False).exists()
    roles = AccountContact.objects.exclude(role="")
    assert roles.exists()
    for link in roles:
        assert AuditEvent.objects.filter(
            action="update", object_id=str(link.contact_id), changes__has_key="account_role"
        ).exists()
    consents = Consent.objects.all()
    assert consents.exists()
    assert all(c.evidence for c in consents.filter(status=ConsentStatus.GRANTED))
    assert AuditEvent.objects.filter(action="consent").count() >= consents.count()
    assert chain.verify().ok


def test_small_demo_history_is_the_same_for_the_same_seed():
    runs = []
    for _ in range(2):
        with pytest.raises(_Rollback), transaction.atomic():
            run(*SMALL, "--seed", "5")
            runs.append(
                (
                    history_rows(),
                    sorted(AccountContact.objects.values_list("contact__name", "role")),
                    sorted(Consent.objects.values_list("contact__name", "channel", "purpose")),
                )
            )
            raise _Rollback
    assert runs[0] == runs[1]
    assert runs[0][0]


def test_bulk_contacts_get_their_blind_index():
    output = run(*BULK, "--seed", "2")
    assert "Batch 1 of 1" in output
    contacts = list(Contact.objects.all())
    assert len(contacts) == 60
    for contact in contacts:
        assert ContactIdentifier.objects.filter(contact=contact).count() == len(
            set(contact.phones)
        ) + len({email.lower() for email in contact.emails})
    contact = contacts[7]
    typed = f"{contact.phones[0][3:6]} {contact.phones[0][6:10]} {contact.phones[0][10:]}"
    found = contacts_with_identifier(Contact.objects.all(), kind="phone", value=typed)
    assert contact in found
    found = contacts_with_identifier(
        Contact.objects.all(), kind="email", value=contact.emails[0].upper()
    )
    assert contact in found
    # the history came with them: tasks among the interactions, roles, consents
    assert Interaction.objects.count() == 150
    tasks = Interaction.objects.filter(kind=InteractionKind.TASK)
    assert tasks.exists() and tasks.filter(done_at__isnull=True).exists()
    assert AccountContact.objects.exclude(role="").exists()
    assert Consent.objects.exists()
    assert AuditEvent.objects.filter(object_type="customers.interaction").count() == 0
    assert AuditEvent.objects.get(action="demo.generate").extra["counts"]["interactions"] == 150


def test_an_interrupted_bulk_run_resumes_without_duplicates(monkeypatch):
    args = (*BULK, "--batch-size", "10", "--seed", "4")
    # What an uninterrupted run makes (rolled back again).
    with pytest.raises(_Rollback), transaction.atomic():
        run(*args)
        expected = (
            sorted(Account.objects.values_list("name", "credit_code", "tier")),
            sorted(Contact.objects.values_list("name", "title")),
            sorted(Interaction.objects.values_list("kind", "subject", "outcome")),
        )
        raise _Rollback

    calls = {"n": 0}
    insert = demo_bulk._insert_interactions

    def crash_in_the_second_batch(**kwargs):
        calls["n"] += 1
        if calls["n"] == 2:  # accounts and contacts of batch 2 are written: then it dies
            raise RuntimeError("power cut")
        return insert(**kwargs)

    monkeypatch.setattr(demo_bulk, "_insert_interactions", crash_in_the_second_batch)
    with pytest.raises(RuntimeError):
        run(*args)
    job = Job.objects.get(kind=demo_bulk.JOB_KIND)
    assert job.state == Job.State.FAILED
    assert job.checkpoint["batch"] == 1
    assert Account.objects.count() == 10  # batch 1 only: batch 2 rolled back whole
    assert Contact.objects.count() == 20
    assert Interaction.objects.count() == 50

    monkeypatch.setattr(demo_bulk, "_insert_interactions", insert)
    output = run(*args)
    assert "Resuming demo job" in output
    got = (
        sorted(Account.objects.values_list("name", "credit_code", "tier")),
        sorted(Contact.objects.values_list("name", "title")),
        sorted(Interaction.objects.values_list("kind", "subject", "outcome")),
    )
    assert got == expected
    job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED
    assert job.processed == job.total == 30 + 60 + 150

    # Once finished, the same command adds nothing and says so.
    events = AuditEvent.objects.count()
    output = run(*args)
    assert "nothing was added" in output
    assert (Account.objects.count(), Interaction.objects.count()) == (30, 150)
    assert AuditEvent.objects.count() == events
    assert AuditEvent.objects.filter(action="demo.generate").count() == 1
    assert chain.verify().ok
