"""Audit events, alerts, behaviour rules, chain verification and jobs over the API."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection

from rapport.audit.models import Alert, AuditEvent, BehaviourRule
from rapport.core import jobs, trail
from rapport.core.models import Job
from tests.factories import AccountFactory

from .helpers import error_of, field_codes

pytestmark = pytest.mark.django_db

EVENTS = "/api/v1/audit/events/"


def test_auditor_lists_and_filters_events(org, client_for):
    account = AccountFactory(owner=org["rep_sh"])
    trail.record(actor=org["rep_sh"], action="view", target=account)
    trail.record(actor=org["rep_east"], action="view", target=account, result="denied")
    auditor = client_for(org["auditor"])
    rows = auditor.get(EVENTS, {"actor": org["rep_sh"].pk, "action": "view"}).json()["results"]
    assert [(r["object_type"], r["object_id"]) for r in rows] == [
        ("customers.account", str(account.pk))
    ]
    rows = auditor.get(EVENTS, {"result": "denied"}).json()["results"]
    assert [r["actor"] for r in rows] == [org["rep_east"].pk]
    newest = auditor.get(EVENTS).json()["results"]
    assert [r["seq"] for r in newest] == sorted((r["seq"] for r in newest), reverse=True)
    first = AuditEvent.objects.order_by("seq").first()
    before_first = (first.at - timedelta(milliseconds=1)).isoformat()
    rows = auditor.get(EVENTS, {"at_before": before_first}).json()["results"]
    assert rows == []
    rows = auditor.get(EVENTS, {"at_after": first.at.isoformat()}).json()["results"]
    assert len(rows) >= 2


def test_people_without_the_audit_grant_are_refused(org, client_for):
    rep = client_for(org["rep_sh"])
    response = rep.get(EVENTS)
    assert response.status_code == 403
    assert error_of(response)["code"] == "permission_denied"
    assert rep.get("/api/v1/audit/verify/").status_code == 403
    assert rep.get("/api/v1/audit/alerts/").status_code == 403


def _tamper(sql: str, params: list) -> None:
    """Change an event behind the application's back, past the append-only trigger."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("DROP TRIGGER audit_event_no_update")
            cursor.execute(sql, params)
        else:
            cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_event_append_only")
            cursor.execute(sql, params)
            cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER audit_event_append_only")


def test_verify_reports_ok_and_then_tampering(org, client_for):
    AccountFactory(owner=org["rep_sh"])
    trail.record(actor=org["rep_sh"], action="view", object_type="customers.account", object_id=1)
    auditor = client_for(org["auditor"])
    before = AuditEvent.objects.count()
    body = auditor.get("/api/v1/audit/verify/").json()
    assert body["ok"] is True
    assert body["checked"] == before
    # Running the check is itself audited.
    assert AuditEvent.objects.filter(action="audit.verify", actor=org["auditor"]).exists()
    assert body["first_bad_seq"] is None
    victim = AuditEvent.objects.order_by("seq")[1]
    _tamper("UPDATE audit_auditevent SET object_repr = 'tampered' WHERE seq = %s", [victim.seq])
    body = auditor.get("/api/v1/audit/verify/").json()
    assert body["ok"] is False
    assert body["first_bad_seq"] == victim.seq
    assert body["reason"]


def test_alerts_open_filter_and_acknowledge(org, client_for):
    open_alert = Alert.objects.create(rule="mass_view", subject=org["rep_sh"], message="many")
    auditor = client_for(org["auditor"])
    rows = auditor.get("/api/v1/audit/alerts/", {"open": "true"}).json()["results"]
    assert [r["id"] for r in rows] == [open_alert.pk]
    response = auditor.post(
        f"/api/v1/audit/alerts/{open_alert.pk}/acknowledge/", {"note": "checked"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["is_open"] is False
    assert auditor.get("/api/v1/audit/alerts/", {"open": "true"}).json()["results"] == []
    again = auditor.post(f"/api/v1/audit/alerts/{open_alert.pk}/acknowledge/")
    assert error_of(again)["code"] == "already_acknowledged"


def test_behaviour_rules_patch(org, client_for):
    rule, _created = BehaviourRule.objects.get_or_create(code="mass_view")
    admin = client_for(org["admin"])
    assert any(
        r["code"] == "mass_view" for r in admin.get("/api/v1/audit/rules/").json()["results"]
    )
    response = admin.patch(
        f"/api/v1/audit/rules/{rule.pk}/", {"threshold": 50, "window_minutes": 5}, format="json"
    )
    assert response.status_code == 200, response.content
    rule.refresh_from_db()
    assert (rule.threshold, rule.window_minutes) == (50, 5)
    response = admin.patch(f"/api/v1/audit/rules/{rule.pk}/", {"threshold": 0}, format="json")
    assert field_codes(response, "threshold") == ["min_value"]
    manager = client_for(org["sales_manager"])
    assert manager.patch(f"/api/v1/audit/rules/{rule.pk}/", {"threshold": 9}).status_code == 403


# --- jobs ----------------------------------------------------------------------------------


def test_jobs_are_private_and_cancellable(org, client_for):
    mine = jobs.job_create(actor=org["rep_sh"], kind="export", title="Export", total=10)
    jobs.job_progress(job=mine, processed=5, succeeded=5)
    theirs = jobs.job_create(actor=org["rep_east"], kind="import", total=3)
    rep = client_for(org["rep_sh"])
    rows = rep.get("/api/v1/jobs/").json()["results"]
    assert [r["id"] for r in rows] == [mine.pk]
    body = rep.get(f"/api/v1/jobs/{mine.pk}/").json()
    assert (body["state"], body["percent"], body["processed"]) == ("queued", 50, 5)
    assert rep.get(f"/api/v1/jobs/{theirs.pk}/").status_code == 404
    assert rep.post(f"/api/v1/jobs/{theirs.pk}/cancel/").status_code == 404
    response = rep.post(f"/api/v1/jobs/{mine.pk}/cancel/")
    assert response.status_code == 200
    assert response.json()["state"] == "cancelled"
    assert Job.objects.get(pk=theirs.pk).state == "queued"
