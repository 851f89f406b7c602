"""Duplicate matching: the records a person would call the same customer.

Signals, each with a score (0–100) and a reason the user reads:

- exact identifiers through indexes: an account's unified social credit code (100) and
  phone (90, through the search index's blind keys); a contact's ID number (100), e-mail
  (95) and phone (90, through `ContactIdentifier` blind indexes) — the values stay
  encrypted;
- fuzzy names: company names folded for matching (`core.normalize.company_key`: width,
  script, case and suffixes such as 有限公司 / Co., Ltd. dropped) compared with rapidfuzz,
  and their pinyin too, so 华信 and 華信 and 华新 (a typo of the same sound) meet. Account
  candidates are those sharing a key with the name (`core.names`: the folded name, its
  distinctive words, their sound — indexed columns of each account), so a check reads a
  few dozen records, not the table; contacts' from the search index;
- for people, a name alone is weak (many 张伟): a similar name counts only with the same
  account or the same phone/e-mail.

Only records the user may view are returned (`restrict`), best first.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext as _

from rapport.core import names, normalize
from rapport.core.duplicates import Candidate
from rapport.core.search import index as search_index
from rapport.core.search import text as search_text
from rapport.customers.models import Account, Contact, ContactIdentifier, IdentifierKind
from rapport.customers.validators import (
    identifier_blind,
    normalize_credit_code,
    normalize_email,
    normalize_id_number,
    normalize_phone,
)
from rapport.identity.models import Action

# A candidate at or above this score is shown as a likely duplicate.
THRESHOLD = 80
# Candidates read from the search index per query (name, distinctive words, their pinyin).
PER_QUERY = 20
LIMIT = 5
# Accounts read per name (sharing one of its keys) and scored.
CANDIDATES = 60


def _try(normalizer, value: Any) -> str:
    try:
        return normalizer(str(value or "")) if value else ""
    except ValidationError:
        return ""


def _many(value: Any) -> list[str]:
    if not value:
        return []
    if isinstance(value, str):
        value = normalize.half_width(value)
        for separator in (",", ";", "、", "，", "；"):
            value = value.replace(separator, "\n")
        return [item for item in value.splitlines() if item.strip()]
    return [str(item) for item in value if str(item).strip()]


def _pinyin(key: str) -> str:
    return names.sound(key)


def _alike(key_a: str, key_b: str) -> float:
    """Text ratio, or a little less than the ratio of the sounds when those are closer."""
    from rapidfuzz import fuzz

    score = fuzz.ratio(key_a, key_b)
    sound_a, sound_b = _pinyin(key_a), _pinyin(key_b)
    if sound_a and sound_b and sound_a != key_a:
        score = max(score, 0.95 * fuzz.ratio(sound_a, sound_b))
    return score


def _distinctive(key: str) -> str:
    return names.distinctive(key)


def name_score(a: str, b: str, *, company: bool) -> int:
    """0–100: how alike two names are, by their folded text and by their sound. For
    companies, half of it is how alike their distinctive words are (places and trades set
    aside), so 北京华为软件 is not 北京华信软件 though most of the letters agree."""
    fold = normalize.company_key if company else (lambda n: search_text.fold(n).replace(" ", ""))
    key_a, key_b = fold(a), fold(b)
    if not key_a or not key_b:
        return 0
    score = _alike(key_a, key_b)
    if company:  # the same words in another order (华为技术（深圳） / 深圳市华为技术)
        sorted_a, sorted_b = ("".join(sorted(_words(key))) for key in (key_a, key_b))
        score = max(score, _alike(sorted_a, sorted_b))
        core_a, core_b = _distinctive(key_a), _distinctive(key_b)
        if (core_a, core_b) != (key_a, key_b):
            score = (score + _alike(core_a, core_b)) / 2
    return round(score)


def _words(key: str) -> list[str]:
    return names.words(key)


def _name_queries(name: str, *, company: bool) -> list[search_text.Query]:
    key = normalize.company_key(name) if company else search_text.fold(name).replace(" ", "")
    if not key:
        return []
    words = _words(key)
    distinctive = [w for w in words if not names.generic(w)] or words
    queries = [search_text.parse_query(" ".join(words))]
    if distinctive != words:
        queries.append(search_text.parse_query(" ".join(distinctive)))
    sounds = [_pinyin(word) for word in distinctive if not word.isascii()]
    if sounds and all(sounds):
        queries.append(search_text.parse_query(" ".join(sounds)))
    return [query for query in queries if not query.is_empty]


def _ranked(object_type: str, queries: Iterable[search_text.Query], restricted) -> list[int]:
    found: list[int] = []
    for query in queries:
        for pk in search_index.ranked_ids(object_type, query, restricted, PER_QUERY):
            if pk not in found:
                found.append(pk)
    return found


class _Scores:
    """The best score per record and every reason."""

    def __init__(self) -> None:
        self.scores: dict[int, int] = {}
        self.reasons: dict[int, list[str]] = {}

    def add(self, pk: int, score: int, reason: str) -> None:
        self.scores[pk] = max(self.scores.get(pk, 0), score)
        self.reasons.setdefault(pk, [])
        if reason not in self.reasons[pk]:
            self.reasons[pk].append(reason)

    def best(self, records: dict[int, Any], limit: int) -> list[Candidate]:
        ranked = sorted(
            (pk for pk, score in self.scores.items() if score >= THRESHOLD and pk in records),
            key=lambda pk: (-self.scores[pk], -pk),
        )
        return [Candidate(records[pk], self.scores[pk], self.reasons[pk]) for pk in ranked[:limit]]


def name_candidates(accounts, name: str, limit: int = CANDIDATES):
    """The accounts among `accounts` whose name shares a key with `name` — the same folded
    name, the same distinctive words, or their sound (`core.names`; indexed columns kept
    with each name) — at most `limit`, those with the same folded name first."""
    keys = names.blocks(name)
    if not keys.key:
        return accounts.none()
    alike = Q(name_key=keys.key) | Q(name_core=keys.core)
    if keys.sound:
        alike |= Q(name_sound=keys.sound)
    same = accounts.filter(name_key=keys.key).values_list("pk", flat=True)[:limit]
    others = accounts.filter(alike).values_list("pk", flat=True)[:limit]
    wanted = list(dict.fromkeys([*same, *others]))[:limit]
    return accounts.filter(pk__in=wanted)


def find_accounts(
    user, values: dict[str, Any], *, exclude_id: Any = None, limit: int = LIMIT
) -> list[Candidate]:
    """Likely duplicates of an account with `values` (name, credit_code, phone, city …)."""
    visible = Account.objects.restrict(user, Action.VIEW)
    if exclude_id is not None:
        visible = visible.exclude(pk=exclude_id)
    scores = _Scores()
    credit_code = _try(normalize_credit_code, values.get("credit_code"))
    if credit_code:
        for pk in visible.filter(credit_code=credit_code).values_list("pk", flat=True)[:limit]:
            scores.add(pk, 100, _("same unified social credit code"))
    phone = _try(normalize_phone, values.get("phone"))
    if phone:
        query = search_text.Query(text=phone, exact=("phone", phone))
        for pk in search_index.ranked_ids(Account.security_type, query, visible, PER_QUERY):
            scores.add(pk, 90, _("same phone"))
    name = normalize.text(values.get("name"))
    named: dict[int, str] = {}
    if name:
        named = dict(name_candidates(visible, name).values_list("pk", "name"))
    city = normalize.city(values.get("city")) if values.get("city") else ""
    records = {
        account.pk: account
        for account in visible.filter(pk__in=set(scores.scores) | set(named)).only(
            "pk", "name", "city", "phone", "credit_code", "owner_id"
        )
    }
    for pk, other in named.items():
        score = name_score(name, other, company=True)
        if score < THRESHOLD - 10:
            continue
        reason = _("similar name (%(score)d%%)") % {"score": score}
        if city and pk in records and records[pk].city == city and score < 100:
            score = min(99, score + 5)
            reason = _("similar name (%(score)d%%) in the same city") % {"score": score}
        scores.add(pk, score, reason)
    return scores.best(records, limit)


def find_contacts(
    user, values: dict[str, Any], *, exclude_id: Any = None, limit: int = LIMIT
) -> list[Candidate]:
    """Likely duplicates of a contact with `values` (name, phones, emails, id_number,
    accounts)."""
    # an anonymized contact is no one any more: never a duplicate of a new record
    visible = Contact.objects.restrict(user, Action.VIEW).filter(anonymized_at__isnull=True)
    if exclude_id is not None:
        visible = visible.exclude(pk=exclude_id)
    scores = _Scores()
    keys: list[tuple[str, str, int, str]] = []
    id_number = _try(normalize_id_number, values.get("id_number"))
    if id_number:
        keys.append((IdentifierKind.ID_NUMBER, id_number, 100, _("same ID number")))
    for email in _many(values.get("emails")):
        normalized = _try(normalize_email, email)
        if normalized:
            keys.append((IdentifierKind.EMAIL, normalized, 95, _("same e-mail")))
    for phone in _many(values.get("phones")):
        normalized = _try(normalize_phone, phone)
        if normalized:
            keys.append((IdentifierKind.PHONE, normalized, 90, _("same phone")))
    for kind, value, score, reason in keys:
        matches = ContactIdentifier.objects.filter(
            kind=kind,
            blind=identifier_blind(kind, value),
            contact__in=visible.values("pk"),
        ).values_list("contact_id", flat=True)
        for pk in matches[:PER_QUERY]:
            scores.add(pk, score, reason)
    name = normalize.text(values.get("name"))
    account_ids = {
        int(pk)
        for pk in (getattr(a, "pk", a) for a in values.get("accounts") or [])
        if str(pk).isdigit()
    }
    names: dict[int, str] = {}
    if name:
        ids = _ranked(Contact.security_type, _name_queries(name, company=False), visible)
        if account_ids:
            ids += [
                pk
                for pk in visible.filter(accounts__in=account_ids).values_list("pk", flat=True)[
                    :200
                ]
                if pk not in ids
            ]
        names = dict(visible.filter(pk__in=ids).values_list("pk", "name"))
    shared: set[int] = set()
    if account_ids and (names or scores.scores):
        shared = set(
            Contact.accounts.through.objects.filter(
                contact_id__in=set(names) | set(scores.scores), account_id__in=account_ids
            ).values_list("contact_id", flat=True)
        )
    for pk, other in names.items():
        similarity = name_score(name, other, company=False)
        if similarity < 85:
            continue
        if pk in shared:
            score = 85 if similarity == 100 else 80
            scores.add(
                pk,
                score,
                _("similar name (%(score)d%%) at the same account") % {"score": similarity},
            )
        elif pk in scores.scores:
            scores.add(
                pk, scores.scores[pk], _("similar name (%(score)d%%)") % {"score": similarity}
            )
    records = {
        contact.pk: contact
        for contact in visible.filter(pk__in=set(scores.scores)).only(
            "pk", "name", "title", "owner_id"
        )
    }
    return scores.best(records, limit)
