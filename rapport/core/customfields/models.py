"""The definition of a custom field."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from rapport.core.models import localized

from ..models import TimeStampedModel


class FieldType(models.TextChoices):
    TEXT = "text", _("Text")
    LONG_TEXT = "long_text", _("Long text")
    NUMBER = "number", _("Whole number")
    DECIMAL = "decimal", _("Decimal number")
    DATE = "date", _("Date")
    DATETIME = "datetime", _("Date and time")
    CHOICE = "choice", _("Single choice")
    MULTI_CHOICE = "multi_choice", _("Multiple choice")
    BOOLEAN = "boolean", _("Yes / no")
    USER = "user", _("User")
    URL = "url", _("Web address")
    EMAIL = "email", _("E-mail")
    PHONE = "phone", _("Phone")


class CustomField(TimeStampedModel):
    """A typed field on one kind of record, with bilingual label and help.

    `choices` is a list of {"value", "label", "label_en"}; `validation` may hold min, max
    (numbers, dates), max_length and pattern (text). The key never changes once values exist.
    """

    security_type = "core.customfield"

    object_type = models.CharField(_("record type"), max_length=60)
    key = models.SlugField(_("key"), max_length=40)
    label = models.CharField(_("label"), max_length=100)
    label_en = models.CharField(_("English label"), max_length=100, blank=True)
    type = models.CharField(_("type"), max_length=20, choices=FieldType)
    required = models.BooleanField(_("required"), default=False)
    default = models.JSONField(_("default value"), null=True, blank=True)
    choices = models.JSONField(_("choices"), default=list, blank=True)
    validation = models.JSONField(_("validation"), default=dict, blank=True)
    help_text = models.CharField(_("help text"), max_length=300, blank=True)
    help_text_en = models.CharField(_("English help text"), max_length=300, blank=True)
    position = models.PositiveIntegerField(_("position"), default=100)
    indexed = models.BooleanField(
        _("fast filtering"),
        default=False,
        help_text=_("Keep a database index on this field (for fields people often filter on)."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )

    class Meta:
        ordering = ["object_type", "position", "id"]
        verbose_name = _("custom field")
        verbose_name_plural = _("custom fields")
        constraints = [
            models.UniqueConstraint(fields=["object_type", "key"], name="custom_field_key_unique")
        ]

    def __str__(self) -> str:
        return f"{self.object_type}.{self.key}"

    def _localized(self, chinese: str, english: str) -> str:
        return localized(chinese, english)

    @property
    def display_label(self) -> str:
        """The label in the reader's language (English falls back to the Chinese label)."""
        return self._localized(self.label, self.label_en)

    @property
    def display_help(self) -> str:
        return self._localized(self.help_text, self.help_text_en)

    def choice_label(self, value) -> str:
        for choice in self.choices or []:
            if choice.get("value") == value:
                return self._localized(choice.get("label", ""), choice.get("label_en", "")) or value
        return str(value)
