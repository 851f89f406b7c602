"""The search index tables: one document per record, and its blind keys.

The full-text side is not a Django field: on SQLite an FTS5 table (`core_search_fts`, external
content over `core_searchdocument.terms`, kept in sync by triggers) with its vocabulary
(`core_search_vocab`); on PostgreSQL a generated `search_vector` column (`simple` tsvector)
with a GIN index, and a vocabulary table with a pg_trgm index. Migration 0004 creates them.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class SearchDocument(models.Model):
    """What the index knows of one record: folded terms, and a title for operators."""

    object_type = models.CharField(_("object type"), max_length=60)
    object_id = models.BigIntegerField(_("object id"))
    title = models.CharField(_("title"), max_length=300)
    subtitle = models.CharField(_("subtitle"), max_length=300, blank=True)
    # Space-separated folded terms (words, jieba words, pinyin, initials). Never phones or
    # e-mails: those are only in SearchKey, as keyed hashes.
    terms = models.TextField(_("terms"), blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("search document")
        verbose_name_plural = _("search documents")
        constraints = [
            models.UniqueConstraint(
                fields=["object_type", "object_id"], name="core_searchdocument_object_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.object_type} #{self.object_id}"


class SearchKey(models.Model):
    """A blind index (HMAC) of a phone or e-mail of a document's record, for exact matches."""

    document = models.ForeignKey(SearchDocument, on_delete=models.CASCADE, related_name="keys")
    key = models.CharField(max_length=64)

    class Meta:
        indexes = [models.Index(fields=["key", "document"], name="core_searchkey_key_idx")]

    def __str__(self) -> str:
        return self.key[:12]
