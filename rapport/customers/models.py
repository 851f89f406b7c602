"""Accounts (companies) and contacts (people)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from rapport.core.crypto import EncryptedJSONField, EncryptedTextField
from rapport.core.models import OwnedModel, TimeStampedModel, localized
from rapport.identity.querysets import RestrictedManager

from .managers import InteractionManager


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


class OptionField(models.TextChoices):
    """The account fields whose values administrators configure (`AccountOption`)."""

    TIER = "tier", _("Tier")
    LIFECYCLE_STAGE = "lifecycle_stage", _("Lifecycle stage")


class OptionColour(models.TextChoices):
    """Tabler's colour names: a badge is `badge bg-<colour>-lt`."""

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
    SECONDARY = "secondary", _("Grey")


class AccountOption(TimeStampedModel):
    """One value an account's tier or lifecycle stage may take, configured by administrators.

    Accounts store the `code`, which never changes once created (grant conditions, filters,
    saved views and rules name it); labels, colour, order and the default do. An option in
    use is retired (`is_active=False`: no longer offered, still shown), never deleted.
    """

    security_type = "customers.accountoption"

    field = models.CharField(_("field"), max_length=20, choices=OptionField)
    code = models.SlugField(_("code"), max_length=20)
    label = models.CharField(_("label"), max_length=60)
    label_en = models.CharField(_("English label"), max_length=60, blank=True)
    colour = models.CharField(
        _("colour"), max_length=20, choices=OptionColour, default=OptionColour.BLUE
    )
    position = models.PositiveIntegerField(_("position"), default=100)
    is_default = models.BooleanField(_("default for new accounts"), default=False)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["field", "position", "id"]
        verbose_name = _("tier or stage")
        verbose_name_plural = _("tiers and stages")
        constraints = [
            models.UniqueConstraint(fields=["field", "code"], name="account_option_code_unique"),
            models.UniqueConstraint(
                fields=["field"],
                condition=Q(is_default=True),
                name="account_option_one_default",
            ),
        ]

    def __str__(self) -> str:
        return self.display_label

    @property
    def display_label(self) -> str:
        """The label in the reader's language (English falls back to the Chinese label)."""
        return localized(self.label, self.label_en)

    @property
    def badge_class(self) -> str:
        return f"bg-{self.colour}-lt"


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
    # Codes of AccountOption rows (configurable); the services check them and fill in the
    # configured default. Labels: `tier_label` / `lifecycle_stage_label`.
    tier = models.CharField(_("tier"), max_length=20, default="C")
    lifecycle_stage = models.CharField(_("lifecycle stage"), max_length=20, default="prospect")
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent account"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="subsidiaries",
    )
    # Values of the custom fields administrators added (rapport.core.customfields).
    custom = models.JSONField(_("custom fields"), default=dict, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    # The name's matching keys (rapport.core.names), written with it (`fill_name_keys`):
    # duplicate checks and the scan find candidates by these, not by text search.
    name_key = models.CharField(max_length=200, blank=True, default="", editable=False)
    name_core = models.CharField(max_length=200, blank=True, default="", editable=False)
    name_sound = models.CharField(max_length=200, blank=True, default="", editable=False)

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
            *(
                models.Index(
                    fields=[field], condition=~Q(**{field: ""}), name=f"account_{field}_idx"
                )
                for field in ("name_key", "name_core", "name_sound")
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def fill_name_keys(self) -> None:
        """The matching keys of the current name (every write of a name calls this: `save`
        does; bulk inserts call it themselves)."""
        from rapport.core import names

        keys = names.blocks(self.name or "")
        self.name_key, self.name_core, self.name_sound = keys.key, keys.core, keys.sound

    def save(self, *args, **kwargs) -> None:
        self.fill_name_keys()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "name" in update_fields:
            kwargs["update_fields"] = {*update_fields, "name_key", "name_core", "name_sound"}
        super().save(*args, **kwargs)

    @property
    def tier_label(self) -> str:
        from .options import label

        return label(OptionField.TIER, self.tier)

    @property
    def lifecycle_stage_label(self) -> str:
        from .options import label

        return label(OptionField.LIFECYCLE_STAGE, self.lifecycle_stage)


class Contact(OwnedModel):
    security_type = "customers.contact"
    shareable = True

    name = models.CharField(_("name"), max_length=120)
    title = models.CharField(_("job title"), max_length=120, blank=True)
    # Personal data, encrypted at rest (AES-256-GCM, key ring); exact lookup goes through
    # the blind index in ContactIdentifier.
    phones = EncryptedJSONField(_("phones"), default=list, blank=True)
    emails = EncryptedJSONField(_("e-mails"), default=list, blank=True)
    id_number = EncryptedTextField(_("ID number"), blank=True, default="")
    accounts = models.ManyToManyField(
        Account,
        verbose_name=_("accounts"),
        blank=True,
        related_name="contacts",
        through="AccountContact",
    )
    custom = models.JSONField(_("custom fields"), default=dict, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    # Set when the person's data was erased (data-subject request or retention): the row
    # stays for the counts, its personal fields are gone (`services.contact_anonymize`).
    anonymized_at = models.DateTimeField(_("anonymized at"), null=True, blank=True, editable=False)

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


class IdentifierKind(models.TextChoices):
    PHONE = "phone", _("Phone")
    EMAIL = "email", _("E-mail")
    ID_NUMBER = "id_number", _("ID number")


class ContactIdentifier(models.Model):
    """The blind index of a contact's phones, e-mails and ID number: a keyed hash per value,
    so "who has +8613812345678?" is one indexed lookup while the values stay encrypted."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="identifiers")
    kind = models.CharField(max_length=10, choices=IdentifierKind)
    blind = models.CharField(max_length=64)

    class Meta:
        indexes = [models.Index(fields=["kind", "blind"], name="contact_identifier_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["contact", "kind", "blind"], name="contact_identifier_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.contact_id} {self.kind}"


class ContactRole(models.TextChoices):
    DECISION_MAKER = "decision_maker", _("Decision maker")
    INFLUENCER = "influencer", _("Influencer")
    CHAMPION = "champion", _("Champion")
    USER = "user", _("User")
    TECHNICAL = "technical", _("Technical contact")
    PURCHASING = "purchasing", _("Purchasing")
    BILLING = "billing", _("Billing contact")
    GATEKEEPER = "gatekeeper", _("Gatekeeper")
    OTHER = "other", _("Other")


class AccountContact(models.Model):
    """A contact's place at an account: the role they play there (decision maker, user …).

    The table is the one the plain many-to-many used before roles existed.
    """

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE)
    account = models.ForeignKey(Account, on_delete=models.CASCADE)
    role = models.CharField(_("role"), max_length=20, choices=ContactRole, blank=True)

    class Meta:
        db_table = "customers_contact_accounts"
        verbose_name = _("contact at account")
        verbose_name_plural = _("contacts at accounts")
        # As the plain many-to-many had it, so the existing table and index stay as they are.
        unique_together = [("contact", "account")]

    def __str__(self) -> str:
        return f"{self.contact_id} @ {self.account_id}"


class InteractionKind(models.TextChoices):
    CALL = "call", _("Call")
    EMAIL = "email", _("E-mail")
    MEETING = "meeting", _("Meeting")
    VISIT = "visit", _("Visit")
    SMS = "sms", _("SMS")
    CHAT = "chat", _("Chat / WeChat")
    NOTE = "note", _("Note")
    TASK = "task", _("Task")


class Direction(models.TextChoices):
    INBOUND = "inbound", _("Inbound")
    OUTBOUND = "outbound", _("Outbound")


class Outcome(models.TextChoices):
    CONNECTED = "connected", _("Connected")
    NO_ANSWER = "no_answer", _("No answer")
    LEFT_MESSAGE = "left_message", _("Left a message")
    BUSY = "busy", _("Busy")
    WRONG_NUMBER = "wrong_number", _("Wrong number")
    HELD = "held", _("Held")
    RESCHEDULED = "rescheduled", _("Rescheduled")
    CANCELLED = "cancelled", _("Cancelled")
    SENT = "sent", _("Sent")
    REPLIED = "replied", _("Replied")
    BOUNCED = "bounced", _("Bounced")
    POSITIVE = "positive", _("Positive")
    NEUTRAL = "neutral", _("Neutral")
    NEGATIVE = "negative", _("Negative")


# Which outcomes make sense for which kind of interaction (notes and tasks have none).
OUTCOMES_BY_KIND: dict[str, tuple[str, ...]] = {
    InteractionKind.CALL: (
        Outcome.CONNECTED,
        Outcome.NO_ANSWER,
        Outcome.LEFT_MESSAGE,
        Outcome.BUSY,
        Outcome.WRONG_NUMBER,
    ),
    InteractionKind.EMAIL: (Outcome.SENT, Outcome.REPLIED, Outcome.BOUNCED),
    InteractionKind.SMS: (Outcome.SENT, Outcome.REPLIED, Outcome.BOUNCED),
    InteractionKind.CHAT: (
        Outcome.SENT,
        Outcome.REPLIED,
        Outcome.POSITIVE,
        Outcome.NEUTRAL,
        Outcome.NEGATIVE,
    ),
    InteractionKind.MEETING: (
        Outcome.HELD,
        Outcome.RESCHEDULED,
        Outcome.CANCELLED,
        Outcome.POSITIVE,
        Outcome.NEUTRAL,
        Outcome.NEGATIVE,
    ),
    InteractionKind.VISIT: (
        Outcome.HELD,
        Outcome.RESCHEDULED,
        Outcome.CANCELLED,
        Outcome.POSITIVE,
        Outcome.NEUTRAL,
        Outcome.NEGATIVE,
    ),
    InteractionKind.NOTE: (),
    InteractionKind.TASK: (),
}


class Priority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")


class Interaction(OwnedModel):
    """Something that happened with a customer (a call, a visit …) or is to be done (a task).

    It hangs on an account, a contact, or both. Whoever may see the account or the contact sees
    its interactions ("controlled by parent"); changing one needs a grant on interactions.
    """

    security_type = "customers.interaction"

    kind = models.CharField(_("type"), max_length=10, choices=InteractionKind)
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("notes"), blank=True)
    occurred_at = models.DateTimeField(_("time"))
    direction = models.CharField(_("direction"), max_length=10, choices=Direction, blank=True)
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome, blank=True)
    duration_minutes = models.PositiveIntegerField(_("duration (minutes)"), null=True, blank=True)
    next_step = models.CharField(_("next step"), max_length=300, blank=True)
    account = models.ForeignKey(
        Account,
        verbose_name=_("account"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="interactions",
    )
    contact = models.ForeignKey(
        Contact,
        verbose_name=_("contact"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="interactions",
    )
    participant_contacts = models.ManyToManyField(
        Contact, verbose_name=_("other contacts present"), blank=True, related_name="+"
    )
    participant_users = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("colleagues present"),
        blank=True,
        related_name="+",
    )
    # Tasks
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    priority = models.CharField(
        _("priority"), max_length=10, choices=Priority, default=Priority.NORMAL
    )
    remind_at = models.DateTimeField(_("reminder"), null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True, editable=False)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("done by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    follow_up_of = models.ForeignKey(
        "self",
        verbose_name=_("follow-up of"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="follow_ups",
    )
    custom = models.JSONField(_("custom fields"), default=dict, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    # Set when retention or an erasure cleared its free text (kind, time, outcome stay).
    redacted_at = models.DateTimeField(_("redacted at"), null=True, blank=True, editable=False)

    objects = InteractionManager()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name = _("interaction")
        verbose_name_plural = _("interactions")
        indexes = [
            # The 360 timelines: newest first, one index walk per page whatever the history.
            models.Index(fields=["account", "-occurred_at", "-id"], name="interaction_account_idx"),
            models.Index(fields=["contact", "-occurred_at", "-id"], name="interaction_contact_idx"),
            # "My tasks" / "overdue": open tasks of an assignee by due date.
            models.Index(
                fields=["assignee", "due_at", "id"],
                name="interaction_open_task_idx",
                condition=Q(kind="task", done_at__isnull=True, is_active=True),
            ),
            # Reminders due: the beat task scans only unsent reminders.
            models.Index(
                fields=["remind_at"],
                name="interaction_reminder_idx",
                condition=Q(reminded_at__isnull=True, done_at__isnull=True, is_active=True),
            ),
            models.Index(fields=["owner", "-occurred_at"], name="interaction_owner_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(account__isnull=False) | Q(contact__isnull=False),
                name="interaction_has_a_customer",
            )
        ]

    def __str__(self) -> str:
        return self.subject

    @property
    def is_task(self) -> bool:
        return self.kind == InteractionKind.TASK

    @property
    def is_done(self) -> bool:
        return self.done_at is not None

    def is_overdue(self, now) -> bool:
        return self.is_task and not self.is_done and self.due_at is not None and self.due_at < now


class ConsentChannel(models.TextChoices):
    PHONE = "phone", _("Phone")
    SMS = "sms", _("SMS")
    EMAIL = "email", _("E-mail")
    WECHAT = "wechat", _("WeChat")
    POST = "post", _("Post")


class ConsentPurpose(models.TextChoices):
    MARKETING = "marketing", _("Marketing")
    SERVICE = "service", _("Service")
    RESEARCH = "research", _("Research and surveys")


class ConsentStatus(models.TextChoices):
    GRANTED = "granted", _("Granted")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class ConsentSource(models.TextChoices):
    WEB_FORM = "web_form", _("Web form")
    PAPER_FORM = "paper_form", _("Signed paper form")
    PHONE = "phone", _("Phone call")
    EMAIL = "email", _("E-mail")
    IN_PERSON = "in_person", _("In person")
    EVENT = "event", _("Event sign-up")
    CONTRACT = "contract", _("Contract")
    IMPORT = "import", _("Import")
    OTHER = "other", _("Other")


# Purposes that need the person's consent before anyone contacts them (PIPL art. 13-14,
# GDPR art. 6(1)(a)); service messages rest on the contract and stop only when withdrawn.
OPT_IN_PURPOSES = frozenset({ConsentPurpose.MARKETING, ConsentPurpose.RESEARCH})


class Consent(models.Model):
    """A contact's current answer for one channel and purpose, with its evidence.

    The history of answers is the contact's audit stream (every change is an audit event with
    before/after, source and evidence); this row is the answer in force.
    """

    contact = models.ForeignKey(
        Contact, verbose_name=_("contact"), on_delete=models.CASCADE, related_name="consents"
    )
    channel = models.CharField(_("channel"), max_length=10, choices=ConsentChannel)
    purpose = models.CharField(_("purpose"), max_length=10, choices=ConsentPurpose)
    status = models.CharField(_("status"), max_length=10, choices=ConsentStatus)
    source = models.CharField(_("source"), max_length=20, choices=ConsentSource)
    evidence = models.CharField(_("evidence"), max_length=500, blank=True)
    given_at = models.DateTimeField(_("time"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        constraints = [
            models.UniqueConstraint(
                fields=["contact", "channel", "purpose"], name="consent_one_per_channel_purpose"
            )
        ]
        indexes = [
            # "Who may we e-mail for marketing?": granted rows of a channel and purpose.
            models.Index(
                fields=["channel", "purpose", "status", "contact"], name="consent_lookup_idx"
            )
        ]

    def __str__(self) -> str:
        return f"{self.contact_id} {self.channel}/{self.purpose}: {self.status}"


def attachment_path(attachment: Attachment, filename: str) -> str:
    """Stored under a random name (the original name is kept in the row, never in the path)."""
    import uuid
    from pathlib import PurePath

    from django.utils import timezone

    suffix = PurePath(filename).suffix.lower()[:10]
    return f"attachments/{timezone.now():%Y/%m}/{uuid.uuid4().hex}{suffix}"


class Attachment(models.Model):
    """A file kept with an interaction (a signed quote, a call recording, a photo of a visit).

    Served only through the download view, to people who may see the interaction.
    """

    interaction = models.ForeignKey(
        Interaction,
        verbose_name=_("interaction"),
        on_delete=models.PROTECT,
        related_name="attachments",
    )
    file = models.FileField(_("file"), upload_to=attachment_path, max_length=200)
    name = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(_("type"), max_length=100)
    size = models.PositiveBigIntegerField(_("size"))
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.name


class MergeRecord(models.Model):
    """Two records of one customer made one: what the survivor was before, and what moved
    from the other record (which is kept, inactive), so that the merge can be undone."""

    object_type = models.CharField(_("record type"), max_length=40)
    survivor_id = models.PositiveBigIntegerField(_("kept record"))
    loser_id = models.PositiveBigIntegerField(_("merged record"))
    merged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    merged_at = models.DateTimeField(_("merged at"), auto_now_add=True)
    # the survivor's fields before (only those the merge changed), the loser's identifiers
    # cleared to pass them on, and the ids of what moved
    survivor_before = models.JSONField(default=dict)
    loser_before = models.JSONField(default=dict)
    moved = models.JSONField(default=dict)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    undone_at = models.DateTimeField(_("undone at"), null=True, blank=True)

    class Meta:
        verbose_name = _("merge")
        verbose_name_plural = _("merges")
        indexes = [
            models.Index(fields=["object_type", "survivor_id"], name="merge_survivor_idx"),
            models.Index(fields=["object_type", "loser_id"], name="merge_loser_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.object_type} {self.loser_id} → {self.survivor_id}"
