"""Configurable tiers and lifecycle stages: defaults, the service, the page, the API, the CLI,
and everything that offers or shows them (forms, filters, lists, the 360 page, conditions)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import translation
from rest_framework.test import APIClient

from rapport.audit.models import AuditEvent
from rapport.core.errors import PermissionDenied
from rapport.customers import options
from rapport.customers import services as customer_services
from rapport.customers.forms import AccountForm
from rapport.customers.models import Account, AccountOption
from rapport.customers.services import options as option_services
from rapport.identity.services import token_create
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


def codes(field: str, *, active_only: bool = False) -> list[str]:
    return [item.code for item in options.options(field, active_only=active_only)]


def get(field: str, code: str) -> AccountOption:
    return AccountOption.objects.get(field=field, code=code)


def api_for(user) -> APIClient:
    _token, secret = token_create(actor=user, name="test")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer " + secret)
    return client


def test_an_organisation_starts_with_the_default_stages_and_tiers(org):
    assert codes("lifecycle_stage") == [
        "lead",
        "prospect",
        "customer",
        "active",
        "at_risk",
        "churned",
    ]
    assert codes("tier") == ["A", "B", "C"]
    assert (options.default("tier"), options.default("lifecycle_stage")) == ("C", "prospect")
    with translation.override("en"):
        assert options.label("lifecycle_stage", "at_risk") == "At risk"
    with translation.override("zh-hans"):
        assert options.label("lifecycle_stage", "at_risk") == "流失风险"


def test_ensure_defaults_keeps_codes_accounts_already_carry(org):
    AccountFactory(tier="D", lifecycle_stage="partner")
    AccountOption.objects.all().delete()
    created = options.ensure_defaults()
    assert created == 3 + 1 + 6 + 1
    with translation.override("en"):
        assert options.label("tier", "D") == "D — small"
        assert options.label("lifecycle_stage", "partner") == "Partner"
    assert options.ensure_defaults() == 0  # a field that has options is left alone


def test_admin_adds_a_stage_that_accounts_can_then_take(org):
    admin = org["admin"]
    won = option_services.option_create(
        actor=admin,
        field="lifecycle_stage",
        code="won",
        label="赢单",
        label_en="Won",
        colour="lime",
    )
    assert codes("lifecycle_stage")[-1] == "won"
    event = AuditEvent.objects.filter(object_type="customers.accountoption").latest("seq")
    assert (event.action, event.object_id, event.changes["code"]) == (
        "create",
        str(won.pk),
        [None, "won"],
    )
    account = customer_services.account_create(actor=admin, name="赢单公司", lifecycle_stage="won")
    assert account.lifecycle_stage == "won"
    with translation.override("en"):
        assert account.lifecycle_stage_label == "Won"
        form = AccountForm(user=admin)
        assert ("won", "Won") in form.fields["lifecycle_stage"].choices


@pytest.mark.parametrize(
    ("values", "field", "code"),
    [
        ({"code": "", "label": "x"}, "code", "required"),
        ({"code": "有 空格", "label": "x"}, "code", "invalid"),
        ({"code": "a" * 21, "label": "x"}, "code", "max_length"),
        ({"code": "A", "label": "x"}, "code", "duplicate"),
        ({"code": "gold", "label": ""}, "label", "required"),
        ({"code": "gold", "label": "金", "colour": "gold"}, "colour", "invalid_choice"),
        ({"code": "gold", "label": "金", "position": "first"}, "position", "invalid"),
        ({"code": "gold", "label": "金", "field": "industry"}, "field", "invalid_choice"),
    ],
)
def test_bad_input_names_the_field_and_stores_nothing(org, values, field, code):
    before = AccountOption.objects.count()
    with pytest.raises(ValidationError) as error:
        option_services.option_create(actor=org["admin"], **{"field": "tier", **values})
    assert [item.code for item in error.value.error_dict[field]] == [code]
    assert AccountOption.objects.count() == before
    assert not AuditEvent.objects.filter(object_type="customers.accountoption").exists()


def test_only_option_managers_change_them(org):
    with pytest.raises(PermissionDenied):
        option_services.option_create(actor=org["sales_manager"], field="tier", code="S", label="S")
    with pytest.raises(PermissionDenied):
        option_services.option_deactivate(actor=org["rep_sh"], option=get("tier", "B"))
    assert get("tier", "B").is_active


def test_a_new_default_replaces_the_old_one_and_new_accounts_get_it(org):
    admin = org["admin"]
    option_services.option_update(
        actor=admin, option=get("lifecycle_stage", "lead"), is_default=True
    )
    assert [
        o.code for o in AccountOption.objects.filter(is_default=True, field="lifecycle_stage")
    ] == ["lead"]
    assert customer_services.account_create(actor=admin, name="新线索").lifecycle_stage == "lead"
    with pytest.raises(ValidationError) as error:
        option_services.option_update(
            actor=admin, option=get("lifecycle_stage", "lead"), is_default=False
        )
    assert "is_default" in error.value.error_dict


def test_a_retired_option_is_kept_by_its_accounts_but_no_longer_offered(org):
    admin = org["admin"]
    keeper = customer_services.account_create(actor=admin, name="B级公司", tier="B")
    option_services.option_deactivate(actor=admin, option=get("tier", "B"))
    assert codes("tier", active_only=True) == ["A", "C"]
    # Its account keeps B, shows its label, and can be saved with B unchanged.
    keeper.refresh_from_db()
    with translation.override("en"):
        assert keeper.tier_label == "B — key"
        assert ("B", "B — key") in AccountForm(user=admin, account=keeper).fields["tier"].choices
        assert ("B", "B — key") not in AccountForm(user=admin).fields["tier"].choices
    customer_services.account_update(actor=admin, account=keeper, name="B级公司（改名）", tier="B")
    # No other account may move to it.
    other = customer_services.account_create(actor=admin, name="C级公司")
    with pytest.raises(ValidationError) as error:
        customer_services.account_update(actor=admin, account=other, tier="B")
    assert [item.code for item in error.value.error_dict["tier"]] == ["invalid_choice"]
    other.refresh_from_db()
    assert other.tier == "C"
    option_services.option_reactivate(actor=admin, option=get("tier", "B"))
    customer_services.account_update(actor=admin, account=other, tier="B")


def test_the_default_and_the_last_active_option_cannot_be_retired(org):
    admin = org["admin"]
    with pytest.raises(ValidationError) as error:
        option_services.option_deactivate(actor=admin, option=get("tier", "C"))
    assert [item.code for item in error.value.error_dict["is_active"]] == ["is_default"]
    option_services.option_deactivate(actor=admin, option=get("tier", "A"))
    option_services.option_deactivate(actor=admin, option=get("tier", "B"))
    assert codes("tier", active_only=True) == ["C"]


def test_moving_renumbers_in_one_step(org):
    admin = org["admin"]
    option_services.option_move(actor=admin, option=get("lifecycle_stage", "churned"), offset=-1)
    assert codes("lifecycle_stage")[-2:] == ["churned", "at_risk"]
    option_services.option_move(actor=admin, option=get("lifecycle_stage", "lead"), offset=-1)
    assert codes("lifecycle_stage")[0] == "lead"  # already first: stays
    positions = list(
        AccountOption.objects.filter(field="lifecycle_stage")
        .order_by("position")
        .values_list("position", flat=True)
    )
    assert positions == [10, 20, 30, 40, 50, 60]


def test_a_relabelled_tier_shows_on_the_list_and_the_360_page(client, org):
    admin = org["admin"]
    account = customer_services.account_create(actor=admin, name="标签公司", tier="A")
    option_services.option_update(
        actor=admin, option=get("tier", "A"), label="钻石客户", label_en="Diamond"
    )
    client.force_login(admin)
    type(admin).objects.filter(pk=admin.pk).update(language="en")
    detail = client.get(reverse("customers:account_detail", args=[account.pk]))
    assert "Diamond" in detail.content.decode()
    type(admin).objects.filter(pk=admin.pk).update(language="zh-hans")
    listing = client.get(reverse("customers:account_list"))
    assert "钻石客户" in listing.content.decode()


def test_filters_and_grant_conditions_use_the_configured_options(client, org):
    admin = org["admin"]
    option_services.option_create(
        actor=admin, field="tier", code="S", label="超级", label_en="Super"
    )
    customer_services.account_create(actor=admin, name="超级公司", tier="S")
    customer_services.account_create(actor=admin, name="普通公司", tier="C")
    client.force_login(admin)
    response = client.get(reverse("customers:account_list"), {"filter": "tier = S"})
    assert "超级公司" in response.content.decode() and "普通公司" not in response.content.decode()
    response = client.get(reverse("customers:account_list"), {"tier": "S"})
    assert "超级公司" in response.content.decode() and "普通公司" not in response.content.decode()
    api = api_for(admin)
    assert [
        row["name"] for row in api.get("/api/v1/accounts/", {"tier": "S"}).json()["results"]
    ] == ["超级公司"]
    assert api.get("/api/v1/accounts/", {"tier": "Z"}).status_code == 400
    # A role may be narrowed to the new tier.
    from rapport.identity import services as identity_services
    from rapport.identity.models import Role

    identity_services.grant_set(
        actor=admin,
        role=Role.objects.get(code="finance"),
        object_type="customers.account",
        action="view",
        scope="all",
        conditions={"tier": ["S"]},
    )
    assert set(Account.objects.restrict(org["finance"], "view").values_list("name", flat=True)) == {
        "超级公司"
    }


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_administration_page_adds_edits_and_retires(client, org, language):
    type(org["admin"]).objects.filter(pk=org["admin"].pk).update(language=language)
    client.force_login(org["admin"])
    url = reverse("customers:option_list")
    page = client.get(url)
    body = page.content.decode()
    assert page.status_code == 200
    assert 'data-testid="options-lifecycle_stage"' in body and 'data-testid="options-tier"' in body
    assert ("Tiers and stages" if language == "en" else "客户等级与阶段") in body
    # A bad code is shown beside its field; nothing is stored.
    response = client.post(
        url,
        {"section": "tier", "tier-code": "有 空格", "tier-label": "金", "tier-colour": "yellow"},
    )
    assert response.status_code == 200
    assert 'data-field-error="code"' in response.content.decode()
    assert not AccountOption.objects.filter(label="金").exists()
    response = client.post(
        url,
        {
            "section": "tier",
            "tier-code": "gold",
            "tier-label": "金牌",
            "tier-label_en": "Gold",
            "tier-colour": "yellow",
        },
    )
    assert response.status_code == 302
    gold = get("tier", "gold")
    assert (gold.label, gold.colour, gold.is_active) == ("金牌", "yellow", True)
    response = client.post(
        reverse("customers:option_edit", args=[gold.pk]),
        {
            "label": "金牌客户",
            "label_en": "Gold",
            "colour": "orange",
            "position": "5",
            "is_default": "on",
        },
    )
    assert response.status_code == 302
    gold.refresh_from_db()
    assert (gold.label, gold.position, gold.is_default) == ("金牌客户", 5, True)
    assert codes("tier")[0] == "gold"
    client.post(reverse("customers:option_move", args=[gold.pk, "down"]))
    assert codes("tier")[:2] == ["A", "gold"]
    response = client.post(
        reverse("customers:option_deactivate", args=[get("tier", "B").pk]), follow=True
    )
    assert not get("tier", "B").is_active
    client.post(reverse("customers:option_reactivate", args=[get("tier", "B").pk]))
    assert get("tier", "B").is_active


def test_the_page_is_for_option_managers_only(client, org):
    client.force_login(org["sales_manager"])
    assert client.get(reverse("customers:option_list")).status_code == 403
    assert (
        client.post(reverse("customers:option_deactivate", args=[get("tier", "A").pk])).status_code
        == 403
    )
    assert get("tier", "A").is_active
    client.force_login(org["admin"])
    assert (
        'data-testid="admin-tab-options"'
        in client.get(reverse("identity:tag_list")).content.decode()
    )


def test_the_api_lists_to_everyone_and_changes_for_managers(org):
    rep = api_for(org["rep_sh"])
    listed = rep.get("/api/v1/account-options/", {"field": "tier"}).json()["results"]
    assert [row["code"] for row in listed] == ["A", "B", "C"]
    assert (
        rep.post(
            "/api/v1/account-options/", {"field": "tier", "code": "S", "label": "S"}, format="json"
        ).status_code
        == 403
    )
    admin = api_for(org["admin"])
    response = admin.post(
        "/api/v1/account-options/",
        {"field": "lifecycle_stage", "code": "won", "label": "赢单", "label_en": "Won"},
        format="json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 201, response.content
    won = response.json()
    assert (won["code"], won["display_label"], won["is_active"]) == ("won", "Won", True)
    response = admin.post(
        "/api/v1/account-options/", {"field": "tier", "code": "A", "label": "x"}, format="json"
    )
    assert response.status_code == 400
    assert [item["code"] for item in response.json()["error"]["fields"]["code"]] == ["duplicate"]
    response = admin.patch(
        f"/api/v1/account-options/{won['id']}/", {"colour": "lime"}, format="json"
    )
    assert response.json()["colour"] == "lime"
    response = admin.post(
        f"/api/v1/account-options/{won['id']}/move/", {"direction": "up"}, format="json"
    )
    assert codes("lifecycle_stage")[-2:] == ["won", "churned"]
    prospect = get("lifecycle_stage", "prospect")
    response = admin.post(f"/api/v1/account-options/{prospect.pk}/deactivate/")
    assert response.status_code == 400  # the default
    response = admin.post(f"/api/v1/account-options/{won['id']}/deactivate/")
    assert response.json()["is_active"] is False
    # The bulk stage change takes configured codes and refuses retired ones.
    account = customer_services.account_create(actor=org["admin"], name="批量公司")
    response = admin.post(
        "/api/v1/accounts/bulk-stage/",
        {"ids": [account.pk], "lifecycle_stage": "won"},
        format="json",
    )
    assert response.status_code == 400
    response = admin.post(
        "/api/v1/accounts/bulk-stage/",
        {"ids": [account.pk], "lifecycle_stage": "churned"},
        format="json",
    )
    assert response.status_code == 200, response.content


def test_the_cli_lists_adds_and_retires(org):
    out = StringIO()
    call_command(
        "stage",
        "add",
        "won",
        "--label",
        "赢单",
        "--label-en",
        "Won",
        "--colour",
        "lime",
        "--as",
        "admin",
        stdout=out,
    )
    assert "won" in out.getvalue()
    out = StringIO()
    call_command("stage", "list", "--as", "rep_sh", stdout=out)
    assert out.getvalue().splitlines()[-1].split()[0] == "won"
    call_command("stage", "retire", "won", "--as", "admin", stdout=StringIO())
    assert not get("lifecycle_stage", "won").is_active
    with pytest.raises(CommandError, match="code"):
        call_command("tier", "add", "有 空格", "--label", "x", "--as", "admin", stdout=StringIO())
    with pytest.raises(CommandError):
        call_command("tier", "add", "S", "--label", "S", "--as", "rep_sh", stdout=StringIO())
    assert not AccountOption.objects.filter(code="S").exists()
