"""Leads: people and companies who may buy, before they are customers, and the pool (公海)
that holds the leads nobody has."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from rapport.core.crypto import EncryptedTextField
from rapport.core.models import BilingualNameMixin, TimeStampedModel
from rapport.identity.querysets import RestrictedManager

from .common import MONEY, currency_field


class LeadSource(models.TextChoices):
    MANUAL = "manual", _("Entered by hand")
    WEB_FORM = "web_form", _("Web form")
    API = "api", _("API")
    IMPORT = "import", _("Import")
    REFERRAL = "referral", _("Referral")
    EVENT = "event", _("Event or trade fair")
    CAMPAIGN = "campaign", _("Campaign")
    PHONE = "phone", _("Incoming call")
    OTHER = "other", _("Other")


class LeadStatus(models.TextChoices):
    NEW = "new", _("New")
    WORKING = "working", _("Being worked")
    QUALIFIED = "qualified", _("Qualified")
    DISQUALIFIED = "disqualified", _("Disqualified")
    CONVERTED = "converted", _("Converted")


OPEN_LEAD_STATUSES = (LeadStatus.NEW, LeadStatus.WORKING, LeadStatus.QUALIFIED)


class LeadRating(models.TextChoices):
    HOT = "hot", _("Hot")
    WARM = "warm", _("Warm")
    COLD = "cold", _("Cold")


class AssignmentMethod(models.TextChoices):
    ROUND_ROBIN = "round_robin", _("Round robin")
    LEAST_LOADED = "least_loaded", _("Fewest open leads")
    USER = "user", _("A named person")
    POOL = "pool", _("Leave in the pool")


class LeadPool(BilingualNameMixin, TimeStampedModel):
    """An unassigned pool (公海) of leads: reps of its team (everyone, without a team) claim
    from it, up to `max_held` open leads each; a rep's lead with no follow-up for
    `return_after_days` goes back to it."""

    security_type = "sales.leadpool"

    name = models.CharField(_("name"), max_length=100, unique=True)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)
    team = models.ForeignKey(
        "identity.Team",
        verbose_name=_("team"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="lead_pools",
    )
    max_held = models.PositiveIntegerField(
        _("most open leads a rep may hold"), null=True, blank=True
    )
    claims_per_day = models.PositiveIntegerField(
        _("most claims per rep per day"), null=True, blank=True
    )
    return_after_days = models.PositiveIntegerField(
        _("back to the pool after days without follow-up"), null=True, blank=True
    )
    is_default = models.BooleanField(_("default"), default=False)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("lead pool")
        verbose_name_plural = _("lead pools")
        ordering = ["-is_default", "name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="sales_pool_one_default"
            )
        ]

    def __str__(self) -> str:
        return self.display_name


class LeadAssignmentRule(BilingualNameMixin, TimeStampedModel):
    """Where a new lead goes: the first active rule in order whose condition holds (the filter
    language over lead fields — region, industry, source …; empty: every lead) hands it to
    its team by round robin or by load, to a named person, or leaves it in its pool."""

    security_type = "sales.leadpool"

    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)
    position = models.PositiveIntegerField(_("position"), default=0)
    condition = models.JSONField(_("condition"), default=dict, blank=True)
    method = models.CharField(
        _("assignment"), max_length=20, choices=AssignmentMethod, default=AssignmentMethod.POOL
    )
    team = models.ForeignKey(
        "identity.Team",
        verbose_name=_("team"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    pool = models.ForeignKey(
        LeadPool,
        verbose_name=_("pool"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="rules",
    )
    # round robin: who got the last lead from this rule
    last_assigned = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("lead assignment rule")
        verbose_name_plural = _("lead assignment rules")
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.display_name


class Lead(TimeStampedModel):
    """Someone who may buy. A lead with no owner sits in its pool; its contact details are
    personal data, encrypted at rest, with a blind index for exact duplicate checks.

    Visibility keys on the owner and the pool's team (`scope_team_field`): a rep sees their
    own leads and, with team scope, their team's pool and teammates' leads."""

    security_type = "sales.lead"
    scope_owner_field = "owner"
    scope_team_field = "team"

    name = models.CharField(_("name"), max_length=120)
    company = models.CharField(_("company"), max_length=200, blank=True)
    title = models.CharField(_("job title"), max_length=120, blank=True)
    phone = EncryptedTextField(_("phone"), blank=True, default="")
    email = EncryptedTextField(_("e-mail"), blank=True, default="")
    # HMAC blind indexes of the normalised phone (E.164) and e-mail (rapport.core.blind)
    phone_blind = models.CharField(max_length=64, blank=True, default="", editable=False)
    email_blind = models.CharField(max_length=64, blank=True, default="", editable=False)
    # the company's name folded for matching (rapport.core.normalize), for duplicate checks
    company_key = models.CharField(max_length=200, blank=True, default="", editable=False)
    source = models.CharField(
        _("source"), max_length=20, choices=LeadSource, default=LeadSource.MANUAL
    )
    source_detail = models.CharField(_("source detail"), max_length=200, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=LeadStatus, default=LeadStatus.NEW
    )
    rating = models.CharField(_("rating"), max_length=10, choices=LeadRating, blank=True)
    industry = models.CharField(_("industry"), max_length=30, blank=True)
    province = models.CharField(_("province"), max_length=30, blank=True)
    city = models.CharField(_("city"), max_length=30, blank=True)
    website = models.URLField(_("website"), max_length=200, blank=True)
    description = models.TextField(_("description"), blank=True)
    # Qualification (BANT): budget, authority, need, timeline.
    budget = models.DecimalField(_("budget"), **MONEY, null=True, blank=True)
    currency = currency_field()
    is_decision_maker = models.BooleanField(_("decision maker"), null=True, blank=True)
    need = models.TextField(_("need"), blank=True)
    expected_purchase_date = models.DateField(_("expected purchase date"), null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    pool = models.ForeignKey(
        LeadPool,
        verbose_name=_("pool"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="leads",
    )
    # the pool's team, kept on the lead so that visibility is one indexed condition
    team = models.ForeignKey(
        "identity.Team",
        verbose_name=_("team"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    assigned_at = models.DateTimeField(_("assigned at"), null=True, blank=True)
    last_follow_up_at = models.DateTimeField(_("last follow-up"), null=True, blank=True)
    returned_count = models.PositiveIntegerField(_("times returned to the pool"), default=0)
    disqualify_reason = models.CharField(_("reason disqualified"), max_length=300, blank=True)
    converted_at = models.DateTimeField(_("converted at"), null=True, blank=True)
    converted_account = models.ForeignKey(
        "customers.Account",
        verbose_name=_("converted to account"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    converted_contact = models.ForeignKey(
        "customers.Contact",
        verbose_name=_("converted to contact"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    converted_opportunity = models.ForeignKey(
        "sales.Opportunity",
        verbose_name=_("converted to opportunity"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    custom = models.JSONField(_("custom fields"), default=dict, blank=True)

    objects = RestrictedManager()

    class Meta:
        ordering = ["-id"]
        verbose_name = _("lead")
        verbose_name_plural = _("leads")
        indexes = [
            models.Index(fields=["owner", "status", "-id"], name="lead_owner_idx"),
            models.Index(fields=["pool", "status", "-id"], name="lead_pool_idx"),
            models.Index(fields=["team", "-id"], name="lead_team_idx"),
            models.Index(fields=["phone_blind"], name="lead_phone_idx"),
            models.Index(fields=["email_blind"], name="lead_email_idx"),
            models.Index(fields=["company_key"], name="lead_company_idx"),
            # the return-to-pool sweep: owned open leads by their last follow-up
            models.Index(fields=["status", "last_follow_up_at"], name="lead_follow_up_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.company})" if self.company else self.name

    @property
    def in_pool(self) -> bool:
        return self.owner_id is None

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_LEAD_STATUSES


class LeadFollowUp(models.Model):
    """A call, visit or note on a lead: the follow-up that keeps it with its rep."""

    class Kind(models.TextChoices):
        CALL = "call", _("Call")
        EMAIL = "email", _("E-mail")
        MEETING = "meeting", _("Meeting")
        VISIT = "visit", _("Visit")
        MESSAGE = "message", _("Message (WeChat, SMS)")
        NOTE = "note", _("Note")

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="follow_ups")
    kind = models.CharField(_("type"), max_length=10, choices=Kind, default=Kind.CALL)
    summary = models.TextField(_("summary"))
    occurred_at = models.DateTimeField(_("time"))
    next_step = models.CharField(_("next step"), max_length=300, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")
        ordering = ["-occurred_at", "-id"]
        indexes = [models.Index(fields=["lead", "-occurred_at"], name="lead_follow_up_lead_idx")]

    def __str__(self) -> str:
        return f"{self.lead_id} {self.kind}"
