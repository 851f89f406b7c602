"""Designing rules: validation (every bad field named, nothing stored), versions, audit,
order, permission, and the API."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation
from rest_framework.test import APIClient

from rapport.audit.models import AuditEvent
from rapport.automation import services
from rapport.automation.models import Rule, RuleRun, RuleVersion, RunState
from rapport.core.errors import PermissionDenied
from rapport.core.tags import services as tag_services
from rapport.identity.models import Team
from rapport.identity.services import token_create
from tests.factories import AccountFactory, UserFactory

pytestmark = pytest.mark.django_db

GOOD = {
    "name": "A 级客户",
    "name_en": "Tier A",
    "object_type": "customers.account",
    "trigger": "updated",
    "trigger_config": {"field": "tier", "to": "A"},
    "actions": [{"type": "create_task", "subject": "欢迎电话", "due_in_days": 2}],
}


def refused(actor, **changes) -> dict[str, list[str]]:
    with translation.override("en"), pytest.raises(ValidationError) as caught:
        services.rule_create(actor=actor, **{**GOOD, **changes})
    assert not Rule.objects.exists() and not RuleVersion.objects.exists()
    return caught.value.message_dict


def api_for(user) -> APIClient:
    _token, secret = token_create(actor=user, name="test")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer " + secret)
    return client


def test_a_rule_is_versioned_and_audited(org):
    admin = org["admin"]
    rule = services.rule_create(actor=admin, **GOOD)
    assert (rule.version, rule.is_active, rule.condition) == (1, False, {"and": []})
    services.rule_update(actor=admin, rule=rule, condition="province = 上海市")
    services.rule_activate(actor=admin, rule=rule)
    rule.refresh_from_db()
    assert (rule.version, rule.is_active) == (3, True)
    versions = list(RuleVersion.objects.filter(rule=rule).order_by("version"))
    assert [v.version for v in versions] == [1, 2, 3]
    assert versions[0].snapshot["condition"] == {"and": []}
    assert versions[1].snapshot["condition"] == {
        "field": "province",
        "op": "=",
        "value": "上海市",
    }
    actions = list(
        AuditEvent.objects.filter(object_type="automation.rule", object_id=str(rule.pk))
        .order_by("pk")
        .values_list("action", flat=True)
    )
    assert actions == [
        "automation.rule_create",
        "automation.rule_update",
        "automation.rule_activate",
    ]
    update = AuditEvent.objects.get(action="automation.rule_update", object_id=str(rule.pk))
    assert update.changes["condition"][0] == {"and": []}
    # An unchanged save is no new version.
    services.rule_update(actor=admin, rule=rule, name=GOOD["name"])
    assert RuleVersion.objects.filter(rule=rule).count() == 3


def test_rules_keep_their_order_and_a_retired_rule_stops(org):
    admin = org["admin"]
    first, second, third = (
        services.rule_create(actor=admin, **{**GOOD, "name": name}) for name in "甲乙丙"
    )
    assert [first.position, second.position, third.position] == [0, 1, 2]
    services.rule_move(actor=admin, rule=third, offset=-2)
    ordered = list(Rule.objects.order_by("position").values_list("name", flat=True))
    assert ordered == ["丙", "甲", "乙"]
    services.rule_retire(actor=admin, rule=first)
    first.refresh_from_db()
    assert first.retired_at is not None and not first.is_active
    with pytest.raises(ValidationError):
        services.rule_activate(actor=admin, rule=first)


def test_only_administrators_manage_rules(org):
    with pytest.raises(PermissionDenied):
        services.rule_create(actor=org["sales_manager"], **GOOD)
    rule = services.rule_create(actor=org["admin"], **GOOD)
    account = AccountFactory(owner=org["rep_sh"])
    for attempt in (
        lambda: services.rule_update(actor=org["rep_sh"], rule=rule, name="x"),
        lambda: services.rule_activate(actor=org["rep_sh"], rule=rule),
        lambda: services.rule_dry_run(actor=org["rep_sh"], rule=rule, record_id=account.pk),
    ):
        with pytest.raises(PermissionDenied):
            attempt()
    assert Rule.objects.get().version == 1


def test_an_unknown_record_type_is_refused(org):
    errors = refused(org["admin"], object_type="customers.nothing")
    assert "is not a record type rules can act on" in errors["object_type"][0]


def test_a_condition_naming_a_missing_field_is_refused(org):
    errors = refused(org["admin"], condition="cf.deleted_field = 3")
    assert errors["condition"] == ["There is no field “cf.deleted_field” to filter on."]


def test_an_unknown_action_is_refused(org):
    errors = refused(org["admin"], actions=[{"type": "launch_rocket"}])
    assert "“launch_rocket” is not an action" in errors["actions[0].type"][0]


def test_assigning_to_a_deactivated_or_unknown_user_is_refused(org):
    gone = UserFactory(is_active=False, display_name="Gone")
    errors = refused(
        org["admin"],
        actions=[
            {"type": "assign_owner", "user": gone.pk},
            {"type": "assign_owner", "user": 999999},
            {"type": "create_task", "subject": "x", "assignee": gone.pk},
        ],
    )
    assert errors["actions[0].user"] == ["The user “Gone” is deactivated."]
    assert errors["actions[1].user"] == ["There is no user 999999."]
    assert errors["actions[2].assignee"] == ["The user “Gone” is deactivated."]


def test_tags_that_do_not_exist_and_values_that_do_not_fit_are_refused(org):
    errors = refused(
        org["admin"],
        actions=[
            {"type": "add_tags", "tags": [424242]},
            {"type": "update_fields", "values": {"tier": "Z", "owner": 3, "name": ["x"]}},
            {"type": "create_task", "subject": "", "due_in_days": "soon"},
        ],
    )
    assert errors["actions[0].tags"] == ["There is no tag 424242."]
    assert "“Z” is not" in errors["actions[1].values.tier"][0]
    assert errors["actions[1].values.owner"] == ["Rules cannot set this field."]
    assert errors["actions[1].values.name"] == ["Give one value."]
    assert errors["actions[2].subject"] == ["Enter a subject."]
    assert "whole number" in errors["actions[2].due_in_days"][0]


def test_a_retired_option_or_custom_value_of_the_wrong_type_is_refused(org):
    from rapport.core.customfields import services as custom_fields

    custom_fields.custom_field_create(
        actor=org["admin"],
        object_type="customers.account",
        key="employees",
        type="number",
        label="员工数",
    )
    errors = refused(
        org["admin"],
        actions=[{"type": "update_fields", "values": {"cf.employees": "many"}}],
    )
    assert list(errors) == ["actions[0].values.cf.employees"]


def test_an_invalid_cron_expression_and_bad_trigger_settings_are_refused(org):
    for cron in ("61 * * * *", "* * *", "every day"):
        errors = refused(org["admin"], trigger="schedule", trigger_config={"cron": cron})
        assert "is not a valid cron expression" in errors["trigger_config.cron"][0]
    errors = refused(org["admin"], trigger="event", trigger_config={"topic": "Not A Topic!"})
    assert "trigger_config.topic" in errors
    errors = refused(org["admin"], trigger_config={"field": "tier", "to": "Z", "when": 1})
    assert "“Z” is not" in errors["trigger_config.to"][0]
    assert errors["trigger_config.when"] == ["Unknown setting."]
    errors = refused(org["admin"], object_type="customers.contact", trigger="stage_changed")
    assert errors["trigger"] == ["Records of this type have no stage."]


def test_every_bad_field_is_named_at_once(org):
    errors = refused(
        org["admin"],
        name="",
        trigger="sometimes",
        condition="tier = Z",
        actions=[{"type": "notify", "message": ""}],
    )
    assert {"name", "trigger", "condition", "actions[0].message"} <= set(errors)


def test_other_triggers_are_stored_with_their_settings(org):
    admin = org["admin"]
    scheduled = services.rule_create(
        actor=admin, **{**GOOD, "trigger": "schedule", "trigger_config": {"cron": "0  9 * * 1-5"}}
    )
    assert scheduled.trigger_config == {"cron": "0 9 * * 1-5"}
    hook = services.rule_create(actor=admin, **{**GOOD, "trigger": "webhook", "trigger_config": {}})
    assert len(hook.webhook_token) >= 24  # shown once; only its hash is kept
    assert "token" not in hook.trigger_config and len(hook.trigger_config["token_hash"]) == 64
    dated = services.rule_create(
        actor=admin,
        **{**GOOD, "trigger": "date_reached", "trigger_config": {"field": "created_at"}},
    )
    assert dated.trigger_config == {"field": "created_at", "offset_days": 0}


# --- API -----------------------------------------------------------------------------------


def test_api_rules_need_the_manage_grant(org):
    rep = api_for(org["rep_sh"])
    assert rep.get("/api/v1/automation/rules/").status_code == 403
    assert rep.post("/api/v1/automation/rules/", GOOD, format="json").status_code == 403
    assert rep.get("/api/v1/automation/runs/").status_code == 403
    assert not Rule.objects.exists()


def test_api_create_update_activate_dry_run_and_the_run_log(org):
    admin = api_for(org["admin"])
    team = Team.objects.get(name="Key accounts")
    vip = tag_services.tag_create(actor=org["admin"], name="VIP")
    body = {
        **GOOD,
        "condition": f"tag = {vip.pk}",
        "actions": [
            {"type": "assign_owner", "round_robin": {"team": team.pk}},
            *GOOD["actions"],
        ],
    }
    response = admin.post("/api/v1/automation/rules/", body, format="json")
    assert response.status_code == 201, response.content
    rule = response.json()
    assert rule["condition"] == {"field": "tag", "op": "=", "value": str(vip.pk)}
    response = admin.patch(
        f"/api/v1/automation/rules/{rule['id']}/", {"name_en": "Tier A!"}, format="json"
    )
    assert response.status_code == 200 and response.json()["version"] == 2
    response = admin.post(f"/api/v1/automation/rules/{rule['id']}/activate/")
    assert response.json()["is_active"] is True
    account = AccountFactory(owner=org["rep_east"])
    response = admin.post(
        f"/api/v1/automation/rules/{rule['id']}/dry-run/", {"object_id": account.pk}, format="json"
    )
    assert response.status_code == 200
    dry = response.json()
    assert dry["state"] == "dry_run"
    assert dry["trigger_detail"]["condition"] is False  # the account has no VIP tag
    assert len(dry["results"]) == 2
    listed = admin.get(
        "/api/v1/automation/runs/",
        {"object_type": "customers.account", "object_id": account.pk},
    ).json()["results"]
    assert [run["id"] for run in listed] == [dry["id"]]
    assert admin.get("/api/v1/automation/runs/", {"state": "failed"}).json()["results"] == []
    assert admin.get("/api/v1/automation/rules/").json()["results"][0]["id"] == rule["id"]
    assert RuleRun.objects.get().state == RunState.DRY_RUN


def test_api_bad_input_names_the_field(org):
    admin = api_for(org["admin"])
    response = admin.post(
        "/api/v1/automation/rules/",
        {**GOOD, "actions": [{"type": "assign_owner", "user": 999999}], "colour": "red"},
        format="json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    assert "colour" in response.json()["error"]["fields"]
    response = admin.post(
        "/api/v1/automation/rules/",
        {**GOOD, "actions": [{"type": "assign_owner", "user": 999999}]},
        format="json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert fields["actions[0].user"][0]["message"] == "There is no user 999999."
    assert not Rule.objects.exists()


def test_the_schema_documents_the_automation_api(client, db):
    schema = json.loads(client.get("/api/schema/?format=json").content)
    for path in (
        "/api/v1/automation/rules/",
        "/api/v1/automation/rules/{id}/dry-run/",
        "/api/v1/automation/runs/",
    ):
        assert path in schema["paths"]
