"""Bulk demo data for load work (medium, large, benchmarks), as a resumable job.

Each batch is one transaction: accounts (backdated over three years), contacts at them with
their roles, the blind index of their phones and e-mails (`ContactIdentifier`, so exact
phone lookup finds them), consents, interactions over the last 18 months (one in ten a task,
some open and overdue), participants, the search documents of the new accounts and
contacts, and the job's checkpoint. A batch is generated from (seed, batch number) alone, so
a run that stops — crash, Ctrl-C, a killed process — resumes at the first uncommitted batch
and produces exactly the rows it would have produced in one go: nothing repeated, nothing
lost. Per-record audit is bypassed; one summary event is recorded when the job finishes.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from rapport.core import jobs, search, trail
from rapport.core.models import Job
from rapport.core.rows import insert_rows
from rapport.core.search import statistics as search_statistics
from rapport.core.search.models import SearchDocument, SearchKey
from rapport.customers.models import (
    Account,
    AccountContact,
    Consent,
    ConsentStatus,
    Contact,
    ContactIdentifier,
    IdentifierKind,
    Interaction,
    InteractionKind,
)
from rapport.customers.validators import identifier_blind
from rapport.identity.models import User

from . import demo
from .demo_history import HistoryData

JOB_KIND = "demo.generate"
TASK_SHARE = 0.10  # of interactions
CONSENT_SHARE = 0.25  # of contacts
PARTICIPANT_SHARE = 0.3  # of meetings and visits at an account with more than one contact
ACCOUNT_AGE_DAYS = (60, 1100)  # accounts were created this many days before the run


class DemoJobConflict(Exception):
    """Another run advanced the same job: stop rather than write a batch twice."""


# --- one batch ----------------------------------------------------------------------------


def _backdate(model, rows: list[tuple[int, datetime, datetime]]) -> None:
    """Set created_at / updated_at of just-inserted rows (auto_now would say "today"), in one
    UPDATE … FROM (VALUES …) statement."""
    if not rows:
        return
    table = connection.ops.quote_name(model._meta.db_table)
    adapt = connection.ops.adapt_datetimefield_value
    if connection.vendor == "postgresql":
        cast = "::timestamptz"
        values = ", ".join([f"(%s::bigint, %s{cast}, %s{cast})"] * len(rows))
    else:
        values = ", ".join(["(%s, %s, %s)"] * len(rows))
    params = [
        value for pk, created, updated in rows for value in (pk, adapt(created), adapt(updated))
    ]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"UPDATE {table} SET created_at = v.c, updated_at = v.u "
                f"FROM (VALUES {values}) AS v(id, c, u) WHERE {table}.id = v.id",
                params,
            )
        else:  # SQLite ≥ 3.33: UPDATE … FROM; VALUES columns are column1, column2 …
            cursor.execute(
                f"UPDATE {table} SET created_at = v.column2, updated_at = v.column3 "
                f"FROM (VALUES {values}) AS v WHERE {table}.id = v.column1",
                params,
            )


def _identifiers(contact: Contact) -> list[dict]:
    """The blind-index rows of a new contact's phones and e-mails (as `contact_create` makes)."""
    wanted = dict.fromkeys(
        [(IdentifierKind.PHONE.value, phone) for phone in contact.phones or []]
        + [(IdentifierKind.EMAIL.value, email) for email in contact.emails or []]
    )
    blinds = dict.fromkeys((kind, identifier_blind(kind, value)) for kind, value in wanted)
    return [{"contact_id": contact.pk, "kind": kind, "blind": blind} for kind, blind in blinds]


def insert_batch(
    *,
    data: demo.DemoData,
    owners: list[demo.Owner],
    accounts: int,
    contacts: int,
    interactions: int,
    as_of: datetime,
    index: bool = True,
) -> Counter:
    """Insert one batch (call inside a transaction); returns the rows made, by kind.

    Contacts belong to the owner of their account; interactions are about a new contact and
    its account (nine in ten) or an account alone, owned by the account's owner; tasks are
    assigned to that owner.
    """
    rng = data.rng
    history = HistoryData(rng, as_of=as_of)
    made: Counter = Counter()
    owners_in_batch = [owners[rng.randrange(len(owners))] for _ in range(accounts)]
    generated = [data.account(owner.provinces) for owner in owners_in_batch]
    new_accounts = [
        Account(owner_id=owner.user_id, created_by_id=owner.user_id, **demo.account_fields(values))
        for owner, values in zip(owners_in_batch, generated, strict=True)
    ]
    for account in new_accounts:  # bulk_create does not call save(), which fills them
        account.fill_name_keys()
    created = Account.objects.bulk_create(new_accounts)
    if created and created[0].pk is None:  # a backend that does not return ids
        created = list(Account.objects.order_by("-id")[:accounts])[::-1]
    ages = []
    for account in created:
        born = as_of - timedelta(days=rng.randint(*ACCOUNT_AGE_DAYS), hours=rng.randint(0, 23))
        ages.append((account.pk, born, born + (as_of - born) * rng.random()))
    _backdate(Account, ages)
    made["accounts"] += len(created)

    picks = [rng.randrange(accounts) for _ in range(contacts)] if accounts else []
    new_contacts = Contact.objects.bulk_create(
        [
            Contact(
                owner_id=created[pick].owner_id,
                created_by_id=created[pick].owner_id,
                **data.contact(generated[pick]),
            )
            for pick in picks
        ]
    )
    if new_contacts and new_contacts[0].pk is None:
        new_contacts = list(Contact.objects.order_by("-id")[: len(picks)])[::-1]
    made["contacts"] += len(new_contacts)
    made["links"] += insert_rows(
        AccountContact,
        [
            {"contact_id": contact.pk, "account_id": created[pick].pk, "role": history.role()}
            for contact, pick in zip(new_contacts, picks, strict=True)
        ],
    )
    made["identifiers"] += insert_rows(
        ContactIdentifier, [row for contact in new_contacts for row in _identifiers(contact)]
    )
    consents = []
    for contact, pick in zip(new_contacts, picks, strict=True):
        if rng.random() >= CONSENT_SHARE:
            continue
        for answer in history.consents(english=generated[pick]["_english"]):
            withdrawn = answer["withdrawn"]
            consents.append(
                {
                    "contact_id": contact.pk,
                    "channel": answer["channel"],
                    "purpose": answer["purpose"],
                    "status": ConsentStatus.WITHDRAWN if withdrawn else ConsentStatus.GRANTED,
                    "source": withdrawn["source"] if withdrawn else answer["source"],
                    "evidence": withdrawn["evidence"] if withdrawn else answer["evidence"],
                    "given_at": answer["withdrawn_at"] if withdrawn else answer["at"],
                    "recorded_by_id": contact.owner_id,
                }
            )
    made["consents"] += insert_rows(Consent, consents)

    made.update(
        _insert_interactions(
            history=history,
            accounts=created,
            english=[values["_english"] for values in generated],
            contacts=new_contacts,
            picks=picks,
            count=interactions,
        )
    )
    if index:  # bulk_create emits no events: index the batch in its transaction, from the
        # instances in hand (what was just inserted) rather than read back.
        made["search_documents"] += search.index_records(
            {Account.security_type: created, Contact.security_type: new_contacts}
        )
    return made


def _insert_interactions(
    *,
    history: HistoryData,
    accounts: list[Account],
    english: list[bool],
    contacts: list[Contact],
    picks: list[int],
    count: int,
) -> Counter:
    made: Counter = Counter()
    if not accounts or not count:
        return made
    rng = history.rng
    at_account: dict[int, list[int]] = {}
    for position, pick in enumerate(picks):
        at_account.setdefault(pick, []).append(position)
    rows: list[dict] = []
    participants: dict[int, int] = {}  # row position -> contact position
    for _ in range(count):
        if contacts and rng.random() < 0.9:
            position = rng.randrange(len(contacts))
            contact: Contact | None = contacts[position]
            pick = picks[position]
        else:
            position, contact, pick = -1, None, rng.randrange(len(accounts))
        account = accounts[pick]
        owner_id = account.owner_id
        if rng.random() < TASK_SHARE:
            task = history.task(english=english[pick])
            done = task["done_at"]
            rows.append(
                {
                    "kind": InteractionKind.TASK,
                    "subject": task["subject"],
                    "occurred_at": done or task["created_at"],
                    "account_id": account.pk,
                    "contact_id": contact.pk if contact else None,
                    "due_at": task["due_at"],
                    "assignee_id": owner_id,
                    "priority": task["priority"],
                    "done_at": done,
                    "done_by_id": owner_id if done else None,
                    "owner_id": owner_id,
                    "created_by_id": owner_id,
                }
            )
            made["tasks"] += 1
            made["open_tasks"] += done is None
            continue
        values = history.interaction(english=english[pick])
        if values["kind"] in (InteractionKind.MEETING, InteractionKind.VISIT):
            others = [other for other in at_account.get(pick, []) if other != position]
            if others and rng.random() < PARTICIPANT_SHARE:
                participants[len(rows)] = rng.choice(others)
        values.update(
            account_id=account.pk,
            contact_id=contact.pk if contact else None,
            owner_id=owner_id,
            created_by_id=owner_id,
        )
        rows.append(values)
    # Rows with participants need their ids back (bulk_create); the rest go in by COPY.
    with_participants = Interaction.objects.bulk_create(
        [Interaction(**rows[row]) for row in participants]
    )
    made["interactions"] += len(with_participants)
    made["interactions"] += insert_rows(
        Interaction, [row for position, row in enumerate(rows) if position not in participants]
    )
    if with_participants and with_participants[0].pk is not None:
        made["participants"] += insert_rows(
            Interaction.participant_contacts.through,
            [
                {"interaction_id": interaction.pk, "contact_id": contacts[other].pk}
                for interaction, other in zip(with_participants, participants.values(), strict=True)
            ],
        )
    return made


# --- without a job (benchmarks) -------------------------------------------------------------


def bulk_generate(
    *,
    owners: list[demo.Owner],
    accounts: int,
    contacts: int,
    data: demo.DemoData,
    interactions: int = 0,
    batch_size: int = 5000,
    progress: demo.Progress | None = None,
    index: bool = True,
) -> dict[str, int]:
    """Insert in batches of `batch_size` accounts, one transaction each, from one generator
    (not resumable: the demo command uses `run_job`). Returns the rows made, by kind."""
    batches = max(1, -(-accounts // batch_size))
    as_of = timezone.now()
    made: Counter = Counter({"accounts": 0, "contacts": 0, "links": 0})
    for batch in range(batches):
        with transaction.atomic():
            made.update(
                insert_batch(
                    data=data,
                    owners=owners,
                    accounts=demo._split(accounts, batches, batch),
                    contacts=demo._split(contacts, batches, batch),
                    interactions=demo._split(interactions, batches, batch),
                    as_of=as_of,
                    index=index,
                )
            )
        if progress:
            progress(made["accounts"], made["contacts"], accounts)
    return dict(made)


# --- as a resumable job ---------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """What a demo job generates; stored in the job's params, so a resumed run has it all."""

    accounts: int
    contacts: int
    interactions: int
    seed: int
    first_serial: int
    as_of: datetime
    owners: tuple[demo.Owner, ...]
    batch_size: int = 5000
    index: bool = True

    @property
    def batches(self) -> int:
        return max(1, -(-self.accounts // self.batch_size))

    @property
    def records(self) -> int:
        return self.accounts + self.contacts + self.interactions

    def batch_counts(self, batch: int) -> tuple[int, int, int]:
        return (
            demo._split(self.accounts, self.batches, batch),
            demo._split(self.contacts, self.batches, batch),
            demo._split(self.interactions, self.batches, batch),
        )

    def records_before(self, batch: int) -> int:
        return self.records * batch // self.batches if batch < self.batches else self.records

    def data_for(self, batch: int) -> demo.DemoData:
        """The generator of one batch: from the seed and the batch number alone, with the
        credit-code serials of that batch's accounts."""
        first = self.first_serial + self.accounts * batch // self.batches
        return demo.DemoData(self.seed * 1_000_003 + batch, first_serial=first)

    def params(self, key: dict) -> dict:
        return {
            "key": key,
            "accounts": self.accounts,
            "contacts": self.contacts,
            "interactions": self.interactions,
            "seed": self.seed,
            "first_serial": self.first_serial,
            "as_of": self.as_of.isoformat(),
            "owners": [[owner.user_id, list(owner.provinces)] for owner in self.owners],
            "batch_size": self.batch_size,
            "index": self.index,
        }

    @classmethod
    def of(cls, job: Job) -> Plan:
        params = job.params
        as_of = parse_datetime(params["as_of"])
        assert as_of is not None
        return cls(
            accounts=params["accounts"],
            contacts=params["contacts"],
            interactions=params["interactions"],
            seed=params["seed"],
            first_serial=params["first_serial"],
            as_of=as_of,
            owners=tuple(demo.Owner(pk, tuple(provinces)) for pk, provinces in params["owners"]),
            batch_size=params["batch_size"],
            index=params["index"],
        )


def find_job(key: dict) -> Job | None:
    """The latest demo job generating exactly `key` (size, counts, seed), finished or not."""
    for job in Job.objects.filter(kind=JOB_KIND).order_by("-id"):
        if job.params.get("key") == key:
            return job
    return None


def create_job(
    *,
    key: dict,
    owners: list[User],
    extra_reps: int,
    accounts: int,
    contacts: int,
    interactions: int,
    seed: int | None,
    batch_size: int = 5000,
    index: bool = True,
) -> Job:
    """Start a demo job: add the extra sales reps and record the plan, in one transaction (so
    a stop right after it neither loses the plan nor adds the reps twice)."""
    if seed is None:
        seed = random.SystemRandom().randrange(2**31)
    with transaction.atomic():
        reps = demo.add_sales_reps(extra_reps, generator=demo.DemoData(seed))
        plan = Plan(
            accounts=accounts,
            contacts=contacts,
            interactions=interactions,
            seed=seed,
            first_serial=demo.next_serial(),
            as_of=timezone.now(),
            owners=tuple(demo.owners_of([*owners, *reps])),
            batch_size=batch_size,
            index=index,
        )
        return jobs.job_create(
            actor=None,
            kind=JOB_KIND,
            title=f"demo {key.get('size', '')}".strip(),
            total=plan.records,
            params=plan.params(key),
        )


JobProgress = Callable[[Job, Plan, int, float], None]  # (job, plan, batches done, records/s)


def run_job(job: Job, *, progress: JobProgress | None = None) -> dict[str, int]:
    """Run (or resume) a demo job to the end; returns every row made, by kind.

    Each batch commits with the job's checkpoint in the same transaction, after checking
    (under a row lock on PostgreSQL) that no other run got there first.
    """
    plan = Plan.of(job)
    start = int(job.checkpoint.get("batch", 0))
    made = Counter(job.checkpoint.get("made", {}))
    if job.state == Job.State.FAILED:
        job.finished_at = None
        job.save(update_fields=["finished_at"])
    jobs.job_start(job=job)
    started = time.monotonic()
    for batch in range(start, plan.batches):
        accounts, contacts, interactions = plan.batch_counts(batch)
        with transaction.atomic():
            locked = Job.objects.select_for_update().get(pk=job.pk)
            if int(locked.checkpoint.get("batch", 0)) != batch:
                raise DemoJobConflict(job.pk)
            batch_made = insert_batch(
                data=plan.data_for(batch),
                owners=list(plan.owners),
                accounts=accounts,
                contacts=contacts,
                interactions=interactions,
                as_of=plan.as_of,
                index=plan.index,
            )
            total_made = made + batch_made
            done = plan.records_before(batch + 1)
            jobs.job_progress(
                job=job,
                processed=done,
                succeeded=done,
                checkpoint={"batch": batch + 1, "made": dict(total_made)},
            )
        made = total_made
        if progress:
            records_now = plan.records_before(batch + 1) - plan.records_before(start)
            progress(job, plan, batch + 1, records_now / max(time.monotonic() - started, 1e-9))
    analyze()
    search_statistics.refresh()  # the popular names are known to the search at once
    with transaction.atomic():
        trail.record(
            actor=None,
            action="demo.generate",
            object_type=Account.security_type,
            object_repr=f"{made['accounts']}",
            extra={
                "size": job.params["key"].get("size"),
                "counts": dict(made),
                "job": job.pk,
                "audited_per_record": False,
            },
        )
        jobs.job_finish(job=job, result=dict(made))
    return dict(made)


def analyze() -> None:
    """Refresh the planner's statistics of the tables a bulk run filled, and on PostgreSQL
    their visibility map (autovacuum would, a while later: until then PostgreSQL plans with
    the row counts of an empty table and index-only scans read the table too)."""
    models = (
        Account,
        Contact,
        AccountContact,
        ContactIdentifier,
        Consent,
        Interaction,
        Interaction.participant_contacts.through,
        SearchDocument,
        SearchKey,
    )
    # On PostgreSQL, VACUUM as well when it can run (not inside a transaction): it marks
    # the freshly written pages all-visible, which index-only scans need — right after a
    # large bulk run the search's covering walk otherwise fetches a table page per row
    # (measured: 华信 138 ms p50 before, 39 ms after, at 1M accounts / 3M contacts).
    vacuum = connection.vendor == "postgresql" and not connection.in_atomic_block
    command = "VACUUM (ANALYZE)" if vacuum else "ANALYZE"
    with connection.cursor() as cursor:
        for model in models:
            cursor.execute(f"{command} {connection.ops.quote_name(model._meta.db_table)}")


def fail_job(job: Job, error: BaseException) -> None:
    """Mark a stopped run failed (it resumes from its checkpoint when run again)."""
    jobs.job_progress(
        job=job, error={"batch": job.checkpoint.get("batch", 0), "error": repr(error)[:300]}
    )
    jobs.job_finish(job=job, state=Job.State.FAILED)
