"""Actions that reach outside: e-mail and SMS from a template (consent respected, placeholders
checked) and the outgoing webhook (http(s) to public addresses only, checked when saved and
again when delivered; delivered through the outbox, the outcome noted in the run)."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import translation

from rapport.automation import messaging, services, webhooks
from rapport.automation.models import Rule, RuleRun, RunState
from rapport.core import events, sms
from rapport.core.models import OutboxMessage
from rapport.customers import services as customer_services
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db

ACCOUNT = "customers.account"
PUBLIC_IP = "93.184.216.34"


def make_rule(admin, actions, **values) -> Rule:
    values.setdefault("name", "外发规则")
    values.setdefault("object_type", ACCOUNT)
    values.setdefault("trigger", "updated")
    values.setdefault("trigger_config", {"field": "tier", "to": "A"})
    values.setdefault("is_active", True)
    return services.rule_create(actor=admin, actions=actions, **values)


def refused(admin, actions) -> dict[str, list[str]]:
    before = Rule.objects.count()
    with translation.override("en"), pytest.raises(ValidationError) as caught:
        make_rule(admin, actions)
    assert Rule.objects.count() == before
    return caught.value.message_dict


def fire(org, account, capture) -> RuleRun:
    with capture(execute=True):
        customer_services.account_update(actor=org["admin"], account=account, tier="A")
    return RuleRun.objects.filter(object_id=account.pk).latest("id")


@pytest.fixture
def people(org):
    """An account with three contacts: one agreed to marketing e-mail and SMS, one withdrew,
    one was never asked."""
    rep = org["rep_east"]
    account = AccountFactory(owner=rep, name="上海银行", tier="C")
    agreed = customer_services.contact_create(
        actor=rep,
        name="陈静",
        emails=["chen@example.com"],
        phones=["13812345678"],
        accounts=[account],
    )
    withdrew = customer_services.contact_create(
        actor=rep, name="王磊", emails=["wang@example.com"], accounts=[account]
    )
    never = customer_services.contact_create(
        actor=rep, name="李娜", emails=["li@example.com"], accounts=[account]
    )
    for contact, status in ((agreed, "granted"), (withdrew, "withdrawn")):
        for channel in ("email", "sms"):
            customer_services.consent_record(
                actor=org["admin"],
                contact=contact,
                channel=channel,
                purpose="marketing",
                status=status,
                source="web_form",
                evidence="表单 17",
            )
    return {"account": account, "agreed": agreed, "withdrew": withdrew, "never": never}


# --- e-mail / SMS --------------------------------------------------------------------------


def test_an_email_goes_only_to_contacts_who_agreed(
    org, people, eager, django_capture_on_commit_callbacks
):
    make_rule(
        org["admin"],
        [
            {
                "type": "send_email",
                "subject": "{{ name }} 升级为 {{ tier }} 级客户",
                "body": "{{ contact.name }}，您好：贵司 {{name}} 已成为我们的重点客户。",
                "subject_en": "{{ name }} is now a tier {{ tier }} account",
                "body_en": "Dear {{ contact.name }}, welcome.",
            }
        ],
    )
    mail.outbox.clear()
    run = fire(org, people["account"], django_capture_on_commit_callbacks)
    assert run.state == RunState.SUCCEEDED, run.error
    (message,) = mail.outbox
    assert message.to == ["chen@example.com"]
    assert message.subject.startswith("上海银行 升级为 A") and message.subject.endswith(" 级客户")
    assert message.body.startswith("陈静，您好：贵司 上海银行")
    (result,) = run.results
    assert result["sent"] == [{"contact": people["agreed"].pk}]
    skipped = {item["contact"]: item["reason"] for item in result["skipped"]}
    assert skipped == {people["withdrew"].pk: "no_consent", people["never"].pk: "no_consent"}


def test_service_messages_reach_everyone_who_has_not_withdrawn_in_english(
    org, people, eager, django_capture_on_commit_callbacks
):
    make_rule(
        org["admin"],
        [
            {
                "type": "send_email",
                "subject": "服务通知",
                "subject_en": "Service notice for {{ name }}",
                "body": "正文",
                "language": "en",
                "purpose": "service",
            }
        ],
    )
    customer_services.consent_withdraw(
        actor=org["admin"], contact=people["withdrew"], channel="email", purpose="service"
    )
    mail.outbox.clear()
    run = fire(org, people["account"], django_capture_on_commit_callbacks)
    assert sorted(m.to[0] for m in mail.outbox) == ["chen@example.com", "li@example.com"]
    assert {m.subject for m in mail.outbox} == {"Service notice for 上海银行"}
    assert mail.outbox[0].body == "正文"  # no English body: the Chinese one
    assert [item["contact"] for item in run.results[0]["skipped"]] == [people["withdrew"].pk]


def test_an_sms_respects_consent_and_goes_through_the_backend(
    org, people, eager, django_capture_on_commit_callbacks, settings
):
    settings.RAPPORT_SMS_BACKEND = "rapport.core.sms.LogSMSBackend"
    sms.LogSMSBackend.sent.clear()
    make_rule(org["admin"], [{"type": "send_sms", "body": "{{ contact.name }}：欢迎，{{ name }}"}])
    run = fire(org, people["account"], django_capture_on_commit_callbacks)
    assert run.state == RunState.SUCCEEDED, run.error
    assert sms.LogSMSBackend.sent == [sms.SMS(to="+8613812345678", text="陈静：欢迎，上海银行")]
    skipped = {item["contact"]: item["reason"] for item in run.results[0]["skipped"]}
    assert skipped[people["withdrew"].pk] == "no_consent"


def test_a_failed_run_sends_nothing(org, people, eager, django_capture_on_commit_callbacks):
    make_rule(
        org["admin"],
        [
            {"type": "send_email", "subject": "S", "body": "B"},
            {"type": "update_fields", "values": {"tier": "A"}},
        ],
    )
    rule = Rule.objects.get()
    # the second action now fails: its value is no longer an option
    rule.actions = [rule.actions[0], {"type": "update_fields", "values": {"tier": "ZZZ"}}]
    rule.save()
    mail.outbox.clear()
    run = fire(org, people["account"], django_capture_on_commit_callbacks)
    assert run.state == RunState.FAILED
    assert mail.outbox == []


def test_template_placeholders_are_checked_when_the_rule_is_saved(org):
    admin = org["admin"]
    errors = refused(admin, [{"type": "send_email", "subject": "{{ secret }}", "body": "x"}])
    assert "There is no placeholder “{{ secret }}”" in errors["actions[0].subject"][0]
    errors = refused(
        admin, [{"type": "send_email", "subject": "s", "body": "{% load evil %}{{ name }}"}]
    )
    assert "no other tags" in errors["actions[0].body"][0]
    errors = refused(admin, [{"type": "send_sms", "body": "{{ name.__class__ }}"}])
    assert "actions[0].body" in errors
    errors = refused(admin, [{"type": "send_sms", "body": "Hi {{ name"}])
    assert "not closed" in errors["actions[0].body"][0]
    errors = refused(admin, [{"type": "send_sms", "body": "x" * 501}])
    assert "At most 500" in errors["actions[0].body"][0]
    errors = refused(
        admin, [{"type": "send_email", "subject": "s", "body": "b", "purpose": "spam"}]
    )
    assert "actions[0].purpose" in errors
    errors = refused(admin, [{"type": "send_email", "body": "b"}])
    assert errors["actions[0].subject"] == ["Write the subject."]


def test_templates_cannot_name_hidden_or_masked_fields(org):
    from rapport.customers import filtering  # noqa: F401 (fields registered)
    from rapport.identity.models import FieldRule

    admin = org["admin"]
    offered = set(messaging.placeholder_fields(admin, _account()))
    assert {"name", "tier", "owner", "created_at"} <= offered
    assert "tag" not in offered  # not a value
    assert FieldRule.Rule.HIDDEN  # (field rules remove names: see placeholder_fields)


def _account():
    from rapport.automation import registry

    return registry.get(ACCOUNT)


# --- outgoing webhook ----------------------------------------------------------------------


@pytest.fixture
def dns(monkeypatch):
    """Host names resolve from this table; nothing reaches the network."""
    table = {"hooks.example.com": [PUBLIC_IP], "rebind.example.com": [PUBLIC_IP]}

    def resolve(host, port):
        if host not in table:
            raise OSError("no such host")
        return table[host]

    monkeypatch.setattr(webhooks, "resolve", resolve)
    return table


@pytest.fixture
def sent(monkeypatch):
    """Requests `send` was asked to make, answered with `sent.status`."""

    class Sent(list):
        status = 200

    calls = Sent()

    def send(target, address, body, headers):
        calls.append({"target": target, "address": address, "body": body, "headers": headers})
        return calls.status

    monkeypatch.setattr(webhooks, "send", send)
    return calls


def test_unsafe_webhook_targets_are_refused_when_saved(org, dns):
    dns["internal.example.com"] = ["10.0.0.8"]
    dns["metadata.example.com"] = [PUBLIC_IP, "169.254.169.254"]
    dns["mapped.example.com"] = ["::ffff:127.0.0.1"]
    for url, expected in (
        ("ftp://hooks.example.com/x", "Only http:// and https://"),
        ("file:///etc/passwd", "Only http:// and https://"),
        ("http://127.0.0.1:8000/admin", "private, local or reserved"),
        ("http://localhost/", "private, local or reserved"),
        ("http://[::1]/", "private, local or reserved"),
        ("http://192.168.1.10/", "private, local or reserved"),
        ("http://100.64.0.1/", "private, local or reserved"),
        ("http://internal.example.com/", "private, local or reserved"),
        ("https://metadata.example.com/", "private, local or reserved"),
        ("https://mapped.example.com/", "private, local or reserved"),
        ("https://user:pw@hooks.example.com/", "no user name or password"),
        ("https://nowhere.example.com/", "cannot be found"),
    ):
        errors = refused(org["admin"], [{"type": "call_webhook", "url": url}])
        assert expected in errors["actions[0].url"][0], url


def test_a_webhook_is_delivered_after_commit_through_the_outbox(
    org, people, dns, sent, eager, django_capture_on_commit_callbacks
):
    make_rule(org["admin"], [{"type": "call_webhook", "url": "https://hooks.example.com/crm?x=1"}])
    run = fire(org, people["account"], django_capture_on_commit_callbacks)
    assert run.state == RunState.SUCCEEDED, run.error
    assert sent == []  # not from inside the run: the relay delivers it
    assert run.results[0]["delivery"]["status"] == "pending"
    events.relay_outbox()
    (call,) = sent
    assert call["address"] == PUBLIC_IP and call["target"].host == "hooks.example.com"
    assert call["target"].path == "/crm?x=1"
    assert b'"name": "\xe4\xb8\x8a\xe6\xb5\xb7\xe9\x93\xb6\xe8\xa1\x8c"' in call["body"]
    assert call["headers"]["Idempotency-Key"] == run.results[0]["delivery"]["message"]
    run.refresh_from_db()
    assert run.results[0]["delivery"]["status"] == "delivered"
    assert run.results[0]["delivery"]["http_status"] == 200
    events.relay_outbox()
    assert len(sent) == 1  # delivered once


def test_a_host_that_now_resolves_to_a_private_address_is_refused_at_delivery(
    org, people, dns, sent, eager, django_capture_on_commit_callbacks
):
    make_rule(org["admin"], [{"type": "call_webhook", "url": "http://rebind.example.com/hook"}])
    run = fire(org, people["account"], django_capture_on_commit_callbacks)
    dns["rebind.example.com"] = ["127.0.0.1"]  # DNS rebinding after the check at save
    events.relay_outbox()
    assert sent == []
    run.refresh_from_db()
    delivery = run.results[0]["delivery"]
    assert delivery["status"] == "refused" and "127.0.0.1" in delivery["error"]
    assert not OutboxMessage.objects.filter(delivered_at__isnull=True).exists()  # not retried


def test_a_failing_webhook_is_retried_with_backoff_then_given_up(
    org, people, dns, sent, eager, django_capture_on_commit_callbacks
):
    make_rule(org["admin"], [{"type": "call_webhook", "url": "https://hooks.example.com/"}])
    run = fire(org, people["account"], django_capture_on_commit_callbacks)
    sent.status = 503
    events.relay_outbox()  # eager: the task's retries follow at once
    run.refresh_from_db()
    delivery = run.results[0]["delivery"]
    assert (delivery["status"], delivery["error"]) == ("failed", "HTTP 503")
    assert delivery["attempts"] == webhooks.MAX_DELIVERY_ATTEMPTS
    assert len(sent) == webhooks.MAX_DELIVERY_ATTEMPTS
    assert [webhooks.backoff(n) for n in (1, 2, 3, 4)] == [30, 60, 120, 240]


def test_a_retried_webhook_is_noted_and_never_sent_again_once_delivered(
    org, people, dns, sent, eager, django_capture_on_commit_callbacks, monkeypatch
):
    from rapport.automation import tasks

    handed: list[tuple[dict, str]] = []
    monkeypatch.setattr(tasks.deliver_webhook, "delay", lambda *args: handed.append(args))
    make_rule(org["admin"], [{"type": "call_webhook", "url": "https://hooks.example.com/"}])
    run = fire(org, people["account"], django_capture_on_commit_callbacks)
    events.relay_outbox()
    ((payload, key),) = handed
    assert not OutboxMessage.objects.filter(delivered_at__isnull=True).exists()  # handed over
    sent.status = 502
    with pytest.raises(webhooks.DeliveryFailed):
        webhooks.deliver_and_note(payload, key, attempt=1)
    run.refresh_from_db()
    assert run.results[0]["delivery"]["status"] == "retrying"
    sent.status = 204
    assert webhooks.deliver_and_note(payload, key, attempt=2) == "delivered"
    assert webhooks.deliver_and_note(payload, key, attempt=3) == "done"  # a duplicate task
    assert len(sent) == 2
    run.refresh_from_db()
    assert run.results[0]["delivery"]["status"] == "delivered"
    assert run.results[0]["delivery"]["attempts"] == 2


def test_a_dry_run_calls_nothing(org, people, dns, sent):
    rule = make_rule(org["admin"], [{"type": "call_webhook", "url": "https://hooks.example.com/"}])
    run = services.rule_dry_run(actor=org["admin"], rule=rule, record_id=people["account"].pk)
    assert run.results[0]["delivery"] == {"status": "dry_run"}
    assert not OutboxMessage.objects.filter(topic="automation.webhook").exists()
    events.relay_outbox()
    assert sent == []
