"""Behaviour rules raise one alert per burst; alerts are acknowledged from the alerts page."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from rapport.audit.models import Alert, AuditEvent, BehaviourRule
from rapport.customers.services import record_viewed
from tests.factories import PASSWORD, AccountFactory

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def set_rule(admin, code: str, **values) -> None:
    rule = BehaviourRule.objects.get(code=code)
    response = signed_in(admin).post(
        reverse("audit:rule_list"),
        {
            "rule": rule.pk,
            f"rule{rule.pk}-enabled": "on",
            f"rule{rule.pk}-threshold": values.get("threshold", rule.threshold),
            f"rule{rule.pk}-window_minutes": values.get("window_minutes", rule.window_minutes),
        },
    )
    assert response.status_code == 302


def test_mass_viewing_raises_one_alert(org, django_capture_on_commit_callbacks):
    set_rule(org["admin"], "mass_view", threshold=5, window_minutes=10)
    accounts = AccountFactory.create_batch(8, owner=org["rep_sh"])
    with django_capture_on_commit_callbacks(execute=True):
        for account in accounts:
            record_viewed(actor=org["rep_sh"], record=account)
    alerts = Alert.objects.filter(rule="mass_view")
    assert alerts.count() == 1
    assert alerts.get().subject == org["rep_sh"]


def test_an_alert_notifies_those_who_may_see_alerts(org, django_capture_on_commit_callbacks):
    from rapport.core.notifications.models import Notification

    set_rule(org["admin"], "mass_view", threshold=5, window_minutes=10)
    with django_capture_on_commit_callbacks(execute=True):
        for account in AccountFactory.create_batch(6, owner=org["rep_sh"]):
            record_viewed(actor=org["rep_sh"], record=account)
    alert = Alert.objects.get(rule="mass_view")
    told = set(
        Notification.objects.filter(kind="audit.alert", object_id=str(alert.pk)).values_list(
            "recipient__username", flat=True
        )
    )
    assert "admin" in told and "rep_sh" not in told
    assert Notification.objects.filter(kind="audit.alert").count() == len(told)


def test_viewing_below_the_threshold_raises_nothing(org, django_capture_on_commit_callbacks):
    set_rule(org["admin"], "mass_view", threshold=5)
    with django_capture_on_commit_callbacks(execute=True):
        for account in AccountFactory.create_batch(4, owner=org["rep_sh"]):
            record_viewed(actor=org["rep_sh"], record=account)
    assert not Alert.objects.filter(rule="mass_view").exists()


def test_failed_logins_raise_an_alert(org, django_capture_on_commit_callbacks):
    set_rule(org["admin"], "failed_logins", threshold=3)
    client = Client()
    with django_capture_on_commit_callbacks(execute=True):
        for _attempt in range(4):
            client.post(reverse("account_login"), {"login": "rep_sh", "password": "wrong-123456"})
    alerts = Alert.objects.filter(rule="failed_logins")
    assert alerts.count() == 1
    assert alerts.get().subject == org["rep_sh"]


def test_off_hours_login_raises_an_alert(org, settings, django_capture_on_commit_callbacks):
    settings.WORKING_HOURS = (0, 0)  # every hour is outside working hours
    client = Client()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("account_login"), {"login": "rep_sh", "password": PASSWORD})
    assert response.status_code == 302
    alert = Alert.objects.get(rule="off_hours")
    assert alert.subject == org["rep_sh"]


def test_disabled_rule_raises_nothing(org, settings, django_capture_on_commit_callbacks):
    settings.WORKING_HOURS = (0, 0)
    rule = BehaviourRule.objects.get(code="off_hours")
    response = signed_in(org["admin"]).post(
        reverse("audit:rule_list"),
        {
            "rule": rule.pk,
            f"rule{rule.pk}-threshold": rule.threshold,
            f"rule{rule.pk}-window_minutes": rule.window_minutes,
        },
    )
    assert response.status_code == 302
    rule.refresh_from_db()
    assert not rule.enabled
    with django_capture_on_commit_callbacks(execute=True):
        Client().post(reverse("account_login"), {"login": "rep_sh", "password": PASSWORD})
    assert not Alert.objects.filter(rule="off_hours").exists()


def test_rule_page_refuses_a_zero_threshold(org):
    rule = BehaviourRule.objects.get(code="mass_view")
    response = signed_in(org["admin"]).post(
        reverse("audit:rule_list"),
        {
            "rule": rule.pk,
            f"rule{rule.pk}-enabled": "on",
            f"rule{rule.pk}-threshold": 0,
            f"rule{rule.pk}-window_minutes": 10,
        },
    )
    assert response.status_code == 200
    assert b'data-field-error="threshold"' in response.content
    rule.refresh_from_db()
    assert rule.threshold == 50
    assert not AuditEvent.objects.filter(action="admin.behaviour_rule").exists()


def test_acknowledge_from_the_alerts_page(org, settings, django_capture_on_commit_callbacks):
    settings.WORKING_HOURS = (0, 0)
    with django_capture_on_commit_callbacks(execute=True):
        Client().post(reverse("account_login"), {"login": "rep_sh", "password": PASSWORD})
    alert = Alert.objects.get(rule="off_hours")
    auditor = signed_in(org["auditor"])
    page = auditor.get(reverse("audit:alert_list"))
    assert f'data-alert="{alert.pk}"'.encode() in page.content
    response = auditor.post(
        reverse("audit:alert_acknowledge", args=[alert.pk]), {"note": "travelling, confirmed"}
    )
    assert response.status_code == 302
    alert.refresh_from_db()
    assert alert.acknowledged_by == org["auditor"]
    assert alert.note == "travelling, confirmed"
    open_page = auditor.get(reverse("audit:alert_list"), {"state": "open"})
    assert f'data-alert="{alert.pk}"'.encode() not in open_page.content
    done_page = auditor.get(reverse("audit:alert_list"), {"state": "acknowledged"})
    assert f'data-alert="{alert.pk}"'.encode() in done_page.content


@pytest.mark.parametrize("name", ["audit:event_list", "audit:alert_list", "audit:rule_list"])
def test_sales_rep_cannot_open_audit_pages(org, name):
    assert signed_in(org["rep_sh"]).get(reverse(name)).status_code in (403, 404)


def test_sales_rep_cannot_open_an_event_or_acknowledge(
    org, settings, django_capture_on_commit_callbacks
):
    settings.WORKING_HOURS = (0, 0)
    with django_capture_on_commit_callbacks(execute=True):
        Client().post(reverse("account_login"), {"login": "rep_east", "password": PASSWORD})
    alert = Alert.objects.get(rule="off_hours")
    rep = signed_in(org["rep_sh"])
    event = AuditEvent.objects.first()
    assert rep.get(reverse("audit:event_detail", args=[event.pk])).status_code in (403, 404)
    response = rep.post(reverse("audit:alert_acknowledge", args=[alert.pk]), {"note": "x"})
    assert response.status_code in (403, 404)
    alert.refresh_from_db()
    assert alert.acknowledged_by is None
