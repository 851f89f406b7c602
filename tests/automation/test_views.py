"""The rule designer pages: who may use them, building a rule through the form (trigger,
condition, ordered actions), validation beside the field with nothing stored, on/off,
order, the run log with the dry run, the 360 card, and flat query counts."""

from __future__ import annotations

import html
import re

import pytest
from django.urls import reverse
from django.utils import translation

from rapport.automation import services
from rapport.automation.models import Rule, RuleRun, RuleVersion, RunState
from rapport.customers import services as customer_services
from rapport.customers.models import Interaction, InteractionKind
from rapport.identity.models import Team
from tests.factories import AccountFactory, ContactFactory
from tests.query_counts import assert_flat

pytestmark = pytest.mark.django_db

ACCOUNT = "customers.account"


def english(user):
    user.language = "en"
    user.save(update_fields=["language"])
    return user


def tier_a_post(team: Team, **changes) -> dict:
    """The issue's rule as the designer posts it."""
    data = {
        "op": "save",
        "name": "A 级客户交给大客户组",
        "name_en": "Tier A accounts to key accounts",
        "object_type": ACCOUNT,
        "trigger": "updated",
        "watch_field": "tier",
        "watch_to": "A",
        "filter": "",
        "is_active": "on",
        "action_count": "2",
        "a0-kind": "assign_owner",
        "a0-mode": "team",
        "a0-team": str(team.pk),
        "a1-kind": "create_task",
        "a1-subject": "欢迎电话",
        "a1-due_in_days": "2",
        "a1-assignee": "owner",
        "a1-priority": "normal",
    }
    data.update(changes)
    return {name: value for name, value in data.items() if value is not None}


def make_rule(admin, **values) -> Rule:
    values.setdefault("name", "测试规则")
    values.setdefault("object_type", ACCOUNT)
    values.setdefault("trigger", "updated")
    values.setdefault("actions", [{"type": "create_task", "subject": "跟进"}])
    return services.rule_create(actor=admin, **values)


@pytest.fixture
def key_accounts(org) -> Team:
    return Team.objects.get(name="Key accounts")


@pytest.fixture
def admin_client(client, org):
    client.force_login(english(org["admin"]))
    return client


def test_the_pages_are_for_rule_administrators_only(client, org):
    rule = make_rule(org["admin"])
    run = services.rule_dry_run(
        actor=org["admin"], rule=rule, record_id=AccountFactory(owner=org["rep_sh"]).pk
    )
    client.force_login(org["sales_manager"])
    for url in (
        reverse("automation:rule_list"),
        reverse("automation:rule_create"),
        reverse("automation:rule_detail", args=[rule.pk]),
        reverse("automation:rule_edit", args=[rule.pk]),
        reverse("automation:run_detail", args=[run.pk]),
    ):
        assert client.get(url).status_code == 403, url
    for url in (
        reverse("automation:rule_toggle", args=[rule.pk]),
        reverse("automation:rule_move", args=[rule.pk, "up"]),
        reverse("automation:rule_retire", args=[rule.pk]),
        reverse("automation:rule_dry_run", args=[rule.pk]),
    ):
        assert client.post(url, {"active": "on", "record": "1"}).status_code == 403, url
    rule.refresh_from_db()
    assert (rule.is_active, rule.retired_at, rule.version) == (False, None, 1)
    assert (
        client.post(
            reverse("automation:rule_create"), tier_a_post(Team.objects.first())
        ).status_code
        == 403
    )
    assert Rule.objects.count() == 1
    # Nobody signed in: to the sign-in page.
    client.logout()
    assert client.get(reverse("automation:rule_list")).status_code == 302


def test_unknown_or_deleted_rules_are_not_found(admin_client, org):
    rule = make_rule(org["admin"])
    services.rule_retire(actor=org["admin"], rule=rule)
    assert admin_client.get(reverse("automation:rule_edit", args=[rule.pk])).status_code == 404
    assert admin_client.get(reverse("automation:rule_edit", args=[99999])).status_code == 404
    assert admin_client.get(reverse("automation:run_detail", args=[99999])).status_code == 404
    assert (
        admin_client.post(
            reverse("automation:rule_toggle", args=[rule.pk]), {"active": "on"}
        ).status_code
        == 404
    )


def test_the_navigation_offers_automation_to_rule_administrators(client, org):
    client.force_login(english(org["admin"]))
    assert reverse("automation:rule_list") in client.get(reverse("web:home")).content.decode()
    client.force_login(english(org["rep_sh"]))
    assert reverse("automation:rule_list") not in client.get(reverse("web:home")).content.decode()


def test_an_administrator_builds_the_tier_a_rule_and_it_fires(
    admin_client, org, key_accounts, eager, django_capture_on_commit_callbacks
):
    page = admin_client.get(reverse("automation:rule_create"))
    body = page.content.decode()
    assert page.status_code == 200
    assert "data-filter-builder" in body and 'name="filter"' in body
    for kind in ("assign_owner", "create_task", "update_fields", "add_tags", "notify"):
        assert f'value="{kind}"' in body
    response = admin_client.post(reverse("automation:rule_create"), tier_a_post(key_accounts))
    rule = Rule.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("automation:rule_detail", args=[rule.pk])
    assert (rule.name, rule.name_en, rule.is_active) == (
        "A 级客户交给大客户组",
        "Tier A accounts to key accounts",
        True,
    )
    assert rule.trigger_config == {"field": "tier", "to": "A"}
    assert rule.condition == {"and": []}
    assert rule.actions == [
        {"type": "assign_owner", "round_robin": {"team": key_accounts.pk}},
        {
            "type": "create_task",
            "subject": "欢迎电话",
            "due_in_days": 2,
            "assignee": "owner",
            "priority": "normal",
        },
    ]
    account = AccountFactory(owner=org["rep_east"], tier="C")
    with django_capture_on_commit_callbacks(execute=True):
        customer_services.account_update(actor=org["rep_east"], account=account, tier="A")
    account.refresh_from_db()
    assert account.owner_id in {org["cm"].pk, org["rep_sh"].pk}
    task = Interaction.objects.get(account=account, kind=InteractionKind.TASK)
    assert task.subject == "欢迎电话"
    detail = admin_client.get(reverse("automation:rule_detail", args=[rule.pk])).content.decode()
    assert f'data-run-state="{RunState.SUCCEEDED}"' in detail
    assert "Record updated: Tier changes to A" in detail


def test_the_form_shows_an_edited_rule_and_saves_a_new_version(admin_client, org, key_accounts):
    rule = make_rule(
        org["admin"],
        condition="province = 上海市",
        actions=[
            {"type": "assign_owner", "round_robin": {"team": key_accounts.pk}},
            {"type": "update_fields", "values": {"tier": "A"}},
        ],
    )
    body = admin_client.get(reverse("automation:rule_edit", args=[rule.pk])).content.decode()
    assert "province = 上海市" in body
    assert 'data-action-kind="assign_owner"' in body and 'data-action-kind="update_fields"' in body
    data = {
        "op": "save",
        "name": "新名字",
        "name_en": "",
        "object_type": ACCOUNT,
        "trigger": "stage_changed",
        "stage_to": "customer",
        "filter": "province = 上海市",
        "action_count": "1",
        "a0-kind": "update_fields",
        "a0-rows": "3",
        "a0-field_0": "tier",
        "a0-value_0": "B",
        "a0-field_1": "",
        "a0-value_1": "",
    }
    response = admin_client.post(reverse("automation:rule_edit", args=[rule.pk]), data)
    assert response.status_code == 302
    rule.refresh_from_db()
    assert (rule.name, rule.trigger, rule.trigger_config, rule.version) == (
        "新名字",
        "stage_changed",
        {"to": "customer"},
        2,
    )
    assert rule.actions == [{"type": "update_fields", "values": {"tier": "B"}}]
    assert RuleVersion.objects.filter(rule=rule).count() == 2
    detail = admin_client.get(reverse("automation:rule_detail", args=[rule.pk])).content.decode()
    assert 'data-version="2"' in detail and 'data-version="1"' in detail
    detail = html.unescape(detail)
    assert '"name": "新名字"' in detail and '"name": "测试规则"' in detail


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"name": ""}, "name", "Give the rule a name."),
        ({"filter": "cf.deleted_field = 3"}, "filter", "There is no field “cf.deleted_field”"),
        ({"filter": "tier = ("}, "filter", ""),
        ({"trigger": "schedule", "cron": "every day"}, "cron", "is not a valid cron expression"),
        ({"trigger": "event", "topic": "nope"}, "topic", "Name the event"),
        (
            {"trigger": "date_reached", "date_field": "", "offset_days": "x"},
            "offset_days",
            "whole number",
        ),
        ({"a0-team": ""}, "a0-team", "There is no team"),
        ({"a0-mode": "user", "a0-user": ""}, "a0-user", "There is no user"),
        ({"a1-subject": ""}, "a1-subject", "Enter a subject."),
        ({"a1-due_in_days": "-4"}, "a1-due_in_days", "whole number between 0 and"),
        ({"action_count": "0"}, "actions", "Add at least one action."),
    ],
)
def test_bad_input_is_shown_beside_its_field_and_nothing_is_stored(
    admin_client, org, key_accounts, changes, field, message
):
    response = admin_client.post(
        reverse("automation:rule_create"), tier_a_post(key_accounts, **changes)
    )
    assert response.status_code == 400
    body = response.content.decode()
    if re.match(r"^a\d-", field):  # an action's field: beside it, in that action's block
        index, name = field[1], field[3:]
        block = body[body.index(f'data-action="{index}"') :]
        block = block[: block.index("</fieldset>")]
        assert f'data-field-error="{name}"' in block
        assert message in block
    else:
        assert f'data-field-error="{field}"' in body
        assert message in body
    assert not Rule.objects.exists() and not RuleVersion.objects.exists()
    # What was typed is still there.
    assert "Tier A accounts to key accounts" in body


def test_errors_are_localized(client, org, key_accounts):
    admin = org["admin"]
    admin.language = "zh-hans"
    admin.save(update_fields=["language"])
    client.force_login(admin)
    response = client.post(reverse("automation:rule_create"), tier_a_post(key_accounts, name=""))
    assert response.status_code == 400
    with translation.override("zh-hans"):
        expected = translation.gettext("Give the rule a name.")
    assert expected in response.content.decode()


def test_adding_removing_and_moving_actions_stores_nothing(admin_client, org, key_accounts):
    url = reverse("automation:rule_create")
    data = tier_a_post(key_accounts, op="add", add_kind="notify")
    body = admin_client.post(url, data).content.decode()
    kinds = re.findall(r'data-action-kind="([a-z_]+)"', body)
    assert kinds == ["assign_owner", "create_task", "notify"]
    assert 'value="欢迎电话"' in body  # what was typed stays
    body = admin_client.post(url, tier_a_post(key_accounts, op="up:1")).content.decode()
    assert re.findall(r'data-action-kind="([a-z_]+)"', body) == ["create_task", "assign_owner"]
    assert 'name="a0-subject"' in body and 'value="欢迎电话"' in body
    body = admin_client.post(url, tier_a_post(key_accounts, op="remove:0")).content.decode()
    assert re.findall(r'data-action-kind="([a-z_]+)"', body) == ["create_task"]
    assert 'name="a0-subject"' in body
    assert not Rule.objects.exists()


def test_toggle_and_move_through_the_list(admin_client, org):
    admin = org["admin"]
    first, second = make_rule(admin, name="甲"), make_rule(admin, name="乙")
    listing = admin_client.get(reverse("automation:rule_list")).content.decode()
    assert re.findall(r'data-rule-row="(\d+)"', listing) == [str(first.pk), str(second.pk)]
    admin_client.post(reverse("automation:rule_toggle", args=[first.pk]), {"active": "on"})
    first.refresh_from_db()
    assert first.is_active
    admin_client.post(reverse("automation:rule_toggle", args=[first.pk]), {"active": "off"})
    first.refresh_from_db()
    assert not first.is_active
    admin_client.post(reverse("automation:rule_move", args=[second.pk, "up"]))
    listing = admin_client.get(reverse("automation:rule_list")).content.decode()
    assert re.findall(r'data-rule-row="(\d+)"', listing) == [str(second.pk), str(first.pk)]
    admin_client.post(reverse("automation:rule_retire", args=[first.pk]))
    listing = admin_client.get(reverse("automation:rule_list")).content.decode()
    assert re.findall(r'data-rule-row="(\d+)"', listing) == [str(second.pk)]


def test_a_rule_that_no_longer_validates_cannot_be_turned_on(admin_client, org):
    rule = make_rule(org["admin"])
    Rule.objects.filter(pk=rule.pk).update(condition={"field": "cf.gone", "op": "=", "value": 1})
    response = admin_client.post(
        reverse("automation:rule_toggle", args=[rule.pk]), {"active": "on"}, follow=True
    )
    assert "There is no field “cf.gone”" in response.content.decode()
    rule.refresh_from_db()
    assert not rule.is_active


def test_the_dry_run_shows_what_would_happen_and_changes_nothing(admin_client, org, key_accounts):
    rule = make_rule(
        org["admin"],
        trigger_config={"field": "tier", "to": "A"},
        actions=[{"type": "update_fields", "values": {"city": "苏州市"}}],
    )
    account = AccountFactory(owner=org["rep_sh"], tier="A", city="上海市")
    response = admin_client.post(
        reverse("automation:rule_dry_run", args=[rule.pk]), {"record": str(account.pk)}, follow=True
    )
    body = response.content.decode()
    assert "holds: the rule would run" in body
    assert "苏州市" in body and "上海市" in body
    account.refresh_from_db()
    assert account.city == "上海市"
    run = RuleRun.objects.get(rule=rule)
    assert run.state == RunState.DRY_RUN
    # A record that does not exist (or cannot be seen) is said so; nothing is logged.
    response = admin_client.post(
        reverse("automation:rule_dry_run", args=[rule.pk]), {"record": "999999"}, follow=True
    )
    assert "There is no record 999999" in response.content.decode()
    assert RuleRun.objects.filter(rule=rule).count() == 1


def test_the_run_log_filters_by_state_and_record(admin_client, org):
    rule = make_rule(org["admin"])
    first, second = AccountFactory(owner=org["rep_sh"]), AccountFactory(owner=org["rep_sh"])
    for account in (first, second):
        services.rule_dry_run(actor=org["admin"], rule=rule, record_id=account.pk)
    url = reverse("automation:rule_detail", args=[rule.pk])
    body = admin_client.get(url, {"record": str(first.pk)}).content.decode()
    assert body.count("data-run=") == 1
    body = admin_client.get(url, {"state": "failed"}).content.decode()
    assert body.count("data-run=") == 0 and 'data-testid="runs-empty"' in body


def test_the_360_card_lists_runs_and_names_rules_only_to_administrators(
    client, org, key_accounts, eager, django_capture_on_commit_callbacks
):
    rule = make_rule(
        org["admin"],
        name="机密规则",
        trigger_config={"field": "tier", "to": "A"},
        actions=[{"type": "create_task", "subject": "欢迎电话"}],
        is_active=True,
    )
    account = AccountFactory(owner=org["rep_sh"], tier="C")
    with django_capture_on_commit_callbacks(execute=True):
        customer_services.account_update(actor=org["rep_sh"], account=account, tier="A")
    assert RuleRun.objects.get(rule=rule).state == RunState.SUCCEEDED
    url = reverse("customers:account_detail", args=[account.pk])
    client.force_login(english(org["rep_sh"]))
    body = client.get(url).content.decode()
    assert 'data-testid="record-runs"' in body
    assert "An automation rule" in body and "机密规则" not in body
    client.force_login(english(org["admin"]))
    body = client.get(url).content.decode()
    assert "机密规则" in body
    # Someone who may not see the account sees neither it nor its runs.
    client.force_login(english(org["rep_south"]))
    assert client.get(url).status_code == 404
    # A contact without runs has no card.
    contact = ContactFactory(owner=org["rep_sh"])
    client.force_login(english(org["rep_sh"]))
    body = client.get(reverse("customers:contact_detail", args=[contact.pk])).content.decode()
    assert 'data-testid="record-runs"' not in body


def test_the_render_function_checks_visibility_itself(rf, org):
    from rapport.automation import panels

    account = AccountFactory(owner=org["rep_sh"])
    rule = make_rule(org["admin"])
    services.rule_dry_run(actor=org["admin"], rule=rule, record_id=account.pk)
    RuleRun.objects.filter(rule=rule).update(state=RunState.SUCCEEDED)
    request = rf.get("/")
    request.user = org["rep_south"]
    assert panels.render_runs(request, account) == ""
    request.user = org["rep_sh"]
    assert "record-runs" in panels.render_runs(request, account)


def test_the_rule_list_costs_the_same_for_many_rules(admin_client, org):
    admin = org["admin"]

    def grow(n):
        for index in range(n):
            rule = make_rule(admin, name=f"规则{Rule.objects.count()}-{index}")
            services.rule_dry_run(
                actor=admin, rule=rule, record_id=AccountFactory(owner=org["rep_sh"]).pk
            )

    assert_flat(
        admin_client,
        reverse("automation:rule_list"),
        grow,
        few=2,
        many=12,
        rows=lambda body: body.count("data-rule-row="),
    )


def test_the_rule_page_costs_the_same_for_many_runs(admin_client, org):
    admin = org["admin"]
    rule = make_rule(admin)
    account = AccountFactory(owner=org["rep_sh"])

    def grow(n):
        for _index in range(n):
            services.rule_dry_run(actor=admin, rule=rule, record_id=account.pk)
            services.rule_update(actor=admin, rule=rule, name=f"名{RuleRun.objects.count()}")

    assert_flat(
        admin_client,
        reverse("automation:rule_detail", args=[rule.pk]),
        grow,
        few=2,
        many=12,
        rows=lambda body: body.count("data-run="),
    )


def test_the_account_page_costs_the_same_for_many_runs(client, org):
    admin = english(org["admin"])
    client.force_login(admin)
    rule = make_rule(admin)
    account = AccountFactory(owner=org["rep_sh"])

    def grow(n):
        for _index in range(n):
            services.rule_dry_run(actor=admin, rule=rule, record_id=account.pk)
        RuleRun.objects.filter(rule=rule).update(state=RunState.SUCCEEDED)

    assert_flat(
        client,
        reverse("customers:account_detail", args=[account.pk]),
        grow,
        few=2,
        many=8,
        rows=lambda body: body.count("data-run="),
    )


def test_a_webhook_rule_shows_its_secret_address_once(admin_client, org, key_accounts):
    data = tier_a_post(key_accounts, trigger="webhook", watch_field=None, watch_to=None)
    response = admin_client.post(reverse("automation:rule_create"), data, follow=True)
    body = response.content.decode()
    rule = Rule.objects.get()
    match = re.search(r"/api/v1/automation/hooks/([A-Za-z0-9_-]{20,})/", body)
    assert match, "the address is shown after saving"
    token = match.group(1)
    assert token not in str(rule.trigger_config)  # only its hash is kept
    assert rule.trigger_config["token_hint"] == token[:4]
    # Never again: the edit page names only its first characters.
    body = admin_client.get(reverse("automation:rule_edit", args=[rule.pk])).content.decode()
    assert token not in body and f"begins with “{token[:4]}”" in body
    # Saving without "make a new address" keeps it; with it, a new one is shown.
    edit = {**data, "name": "改名", "is_active": None}
    edit = {name: value for name, value in edit.items() if value is not None}
    admin_client.post(reverse("automation:rule_edit", args=[rule.pk]), edit)
    rule.refresh_from_db()
    assert rule.trigger_config["token_hint"] == token[:4] and rule.name == "改名"
    response = admin_client.post(
        reverse("automation:rule_edit", args=[rule.pk]),
        {**edit, "regenerate_token": "on"},
        follow=True,
    )
    fresh = re.search(r"/api/v1/automation/hooks/([A-Za-z0-9_-]{20,})/", response.content.decode())
    assert fresh and fresh.group(1) != token


def test_the_rule_page_says_what_the_actions_do(admin_client, org, key_accounts):
    rule = make_rule(
        org["admin"],
        trigger_config={"field": "tier", "to": "A"},
        actions=[
            {"type": "assign_owner", "round_robin": {"team": key_accounts.pk}},
            {"type": "create_task", "subject": "欢迎电话", "due_in_days": 2},
            {"type": "notify", "to": org["cm"].pk, "message": "新的 A 级客户"},
        ],
    )
    body = admin_client.get(reverse("automation:rule_detail", args=[rule.pk])).content.decode()
    assert "Assign owner: round robin over the team Key accounts" in body
    assert "Create a task: “欢迎电话”, due in 2 days 0 hours, for the record&#x27;s owner" in body
    assert f"Send a notification: to {org['cm']}: “新的 A 级客户”" in body
    assert "Record updated: Tier changes to A" in body


def test_an_update_fields_action_takes_more_fields_on_request(admin_client, org, key_accounts):
    data = {
        **tier_a_post(key_accounts),
        "action_count": "1",
        "a0-kind": "update_fields",
        "a0-rows": "3",
        "a0-field_0": "city",
        "a0-value_0": "苏州市",
        "op": "addrow:0",
    }
    body = admin_client.post(reverse("automation:rule_create"), data).content.decode()
    assert 'name="a0-field_3"' in body and 'value="苏州市"' in body
    data.update({"op": "save", "a0-rows": "4", "a0-field_3": "tier", "a0-value_3": "B"})
    assert admin_client.post(reverse("automation:rule_create"), data).status_code == 302
    assert Rule.objects.get().actions == [
        {"type": "update_fields", "values": {"city": "苏州市", "tier": "B"}}
    ]


def test_a_wrong_value_is_shown_beside_its_field_row(admin_client, org, key_accounts):
    data = {
        **tier_a_post(key_accounts),
        "action_count": "1",
        "a0-kind": "update_fields",
        "a0-rows": "3",
        "a0-field_0": "city",
        "a0-value_0": "苏州市",
        "a0-field_1": "tier",
        "a0-value_1": "ZZZ",
    }
    response = admin_client.post(reverse("automation:rule_create"), data)
    assert response.status_code == 400
    body = response.content.decode()
    assert 'data-field-error="value_1"' in body and "ZZZ" in body
    assert 'data-field-error="value_0"' not in body
    assert not Rule.objects.exists()


@pytest.mark.parametrize("object_type", ["customers.contact", "customers.interaction"])
def test_the_designer_serves_every_record_type(admin_client, org, key_accounts, object_type):
    body = admin_client.get(reverse("automation:rule_create"), {"type": object_type}).content
    assert f'<option value="{object_type}" selected>'.encode() in body
    # Choosing another record type re-renders the form for it (nothing stored).
    data = tier_a_post(key_accounts, object_type=object_type, op="refresh", watch_field="")
    response = admin_client.post(reverse("automation:rule_create"), data)
    body = response.content.decode()
    assert response.status_code == 200
    assert f'<option value="{object_type}" selected>' in body
    assert re.findall(r'data-action-kind="([a-z_]+)"', body) == ["assign_owner", "create_task"]
    assert not Rule.objects.exists()
    # Tier is not a field of these records: saving says so beside the watched field.
    data = tier_a_post(key_accounts, object_type=object_type)
    response = admin_client.post(reverse("automation:rule_create"), data)
    assert response.status_code == 400
    assert 'data-field-error="watch_field"' in response.content.decode()
    assert not Rule.objects.exists()


def test_every_registered_action_kind_has_fields_in_the_designer(admin_client, org, key_accounts):
    from rapport.automation import actions
    from rapport.automation.forms import ACTION_FIELDS, JsonActionForm, action_form_class

    url = reverse("automation:rule_create")
    for code in actions.codes():
        body = admin_client.post(
            url, tier_a_post(key_accounts, op="add", add_kind=code)
        ).content.decode()
        assert f'data-action="2" data-action-kind="{code}"' in body, code
        if code in ACTION_FIELDS:
            assert action_form_class(code) is not JsonActionForm
    assert not Rule.objects.exists()


def test_an_outgoing_webhook_to_a_private_address_is_refused_beside_the_url(
    admin_client, org, key_accounts
):
    data = {
        **tier_a_post(key_accounts),
        "action_count": "1",
        "a0-kind": "call_webhook",
        "a0-url": "http://127.0.0.1/hook",
    }
    response = admin_client.post(reverse("automation:rule_create"), data)
    assert response.status_code == 400
    body = response.content.decode()
    block = body[body.index('data-action="0"') :]
    assert 'data-field-error="url"' in block[: block.index("</fieldset>")]
    assert not Rule.objects.exists()


def test_an_email_action_is_built_from_its_fields(admin_client, org, key_accounts):
    data = {
        **tier_a_post(key_accounts),
        "action_count": "1",
        "a0-kind": "send_email",
        "a0-subject": "欢迎 {{ name }}",
        "a0-body": "{{ contact.name }}，您好",
        "a0-language": "zh-hans",
        "a0-purpose": "service",
    }
    bad = {**data, "a0-body": "{{ nope }}"}
    response = admin_client.post(reverse("automation:rule_create"), bad)
    assert response.status_code == 400
    body = response.content.decode()
    block = body[body.index('data-action="0"') :]
    assert 'data-field-error="body"' in block[: block.index("</fieldset>")]
    assert not Rule.objects.exists()
    assert admin_client.post(reverse("automation:rule_create"), data).status_code == 302
    (action,) = Rule.objects.get().actions
    assert (action["type"], action["subject"], action["purpose"]) == (
        "send_email",
        "欢迎 {{ name }}",
        "service",
    )
