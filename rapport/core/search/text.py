"""Folding and tokens of the search index: pure functions, no database.

Text is folded (NFKC: full-width → half-width; traditional → simplified; lower case), then
split into runs of Chinese characters and runs of other letters/digits. A Chinese run is
indexed whole, word by word (jieba's search segmentation) and as pinyin: every word and the
whole run in full pinyin without tones and in initials, and every character's syllable, so
`中国银行`, `银行`, `zhongguo`, `zgyh`, `zhongguoyinhang` and `中國銀行` all reach 中国银行.
Every suffix of a Chinese run is indexed too, so any fragment typed (`小明`, `国银`) is the
prefix of a term. Other words are indexed as they are and matched by prefix (`acm` finds
Acme).

A query is parsed into clauses that must all match; each clause has alternatives (a Chinese
run as typed, or as jieba's words), each alternative a list of prefix terms.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path

# CJK unified ideographs (basic block and extension A) and compatibility ideographs.
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_RUN = re.compile(rf"([{_CJK}]+)|([^\W_{_CJK}]+)")
MAX_TERM_LENGTH = 64
MAX_QUERY_CLAUSES = 8
MAX_SUFFIXES = 24  # suffixes indexed per Chinese run
SHORT_RUN = 6  # runs up to this long (personal names, short names) also get suffix pinyin
MAX_REMEMBERED_SYLLABLES = 100_000  # (character, reading) pairs: about 30,000 exist

_lock = threading.Lock()
_converter = None
_jieba = None


def _opencc():
    global _converter
    if _converter is None:
        with _lock:
            if _converter is None:
                import opencc

                _converter = opencc.OpenCC("t2s")
    return _converter


def jieba_cache_file() -> Path:
    """Jieba's dictionary cache, under the var directory (not /tmp, shared by everyone)."""
    try:
        from django.conf import settings

        var_dir = Path(settings.VAR_DIR)
    except Exception:  # used outside Django (tests of the pure functions)
        var_dir = Path(__file__).resolve().parents[3] / "var"
    return var_dir / "jieba.cache"


def segmenter():
    """The jieba tokenizer, loaded once (thread-safe) and quietly: no banner on stderr."""
    global _jieba
    if _jieba is None:
        with _lock:
            if _jieba is None:
                import jieba

                jieba.setLogLevel(logging.WARNING)
                tokenizer = jieba.Tokenizer()
                cache = jieba_cache_file()
                cache.parent.mkdir(parents=True, exist_ok=True)
                tokenizer.tmp_dir = str(cache.parent)
                tokenizer.cache_file = cache.name
                tokenizer.initialize()
                _jieba = tokenizer
    return _jieba


def warm_up() -> None:
    """Load the converters and the segmenter now (a worker or web process calls this once)."""
    _opencc()
    segmenter()
    _pinyin_reader()


@lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """Full-width → half-width (NFKC), traditional → simplified, lower case."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text)
    if any("\u3400" <= char <= "\ufaff" for char in text):
        text = _opencc().convert(text)
    return text.lower()


def runs(folded: str) -> list[tuple[str, bool]]:
    """(run, is_chinese) for every run of Chinese characters or of other letters/digits."""
    return [
        (match.group(0)[:MAX_TERM_LENGTH], match.group(1) is not None)
        for match in _RUN.finditer(folded)
    ]


_pinyin_converter = None


def _pinyin_reader():
    """pypinyin's `lazy_pinyin` as a reusable object (the module function builds a converter
    per call), whose per-syllable style conversion (a few regular expressions each time) is
    remembered by (character, reading, style, strict): the same result, computed once."""
    global _pinyin_converter
    if _pinyin_converter is None:
        with _lock:
            if _pinyin_converter is None:
                from pypinyin.converter import UltimateConverter
                from pypinyin.core import Pinyin

                class RememberingConverter(UltimateConverter):
                    def __init__(self) -> None:
                        # The options of `pypinyin.lazy_pinyin`'s defaults.
                        super().__init__(
                            v_to_u=False, neutral_tone_with_five=False, tone_sandhi=False
                        )
                        self.styled: dict[tuple, str] = {}

                    def convert_style(self, han, orig_pinyin, style, strict, **kwargs):
                        key = (han, orig_pinyin, style, strict, *sorted(kwargs.items()))
                        styled = self.styled.get(key)
                        if styled is None:
                            styled = super().convert_style(
                                han, orig_pinyin, style, strict, **kwargs
                            )
                            if len(self.styled) < MAX_REMEMBERED_SYLLABLES:
                                self.styled[key] = styled
                        return styled

                _pinyin_converter = Pinyin(RememberingConverter())
    return _pinyin_converter


@lru_cache(maxsize=65536)
def _pinyin(word: str) -> tuple[list[str], list[str]]:
    # One conversion for both: pypinyin's FIRST_LETTER style is the first letter of its
    # NORMAL style, syllable by syllable (same segmentation, same readings), so the
    # initials are taken from the syllables rather than converting the word twice.
    normal = _pinyin_reader().lazy_pinyin(word, errors="ignore")
    syllables = [s for s in normal if s.isascii() and s.isalnum()]
    initials = [s[0] for s in normal if s and s[0].isascii() and s[0].isalnum()]
    return syllables, initials


@lru_cache(maxsize=65536)
def _chinese_terms(run: str) -> tuple[str, ...]:
    terms: list[str] = [run]
    words = [w for w in segmenter().cut_for_search(run) if w.strip()]
    for word in [run, *words]:
        syllables, initials = _pinyin(word)
        if word != run:
            terms.append(word)
        if syllables:
            terms.append("".join(syllables)[:MAX_TERM_LENGTH])
            terms.append("".join(initials)[:MAX_TERM_LENGTH])
        if word == run:
            terms.extend(syllables)
    # Every suffix of the run, so that any fragment is the prefix of a term: 小明 finds 王小明
    # even where jieba keeps the name whole. Short runs (names) get the suffixes' pinyin too.
    for start in range(1, min(len(run), MAX_SUFFIXES + 1)):
        suffix = run[start:]
        terms.append(suffix)
        if len(run) <= SHORT_RUN:
            syllables, initials = _pinyin(suffix)
            if syllables:
                terms.append("".join(syllables))
                terms.append("".join(initials))
    return tuple(dict.fromkeys(terms))


@lru_cache(maxsize=65536)
def terms_of(text: str) -> tuple[str, ...]:
    """`index_terms(text)` as a tuple, remembered per whole text (bounded, least recently
    used first out), so a text met again (an account's name in each of its contacts'
    documents, a province, a job title) costs one lookup, not folding, splitting and joining
    its runs' terms again."""
    terms: list[str] = []
    for run, chinese in runs(fold(text)):
        if chinese:
            terms.extend(_chinese_terms(run))
        else:
            terms.append(run)
    return tuple(dict.fromkeys(term for term in terms if term))


def index_terms(text: str) -> list[str]:
    """Every term the index stores for `text`, without duplicates, in a stable order."""
    return list(terms_of(text or ""))


# --- queries ----------------------------------------------------------------------------------

PHONE_LIKE = re.compile(r"\+?[\d\s\-().]{7,24}")
EMAIL_LIKE = re.compile(r"[^\s@]+@[^\s@]+\.[^\s@]+")


@dataclass(frozen=True)
class Clause:
    """One part of a query that must match: any of `alternatives`, each all of its terms
    (every term matched as a prefix of an indexed term)."""

    alternatives: tuple[tuple[str, ...], ...]

    @property
    def words(self) -> tuple[str, ...]:
        return self.alternatives[0]


@dataclass(frozen=True)
class Query:
    text: str
    clauses: tuple[Clause, ...] = ()
    # ("phone", "+8613812345678") or ("email", "li@example.com"): an exact blind-index lookup.
    exact: tuple[str, str] | None = None
    fuzzy: bool = False
    corrections: dict[str, tuple[str, ...]] = field(default_factory=dict, compare=False)

    @property
    def is_empty(self) -> bool:
        return not self.clauses and self.exact is None


E164 = re.compile(r"\+([1-9][0-9]{6,14})")
_NOT_KNOWN = object()


@cache
def _national_prefix(country_code: int):
    """The national-prefix pattern phonenumbers strips after this country code (None when it
    has none), or _NOT_KNOWN when there is no metadata for the code."""
    import phonenumbers

    region = phonenumbers.region_code_for_country_code(country_code)
    metadata = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(country_code, region)
    if metadata is None:
        return _NOT_KNOWN
    pattern = metadata.national_prefix_for_parsing
    return re.compile(pattern) if pattern else None


def _e164_shortcut(text: str):
    """What `normalize_phone` returns for `text` when it is written as E.164 already, found
    without phonenumbers' parser (two thirds of the cost): the same number object is built
    from the digits and checked with `is_valid_number`. _NOT_KNOWN for anything parsing
    might read differently (not E.164, a national number starting with 0, or one starting
    with what the country's parser would strip as a national or carrier prefix)."""
    import phonenumbers

    match = E164.fullmatch(text)
    if match is None:
        return _NOT_KNOWN
    digits = match.group(1)
    # Country calling codes are prefix-free: the shortest known prefix is the code, as in
    # phonenumbers' own extraction.
    for length in (1, 2, 3):
        country_code = int(digits[:length])
        if country_code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            break
    else:
        return _NOT_KNOWN
    national = digits[length:]
    if len(national) < 2 or national[0] == "0":
        return _NOT_KNOWN
    prefix = _national_prefix(country_code)
    if prefix is _NOT_KNOWN or (prefix is not None and prefix.match(national)):
        return _NOT_KNOWN
    number = phonenumbers.PhoneNumber(country_code=country_code, national_number=int(national))
    return text if phonenumbers.is_valid_number(number) else None


def normalize_phone(value: str, region: str = "CN") -> str | None:
    """E.164 (+8613812345678) when `value` is a valid phone number, else None."""
    text = (value or "").strip()
    if not text:
        return None
    known = _e164_shortcut(text)
    if known is not _NOT_KNOWN:
        return known
    return parse_phone(text, region)


def parse_phone(text: str, region: str = "CN") -> str | None:
    """`normalize_phone` through phonenumbers' parser, whatever the form of `text`."""
    import phonenumbers

    text = (text or "").strip()
    if not text:
        return None
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_email(value: str) -> str | None:
    text = unicodedata.normalize("NFKC", (value or "").strip()).lower()
    return text if EMAIL_LIKE.fullmatch(text) else None


def parse_query(text: str) -> Query:
    """What the user typed → an exact phone/e-mail lookup, or clauses of prefix terms."""
    text = (text or "").strip()[:200]
    if not text:
        return Query(text="")
    half = unicodedata.normalize("NFKC", text)
    if EMAIL_LIKE.fullmatch(half):
        email = normalize_email(half)
        if email:
            return Query(text=text, exact=("email", email))
    if PHONE_LIKE.fullmatch(half) and 7 <= sum(char.isdigit() for char in half) <= 15:
        phone = normalize_phone(half)
        if phone:
            return Query(text=text, exact=("phone", phone))
    clauses: list[Clause] = []
    for run, chinese in runs(fold(text)):
        if chinese:
            words = tuple(w for w in segmenter().cut(run) if w.strip())
            alternatives = [(run,)]
            if len(words) > 1:
                alternatives.append(words)
            clauses.append(Clause(tuple(alternatives)))
        else:
            clauses.append(Clause(((run,),)))
    return Query(text=text, clauses=tuple(clauses[:MAX_QUERY_CLAUSES]))


def fuzzy_candidates_key(word: str) -> bool:
    """Whether a query word may be corrected by the typo fallback: plain letters, 3+ long."""
    return word.isascii() and word.isalpha() and 3 <= len(word) <= 30


def with_corrections(query: Query, corrections: dict[str, tuple[str, ...]]) -> Query:
    """The query with each corrected word also accepting its close terms (exact, no prefix)."""
    clauses = []
    for clause in query.clauses:
        alternatives = list(clause.alternatives)
        if len(clause.alternatives) == 1 and len(clause.words) == 1:
            for close in corrections.get(clause.words[0], ()):
                alternatives.append((close,))
        clauses.append(Clause(tuple(alternatives)))
    return Query(
        text=query.text,
        clauses=tuple(clauses),
        exact=query.exact,
        fuzzy=True,
        corrections=corrections,
    )
