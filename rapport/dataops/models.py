from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class PairState(models.TextChoices):
    OPEN = "open", _("To review")
    DISMISSED = "dismissed", _("Not duplicates")


class DuplicatePair(models.Model):
    """Two records the duplicate scan found alike: the lower id first, the score (0–100) and
    the reasons (codes, shown in the reader's language). A pair someone marked "not
    duplicates" stays dismissed when later scans find it again; a pair whose record was
    merged away (inactive) drops out of the review list."""

    object_type = models.CharField(_("record type"), max_length=40)
    first_id = models.PositiveBigIntegerField()
    second_id = models.PositiveBigIntegerField()
    score = models.PositiveSmallIntegerField(_("score"))
    reasons = models.JSONField(default=list)
    state = models.CharField(_("state"), max_length=10, choices=PairState, default=PairState.OPEN)
    found_at = models.DateTimeField(_("found at"), auto_now_add=True)
    seen_at = models.DateTimeField(_("last seen"), auto_now=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("possible duplicate")
        verbose_name_plural = _("possible duplicates")
        constraints = [
            models.UniqueConstraint(
                fields=["object_type", "first_id", "second_id"], name="duplicate_pair_unique"
            )
        ]
        indexes = [
            models.Index(
                fields=["object_type", "state", "-score", "id"], name="duplicate_review_idx"
            )
        ]

    def __str__(self) -> str:
        return f"{self.object_type} {self.first_id} ~ {self.second_id} ({self.score})"
