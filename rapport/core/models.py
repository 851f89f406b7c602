"""Base mixins and the platform tables every domain uses: outbox and jobs."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import translation
from django.utils.translation import gettext_lazy as _


def localized(chinese: str, english: str) -> str:
    """Text kept in both languages, in the reader's: the English for English readers when
    there is one, else the Chinese (the English when there is no Chinese)."""
    language = translation.get_language() or ""
    if language.startswith("en") and english:
        return english
    return chinese or english


class BilingualNameMixin:
    """`display_name` for records named in Chinese (`name`) and optionally English
    (`name_en`): calendars, categories, policies, rules …"""

    name: str
    name_en: str

    @property
    def display_name(self) -> str:
        return localized(self.name, self.name_en)


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        abstract = True


class OwnedModel(TimeStampedModel):
    """A business record with an owner. Record scope (own/team/department) keys on `owner`.

    A model that inherits this and uses `rapport.identity.policy.RestrictedManager` gets
    `restrict(user, action)` and `can(user, action, record)` with no further code.
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )

    class Meta:
        abstract = True


class OutboxMessage(models.Model):
    """A domain event written in the same transaction as the change, for external delivery.

    The relay marks a message delivered only after every external handler accepted it, and
    handlers receive the idempotency key so a retry after a crash is recognised downstream.
    """

    topic = models.CharField(max_length=100, db_index=True)
    payload = models.JSONField(default=dict)
    idempotency_key = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        indexes = [models.Index(fields=["delivered_at", "id"], name="outbox_pending_idx")]

    def __str__(self) -> str:
        return f"{self.topic} #{self.pk}"


class Job(models.Model):
    """A long-running piece of work: its state, progress, counts, errors and checkpoint."""

    class State(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    kind = models.CharField(_("kind"), max_length=60, db_index=True)
    title = models.CharField(_("title"), max_length=200, blank=True)
    state = models.CharField(_("state"), max_length=20, choices=State, default=State.QUEUED)
    total = models.PositiveIntegerField(_("total"), default=0)
    processed = models.PositiveIntegerField(_("processed"), default=0)
    succeeded = models.PositiveIntegerField(_("succeeded"), default=0)
    failed = models.PositiveIntegerField(_("failed"), default=0)
    errors = models.JSONField(_("errors"), default=list, blank=True)
    checkpoint = models.JSONField(_("checkpoint"), default=dict, blank=True)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    result = models.JSONField(_("result"), default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("job")
        verbose_name_plural = _("jobs")

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk}"

    @property
    def percent(self) -> int:
        if self.state == self.State.SUCCEEDED:
            return 100
        if not self.total:
            return 0
        return min(100, int(self.processed * 100 / self.total))

    @property
    def is_finished(self) -> bool:
        return self.state in {self.State.SUCCEEDED, self.State.FAILED, self.State.CANCELLED}


# Tags live in their own package; imported here so the core app registers their models.
# So do the search index and notifications.
from .customfields.models import CustomField  # noqa: E402, F401
from .notifications.models import Notification  # noqa: E402, F401
from .search.models import SearchDocument, SearchKey  # noqa: E402, F401
from .tags.models import Tag, TaggedRecord  # noqa: E402, F401
