"""Audit writes: the trail writer, behaviour rules and alerts, acknowledgement, retention."""

from __future__ import annotations

import zoneinfo
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from rapport.core import events, trail
from rapport.core.errors import DomainError, PermissionDenied
from rapport.identity import policy
from rapport.identity.models import Action, User

from . import chain
from .models import Alert, AuditEvent, BehaviourRule, ChainHead, PurgePermit

CUSTOMER_VIEW_TYPES = ("customers.account", "customers.contact")


DEFAULT_RULES = {
    BehaviourRule.Code.MASS_VIEW: (50, 10),
    BehaviourRule.Code.FAILED_LOGINS: (5, 15),
    BehaviourRule.Code.OFF_HOURS: (1, 60),
    BehaviourRule.Code.BULK_EXPORT: (1000, 60),
}


def ensure_defaults() -> None:
    """The chain head and the default behaviour rules exist (idempotent; runs after migrate)."""
    ChainHead.objects.get_or_create(pk=1)
    for code, (threshold, window) in DEFAULT_RULES.items():
        BehaviourRule.objects.get_or_create(
            code=code, defaults={"threshold": threshold, "window_minutes": window}
        )


def write_event(**fields) -> AuditEvent:
    event = chain.append(**fields)
    transaction.on_commit(lambda: evaluate_rules(event))
    return event


def write_events(**fields) -> list[AuditEvent]:
    created = chain.append_many(**fields)
    transaction.on_commit(lambda: [evaluate_rules(event) for event in created])
    return created


def _rule(code: str) -> BehaviourRule | None:
    return BehaviourRule.objects.filter(code=code, enabled=True).first()


def _raise_alert(
    *,
    rule: BehaviourRule,
    subject: User | None,
    subject_repr: str,
    details: dict,
    severity: str = Alert.Severity.MEDIUM,
) -> Alert | None:
    """Raise once per subject and rule while an unacknowledged alert is within the window."""
    since = timezone.now() - timedelta(minutes=rule.window_minutes)
    open_alerts = Alert.objects.filter(
        rule=rule.code, acknowledged_at__isnull=True, created_at__gte=since
    )
    open_alerts = (
        open_alerts.filter(subject=subject)
        if subject
        else open_alerts.filter(subject_repr=subject_repr)
    )
    if open_alerts.exists():
        return None
    details = {"window_minutes": rule.window_minutes, **details}
    with transaction.atomic():
        alert = Alert(
            rule=rule.code,
            severity=severity,
            subject=subject,
            subject_repr=subject_repr[:150],
            details=details,
        )
        with translation.override(settings.LANGUAGE_CODE):
            alert.message = alert.text[:300]  # stored once, in the installation's language
        alert.save()
        trail.record(
            actor=None, action="alert.raise", target=alert, extra={"rule": rule.code, **details}
        )
        events.emit("audit.alert_raised", {"id": alert.pk, "rule": rule.code})
        _notify_watchers(alert)
    return alert


ALERT_MESSAGE = "audit.alert_raised"


def _notify_watchers(alert: Alert) -> int:
    """Tell everyone who may see the alert (the alerts page's readers), in the bell and by
    e-mail, in the same transaction as the alert. Returns how many were told."""
    from django.db.models import Q
    from django.urls import reverse

    from rapport.core.notifications.services import notify

    candidates = (
        User.objects.filter(is_active=True)
        .filter(
            Q(is_superuser=True)
            | Q(roles__grants__object_type=Alert.security_type, roles__grants__action=Action.VIEW)
        )
        .distinct()
    )
    told = 0
    for watcher in candidates:
        if policy.can(watcher, Action.VIEW, alert):
            notified = notify(
                recipient=watcher,
                kind="audit.alert",
                message_key=ALERT_MESSAGE,
                params={"message": alert.message},
                target=alert,
                url=reverse("audit:alert_list"),
                idempotency_key=f"audit.alert:{alert.pk}:{watcher.pk}",
            )
            told += notified is not None
    return told


def _outside_working_hours(user: User, at) -> bool:
    try:
        zone = zoneinfo.ZoneInfo(user.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = zoneinfo.ZoneInfo(settings.DEFAULT_USER_TIMEZONE)
    local = at.astimezone(zone)
    start, end = settings.WORKING_HOURS
    return local.weekday() >= 5 or not (start <= local.hour < end)


def evaluate_rules(event: AuditEvent) -> Alert | None:
    """Check the behaviour rules an event can trip. Runs after the event's transaction commits."""
    if event.action == "view" and event.object_type in CUSTOMER_VIEW_TYPES and event.actor_id:
        rule = _rule(BehaviourRule.Code.MASS_VIEW)
        if rule:
            since = event.at - timedelta(minutes=rule.window_minutes)
            viewed = (
                AuditEvent.objects.filter(
                    actor_id=event.actor_id,
                    action="view",
                    at__gte=since,
                    object_type__in=CUSTOMER_VIEW_TYPES,
                )
                .values("object_type", "object_id")
                .distinct()
                .count()
            )
            if viewed >= rule.threshold:
                return _raise_alert(
                    rule=rule,
                    subject=event.actor,
                    subject_repr=event.actor_repr,
                    details={"count": viewed, "window_minutes": rule.window_minutes},
                    severity=Alert.Severity.HIGH,
                )
    elif event.action == "auth.login_failed":
        rule = _rule(BehaviourRule.Code.FAILED_LOGINS)
        if rule and event.object_repr:
            since = event.at - timedelta(minutes=rule.window_minutes)
            failures = AuditEvent.objects.filter(
                action="auth.login_failed", object_repr=event.object_repr, at__gte=since
            ).count()
            if failures >= rule.threshold:
                subject = User.objects.filter(username__iexact=event.object_repr).first()
                return _raise_alert(
                    rule=rule,
                    subject=subject,
                    subject_repr=event.object_repr,
                    details={
                        "count": failures,
                        "ip": event.ip,
                        "window_minutes": rule.window_minutes,
                    },
                    severity=Alert.Severity.HIGH,
                )
    elif event.action == "auth.login" and event.actor_id:
        rule = _rule(BehaviourRule.Code.OFF_HOURS)
        if rule and _outside_working_hours(event.actor, event.at):
            return _raise_alert(
                rule=rule,
                subject=event.actor,
                subject_repr=event.actor_repr,
                details={"at": event.at.isoformat(), "ip": event.ip},
                severity=Alert.Severity.LOW,
            )
    elif event.action == "export" and event.actor_id:
        rule = _rule(BehaviourRule.Code.BULK_EXPORT)
        count = int(event.extra.get("count", 0) or 0)
        if rule and count >= rule.threshold:
            return _raise_alert(
                rule=rule,
                subject=event.actor,
                subject_repr=event.actor_repr,
                details={"count": count, "object_type": event.object_type},
                severity=Alert.Severity.HIGH,
            )
    return None


def alert_acknowledge(*, actor: User, alert: Alert, note: str = "") -> Alert:
    if not policy.can(actor, Action.MANAGE, alert):
        raise PermissionDenied()
    if alert.acknowledged_at is not None:
        raise DomainError(
            _("This alert has already been acknowledged."), code="already_acknowledged"
        )
    with transaction.atomic():
        alert.acknowledged_by = actor
        alert.acknowledged_at = timezone.now()
        alert.note = note
        alert.save(update_fields=["acknowledged_by", "acknowledged_at", "note"])
        trail.record(actor=actor, action="alert.acknowledge", target=alert, extra={"note": note})
    return alert


def behaviour_rule_update(
    *,
    actor: User,
    rule: BehaviourRule,
    enabled: bool | None = None,
    threshold: int | None = None,
    window_minutes: int | None = None,
) -> BehaviourRule:
    if not policy.has_grant(actor, "audit.alert", Action.MANAGE):
        raise PermissionDenied()
    from django.core.exceptions import ValidationError

    errors = {}
    if threshold is not None and threshold < 1:
        errors["threshold"] = ValidationError(
            _("The threshold must be at least 1."), code="min_value"
        )
    if window_minutes is not None and not 1 <= window_minutes <= 7 * 24 * 60:
        errors["window_minutes"] = ValidationError(
            _("The window must be between 1 minute and 7 days."), code="out_of_range"
        )
    if errors:
        raise ValidationError(errors)
    before = trail.snapshot(rule, ("enabled", "threshold", "window_minutes"))
    for name, value in (
        ("enabled", enabled),
        ("threshold", threshold),
        ("window_minutes", window_minutes),
    ):
        if value is not None:
            setattr(rule, name, value)
    with transaction.atomic():
        rule.save()
        changes = trail.diff(
            before, trail.snapshot(rule, ("enabled", "threshold", "window_minutes"))
        )
        if changes:
            trail.record(actor=actor, action="admin.behaviour_rule", target=rule, changes=changes)
    return rule


def chain_verify(*, actor: User) -> chain.VerifyResult:
    """Verify the whole hash chain on an auditor's request; the check itself is audited."""
    if not policy.has_grant(actor, "audit.event", Action.VIEW):
        raise PermissionDenied()
    result = chain.verify()
    with transaction.atomic():
        trail.record(
            actor=actor,
            action="audit.verify",
            object_type="audit.event",
            result="success" if result.ok else "failure",
            extra={
                "ok": result.ok,
                "checked": result.checked,
                "first_bad_seq": result.first_bad_seq,
                "reason": result.reason,
            },
        )
    return result


def audit_purge_expired(*, now=None, retention_days: int | None = None) -> int:
    """Delete events older than the retention period, keeping the chain verifiable.

    The newest purged event's hash becomes the anchor the verifier starts from; the purge
    itself is an audit event. System action (run by beat), not a user's.
    """
    days = settings.AUDIT_RETENTION_DAYS if retention_days is None else retention_days
    cutoff = (now or timezone.now()) - timedelta(days=days)
    with transaction.atomic():
        head = chain._head_for_update()
        last = AuditEvent.objects.filter(at__lt=cutoff).order_by("-seq").first()
        if last is None:
            return 0
        permit = PurgePermit.objects.create()
        deleted, _details = AuditEvent.objects.filter(seq__lte=last.seq).delete()
        permit.delete()
        ChainHead.objects.filter(pk=head.pk).update(
            purged_through_seq=last.seq, purged_through_hash=last.hash
        )
        trail.record(
            actor=None,
            action="audit.purge",
            object_type="audit.event",
            extra={"deleted": deleted, "through_seq": last.seq, "retention_days": days},
        )
    return deleted
