"""The auditor's pages: filtering the trail, paging, verifying the chain."""

from __future__ import annotations

import zoneinfo

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from rapport.audit.models import AuditEvent
from rapport.customers import services as customer_services

pytestmark = pytest.mark.django_db


@pytest.fixture
def auditor(org) -> Client:
    client = Client()
    client.force_login(org["auditor"])
    return client


def seqs(response) -> list[int]:
    return [event.seq for event, _changes in response.context["rows"]]


def test_event_list_filters(auditor, org):
    account = customer_services.account_create(actor=org["rep_sh"], name="百度", tier="B")
    customer_services.account_update(actor=org["rep_sh"], account=account, tier="A")
    customer_services.account_create(actor=org["admin"], name="京东")
    url = reverse("audit:event_list")

    by_user = auditor.get(url, {"user": "rep_sh"})
    assert seqs(by_user)
    assert all(e.actor_repr == "rep_sh" for e, _c in by_user.context["rows"])

    by_object = auditor.get(
        url, {"object_type": "customers.account", "object_id": str(account.pk), "action": "update"}
    )
    assert len(seqs(by_object)) == 1
    content = by_object.content.decode()
    assert "<code>tier</code>" in content
    assert "B</span> → <span" in content and ">A</span>" in content

    failures = auditor.get(url, {"result": "failure"})
    assert seqs(failures) == []


def test_event_list_time_range_uses_the_users_time_zone(auditor, org):
    org["auditor"].timezone = "America/New_York"
    org["auditor"].save()
    customer_services.account_create(actor=org["admin"], name="网易")
    event = AuditEvent.objects.order_by("-seq").first()
    local = event.at.astimezone(zoneinfo.ZoneInfo("America/New_York"))
    page = auditor.get(reverse("audit:event_list"))
    assert local.strftime("%Y-%m-%d %H:%M:%S") in page.content.decode()

    since = local.replace(second=0, microsecond=0).strftime("%Y-%m-%dT%H:%M")
    assert event.seq in seqs(auditor.get(reverse("audit:event_list"), {"since": since}))
    assert event.seq not in seqs(auditor.get(reverse("audit:event_list"), {"until": since}))


def test_event_list_cursor_paging_newest_first(auditor, org):
    for number in range(60):
        customer_services.account_create(actor=org["admin"], name=f"公司{number}")
    first = auditor.get(reverse("audit:event_list"))
    first_seqs = seqs(first)
    assert first_seqs == sorted(first_seqs, reverse=True)
    assert first_seqs[0] == AuditEvent.objects.order_by("-seq").first().seq
    second = auditor.get(reverse("audit:event_list") + first.context["page"].next_url)
    assert max(seqs(second)) < min(first_seqs)


def test_event_list_has_no_edit_actions(auditor, org):
    customer_services.account_create(actor=org["admin"], name="拼多多")
    content = auditor.get(reverse("audit:event_list")).content.decode()
    # Only the language switch, sign-out and "verify chain" post; rows have no actions.
    assert 'data-testid="verify-chain"' in content
    assert content.count('method="post"') == 3


def test_event_detail_shows_before_and_after(auditor, org):
    account = customer_services.account_create(actor=org["rep_sh"], name="字节跳动", tier="C")
    customer_services.account_update(actor=org["rep_sh"], account=account, tier="A")
    event = AuditEvent.objects.filter(action="update").first()
    page = auditor.get(reverse("audit:event_detail", args=[event.pk]))
    assert page.status_code == 200
    assert page.context["changes"] == [("tier", "C", "A")]
    assert event.hash in page.content.decode()


def test_verify_chain_ok(auditor, org):
    customer_services.account_create(actor=org["admin"], name="蔚来")
    response = auditor.post(reverse("audit:verify"), follow=True)
    content = response.content.decode()
    assert 'data-testid="verify-result" data-ok="true"' in content
    assert AuditEvent.objects.filter(action="audit.verify", actor=org["auditor"]).exists()


def test_verify_chain_names_the_tampered_event(auditor, org):
    account = customer_services.account_create(actor=org["admin"], name="理想")
    customer_services.account_update(actor=org["admin"], account=account, name="理想汽车")
    target = AuditEvent.objects.filter(action="update").order_by("-seq").first()
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("DROP TRIGGER audit_event_no_update")
        else:
            cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_event_append_only")
        cursor.execute(
            "UPDATE audit_auditevent SET changes = %s WHERE id = %s",
            ['{"name": ["a", "b"]}', target.pk],
        )
        if connection.vendor != "sqlite":
            cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER audit_event_append_only")
    response = auditor.post(reverse("audit:verify"), follow=True)
    content = response.content.decode()
    assert 'data-ok="false"' in content
    assert f"#{target.seq}" in content
