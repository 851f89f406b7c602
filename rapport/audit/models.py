"""Append-only, hash-chained audit events; behaviour rules and the alerts they raise."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from rapport.identity.querysets import RestrictedManager


class AuditEvent(models.Model):
    """One thing that happened. Database triggers reject UPDATE and DELETE of these rows."""

    security_type = "audit.event"
    scope_owner_field = "actor"

    class Result(models.TextChoices):
        SUCCESS = "success", _("Success")
        FAILURE = "failure", _("Failure")
        DENIED = "denied", _("Denied")

    seq = models.PositiveBigIntegerField(unique=True)
    at = models.DateTimeField(_("time"), db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
    )
    actor_repr = models.CharField(_("user"), max_length=150, blank=True)
    action = models.CharField(_("action"), max_length=60, db_index=True)
    object_type = models.CharField(_("object type"), max_length=60, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    object_repr = models.CharField(_("object"), max_length=200, blank=True)
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    result = models.CharField(_("result"), max_length=10, choices=Result, default=Result.SUCCESS)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=300, blank=True)
    channel = models.CharField(_("channel"), max_length=10, blank=True)
    extra = models.JSONField(_("details"), default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    objects = RestrictedManager()

    class Meta:
        ordering = ["-seq"]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        indexes = [
            models.Index(fields=["object_type", "object_id", "-seq"], name="audit_object_idx"),
            models.Index(fields=["actor", "-seq"], name="audit_actor_idx"),
            models.Index(fields=["actor", "action", "at"], name="audit_actor_action_at_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.object_type}:{self.object_id}"

    @property
    def readable_changes(self) -> dict:
        from .display import readable_changes

        return readable_changes(self.changes)


class ChainHead(models.Model):
    """The single row that serialises appends and remembers where a retention purge cut."""

    last_seq = models.PositiveBigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)
    purged_through_seq = models.PositiveBigIntegerField(default=0)
    purged_through_hash = models.CharField(max_length=64, default="0" * 64)

    def __str__(self) -> str:
        return f"chain head #{self.last_seq}"


class PurgePermit(models.Model):
    """Present only inside a retention purge; the DELETE trigger refuses while it is absent."""

    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"purge permit {self.pk}"


class BehaviourRule(models.Model):
    class Code(models.TextChoices):
        MASS_VIEW = "mass_view", _("Many customer records viewed in a short time")
        FAILED_LOGINS = "failed_logins", _("Many failed logins")
        OFF_HOURS = "off_hours", _("Access outside working hours")
        BULK_EXPORT = "bulk_export", _("Bulk export")

    code = models.CharField(_("rule"), max_length=30, choices=Code, unique=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    threshold = models.PositiveIntegerField(_("threshold"), default=1)
    window_minutes = models.PositiveIntegerField(_("window (minutes)"), default=10)

    class Meta:
        ordering = ["code"]
        verbose_name = _("behaviour rule")
        verbose_name_plural = _("behaviour rules")

    def __str__(self) -> str:
        return self.get_code_display()


ALERT_TEXTS = {
    BehaviourRule.Code.MASS_VIEW: _(
        "%(user)s viewed %(count)d customer records in %(minutes)d minutes."
    ),
    BehaviourRule.Code.FAILED_LOGINS: _(
        "%(count)d failed logins for “%(user)s” in %(minutes)d minutes."
    ),
    BehaviourRule.Code.OFF_HOURS: _("%(user)s signed in outside working hours."),
    BehaviourRule.Code.BULK_EXPORT: _("%(user)s exported %(count)d records."),
}


class Alert(models.Model):
    security_type = "audit.alert"
    scope_owner_field = "subject"

    class Severity(models.TextChoices):
        LOW = "low", _("Low")
        MEDIUM = "medium", _("Medium")
        HIGH = "high", _("High")

    rule = models.CharField(_("rule"), max_length=30, choices=BehaviourRule.Code)
    severity = models.CharField(
        _("severity"), max_length=10, choices=Severity, default=Severity.MEDIUM
    )
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    subject_repr = models.CharField(_("user"), max_length=150, blank=True)
    message = models.CharField(_("message"), max_length=300)
    details = models.JSONField(_("details"), default=dict, blank=True)
    created_at = models.DateTimeField(_("raised at"), auto_now_add=True, db_index=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("acknowledged by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)

    objects = RestrictedManager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")

    def __str__(self) -> str:
        return self.message

    @property
    def is_open(self) -> bool:
        return self.acknowledged_at is None

    @property
    def text(self) -> str:
        """The alert in the reader's language, built from its rule and details."""
        template = ALERT_TEXTS.get(self.rule)
        if template is None:
            return self.message
        return str(template) % {
            "user": self.subject_repr,
            "count": int(self.details.get("count", 0) or 0),
            "minutes": int(self.details.get("window_minutes", 0) or 0),
        }
