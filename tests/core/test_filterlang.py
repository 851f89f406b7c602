"""The filter language: text ↔ tree round trips, errors that say where, validation against
fields, and compilation to SQL that returns the right rows."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from rapport.core import filterlang as fl


@pytest.fixture(autouse=True)
def _english():
    """The messages below are asserted in English, whatever language an earlier test left on."""
    from django.utils import translation

    with translation.override("en"):
        yield


FIELDS = {
    "name": fl.FilterField("name", "Name", fl.TEXT),
    "tier": fl.FilterField("tier", "Tier", fl.CHOICE, choices=(("A", "A"), ("B", "B"), ("C", "C"))),
    "owner": fl.FilterField("owner", "Owner", fl.USER, path="owner_id"),
    "updated_at": fl.FilterField("updated_at", "Updated", fl.DATETIME),
    "cf.employees": fl.FilterField(
        "cf.employees", "Employees", fl.NUMBER, path="custom__employees", json=True
    ),
    "active": fl.FilterField("active", "Active", fl.BOOL, path="is_active"),
}


def test_parse_a_realistic_filter():
    tree = fl.parse(
        'tier in (A, B) and (name ~ "中国 银行" or cf.employees >= 500) and not active = false'
    )
    assert tree == {
        "and": [
            {"field": "tier", "op": "in", "value": ["A", "B"]},
            {
                "or": [
                    {"field": "name", "op": "~", "value": "中国 银行"},
                    {"field": "cf.employees", "op": ">=", "value": "500"},
                ]
            },
            {"not": {"field": "active", "op": "=", "value": "false"}},
        ]
    }


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("tier in A", "“A” at character 9"),
        ("tier =", "ends too early"),
        ("(tier = A", "“)”"),
        ("tier = A name = b", "character 10"),
        ("= A", "a field name"),
        ("tier @ A", "character 6"),
        ("name is full", "“empty”"),
    ],
)
def test_syntax_errors_say_where(text, fragment):
    with pytest.raises(fl.FilterError) as error:
        fl.parse(text)
    assert fragment in error.value.message_dict["filter"][0]


def test_validation_names_the_field():
    cases = {
        "colour = red": "There is no field “colour”",
        "tier = Z": "tier: “Z” is not one of: A, B, C.",
        "tier ~ A": "tier: “~” does not apply",
        "cf.employees > many": "cf.employees: “many” is not a whole number.",
        "updated_at < yesterday": "updated_at: “yesterday” is not a date",
        "owner = me": "owner: “me” needs a signed-in user.",
    }
    for text, message in cases.items():
        with pytest.raises(fl.FilterError) as error:
            fl.validate(fl.parse(text), FIELDS)
        assert message in error.value.message_dict["filter"][0], text


def test_malformed_json_trees_are_refused():
    for tree in ({"xor": []}, {"and": "x"}, {"field": "name"}, [], {"not": {"or": [{}]}}):
        with pytest.raises(fl.FilterError):
            fl.validate(tree, FIELDS)


def test_limits():
    with pytest.raises(fl.FilterError, match="at most"):
        fl.parse(" and ".join(f"name = n{i}" for i in range(fl.MAX_CONDITIONS + 1)))
    with pytest.raises(fl.FilterError):
        fl.parse("(" * 20 + "name = a" + ")" * 20)


def test_relative_dates_and_me():
    now = timezone.make_aware(datetime(2026, 11, 29, 15, 30))
    tree = fl.validate(
        fl.parse("updated_at < today-30 and owner = me"), FIELDS, fl.Context(user_id=7, now=now)
    )
    (date_condition, owner_condition) = tree["and"]
    assert timezone.localtime(date_condition["value"]).date() == (
        timezone.localtime(now).date() - timedelta(days=30)
    )
    assert owner_condition["value"] == 7


words = st.text(
    alphabet=st.characters(codec="utf-8", categories=["L", "N", "P", "S", "Zs"]),
    min_size=1,
    max_size=12,
).filter(lambda s: s.strip() == s and s)
conditions = (
    st.builds(
        lambda field, op, value: {"field": field, "op": op, "value": value},
        st.sampled_from(["name", "tier", "cf.employees"]),
        st.sampled_from(["=", "!=", "<", ">=", "~", "^"]),
        words,
    )
    | st.builds(
        lambda field, op, values: {"field": field, "op": op, "value": values},
        st.sampled_from(["name", "tier"]),
        st.sampled_from(["in", "not in"]),
        st.lists(words, min_size=1, max_size=4),
    )
    | st.builds(
        lambda field, op: {"field": field, "op": op, "value": None},
        st.sampled_from(["name", "tier"]),
        st.sampled_from(["empty", "not empty"]),
    )
)
trees = st.recursive(
    conditions,
    lambda children: (
        st.builds(
            lambda joiner, parts: {joiner: parts},
            st.sampled_from(["and", "or"]),
            st.lists(children, min_size=2, max_size=3),
        )
        | st.builds(lambda child: {"not": child}, children)
    ),
    max_leaves=8,
)


def _flatten(tree):
    """parse() folds nested ands/ors of the same kind only when written flat; compare meaning
    by normalising both sides the same way."""
    if "field" in tree:
        return tree
    if "not" in tree:
        return {"not": _flatten(tree["not"])}
    ((joiner, parts),) = tree.items()
    flat = []
    for part in parts:
        part = _flatten(part)
        flat.extend(part.get(joiner, [part]))
    return {joiner: flat}


@settings(max_examples=200, deadline=None)
@given(trees)
def test_text_round_trip(tree):
    assert _flatten(fl.parse(fl.to_text(tree))) == _flatten(tree)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_any_text_parses_or_fails_cleanly(text):
    try:
        fl.parse(text)
    except fl.FilterError as error:
        assert error.message_dict["filter"]


@pytest.mark.django_db
def test_compiled_filters_select_the_right_accounts(org):
    from rapport.customers import services
    from rapport.customers.models import Account

    rep = org["rep_sh"]
    bank = services.account_create(actor=rep, name="中国银行", tier="A", province="北京市")
    shop = services.account_create(
        actor=rep, name="小卖部", tier="C", website="https://shop.example.com"
    )
    services.account_create(actor=org["rep_east"], name="华东银行", tier="B")
    fields = {
        "name": fl.FilterField("name", "Name", fl.TEXT),
        "tier": fl.FilterField(
            "tier", "Tier", fl.CHOICE, choices=(("A", "A"), ("B", "B"), ("C", "C"))
        ),
        "owner": fl.FilterField("owner", "Owner", fl.USER, path="owner_id"),
        "website": fl.FilterField("website", "Website", fl.TEXT),
    }
    context = fl.Context(user_id=rep.pk)

    def names(text):
        return set(
            fl.apply(Account.objects.all(), text, fields, context).values_list("name", flat=True)
        )

    assert names("owner = me and name ~ 银行") == {"中国银行"}
    assert names("tier in (A, B)") == {"中国银行", "华东银行"}
    assert names("not tier = A and website is empty") == {"华东银行"}
    assert names("website is not empty or name ^ 中国") == {"中国银行", "小卖部"}
    assert names("") == {"中国银行", "小卖部", "华东银行"}
    assert bank.pk and shop.pk


@pytest.mark.parametrize("text", ["updated_at < 2026-02-30", "updated_at < 2026-13-45T00:00"])
def test_impossible_dates_are_bad_input(text):
    with pytest.raises(fl.FilterError) as error:
        fl.validate(fl.parse(text), FIELDS)
    assert "updated_at:" in error.value.message_dict["filter"][0]
