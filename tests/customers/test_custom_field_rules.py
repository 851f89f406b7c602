"""Field rules on custom fields: a role makes a custom field hidden or masked for its members,
and every place a custom value leaves the server follows it (detail page, list columns and
filters, forms, the API, the history tab, the timeline); an edit keeps what the user cannot
see."""

from __future__ import annotations

import json
import re

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone, translation
from rest_framework.test import APIClient

from rapport.core import filterlang
from rapport.core.customfields import services as fields
from rapport.core.customfields.models import CustomField
from rapport.customers import services
from rapport.customers.filtering import apply_filter
from rapport.customers.models import Account, Interaction
from rapport.identity import policy
from rapport.identity.models import FieldRule, Role
from rapport.identity.services import field_rule_set, token_create

pytestmark = pytest.mark.django_db

ACCOUNT = "customers.account"
INTERACTION = "customers.interaction"
WECHAT = "wxid_lilei2026"
WECHAT_MASKED = policy.mask_value(WECHAT)
BUDGET = 880000


@pytest.fixture
def book(org):
    """Account fields budget (hidden from sales reps), wechat_id (masked) and segment (no rule);
    an interaction field mood (hidden); one account of rep_sh with all of them filled."""
    admin = org["admin"]
    fields.custom_field_create(
        actor=admin,
        object_type=ACCOUNT,
        key="budget",
        type="number",
        label="预算",
        label_en="Budget",
    )
    fields.custom_field_create(
        actor=admin,
        object_type=ACCOUNT,
        key="wechat_id",
        type="text",
        label="微信号",
        label_en="WeChat ID",
    )
    fields.custom_field_create(
        actor=admin,
        object_type=ACCOUNT,
        key="segment",
        type="choice",
        label="细分",
        label_en="Segment",
        choices="smb|中小企业|SMB\nent|大型企业|Enterprise",
    )
    fields.custom_field_create(
        actor=admin,
        object_type=INTERACTION,
        key="mood",
        type="choice",
        label="情绪",
        label_en="Mood",
        choices="angry|生气|Angry\ncalm|平静|Calm",
    )
    reps = Role.objects.get(code="sales_rep")
    for object_type, field, rule in (
        (ACCOUNT, "cf.budget", "hidden"),
        (ACCOUNT, "cf.wechat_id", "masked"),
        (INTERACTION, "cf.mood", "hidden"),
    ):
        field_rule_set(actor=admin, role=reps, object_type=object_type, field=field, rule=rule)
    rep = org["rep_sh"]
    account = services.account_create(
        actor=admin,
        owner=rep,
        name="有秘密的客户",
        custom={"budget": BUDGET, "wechat_id": WECHAT, "segment": "smb"},
    )
    note = services.interaction_log(
        actor=rep, kind="note", account=account, subject="拜访纪要", custom={"mood": "angry"}
    )
    return {"rep": rep, "admin": admin, "account": account, "note": note}


def _api(user) -> APIClient:
    _token, secret = token_create(actor=user, name="test")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer " + secret)
    return client


# --- the rules themselves ------------------------------------------------------------------


def test_rules_apply_to_custom_values_by_either_name(book):
    rep, admin = book["rep"], book["admin"]
    rules = policy.field_rules(rep, ACCOUNT)
    assert rules["cf.budget"] == rules["custom.budget"] == "hidden"
    assert rules["cf.wechat_id"] == rules["custom.wechat_id"] == "masked"
    values = {"name": "x", "custom": {"budget": BUDGET, "wechat_id": WECHAT, "segment": "smb"}}
    assert policy.apply_field_rules(rep, ACCOUNT, values) == {
        "name": "x",
        "custom": {"wechat_id": WECHAT_MASKED, "segment": "smb"},
    }
    assert WECHAT_MASKED != WECHAT and "*" in WECHAT_MASKED
    assert policy.apply_field_rules(admin, ACCOUNT, values) == values


def test_a_rule_names_only_custom_fields_of_its_object_type(book):
    reps = Role.objects.get(code="sales_rep")
    for object_type, field in (
        (ACCOUNT, "cf.nothing"),
        ("customers.contact", "cf.budget"),  # budget is an account field
        (ACCOUNT, "custom.budget"),  # rules use the filter language's name
    ):
        with pytest.raises(ValidationError) as caught:
            field_rule_set(
                actor=book["admin"], role=reps, object_type=object_type, field=field, rule="hidden"
            )
        assert caught.value.error_dict["field"][0].code == "invalid"
    assert not FieldRule.objects.filter(role=reps, field__in=["cf.nothing", "custom.budget"])


def test_a_required_field_without_default_cannot_be_kept_from_members(client, book):
    """Members of the role could not fill it in, and every account they added would fail."""
    admin, reps = book["admin"], Role.objects.get(code="sales_rep")
    fields.custom_field_create(
        actor=admin,
        object_type=ACCOUNT,
        key="region_code",
        type="text",
        label="区域码",
        required=True,
    )
    with pytest.raises(ValidationError) as caught:
        field_rule_set(
            actor=admin, role=reps, object_type=ACCOUNT, field="cf.region_code", rule="hidden"
        )
    assert caught.value.error_dict["rule"][0].code == "required_field"
    field = CustomField.objects.get(key="region_code")
    fields.custom_field_update(actor=admin, field=field, default="CN-31")
    field_rule_set(
        actor=admin, role=reps, object_type=ACCOUNT, field="cf.region_code", rule="hidden"
    )
    # With a default, a member adds an account: the hidden field takes its default.
    client.force_login(book["rep"])
    response = client.post(
        reverse("customers:account_create"),
        {"name": "新客户", "tier": "C", "lifecycle_stage": "prospect"},
    )
    assert response.status_code == 302
    assert Account.objects.get(name="新客户").custom["region_code"] == "CN-31"


# --- the editors: page, API, CLI -----------------------------------------------------------


def test_role_page_offers_custom_fields_with_both_labels(client, book):
    reps = Role.objects.get(code="sales_rep")
    client.force_login(book["admin"])
    url = reverse("identity:role_detail", args=[reps.pk])
    page = client.get(url).content.decode()
    row = re.search(r'<tr data-rule-field="cf.segment">.*?</tr>', page, re.S).group(0)
    assert "细分 / Segment" in row and "cf.segment" in row
    assert 'name="rule:customers.account:cf.segment"' in row
    budget = re.search(r'<tr data-rule-field="cf.budget">.*?</tr>', page, re.S).group(0)
    assert re.search(r'<option value="hidden" selected>', budget)
    assert 'data-rule-field="phone"' in page  # the standard fields are still there
    response = client.post(
        url, {"section": "fields", "rule:customers.account:cf.segment": "masked"}
    )
    assert response.status_code == 302
    rule = FieldRule.objects.get(role=reps, object_type=ACCOUNT, field="cf.segment")
    assert rule.rule == "masked"


def test_role_api_lists_and_sets_custom_field_rules(book):
    api = _api(book["admin"])
    response = api.get("/api/v1/roles/rule-fields/", {"object_type": ACCOUNT})
    offered = response.json()
    by_field = {entry["field"]: entry for entry in offered}
    assert by_field["cf.segment"] == {
        "object_type": ACCOUNT,
        "field": "cf.segment",
        # In the answer's language.
        "label": "Segment" if response["Content-Language"].startswith("en") else "细分",
        "label_zh": "细分",
        "label_en": "Segment",
        "custom": True,
    }
    assert by_field["phone"]["custom"] is False
    assert {entry["object_type"] for entry in offered} == {ACCOUNT}
    reps = Role.objects.get(code="sales_rep")
    url = f"/api/v1/roles/{reps.pk}/field-rules/"
    response = api.post(
        url, {"object_type": ACCOUNT, "field": "cf.segment", "rule": "hidden"}, format="json"
    )
    assert response.status_code == 200
    assert {"object_type": ACCOUNT, "field": "cf.segment", "rule": "hidden"} in response.json()[
        "field_rules"
    ]
    response = api.post(
        url, {"object_type": ACCOUNT, "field": "cf.nothing", "rule": "hidden"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["field"][0]["code"] == "invalid"
    # Reading the catalogue needs the roles grant, like the roles themselves.
    assert _api(book["rep"]).get("/api/v1/roles/rule-fields/").status_code == 403


def test_role_cli_lists_and_sets_custom_field_rules(book):
    from io import StringIO

    from django.core.management import CommandError, call_command

    def run(*args: str) -> str:
        out = StringIO()
        with translation.override("en"):
            call_command(*args, stdout=out)
        return out.getvalue()

    listing = run("role", "fields", ACCOUNT)
    segment = next(line for line in listing.splitlines() if "cf.segment" in line)
    assert "细分" in segment and "Segment" in segment
    run("role", "field-rule", "sales_rep", ACCOUNT, "cf.segment", "masked")
    reps = Role.objects.get(code="sales_rep")
    assert FieldRule.objects.get(role=reps, field="cf.segment").rule == "masked"
    shown = run("role", "show", "sales_rep")
    assert re.search(r"cf\.budget\s+Budget\s+Hidden", shown)
    run("role", "field-rule", "sales_rep", ACCOUNT, "cf.segment", "none")
    assert not FieldRule.objects.filter(role=reps, field="cf.segment").exists()
    with pytest.raises(CommandError, match=r"^field: "):
        run("role", "field-rule", "sales_rep", ACCOUNT, "cf.nothing", "hidden")


# --- where values leave the server ---------------------------------------------------------


def test_detail_page_leaves_out_hidden_and_masks_masked(client, book):
    account = book["account"]
    client.force_login(book["rep"])
    with translation.override("en"):
        page = client.get(reverse("customers:account_detail", args=[account.pk])).content.decode()
    assert 'data-field="custom.segment"' in page  # no rule: shown
    assert 'data-field="custom.budget"' not in page
    assert "Budget" not in page and str(BUDGET) not in page
    assert 'data-field="custom.wechat_id"' in page
    assert WECHAT_MASKED in page and WECHAT not in page
    # The timeline: the interaction's hidden field is not shown either.
    assert "拜访纪要" in page and "Mood" not in page and "Angry" not in page
    client.force_login(book["admin"])
    with translation.override("en"):
        page = client.get(reverse("customers:account_detail", args=[account.pk])).content.decode()
    assert str(BUDGET) in page and WECHAT in page and "Angry" in page


def test_list_columns_follow_the_rules(client, book):
    client.force_login(book["rep"])
    url = reverse("customers:account_list")
    response = client.get(url, {"col": ["", "cf.budget", "cf.wechat_id", "cf.segment"]})
    body = response.content.decode()
    assert 'data-column="cf.budget"' not in body and str(BUDGET) not in body
    assert '<th data-column="cf.wechat_id"' in body
    assert WECHAT_MASKED in body and WECHAT not in body
    assert '<th data-column="cf.segment"' in body


def test_column_chooser_and_filter_builder_do_not_offer_the_hidden_field(client, book):
    from tests.customers.test_lists import builder_config

    client.force_login(book["rep"])
    response = client.get(reverse("customers:account_list"))
    body = response.content.decode()
    assert 'value="cf.segment"' in body  # offered in the column chooser
    assert 'value="cf.budget"' not in body
    offered = {field["name"]: field for field in builder_config(response)["fields"]}
    assert "cf.budget" not in offered
    assert offered["cf.wechat_id"]["ops"] == ["empty", "not empty"]


def test_filtering_on_a_hidden_field_reads_as_an_unknown_field(client, book):
    rep = book["rep"]
    with translation.override("en"):
        messages = {}
        for name in ("cf.budget", "cf.nothing"):
            with pytest.raises(filterlang.FilterError) as caught:
                apply_filter(Account.objects.all(), rep, ACCOUNT, f"{name} > 1")
            messages[name] = caught.value.message_dict["filter"]
    assert messages["cf.budget"] == [
        message.replace("cf.nothing", "cf.budget") for message in messages["cf.nothing"]
    ]
    assert messages["cf.budget"] == ["There is no field “cf.budget” to filter on."]
    # The list page and the API say the same, and show nothing.
    client.force_login(rep)
    with translation.override("en"):
        body = client.get(
            reverse("customers:account_list"), {"filter": f"cf.budget = {BUDGET}"}
        ).content.decode()
    assert "There is no field “cf.budget” to filter on." in body
    assert f'data-account="{book["account"].pk}"' not in body
    api = _api(rep)
    for name in ("cf.budget", "cf.nothing"):
        response = api.get("/api/v1/accounts/", {"filter": f"{name} = 1"})
        assert response.status_code == 400
        assert [e["code"] for e in response.json()["error"]["fields"]["filter"]] == [
            "unknown_field"
        ]
    # The administrator, under no rule, filters on it.
    found = apply_filter(Account.objects.all(), book["admin"], ACCOUNT, f"cf.budget = {BUDGET}")
    assert list(found) == [book["account"]]


def test_a_masked_field_is_filtered_only_by_emptiness(book):
    rep = book["rep"]
    with translation.override("en"), pytest.raises(filterlang.FilterError) as caught:
        list(apply_filter(Account.objects.all(), rep, ACCOUNT, f"cf.wechat_id = {WECHAT}"))
    assert "masked for you" in caught.value.message_dict["filter"][0]
    found = apply_filter(Account.objects.all(), rep, ACCOUNT, "cf.wechat_id is not empty")
    assert list(found) == [book["account"]]
    assert not apply_filter(Account.objects.all(), rep, ACCOUNT, "cf.wechat_id is empty").exists()


def test_api_output_leaves_out_hidden_and_masks_masked(book):
    account = book["account"]
    body = _api(book["rep"]).get(f"/api/v1/accounts/{account.pk}/").json()
    assert body["custom"] == {"wechat_id": WECHAT_MASKED, "segment": "smb"}
    listed = _api(book["rep"]).get("/api/v1/accounts/").json()["results"]
    assert [row["custom"] for row in listed] == [{"wechat_id": WECHAT_MASKED, "segment": "smb"}]
    note = _api(book["rep"]).get(f"/api/v1/interactions/{book['note'].pk}/").json()
    assert note["custom"] == {}
    full = _api(book["admin"]).get(f"/api/v1/accounts/{account.pk}/").json()
    assert full["custom"] == {"budget": BUDGET, "wechat_id": WECHAT, "segment": "smb"}


def test_history_leaves_out_hidden_and_masks_masked(client, book):
    account = book["account"]
    services.account_update(
        actor=book["admin"],
        account=account,
        custom={"budget": BUDGET + 1, "wechat_id": "wxid_hanmeimei", "segment": "ent"},
    )
    client.force_login(book["rep"])
    with translation.override("en"):
        page = client.get(reverse("customers:account_history", args=[account.pk])).content.decode()
    assert "Segment" in page  # no rule: its change is shown
    assert "Budget" not in page and str(BUDGET + 1) not in page and str(BUDGET) not in page
    assert "WeChat ID" in page
    assert "wxid_hanmeimei" not in page and WECHAT not in page
    assert policy.mask_value("wxid_hanmeimei") in page


# --- edits keep what the user cannot see ---------------------------------------------------


def test_edit_form_leaves_out_hidden_and_locks_masked_and_keeps_both(client, book):
    account = book["account"]
    client.force_login(book["rep"])
    url = reverse("customers:account_edit", args=[account.pk])
    form = client.get(url).content.decode()
    assert 'name="custom.budget"' not in form and str(BUDGET) not in form
    masked = re.search(r'<input[^>]*name="custom.wechat_id"[^>]*>', form).group(0)
    assert "disabled" in masked and f'value="{WECHAT_MASKED}"' in masked
    assert WECHAT not in form
    response = client.post(
        url,
        {
            "name": "改了名字的客户",
            "tier": account.tier,
            "lifecycle_stage": account.lifecycle_stage,
            "custom.segment": "ent",
            # What a tampered form could send: neither is a field the user may change.
            "custom.budget": "1",
            "custom.wechat_id": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    account.refresh_from_db()
    assert account.name == "改了名字的客户"
    assert account.custom == {"budget": BUDGET, "wechat_id": WECHAT, "segment": "ent"}


def test_editing_an_interaction_keeps_its_hidden_value(client, book):
    note = book["note"]
    client.force_login(book["rep"])
    url = reverse("customers:interaction_edit", args=[note.pk])
    assert 'name="custom.mood"' not in client.get(url).content.decode()
    response = client.post(
        url,
        {
            "subject": "新的纪要",
            "occurred_at": timezone.localtime(note.occurred_at).strftime("%Y-%m-%dT%H:%M"),
            "custom.mood": "calm",
        },
    )
    assert response.status_code == 302
    note = Interaction.objects.get(pk=note.pk)
    assert note.subject == "新的纪要" and note.custom == {"mood": "angry"}


def test_an_api_write_cannot_touch_a_hidden_or_masked_value(book):
    account = book["account"]
    api = _api(book["rep"])
    url = f"/api/v1/accounts/{account.pk}/"
    with translation.override("en"):
        # With a bad value beside it, so the errors reported together are compared too.
        response = api.patch(url, {"custom": {"budget": 1, "segment": "huge"}}, format="json")
        unknown = api.patch(url, {"custom": {"nothing": 1, "segment": "huge"}}, format="json")
    assert response.status_code == unknown.status_code == 400
    # Told exactly what an unknown key is told: the field's existence does not leak.
    assert response.json() == json.loads(json.dumps(unknown.json()).replace("nothing", "budget"))
    assert [e["code"] for e in response.json()["error"]["fields"]["custom.budget"]] == [
        "unknown_field"
    ]
    response = api.patch(url, {"custom": {"wechat_id": "wxid_other"}}, format="json")
    assert response.status_code == 400
    assert [e["code"] for e in response.json()["error"]["fields"]["custom.wechat_id"]] == [
        "read_only"
    ]
    response = api.patch(url, {"custom": {"segment": "ent"}}, format="json")
    assert response.status_code == 200
    assert response.json()["custom"] == {"wechat_id": WECHAT_MASKED, "segment": "ent"}
    account.refresh_from_db()
    assert account.custom == {"budget": BUDGET, "wechat_id": WECHAT, "segment": "ent"}


def test_an_interaction_write_follows_its_rules_too(client, book):
    """The body and the custom values of an interaction: the API cannot overwrite a hidden
    value or change a read-only body, and the edit page neither shows nor sends them."""
    note, rep, admin = book["note"], book["rep"], book["admin"]
    Interaction.objects.filter(pk=note.pk).update(body="只有主管能看的内容")
    field_rule_set(
        actor=admin,
        role=Role.objects.get(code="sales_rep"),
        object_type=INTERACTION,
        field="body",
        rule="hidden",
    )
    api = _api(rep)
    url = f"/api/v1/interactions/{note.pk}/"
    response = api.patch(url, {"custom": {"mood": "calm"}}, format="json")
    assert response.status_code == 400
    assert [e["code"] for e in response.json()["error"]["fields"]["custom.mood"]] == [
        "unknown_field"
    ]
    response = api.patch(url, {"body": "覆盖"}, format="json")
    assert response.status_code == 400
    assert [e["code"] for e in response.json()["error"]["fields"]["body"]] == ["read_only"]
    client.force_login(rep)
    edit = reverse("customers:interaction_edit", args=[note.pk])
    page = client.get(edit).content.decode()
    assert "只有主管能看的内容" not in page and 'name="body"' not in page
    response = client.post(
        edit,
        {
            "subject": "改了标题",
            "occurred_at": timezone.localtime(note.occurred_at).strftime("%Y-%m-%dT%H:%M"),
        },
    )
    assert response.status_code == 302
    note = Interaction.objects.get(pk=note.pk)
    assert (note.subject, note.body, note.custom) == (
        "改了标题",
        "只有主管能看的内容",
        {"mood": "angry"},
    )
