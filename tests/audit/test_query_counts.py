"""Audit pages: the number of queries does not grow with the events, alerts or rules shown.

Each test renders a page with a few rows, adds many more, and renders it again: the second
render must run exactly as many queries as the first (no N+1 through lazy relations).
"""

from __future__ import annotations

import itertools
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from rapport.audit import services
from rapport.audit.models import Alert, AuditEvent, BehaviourRule
from rapport.core import trail
from tests.factories import AccountFactory, UserFactory
from tests.query_counts import assert_flat as _assert_flat
from tests.query_counts import page_queries as _queries

pytestmark = pytest.mark.django_db

_numbers = itertools.count()


def _count(pattern: str):
    return lambda body: len(re.findall(pattern, body))


def _event(actor=None) -> AuditEvent:
    """One event by a different person each time, about a customer, with field changes."""
    actor = actor or UserFactory()
    account = AccountFactory(owner=actor)
    return trail.record(
        actor=actor,
        action="customers.account.update",
        target=account,
        changes={"tier": ["B", "A"], "city": ["上海市", "北京市"]},
        extra={"note": f"change {next(_numbers)}"},
    )


def _alert(*, acknowledged_by=None) -> Alert:
    subject = UserFactory()
    return Alert.objects.create(
        rule=BehaviourRule.Code.MASS_VIEW,
        severity=Alert.Severity.HIGH,
        subject=subject,
        subject_repr=subject.username,
        message="…",
        details={"count": 60, "window_minutes": 10},
        acknowledged_by=acknowledged_by,
        acknowledged_at=timezone.now() if acknowledged_by else None,
        note="checked" if acknowledged_by else "",
    )


@pytest.mark.parametrize("role", ["auditor", "admin"])
def test_event_list_queries_do_not_grow(client, org, role):
    client.force_login(org[role])

    def grow(count):
        for _ in range(count):
            _event()

    _assert_flat(
        client,
        reverse("audit:event_list"),
        grow,
        few=5,
        many=40,
        rows=_count(r"data-seq="),
    )


def test_filtered_event_list_queries_do_not_grow(client, org):
    client.force_login(org["auditor"])

    def grow(count):
        for _ in range(count):
            _event()

    _assert_flat(
        client,
        reverse("audit:event_list"),
        grow,
        few=5,
        many=40,
        params={"action": "customers.account", "result": "success"},
        rows=_count(r"data-seq="),
    )


def test_event_detail_queries_do_not_grow(client, org):
    client.force_login(org["auditor"])
    actor = UserFactory()
    account = AccountFactory(owner=actor)
    changes: dict = {}
    extra: dict = {}
    event_ids: list[int] = []

    def grow(count):
        # More fields changed and more details on the event, and more events around it.
        for _ in range(count):
            number = next(_numbers)
            changes[f"field_{number}"] = [f"old {number}", f"new {number}"]
            extra[f"key_{number}"] = f"value {number}"
            _event()
        event_ids.append(
            trail.record(
                actor=actor, action="update", target=account, changes=changes, extra=extra
            ).pk
        )

    grow(5)
    url = reverse("audit:event_detail", args=[event_ids[-1]])
    client.get(url)
    expected, _body = _queries(client, url)
    grow(35)
    actual, body = _queries(client, reverse("audit:event_detail", args=[event_ids[-1]]))
    assert len(re.findall(r"<code>field_\d+</code>", body)) == 40
    assert actual == expected


@pytest.mark.parametrize("state", ["open", "acknowledged", "all"])
def test_alert_list_queries_do_not_grow(client, org, state):
    client.force_login(org["auditor"])

    def grow(count):
        for number in range(count):
            _alert()
            _alert(acknowledged_by=org["admin"] if number % 2 else org["auditor"])

    _assert_flat(
        client,
        reverse("audit:alert_list"),
        grow,
        few=5,
        many=40,
        params={"state": state},
        rows=_count(r"data-alert="),
    )


@pytest.mark.parametrize("role", ["auditor", "admin"])
def test_rule_list_queries_do_not_grow(client, org, role):
    """There is one rule per kind, so "many" is all of them against one."""
    client.force_login(org[role])
    services.ensure_defaults()
    BehaviourRule.objects.exclude(code=BehaviourRule.Code.MASS_VIEW).delete()
    url = reverse("audit:rule_list")
    client.get(url)
    expected, body = _queries(client, url)
    assert body.count('data-testid="rule-') == 1
    services.ensure_defaults()
    actual, body = _queries(client, url)
    assert body.count('data-testid="rule-') == len(BehaviourRule.Code)
    assert actual == expected
