"""The search index's documents computed the slow, straightforward way, as the index did
before its bulk path: every text segmented again, pypinyin called once per style, every phone
parsed by phonenumbers. The tests compare the index's rows with these, row by row."""

from __future__ import annotations

from pypinyin import Style, lazy_pinyin

from rapport.core.blind import blind_index
from rapport.core.search import registry, text


def pinyin(word: str) -> tuple[list[str], list[str]]:
    syllables = [s for s in lazy_pinyin(word, errors="ignore") if s.isascii() and s.isalnum()]
    initials = [
        s
        for s in lazy_pinyin(word, style=Style.FIRST_LETTER, errors="ignore")
        if s.isascii() and s.isalnum()
    ]
    return syllables, initials


def chinese_terms(run: str) -> list[str]:
    terms: list[str] = [run]
    words = [w for w in text.segmenter().cut_for_search(run) if w.strip()]
    for word in [run, *words]:
        syllables, initials = pinyin(word)
        if word != run:
            terms.append(word)
        if syllables:
            terms.append("".join(syllables)[: text.MAX_TERM_LENGTH])
            terms.append("".join(initials)[: text.MAX_TERM_LENGTH])
        if word == run:
            terms.extend(syllables)
    for start in range(1, min(len(run), text.MAX_SUFFIXES + 1)):
        suffix = run[start:]
        terms.append(suffix)
        if len(run) <= text.SHORT_RUN:
            syllables, initials = pinyin(suffix)
            if syllables:
                terms.append("".join(syllables))
                terms.append("".join(initials))
    return list(dict.fromkeys(terms))


def index_terms(value: str) -> list[str]:
    terms: list[str] = []
    for run, chinese in text.runs(text.fold(value or "")):
        if chinese:
            terms.extend(chinese_terms(run))
        else:
            terms.append(run)
    return list(dict.fromkeys(term for term in terms if term))


def blind_keys(document: registry.Document) -> list[str]:
    keys = []
    for phone in document.phones:
        normalized = text.parse_phone(phone)
        if normalized:
            keys.append(blind_index(normalized, purpose="phone"))
    for email in document.emails:
        normalized = text.normalize_email(email)
        if normalized:
            keys.append(blind_index(normalized, purpose="email"))
    return list(dict.fromkeys(keys))


def document_row(registration: registry.Registration, record) -> tuple:
    """(title, subtitle, terms, sorted keys) as the index should store them for `record`."""
    document = registration.document(record)
    title_terms = list(dict.fromkeys(index_terms(document.title or "")))
    other_terms: list[str] = []
    for value in document.texts:
        other_terms.extend(t for t in index_terms(value or "") if t not in title_terms)
    return (
        (document.title or "")[:300],
        (document.subtitle or "")[:300],
        # The title's terms, " | ", the other texts' terms not already in the title.
        " ".join(title_terms) + " | " + " ".join(dict.fromkeys(other_terms)),
        sorted(blind_keys(document)),
    )
