"""Folding, tokens, query parsing and the blind index: pure functions of the search index."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
from django.conf import settings
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from rapport.core.blind import blind_index
from rapport.core.search import text

CHINESE = st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5), max_size=12)
ASCII_WORD = st.text(alphabet=string.ascii_letters + string.digits, min_size=1, max_size=20)


def to_full_width(value: str) -> str:
    return "".join(chr(ord(char) + 0xFEE0) if "!" <= char <= "~" else char for char in value)


def test_fold_full_width_traditional_and_case():
    assert text.fold("ＡＢＣ１２３") == "abc123"
    assert text.fold("中國銀行") == "中国银行"
    assert text.fold("ACME Trading") == "acme trading"


@given(ASCII_WORD)
def test_full_width_folds_like_half_width(word):
    assert text.fold(to_full_width(word)) == word.lower()
    assert text.index_terms(to_full_width(word)) == text.index_terms(word)


@given(st.text(max_size=40))
@hypothesis_settings(max_examples=200, deadline=None)
def test_fold_is_idempotent_and_terms_are_clean(value):
    folded = text.fold(value)
    assert text.fold(folded) == folded
    for term in text.index_terms(value):
        assert term and " " not in term and term == text.fold(term)
        assert len(term) <= text.MAX_TERM_LENGTH


@given(CHINESE)
@hypothesis_settings(max_examples=100, deadline=None)
def test_every_fragment_of_a_chinese_run_is_a_term_prefix(run):
    terms = text.index_terms(run)
    for start in range(len(run)):
        for end in range(start + 1, len(run) + 1):
            fragment = text.fold(run[start:end])
            assert any(term.startswith(fragment) for term in terms), fragment


@pytest.mark.parametrize(
    "query", ["中国银行", "银行", "zhongguo", "zgyh", "中國銀行", "zhongguoyinhang"]
)
def test_chinese_bank_terms_cover_the_six_queries(query):
    terms = text.index_terms("中国银行")
    for clause in text.parse_query(query).clauses:
        assert any(
            all(any(term.startswith(word) for term in terms) for word in words)
            for words in clause.alternatives
        ), query


def test_english_words_are_terms_and_prefix_queries():
    assert {"acme", "trading", "co", "ltd"} <= set(text.index_terms("Acme Trading Co., Ltd."))
    assert text.parse_query("ACM").clauses[0].words == ("acm",)


@pytest.mark.parametrize(
    "typed",
    [
        "138 1234 5678",
        "+86 138-1234-5678",
        "13812345678",
        "+8613812345678",
        "１３８１２３４５６７８",
    ],
)
def test_phone_queries_become_one_exact_lookup(typed):
    query = text.parse_query(typed)
    assert query.exact == ("phone", "+8613812345678")
    assert not query.clauses


@given(st.lists(st.sampled_from(["", " ", "-", "(", ")", "."]), min_size=10, max_size=10))
def test_any_separators_in_a_mobile_number_normalise_alike(separators):
    digits = "13812345678"
    typed = "".join(digit + sep for digit, sep in zip(digits, separators + [""], strict=False))
    assert text.normalize_phone(typed) == "+8613812345678"


def test_email_query_is_lower_cased_exact_lookup():
    assert text.parse_query("Li.Lei@Example.COM").exact == ("email", "li.lei@example.com")


def test_digits_that_are_not_a_phone_stay_a_text_query():
    query = text.parse_query("9131000")
    assert query.exact is None and query.clauses[0].words == ("9131000",)


def test_blind_index_is_keyed_per_purpose_and_hides_the_value(settings):
    phone = "+8613812345678"
    first = blind_index(phone, purpose="phone")
    assert first == blind_index(phone, purpose="phone")
    assert len(first) == 64 and "13812345678" not in first
    assert first != blind_index(phone, purpose="email")
    settings.SECRET_KEY = "another-secret-key-" + "x" * 40
    assert blind_index(phone, purpose="phone") != first
    settings.RAPPORT_BLIND_INDEX_KEY = "a configured blind index key"
    configured = blind_index(phone, purpose="phone")
    settings.SECRET_KEY = "yet-another-secret-key-" + "y" * 40
    assert blind_index(phone, purpose="phone") == configured  # the configured key wins


def test_jieba_loads_once_quietly_with_its_cache_under_var(capfd):
    tokenizer = text.segmenter()
    assert text.segmenter() is tokenizer
    assert list(tokenizer.cut("中国银行"))
    cache = text.jieba_cache_file()
    assert Path(cache).parent == Path(settings.VAR_DIR)
    assert cache.exists()
    captured = capfd.readouterr()
    assert "Building prefix dict" not in captured.err + captured.out


# --- the shortcuts of bulk indexing give what the straightforward path gives -----------------

E164_SHAPED = st.from_regex(r"\+[1-9][0-9]{6,14}", fullmatch=True)


@given(E164_SHAPED)
@hypothesis_settings(max_examples=2000, deadline=None)
def test_an_e164_value_normalises_as_the_phone_parser_reads_it(value):
    assert text.normalize_phone(value) == text.parse_phone(value)


def test_every_kind_of_number_of_every_region_normalises_as_parsed():
    """Valid numbers everywhere (and near misses: the last digits changed), including
    national and carrier prefixes, Italian leading zeros and non-geographic codes."""
    import phonenumbers

    kinds = [
        phonenumbers.PhoneNumberType.FIXED_LINE,
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.TOLL_FREE,
        phonenumbers.PhoneNumberType.VOIP,
        phonenumbers.PhoneNumberType.UAN,
    ]
    examples = [
        phonenumbers.example_number_for_type(region, kind)
        for region in sorted(phonenumbers.SUPPORTED_REGIONS)
        for kind in kinds
    ] + [
        phonenumbers.example_number_for_non_geo_entity(code)
        for code in sorted(phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS)
    ]
    shortcut = 0
    for number in filter(None, examples):
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        for value in (e164, e164[:-2] + "00", e164[:-1] + "9", e164 + "1", e164[:-1]):
            assert text.normalize_phone(value) == text.parse_phone(value), value
            shortcut += text._e164_shortcut(value) is not text._NOT_KNOWN
    assert shortcut > 1000  # most are answered without the parser


@pytest.mark.parametrize(
    "word", ["银行", "行长", "重庆", "长大", "中國銀行", "朝阳", "音乐", "了解", "𠀀", "〇", "呣"]
)
def test_pinyin_in_one_call_is_the_two_styles(word):
    from tests.core import search_reference

    assert text._pinyin.__wrapped__(word) == search_reference.pinyin(word)


@given(CHINESE)
@hypothesis_settings(max_examples=300, deadline=None)
def test_pinyin_of_any_chinese_text_is_the_two_styles(run):
    from tests.core import search_reference

    assert text._pinyin.__wrapped__(run) == search_reference.pinyin(run)


@given(st.text(max_size=30) | st.lists(CHINESE | ASCII_WORD, max_size=4).map(" ".join))
@hypothesis_settings(max_examples=300, deadline=None)
def test_remembered_terms_are_the_terms_computed_afresh(value):
    from tests.core import search_reference

    assert text.index_terms(value) == search_reference.index_terms(value)
    assert text.index_terms(value) == search_reference.index_terms(value)  # from the cache
