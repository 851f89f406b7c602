"""Normalization of what people type and files carry, shared by every write path.

The domain services call these on forms, API calls, rule actions and imports alike, so a
value is stored the same way whichever way it came in:

- `text`: full-width letters, digits and punctuation → half-width, the ideographic space and
  runs of spaces → one space, zero-width characters removed, trimmed; traditional →
  simplified Chinese too when the installation asks for it (`RAPPORT_NORMALIZE_T2S=1`).
- `province` / `city`: the standard names (广东 / Guangdong → 广东省, 深圳 → 深圳市).
- `company_key`: a company name folded for matching only (suffixes such as 有限公司,
  有限责任公司 and "Co., Ltd." dropped, width, case and script folded); never stored as
  the name.
- `parse_date`: dates in the common Chinese and English forms (2024-03-05, 2024/3/5,
  2024年3月5日, 二〇二四年三月五日, 5 March 2024, Mar 5, 2024, 20240305).

Phones (E.164), e-mails (lower-case domain) and identifiers have their validators in the
customers app; they take `text` first, so full-width digits and odd spaces are understood.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

# --- text ------------------------------------------------------------------------------------

# U+FF01..U+FF5E are the full-width forms of ASCII 0x21..0x7E; U+3000 is the ideographic space.
# The full-width marks Chinese prose is written with stay as they are (a body reading
# "没接，稍后再打" keeps its comma; 华为技术（深圳）有限公司 its official brackets); letters,
# digits, spaces and the other symbols become half-width.
CHINESE_PUNCTUATION = "！（），：；？"
_WIDTH = {
    code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F) if chr(code) not in CHINESE_PUNCTUATION
}
_WIDTH[0x3000] = 0x20
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))
_SPACES = re.compile(r"\s+")


def half_width(value: str) -> str:
    """Full-width letters, digits, symbols and spaces → their half-width forms (Chinese
    punctuation kept)."""
    return value.translate(_WIDTH)


def identifier(value: object) -> str:
    """A phone number, e-mail, code or address typed in any width: everything half-width
    (NFKC), spaces folded, trimmed — for values that are never prose."""
    if value is None:
        return ""
    folded = unicodedata.normalize("NFKC", str(value)).translate(_ZERO_WIDTH)
    return _SPACES.sub(" ", folded).strip()


def traditional_enabled() -> bool:
    return bool(getattr(settings, "NORMALIZE_TRADITIONAL", False))


def simplified(value: str) -> str:
    """Traditional Chinese characters → simplified (opencc's t2s)."""
    if not any("\u3400" <= char <= "\ufaff" for char in value):
        return value
    from rapport.core.search.text import _opencc

    return _opencc().convert(value)


def text(value: object, *, multiline: bool = False) -> str:
    """A clean one-line (or `multiline`) text: see the module's docstring."""
    if value is None:
        return ""
    result = half_width(str(value)).translate(_ZERO_WIDTH)
    if multiline:
        lines = [
            _SPACES.sub(" ", line).strip() for line in result.replace("\r\n", "\n").split("\n")
        ]
        result = "\n".join(lines).strip("\n")
    else:
        result = _SPACES.sub(" ", result).strip()
    if traditional_enabled():
        result = simplified(result)
    return result


# --- company names (for matching only) ---------------------------------------------------------

# Longest first: the first that ends the name is removed (once; then spaces and punctuation).
_COMPANY_SUFFIXES = sorted(
    {
        "股份有限公司",
        "有限责任公司",
        "集团有限公司",
        "集团股份有限公司",
        "有限公司",
        "总公司",
        "分公司",
        "公司",
        "集团",
        "company limited",
        "co ltd",
        "co limited",
        "corporation",
        "company",
        "limited",
        "corp",
        "ltd",
        "inc",
        "llc",
        "plc",
        "gmbh",
        "group",
        "co",
    },
    key=len,
    reverse=True,
)
_SUFFIX_SET = frozenset(_COMPANY_SUFFIXES)
_NOT_WORD = re.compile(r"[\W_]+")


@lru_cache(maxsize=65536)
def company_key(name: str) -> str:
    """The name folded for matching: 北京华信软件有限公司, 北京華信軟件有限責任公司 and
    "Beijing Huaxin Software Co., Ltd." give 北京华信软件 / beijinghuaxinsoftware."""
    folded = unicodedata.normalize("NFKC", str(name or "")).lower()
    folded = simplified(folded)
    # parenthesised parts of a name are kept (华为技术（深圳）), their brackets dropped
    words = _NOT_WORD.sub(" ", folded).strip()
    changed = True
    while changed and words and words not in _SUFFIX_SET:
        changed = False
        for suffix in _COMPANY_SUFFIXES:
            if words.endswith(suffix) and len(words) > len(suffix):
                before = words[: -len(suffix)]
                ascii_suffix = suffix[0].isascii()
                # an English suffix must be a word of its own ("co" not the end of "costco")
                if ascii_suffix and not before.endswith(" "):
                    continue
                words = before.rstrip()
                changed = True
                break
    return words.replace(" ", "")


# --- provinces and cities ----------------------------------------------------------------------

# Standard name, then other names people write (English, pinyin).
_PROVINCES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("北京市", ("beijing", "peking")),
    ("天津市", ("tianjin",)),
    ("上海市", ("shanghai",)),
    ("重庆市", ("chongqing",)),
    ("河北省", ("hebei",)),
    ("山西省", ("shanxi",)),
    ("辽宁省", ("liaoning",)),
    ("吉林省", ("jilin",)),
    ("黑龙江省", ("heilongjiang",)),
    ("江苏省", ("jiangsu",)),
    ("浙江省", ("zhejiang",)),
    ("安徽省", ("anhui",)),
    ("福建省", ("fujian",)),
    ("江西省", ("jiangxi",)),
    ("山东省", ("shandong",)),
    ("河南省", ("henan",)),
    ("湖北省", ("hubei",)),
    ("湖南省", ("hunan",)),
    ("广东省", ("guangdong",)),
    ("海南省", ("hainan",)),
    ("四川省", ("sichuan",)),
    ("贵州省", ("guizhou",)),
    ("云南省", ("yunnan",)),
    ("陕西省", ("shaanxi",)),
    ("甘肃省", ("gansu",)),
    ("青海省", ("qinghai",)),
    ("台湾省", ("taiwan",)),
    ("内蒙古自治区", ("innermongolia", "neimongol", "neimenggu")),
    ("广西壮族自治区", ("guangxi",)),
    ("西藏自治区", ("tibet", "xizang")),
    ("宁夏回族自治区", ("ningxia",)),
    ("新疆维吾尔自治区", ("xinjiang",)),
    ("香港特别行政区", ("hongkong", "hk")),
    ("澳门特别行政区", ("macau", "macao")),
)
_PROVINCE_SUFFIXES = (
    "维吾尔自治区",
    "壮族自治区",
    "回族自治区",
    "特别行政区",
    "自治区",
    "省",
    "市",
    "province",
    "municipality",
    "city",
    "sar",
)

# Prefecture-level places whose standard name is not "<name>市", by the short name people use.
_PREFECTURES = {
    "延边": "延边朝鲜族自治州",
    "恩施": "恩施土家族苗族自治州",
    "湘西": "湘西土家族苗族自治州",
    "阿坝": "阿坝藏族羌族自治州",
    "甘孜": "甘孜藏族自治州",
    "凉山": "凉山彝族自治州",
    "黔东南": "黔东南苗族侗族自治州",
    "黔南": "黔南布依族苗族自治州",
    "黔西南": "黔西南布依族苗族自治州",
    "楚雄": "楚雄彝族自治州",
    "红河": "红河哈尼族彝族自治州",
    "文山": "文山壮族苗族自治州",
    "西双版纳": "西双版纳傣族自治州",
    "大理": "大理白族自治州",
    "德宏": "德宏傣族景颇族自治州",
    "怒江": "怒江傈僳族自治州",
    "迪庆": "迪庆藏族自治州",
    "临夏": "临夏回族自治州",
    "甘南": "甘南藏族自治州",
    "海北": "海北藏族自治州",
    "黄南": "黄南藏族自治州",
    "果洛": "果洛藏族自治州",
    "玉树": "玉树藏族自治州",
    "海西": "海西蒙古族藏族自治州",
    "昌吉": "昌吉回族自治州",
    "博尔塔拉": "博尔塔拉蒙古自治州",
    "巴音郭楞": "巴音郭楞蒙古自治州",
    "克孜勒苏": "克孜勒苏柯尔克孜自治州",
    "伊犁": "伊犁哈萨克自治州",
    "阿克苏": "阿克苏地区",
    "喀什": "喀什地区",
    "和田": "和田地区",
    "塔城": "塔城地区",
    "阿勒泰": "阿勒泰地区",
    "阿里": "阿里地区",
    "大兴安岭": "大兴安岭地区",
    "兴安": "兴安盟",
    "锡林郭勒": "锡林郭勒盟",
    "阿拉善": "阿拉善盟",
}
# English (pinyin) names of the larger cities.
_CITIES_EN = {
    "beijing": "北京市",
    "shanghai": "上海市",
    "tianjin": "天津市",
    "chongqing": "重庆市",
    "guangzhou": "广州市",
    "canton": "广州市",
    "shenzhen": "深圳市",
    "hangzhou": "杭州市",
    "nanjing": "南京市",
    "suzhou": "苏州市",
    "wuxi": "无锡市",
    "ningbo": "宁波市",
    "wenzhou": "温州市",
    "wuhan": "武汉市",
    "chengdu": "成都市",
    "xian": "西安市",
    "changsha": "长沙市",
    "zhengzhou": "郑州市",
    "jinan": "济南市",
    "qingdao": "青岛市",
    "yantai": "烟台市",
    "dalian": "大连市",
    "shenyang": "沈阳市",
    "harbin": "哈尔滨市",
    "changchun": "长春市",
    "shijiazhuang": "石家庄市",
    "tangshan": "唐山市",
    "taiyuan": "太原市",
    "hefei": "合肥市",
    "fuzhou": "福州市",
    "xiamen": "厦门市",
    "nanchang": "南昌市",
    "kunming": "昆明市",
    "guiyang": "贵阳市",
    "nanning": "南宁市",
    "haikou": "海口市",
    "sanya": "三亚市",
    "lanzhou": "兰州市",
    "xining": "西宁市",
    "yinchuan": "银川市",
    "urumqi": "乌鲁木齐市",
    "lhasa": "拉萨市",
    "hohhot": "呼和浩特市",
    "baotou": "包头市",
    "foshan": "佛山市",
    "dongguan": "东莞市",
    "zhuhai": "珠海市",
    "xuzhou": "徐州市",
    "changzhou": "常州市",
    "nantong": "南通市",
}
_CITY_SUFFIXES = ("自治州", "地区", "市", "盟", "区", "县", "旗")
_CHINESE = re.compile(r"^[\u3400-\u9fff]+$")


def _key(value: str) -> str:
    return re.sub(r"[\s.'’·-]+", "", half_width(value).lower())


@lru_cache(maxsize=1)
def _province_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for standard, others in _PROVINCES:
        base = standard
        for suffix in _PROVINCE_SUFFIXES:
            if base.endswith(suffix):
                base = base[: -len(suffix)]
                break
        for name in (standard, base, *others):
            index[_key(name)] = standard
    return index


def province(value: object) -> str:
    """The standard name of a province-level division (广东 / 廣東省 / Guangdong Province →
    广东省), or the cleaned text when it is not one."""
    cleaned = text(value)
    if not cleaned:
        return ""
    key = _key(simplified(cleaned))
    index = _province_index()
    if key in index:
        return index[key]
    for suffix in _PROVINCE_SUFFIXES:
        if key.endswith(suffix) and key[: -len(suffix)] in index:
            return index[key[: -len(suffix)]]
    return cleaned


def city(value: object) -> str:
    """The standard name of a prefecture-level city (深圳 → 深圳市, 延边 → 延边朝鲜族自治州,
    Shenzhen → 深圳市), or the cleaned text when it cannot tell."""
    cleaned = text(value)
    if not cleaned:
        return ""
    chinese = simplified(cleaned).replace(" ", "")
    key = _key(chinese)
    for suffix in ("city", "shi"):
        if key.endswith(suffix) and key[: -len(suffix)] in _CITIES_EN:
            key = key[: -len(suffix)]
    if key in _CITIES_EN:
        return _CITIES_EN[key]
    if not _CHINESE.match(chinese):
        return cleaned
    if chinese in _PREFECTURES:
        return _PREFECTURES[chinese]
    if chinese.endswith(_CITY_SUFFIXES):
        return chinese
    if 2 <= len(chinese) <= 4:
        return chinese + "市"
    return chinese


# --- dates -------------------------------------------------------------------------------------

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}
_CHINESE_DIGITS = {"〇": 0, "零": 0, "○": 0, "Ｏ": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4}
_CHINESE_DIGITS.update({"五": 5, "六": 6, "七": 7, "八": 8, "九": 9})


def _chinese_number(value: str) -> int | None:
    """一九九八 / 二〇二四 (digit by digit), 十二, 二十一, 三十 (tens) → int."""
    if value.isdigit():
        return int(value)
    if "十" in value:
        tens, _ten, units = value.partition("十")
        high = _CHINESE_DIGITS.get(tens, -1) if tens else 1
        low = _CHINESE_DIGITS.get(units, -1) if units else 0
        return None if high < 0 or low < 0 else high * 10 + low
    digits = [_CHINESE_DIGITS.get(char) for char in value]
    if not digits or None in digits:
        return None
    return int("".join(str(digit) for digit in digits))


_ISO = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ t].*)?$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_CHINESE_DATE = re.compile(r"^([^年月日号]{2,4})年([^年月日号]{1,3})月([^年月日号]{1,3})[日号]?$")
_DAY_MONTH_YEAR = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)? ([a-z]+)\.?,? (\d{4})$")
_MONTH_DAY_YEAR = re.compile(r"^([a-z]+)\.? (\d{1,2})(?:st|nd|rd|th)?,? (\d{4})$")
_SLASHED = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")


def _date_error(value: str) -> ValidationError:
    return ValidationError(
        _("“%(value)s” is not a date we can read; write it as 2024-03-05.") % {"value": value},
        code="invalid_date",
    )


def parse_date(value: object) -> date | None:
    """A date from the common forms (see the module docstring); None for an empty value; a
    ValidationError naming the value otherwise. Day and month written as numbers before
    the year (05/03/2024) are accepted only when they cannot be mixed up (13/03/2024)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    cleaned = text(value).lower()
    if not cleaned:
        return None
    parts: tuple[int | None, int | None, int | None] | None = None
    if match := _ISO.match(cleaned) or _COMPACT.match(cleaned):
        parts = (int(match.group(1)), int(match.group(2)), int(match.group(3)))
    elif match := _CHINESE_DATE.match(cleaned.replace(" ", "")):
        parts = (
            _chinese_number(match.group(1)),
            _chinese_number(match.group(2)),
            _chinese_number(match.group(3)),
        )
    elif match := _DAY_MONTH_YEAR.match(cleaned):
        parts = (int(match.group(3)), _MONTHS.get(match.group(2)), int(match.group(1)))
    elif match := _MONTH_DAY_YEAR.match(cleaned):
        parts = (int(match.group(3)), _MONTHS.get(match.group(1)), int(match.group(2)))
    elif match := _SLASHED.match(cleaned):
        first, second, year = (int(match.group(n)) for n in (1, 2, 3))
        if first > 12 >= second:
            parts = (year, second, first)
        elif second > 12 >= first or first == second:
            parts = (year, first, second)
        else:
            raise ValidationError(
                _("“%(value)s” could be either day/month or month/day; write it as 2024-03-05.")
                % {"value": value},
                code="ambiguous_date",
            )
    if parts is None or None in parts:
        raise _date_error(str(value))
    year, month, day = parts
    try:
        return date(year, month, day)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise _date_error(str(value)) from None
