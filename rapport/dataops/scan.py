"""The duplicate scan: every active account and contact checked against the others, as a
resumable Job, the pairs kept for review (`DuplicatePair`).

Whole-table work is done by blocking, so it grows with the number of records, not their
square:

- identifiers: contacts sharing an ID number, e-mail or phone (the blind indexes) are
  paired inside the database (a self-join on the shared keys); accounts sharing a phone
  group in SQL;
- people with the same name at the same account group in SQL;
- company names: each account's name is folded (`company_key`) and reduced to its
  distinctive words (places and trades set aside) and their pinyin; accounts sharing a key
  are compared with `matching.name_score`. A key shared by very many accounts says little
  and only exact equal names are paired within it.

Each phase is one step of the job's checkpoint: a restart resumes at the phase it stopped
in, and storing a pair again updates it (a dismissed pair stays dismissed). Last, the open
pairs this scan did not find again (an earlier scan's, an import's) are checked by the same
rules one by one: still alike, they keep their current reasons; no longer, they go.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from itertools import combinations
from typing import Any

from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext_lazy

from rapport.core import jobs, normalize
from rapport.core.models import Job
from rapport.customers.models import Account, AccountContact, Contact, ContactIdentifier

from . import matching
from .models import DuplicatePair, PairState

KIND = "dataops.duplicate_scan"
ACCOUNT = Account.security_type
CONTACT = "customers.contact"
TYPES = (ACCOUNT, CONTACT)
# Accounts sharing a name key beyond this many are paired only when their names fold alike.
BLOCK_LIMIT = 40
BATCH = 2000

Pair = tuple[int, int, int, list[dict[str, Any]]]


def _pair(a: int, b: int, score: int, reason: dict[str, Any]) -> Pair:
    low, high = (a, b) if a < b else (b, a)
    return low, high, score, [reason]


# Distinct pairs a phase holds in memory before writing them (with `since`, see `_store`).
FLUSH = 50_000


def _store(object_type: str, pairs: Iterable[Pair], *, since=None) -> int:
    """Upsert pairs (the best score and every reason per pair); returns how many were
    written. A pair an earlier phase of the same scan (seen at or after `since`) already
    stored keeps its reasons too; one from an older scan is replaced, so reasons that went
    away go. With `since`, pairs are written every `FLUSH` distinct pairs, so a phase finding
    millions holds a bounded number in memory: one found again after its flush is merged with
    the stored row like an earlier phase's."""
    best: dict[tuple[int, int], tuple[int, list[dict[str, Any]]]] = {}
    written = 0
    for low, high, score, reasons in pairs:
        if low == high:
            continue
        current = best.get((low, high))
        if current is None:
            best[(low, high)] = (score, list(reasons))
        else:
            best[(low, high)] = (max(current[0], score), _merged(current[1], reasons))
        if since is not None and len(best) >= FLUSH:
            written += _upsert(object_type, best, since=since)
            best = {}
    return written + _upsert(object_type, best, since=since)


def _upsert(object_type: str, best: dict, *, since=None) -> int:
    keys = list(best)
    for start in range(0, len(keys), BATCH):
        chunk = keys[start : start + BATCH]
        if since is not None:
            earlier = DuplicatePair.objects.filter(
                object_type=object_type,
                seen_at__gte=since,
                first_id__in={low for low, _high in chunk},
            ).values_list("first_id", "second_id", "score", "reasons")
            for low, high, score, reasons in earlier:
                if (low, high) in best:
                    mine = best[(low, high)]
                    best[(low, high)] = (max(mine[0], score), _merged(reasons, mine[1]))
        DuplicatePair.objects.bulk_create(
            [
                DuplicatePair(
                    object_type=object_type,
                    first_id=low,
                    second_id=high,
                    score=best[(low, high)][0],
                    reasons=best[(low, high)][1],
                )
                for low, high in chunk
            ],
            update_conflicts=True,
            unique_fields=["object_type", "first_id", "second_id"],
            update_fields=["score", "reasons", "seen_at"],
        )
    return len(keys)


def _merged(first: list[dict[str, Any]], second: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return list(first) + [reason for reason in second if reason not in first]


def _groups(ids_by_key: dict[Any, list[int]]) -> Iterator[list[int]]:
    for ids in ids_by_key.values():
        if len(ids) > 1:
            yield sorted(set(ids))


IDENTIFIER_SCORES = {"id_number": 100, "email": 95, "phone": 90}

# Contacts sharing a blind-indexed identifier, paired inside the database: the keys shared by
# 2..BLOCK_LIMIT active contacts, a self-join on them, one row per pair with its best score
# and every shared kind; upserted so a second scan updates (a dismissed pair stays dismissed).
_IDENTIFIER_PAIRS = """
INSERT INTO {pairs} (object_type, first_id, second_id, score, reasons, state, found_at, seen_at)
SELECT %s, first_id, second_id, max(score), {aggregate}, %s, %s, %s
FROM (
    SELECT DISTINCT a.contact_id AS first_id, b.contact_id AS second_id, a.kind AS kind,
        CASE a.kind {scores} ELSE 90 END AS score
    FROM (
        SELECT i.kind, i.blind FROM {identifiers} i
        JOIN {contacts} c ON c.id = i.contact_id AND c.is_active
        GROUP BY i.kind, i.blind
        HAVING count(DISTINCT i.contact_id) BETWEEN 2 AND %s
    ) shared
    JOIN {identifiers} a ON a.kind = shared.kind AND a.blind = shared.blind
    JOIN {identifiers} b ON b.kind = shared.kind AND b.blind = shared.blind
        AND a.contact_id < b.contact_id
    JOIN {contacts} ca ON ca.id = a.contact_id AND ca.is_active
    JOIN {contacts} cb ON cb.id = b.contact_id AND cb.is_active
    ORDER BY score DESC, kind
) found
WHERE true
GROUP BY first_id, second_id
ON CONFLICT (object_type, first_id, second_id) DO UPDATE
SET score = excluded.score, reasons = excluded.reasons, seen_at = excluded.seen_at
"""


def contact_identifier_pairs() -> int:
    """Contacts sharing an ID number, e-mail or phone, paired in SQL; returns how many pairs.
    (A key shared by more than BLOCK_LIMIT people — a switchboard — says nothing.)"""
    if connection.vendor == "postgresql":
        aggregate = "jsonb_agg(jsonb_build_object('code', kind) ORDER BY score DESC, kind)"
    else:  # SQLite keeps the subquery's order
        aggregate = "json_group_array(json_object('code', kind))"
    sql = _IDENTIFIER_PAIRS.format(
        pairs=DuplicatePair._meta.db_table,
        identifiers=ContactIdentifier._meta.db_table,
        contacts=Contact._meta.db_table,
        aggregate=aggregate,
        scores=" ".join(f"WHEN '{kind}' THEN {score}" for kind, score in IDENTIFIER_SCORES.items()),
    )
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(sql, [CONTACT, PairState.OPEN, now, now, BLOCK_LIMIT])
        return cursor.rowcount


def contact_name_pairs() -> Iterator[Pair]:
    """Same folded name at the same account."""
    rows = (
        AccountContact.objects.filter(contact__is_active=True)
        .values_list("account_id", "contact__name", "contact_id")
        .order_by("account_id")
    )
    current, names = None, defaultdict(list)
    for account_id, name, contact_id in rows.iterator(chunk_size=BATCH):
        if account_id != current:
            yield from _same_names(names)
            current, names = account_id, defaultdict(list)
        names[normalize.text(name).replace(" ", "").lower()].append(contact_id)
    yield from _same_names(names)


def _same_names(names: dict[str, list[int]]) -> Iterator[Pair]:
    for ids in _groups(names):
        if len(ids) <= BLOCK_LIMIT:
            for a, b in combinations(ids, 2):
                yield _pair(a, b, 85, {"code": "name_account", "score": 100})


def account_phone_pairs() -> Iterator[Pair]:
    shared = (
        Account.objects.filter(is_active=True)
        .exclude(phone="")
        .values("phone")
        .annotate(n=Count("id"))
        .filter(n__gt=1, n__lte=BLOCK_LIMIT)
        .values_list("phone", flat=True)
    )
    phones = list(shared.iterator(chunk_size=BATCH))
    for start in range(0, len(phones), 500):
        grouped: dict[str, list[int]] = defaultdict(list)
        for pk, phone in Account.objects.filter(
            is_active=True, phone__in=phones[start : start + 500]
        ).values_list("pk", "phone"):
            grouped[phone].append(pk)
        for ids in _groups(grouped):
            for a, b in combinations(ids, 2):
                yield _pair(a, b, 90, {"code": "phone"})


def _name_blocks(
    active, column: str, values: list[str], keys: set[str] | None = None
) -> Iterator[list[tuple[int, str, str]]]:
    """The accounts sharing each of `values` in `column` (name_core or name_sound), as
    (id, name, name_key) lists: a block of at most BLOCK_LIMIT whole; a bigger one only as its
    groups of equal folded names (a popular word says nothing more) — with `keys`, only the
    groups of those folded names."""
    counted = (
        active.filter(**{f"{column}__in": values})
        .values(column)
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .values_list(column, "n")
    )
    small, big = [], []
    for value, count in counted:
        (small if count <= BLOCK_LIMIT else big).append(value)
    blocks: dict[str, list[tuple[int, str, str]]] = defaultdict(list)
    if small:
        for pk, value, name, key in active.filter(**{f"{column}__in": small}).values_list(
            "pk", column, "name", "name_key"
        ):
            blocks[value].append((pk, name, key))
    yield from blocks.values()
    if big:
        inside = active.filter(**{f"{column}__in": big})
        if keys is not None:
            inside = inside.filter(name_key__in=keys)
        same = (
            inside.values("name_key")
            .annotate(n=Count("id"))
            .filter(n__gt=1, n__lte=BLOCK_LIMIT)
            .values_list("name_key", flat=True)
        )
        grouped: dict[str, list[tuple[int, str, str]]] = defaultdict(list)
        for pk, name, key in active.filter(name_key__in=list(same)).values_list(
            "pk", "name", "name_key"
        ):
            grouped[key].append((pk, name, key))
        yield from grouped.values()


def _block_pairs(members: list[tuple[int, str, str]], wanted: set[int] | None = None):
    for (a, name_a, key_a), (b, name_b, key_b) in combinations(sorted(members), 2):
        if wanted is not None and a not in wanted and b not in wanted:
            continue
        score = 100 if key_a == key_b else matching.name_score(name_a, name_b, company=True)
        if score >= matching.THRESHOLD:
            yield _pair(a, b, score, {"code": "name", "score": score})


def account_name_pairs() -> Iterator[Pair]:
    """Active accounts sharing a distinctive key (its text or its sound — columns kept with
    each name, grouped in SQL), compared by name. Names that fold to the same key are the
    same name (100) without comparing them; a block too big to compare pairwise pairs only
    those. Reads 500 keys' blocks at a time: memory stays flat in the number of accounts."""
    active = Account.objects.filter(is_active=True)
    for column in ("name_core", "name_sound"):
        shared = (
            active.exclude(**{column: ""})
            .values(column)
            .annotate(n=Count("id"))
            .filter(n__gt=1)
            .values_list(column, flat=True)
            .order_by(column)
        )
        chunk: list[str] = []
        for value in [*shared.iterator(chunk_size=BATCH), None]:
            if value is not None:
                chunk.append(value)
                if len(chunk) < 500:
                    continue
            for members in _name_blocks(active, column, chunk):
                yield from _block_pairs(members)
            chunk = []


# --- the records one write made (an import's batch) against all the others -------------------


def pairs_for(object_type: str, ids: list[int], *, names: bool = True) -> Iterator[Pair]:
    """Pairs of each of `ids` with the active records it looks like — the scan's rules for
    these records alone: shared ID number / e-mail / phone, the same name at the same
    account (contacts); the same phone, a similar name (accounts, with `names`)."""
    if not ids:
        return
    if object_type == CONTACT:
        scores = IDENTIFIER_SCORES
        mine = set(
            ContactIdentifier.objects.filter(contact_id__in=ids).values_list("kind", "blind")
        )
        if mine:
            others = ContactIdentifier.objects.filter(
                contact__is_active=True, blind__in={blind for _kind, blind in mine}
            ).values_list("kind", "blind", "contact_id")
            grouped: dict[tuple[str, str], set[int]] = defaultdict(set)
            for kind, blind, contact_id in others:
                if (kind, blind) in mine:
                    grouped[(kind, blind)].add(contact_id)
            for (kind, _blind), group in grouped.items():
                if len(group) > BLOCK_LIMIT:
                    continue
                for new in group & set(ids):
                    for other in group - {new}:
                        yield _pair(new, other, scores.get(kind, 90), {"code": kind})
        links = AccountContact.objects.filter(contact_id__in=ids).values_list(
            "account_id", flat=True
        )
        fellows = (
            AccountContact.objects.filter(account_id__in=links, contact__is_active=True)
            .values_list("account_id", "contact__name", "contact_id")
            .order_by("account_id")
        )
        by_account: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
        for account_id, name, contact_id in fellows.iterator(chunk_size=BATCH):
            by_account[account_id][normalize.text(name).replace(" ", "").lower()].append(contact_id)
        wanted = set(ids)
        for named in by_account.values():
            for pair in _same_names(named):
                if pair[0] in wanted or pair[1] in wanted:
                    yield pair
        return
    new = dict(Account.objects.filter(pk__in=ids).values_list("pk", "phone"))
    phones = {phone for phone in new.values() if phone}
    if phones:
        grouped_phones: dict[str, set[int]] = defaultdict(set)
        for pk, phone in Account.objects.filter(is_active=True, phone__in=phones).values_list(
            "pk", "phone"
        ):
            grouped_phones[phone].add(pk)
        for pk, phone in new.items():
            group = grouped_phones.get(phone, set())
            if len(group) <= BLOCK_LIMIT:
                for other in group - {pk}:
                    yield _pair(pk, other, 90, {"code": "phone"})
    if not names:
        return
    active = Account.objects.filter(is_active=True)
    mine = list(
        Account.objects.filter(pk__in=ids).values_list("name_core", "name_sound", "name_key")
    )
    wanted = set(ids)
    for column, position in (("name_core", 0), ("name_sound", 1)):
        values = sorted({row[position] for row in mine if row[position]})
        for start in range(0, len(values), 500):
            chunk = values[start : start + 500]
            for members in _name_blocks(active, column, chunk, {row[2] for row in mine}):
                yield from _block_pairs(members, wanted)


def store_pairs_for(object_type: str, ids: list[int], *, names: bool = True) -> int:
    """Find and keep (for review) the pairs of `ids`; returns how many."""
    return _store(object_type, pairs_for(object_type, ids, names=names))


# --- pairs an earlier scan or import found, which this scan did not find again ---------------


def _name_key(name: str) -> str:
    return normalize.text(name).replace(" ", "").lower()


def _contact_reasons(pairs: list[tuple[int, int]]) -> dict[tuple[int, int], list[dict]]:
    """What still makes each pair of contacts alike, by the scan's rules (both active)."""
    ids = {pk for pair in pairs for pk in pair}
    active = set(Contact.objects.filter(pk__in=ids, is_active=True).values_list("pk", flat=True))
    keys: dict[int, set[tuple[str, str]]] = defaultdict(set)
    for contact_id, kind, blind in ContactIdentifier.objects.filter(
        contact_id__in=active
    ).values_list("contact_id", "kind", "blind"):
        keys[contact_id].add((kind, blind))
    shared_blinds = {blind for pair in pairs for _kind, blind in keys[pair[0]] & keys[pair[1]]}
    holders = {  # how many active contacts hold each shared key (a switchboard says nothing)
        (kind, blind): n
        for kind, blind, n in ContactIdentifier.objects.filter(
            blind__in=shared_blinds, contact__is_active=True
        )
        .values("kind", "blind")
        .annotate(n=Count("contact_id", distinct=True))
        .values_list("kind", "blind", "n")
    }
    names = dict(Contact.objects.filter(pk__in=active).values_list("pk", "name"))
    accounts: dict[int, set[int]] = defaultdict(set)
    for contact_id, account_id in AccountContact.objects.filter(contact_id__in=active).values_list(
        "contact_id", "account_id"
    ):
        accounts[contact_id].add(account_id)
    found = {}
    for first, second in pairs:
        if first not in active or second not in active:
            continue
        kinds = {
            kind
            for kind, blind in keys[first] & keys[second]
            if holders.get((kind, blind), 0) <= BLOCK_LIMIT
        }
        reasons = [
            {"code": kind}
            for kind in sorted(kinds, key=lambda kind: (-IDENTIFIER_SCORES.get(kind, 90), kind))
        ]
        if accounts[first] & accounts[second] and _name_key(names[first]) == _name_key(
            names[second]
        ):
            reasons.append({"code": "name_account", "score": 100})
        found[(first, second)] = reasons
    return found


def _account_reasons(pairs: list[tuple[int, int]]) -> dict[tuple[int, int], list[dict]]:
    """What still makes each pair of accounts alike, by the scan's rules (both active)."""
    ids = {pk for pair in pairs for pk in pair}
    rows = {
        pk: (name, phone)
        for pk, name, phone in Account.objects.filter(pk__in=ids, is_active=True).values_list(
            "pk", "name", "phone"
        )
    }
    phones = {phone for _name, phone in rows.values() if phone}
    sharing = dict(
        Account.objects.filter(is_active=True, phone__in=phones)
        .values("phone")
        .annotate(n=Count("id"))
        .values_list("phone", "n")
    )
    found = {}
    for first, second in pairs:
        if first not in rows or second not in rows:
            continue
        (name_a, phone_a), (name_b, phone_b) = rows[first], rows[second]
        reasons = []
        if phone_a and phone_a == phone_b and sharing.get(phone_a, 0) <= BLOCK_LIMIT:
            reasons.append({"code": "phone"})
        key_a, key_b = normalize.company_key(name_a), normalize.company_key(name_b)
        score = (
            100 if key_a and key_a == key_b else matching.name_score(name_a, name_b, company=True)
        )
        if score >= matching.THRESHOLD:
            reasons.append({"code": "name", "score": score})
        found[(first, second)] = reasons
    return found


def _score(reasons: list[dict]) -> int:
    scores = {**IDENTIFIER_SCORES, "name_account": 85}
    return max(
        reason["score"] if reason["code"] == "name" else scores.get(reason["code"], 90)
        for reason in reasons
    )


def recheck(object_type: str, *, since) -> int:
    """Open pairs not seen since `since` (this scan's start) — found by an earlier scan or an
    import, not again now — are checked by the same rules, pair by pair: those still alike
    keep their current reasons, the others leave the review list (a dismissed pair stays
    dismissed). Pairs whose record is inactive are left as they are. Returns how many went."""
    reasons_of = _contact_reasons if object_type == CONTACT else _account_reasons
    stale = DuplicatePair.objects.filter(
        object_type=object_type, state=PairState.OPEN, seen_at__lt=since
    )
    gone = 0
    last = 0
    while True:
        batch = list(
            stale.filter(pk__gt=last)
            .order_by("pk")
            .values_list("pk", "first_id", "second_id")[:BATCH]
        )
        if not batch:
            return gone
        last = batch[-1][0]
        found = reasons_of([(first, second) for _pk, first, second in batch])
        drop, keep = [], []
        for pk, first, second in batch:
            reasons = found.get((first, second))
            if reasons is None:
                continue  # a record inactive (merged away): left for the merge to settle
            if reasons:
                keep.append(DuplicatePair(pk=pk, reasons=reasons, score=_score(reasons)))
            else:
                drop.append(pk)
        DuplicatePair.objects.filter(pk__in=drop).delete()
        DuplicatePair.objects.bulk_update(keep, ["reasons", "score"])
        gone += len(drop)


PHASES: list[tuple[str, str, Callable[[], Iterator[Pair] | int]]] = [
    ("contact_identifiers", CONTACT, contact_identifier_pairs),
    ("contact_names", CONTACT, contact_name_pairs),
    ("account_phones", ACCOUNT, account_phone_pairs),
    ("account_names", ACCOUNT, account_name_pairs),
]
# After the phases: the pairs they did not find again ({phase name: type}); each returns how
# many pairs went.
RECHECKS = [("contact_recheck", CONTACT), ("account_recheck", ACCOUNT)]
# How the job's counts read: {step: text with %(count)s}.
STEP_LABELS = {
    "contact_identifiers": gettext_lazy(
        "Contacts sharing a phone, e-mail or ID number: %(count)s pairs"
    ),
    "contact_names": gettext_lazy("Contacts with the same name at an account: %(count)s pairs"),
    "account_phones": gettext_lazy("Accounts sharing a phone: %(count)s pairs"),
    "account_names": gettext_lazy("Accounts with similar names: %(count)s pairs"),
    "contact_recheck": gettext_lazy("Contact pairs no longer alike, removed: %(count)s"),
    "account_recheck": gettext_lazy("Account pairs no longer alike, removed: %(count)s"),
}


def scan_start(*, actor) -> Job:
    """A scan job (or the unfinished one, to resume)."""
    unfinished = (
        Job.objects.filter(kind=KIND, state__in=[Job.State.QUEUED, Job.State.RUNNING])
        .order_by("-id")
        .first()
    )
    if unfinished is not None:
        return unfinished
    return jobs.job_create(
        actor=actor, kind=KIND, title="Duplicate scan", total=len(PHASES) + len(RECHECKS), params={}
    )


def run_phase(object_type: str, phase: Callable[[], Iterator[Pair] | int], *, since=None) -> int:
    """Run one phase: the pairs it yields are kept by `_store`; a phase that stores its pairs
    itself in SQL says how many. Returns the number of pairs."""
    result = phase()
    return result if isinstance(result, int) else _store(object_type, result, since=since)


def scan_run(job: Job, *, progress: Callable[[Job], None] | None = None) -> Job:
    """Run the job's phases from its checkpoint on; finish it."""
    jobs.job_start(job=job)
    done = list((job.checkpoint or {}).get("done", []))
    found = dict((job.result or {}).get("pairs", {}))
    try:
        steps = [(name, object_type, phase) for name, object_type, phase in PHASES]
        steps += [
            (name, object_type, partial(recheck, object_type, since=job.started_at))
            for name, object_type in RECHECKS
        ]
        for name, object_type, phase in steps:
            if name in done:
                continue
            with transaction.atomic():
                found[name] = run_phase(object_type, phase, since=job.started_at)
                done.append(name)
                jobs.job_progress(
                    job=job,
                    processed=len(done),
                    succeeded=len(done),
                    checkpoint={"done": done},
                )
            if progress is not None:
                progress(job)
    except Exception as error:
        jobs.job_progress(job=job, error={"message": str(error)[:500]})
        jobs.job_finish(job=job, state=Job.State.FAILED, result={"pairs": found})
        raise
    return jobs.job_finish(job=job, result={"pairs": found, "finished": timezone.now().isoformat()})
