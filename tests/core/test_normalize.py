"""Normalization of typed and imported values: examples users write, and properties that
hold for any input (hypothesis)."""

from __future__ import annotations

import contextlib
from datetime import date

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given, settings
from hypothesis import strategies as st

from rapport.core import normalize
from rapport.customers.validators import normalize_phone

FULL_WIDTH = {chr(code): chr(code - 0xFEE0) for code in range(0xFF01, 0xFF5F)}


def to_full_width(value: str) -> str:
    inverse = {half: full for full, half in FULL_WIDTH.items()}
    return "".join(inverse.get(char, char) for char in value).replace(" ", "\u3000")


# --- text --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("  华信　科技  ", "华信 科技"),
        ("ＡＢＣ１２３", "ABC123"),
        ("没接，稍后再打！", "没接，稍后再打！"),  # Chinese punctuation stays
        ("华为技术（深圳）", "华为技术（深圳）"),
        ("Acme\u200b Ltd", "Acme Ltd"),
        ("a \t\n b", "a b"),
        (None, ""),
    ],
)
def test_text_examples(raw, clean):
    assert normalize.text(raw) == clean


def test_traditional_is_simplified_only_when_configured(settings):
    settings.NORMALIZE_TRADITIONAL = False
    assert normalize.text("華信軟體") == "華信軟體"
    settings.NORMALIZE_TRADITIONAL = True
    assert normalize.text("華信軟件") == "华信软件"


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_text_is_idempotent_and_trimmed(value):
    once = normalize.text(value)
    assert normalize.text(once) == once
    assert once == once.strip()
    assert "  " not in once
    assert not any(
        0xFF01 <= ord(char) <= 0xFF5E and char not in normalize.CHINESE_PUNCTUATION for char in once
    )


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E, exclude_characters="!(),:;?")
    )
)
def test_full_width_text_means_the_same_as_half_width(value):
    assert normalize.text(to_full_width(value)) == normalize.text(value)


# --- phones ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "written",
    [
        "13812345678",
        "138 1234 5678",
        "138-1234-5678",
        "+86 138 1234 5678",
        "0086 13812345678",
        "+86-138-1234-5678",
        "１３８１２３４５６７８",
        "＋８６　１３８１２３４５６７８",
    ],
)
def test_phone_forms_give_one_e164(written):
    assert normalize_phone(written) == "+8613812345678"


@settings(max_examples=200, deadline=None)
@given(
    st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True),
    st.sampled_from(["", "+86 ", "0086", "+86-"]),
    st.sampled_from(["", " ", "-"]),
    st.booleans(),
)
def test_mobile_numbers_normalize_alike_whatever_the_form(number, prefix, separator, wide):
    written = prefix + separator.join((number[:3], number[3:7], number[7:]))
    if wide:
        written = to_full_width(written)
    try:
        expected = normalize_phone(number)
    except ValidationError:
        with pytest.raises(ValidationError):
            normalize_phone(written)
        return
    assert normalize_phone(written) == expected
    assert normalize_phone(expected) == expected


# --- company names -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "北京华信软件有限公司",
        "北京華信軟件有限責任公司",
        "北京华信软件股份有限公司",
        " 北京华信软件（集团）有限公司 ",
        "北京华信软件公司",
    ],
)
def test_company_suffixes_fold_for_matching(name):
    key = normalize.company_key(name)
    assert key in ("北京华信软件", "北京华信软件集团")
    assert normalize.company_key("北京华信软件") == "北京华信软件"


def test_english_company_suffixes_fold_but_not_inside_words():
    assert normalize.company_key("Acme Trading Co., Ltd.") == "acmetrading"
    assert normalize.company_key("ACME TRADING COMPANY LIMITED") == "acmetrading"
    assert normalize.company_key("Acme Trading Inc") == "acmetrading"
    assert normalize.company_key("Costco") == "costco"
    assert normalize.company_key("有限公司") == "有限公司"  # nothing else to keep


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_company_key_is_idempotent(value):
    key = normalize.company_key(value)
    assert normalize.company_key(key) == key
    assert " " not in key


# --- provinces and cities ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "standard"),
    [
        ("广东", "广东省"),
        ("广东省", "广东省"),
        ("廣東省", "广东省"),
        ("Guangdong", "广东省"),
        ("guangdong province", "广东省"),
        ("北京", "北京市"),
        ("Beijing", "北京市"),
        ("内蒙古", "内蒙古自治区"),
        ("Inner Mongolia", "内蒙古自治区"),
        ("广西", "广西壮族自治区"),
        ("新疆", "新疆维吾尔自治区"),
        ("香港", "香港特别行政区"),
        ("Hong Kong", "香港特别行政区"),
        ("Ontario", "Ontario"),
        ("", ""),
    ],
)
def test_province_standard_names(written, standard):
    assert normalize.province(written) == standard


@pytest.mark.parametrize(
    ("written", "standard"),
    [
        ("深圳", "深圳市"),
        ("广州", "广州市"),
        ("杭州市", "杭州市"),
        ("深圳市", "深圳市"),
        ("Shenzhen", "深圳市"),
        ("Xi'an", "西安市"),
        ("延边", "延边朝鲜族自治州"),
        ("喀什", "喀什地区"),
        ("浦东新区", "浦东新区"),
        ("Toronto", "Toronto"),
    ],
)
def test_city_standard_names(written, standard):
    assert normalize.city(written) == standard


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_place_names_are_idempotent(value):
    assert normalize.province(normalize.province(value)) == normalize.province(value)
    assert normalize.city(normalize.city(value)) == normalize.city(value)


# --- dates -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "written",
    [
        "2024-03-05",
        "2024/3/5",
        "2024.03.05",
        "20240305",
        "2024年3月5日",
        "2024年03月05号",
        "２０２４年３月５日",
        "二〇二四年三月五日",
        "5 March 2024",
        "5th Mar 2024",
        "March 5, 2024",
        "Mar. 5 2024",
        "2024-03-05 14:30",
    ],
)
def test_date_forms(written):
    assert normalize.parse_date(written) == date(2024, 3, 5)


def test_day_month_order_is_read_only_when_unambiguous():
    assert normalize.parse_date("13/03/2024") == date(2024, 3, 13)
    assert normalize.parse_date("03/13/2024") == date(2024, 3, 13)
    with pytest.raises(ValidationError) as ambiguous:
        normalize.parse_date("05/03/2024")
    assert ambiguous.value.code == "ambiguous_date"


@pytest.mark.parametrize("written", ["2024-02-30", "tomorrow", "2024年13月1日", "32 March 2024"])
def test_bad_dates_are_refused_naming_the_value(written):
    with pytest.raises(ValidationError) as refused:
        normalize.parse_date(written)
    assert written in refused.value.messages[0]


@settings(max_examples=300, deadline=None)
@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)))
def test_dates_round_trip_through_every_written_form(day):
    forms = [
        day.isoformat(),
        f"{day.year}/{day.month}/{day.day}",
        f"{day.year}年{day.month}月{day.day}日",
        day.strftime("%Y%m%d"),
        f"{day.day} {day.strftime('%B')} {day.year}",
        f"{day.strftime('%b')} {day.day}, {day.year}",
    ]
    for written in forms:
        assert normalize.parse_date(written) == day, written


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=30))
def test_parse_date_never_crashes(value):
    with contextlib.suppress(ValidationError):
        normalize.parse_date(value)
