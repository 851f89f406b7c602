"""The tag tree and the links between tags and records of any taggable model."""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from rapport.core.models import TimeStampedModel, localized


class Colour(models.TextChoices):
    """Tabler's colour names: a chip is `badge bg-<colour>-lt`."""

    BLUE = "blue", _("Blue")
    AZURE = "azure", _("Azure")
    INDIGO = "indigo", _("Indigo")
    PURPLE = "purple", _("Purple")
    PINK = "pink", _("Pink")
    RED = "red", _("Red")
    ORANGE = "orange", _("Orange")
    YELLOW = "yellow", _("Yellow")
    LIME = "lime", _("Lime")
    GREEN = "green", _("Green")
    TEAL = "teal", _("Teal")
    CYAN = "cyan", _("Cyan")


class Tag(TimeStampedModel):
    """A node of the tag tree. `path` ("/3/17/") makes subtree reads one indexed LIKE.

    Tags are deactivated, never deleted: the audit trail and old links keep naming them.
    """

    security_type = "core.tag"

    name = models.CharField(_("name"), max_length=60)
    name_en = models.CharField(_("English name"), max_length=60, blank=True)
    colour = models.CharField(_("colour"), max_length=20, choices=Colour, default=Colour.BLUE)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent tag"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
    )
    path = models.CharField(max_length=255, db_index=True, editable=False, default="/")
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        app_label = "core"
        ordering = ["path"]
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        constraints = [
            # NULL parents are distinct in a unique index, so top-level names get their own.
            models.UniqueConstraint(
                fields=["parent", "name"],
                condition=Q(parent__isnull=False),
                name="core_tag_sibling_name_unique",
            ),
            models.UniqueConstraint(
                fields=["name"],
                condition=Q(parent__isnull=True),
                name="core_tag_root_name_unique",
            ),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        """The name in the reader's language: the English name for English readers, if given."""
        return localized(self.name, self.name_en)

    @property
    def depth(self) -> int:
        return max(0, self.path.count("/") - 2)

    @property
    def css_class(self) -> str:
        return f"bg-{self.colour}-lt"


class TaggedRecord(models.Model):
    """One tag on one record of a taggable model.

    "Records with tag X or below" is `pk IN (SELECT object_id … WHERE tag_id IN (…) AND
    content_type_id = …)`, answered from the (tag, content_type, object_id) index alone.
    "Tags of these records" is answered from the unique (content_type, object_id, tag) index,
    whose leading columns serve lookups by record: a separate (content_type, object_id)
    index would only duplicate it and slow every write.
    """

    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, related_name="+")
    object_id = models.PositiveBigIntegerField()
    tag = models.ForeignKey(Tag, on_delete=models.PROTECT, related_name="links")
    tagged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    tagged_at = models.DateTimeField(default=timezone.now)

    class Meta:
        app_label = "core"
        verbose_name = _("tagged record")
        verbose_name_plural = _("tagged records")
        constraints = [
            models.UniqueConstraint(
                fields=["content_type", "object_id", "tag"], name="core_tagged_record_unique"
            )
        ]
        indexes = [
            models.Index(fields=["tag", "content_type", "object_id"], name="tagged_by_tag_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.content_type_id}:{self.object_id} {self.tag_id}"
