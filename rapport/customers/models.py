"""Accounts (companies) and contacts (people)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from rapport.core.models import OwnedModel
from rapport.identity.querysets import RestrictedManager


class Industry(models.TextChoices):
    MANUFACTURING = "manufacturing", _("Manufacturing")
    TECHNOLOGY = "technology", _("Information technology")
    FINANCE = "finance", _("Finance and insurance")
    RETAIL = "retail", _("Retail and wholesale")
    HEALTHCARE = "healthcare", _("Healthcare")
    EDUCATION = "education", _("Education")
    ENERGY = "energy", _("Energy")
    LOGISTICS = "logistics", _("Logistics")
    REAL_ESTATE = "real_estate", _("Real estate and construction")
    GOVERNMENT = "government", _("Government and public sector")
    OTHER = "other", _("Other")


class Tier(models.TextChoices):
    A = "A", _("A — strategic")
    B = "B", _("B — key")
    C = "C", _("C — standard")
    D = "D", _("D — small")


class LifecycleStage(models.TextChoices):
    PROSPECT = "prospect", _("Prospect")
    ONBOARDING = "onboarding", _("Onboarding")
    ACTIVE = "active", _("Active customer")
    AT_RISK = "at_risk", _("At risk")
    CHURNED = "churned", _("Churned")
    PARTNER = "partner", _("Partner")


class Account(OwnedModel):
    security_type = "customers.account"
    shareable = True

    name = models.CharField(_("name"), max_length=200)
    short_name = models.CharField(_("short name"), max_length=60, blank=True)
    credit_code = models.CharField(_("unified social credit code"), max_length=18, blank=True)
    industry = models.CharField(_("industry"), max_length=30, choices=Industry, blank=True)
    province = models.CharField(_("province"), max_length=30, blank=True)
    city = models.CharField(_("city"), max_length=30, blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    website = models.URLField(_("website"), max_length=200, blank=True)
    tier = models.CharField(_("tier"), max_length=1, choices=Tier, default=Tier.C)
    lifecycle_stage = models.CharField(
        _("lifecycle stage"), max_length=20, choices=LifecycleStage, default=LifecycleStage.PROSPECT
    )
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent account"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="subsidiaries",
    )
    is_active = models.BooleanField(_("active"), default=True)

    objects = RestrictedManager()

    class Meta:
        ordering = ["-id"]
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        constraints = [
            models.UniqueConstraint(
                fields=["credit_code"],
                condition=~Q(credit_code=""),
                name="customers_account_credit_code_unique",
            )
        ]
        indexes = [
            models.Index(fields=["owner", "-id"], name="account_owner_idx"),
            models.Index(fields=["name", "id"], name="account_name_idx"),
            # Filtered lists sorted by name walk one of these and stop after a page.
            models.Index(fields=["province", "name", "id"], name="account_province_name_idx"),
            models.Index(fields=["tier", "name", "id"], name="account_tier_name_idx"),
            models.Index(fields=["province", "city"], name="account_region_idx"),
            models.Index(fields=["-updated_at", "-id"], name="account_updated_idx"),
        ]

    def __str__(self) -> str:
        return self.name


class Contact(OwnedModel):
    security_type = "customers.contact"
    shareable = True

    name = models.CharField(_("name"), max_length=120)
    title = models.CharField(_("job title"), max_length=120, blank=True)
    phones = models.JSONField(_("phones"), default=list, blank=True)
    emails = models.JSONField(_("e-mails"), default=list, blank=True)
    accounts = models.ManyToManyField(
        Account, verbose_name=_("accounts"), blank=True, related_name="contacts"
    )
    is_active = models.BooleanField(_("active"), default=True)

    objects = RestrictedManager()

    class Meta:
        ordering = ["-id"]
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        indexes = [
            models.Index(fields=["owner", "-id"], name="contact_owner_idx"),
            models.Index(fields=["name", "id"], name="contact_name_idx"),
        ]

    def __str__(self) -> str:
        return self.name
