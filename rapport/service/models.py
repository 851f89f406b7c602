"""Customer service records: business calendars, tickets and their conversation (issue 8,
docs/service-plan.md)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from rapport.core.models import BilingualNameMixin, TimeStampedModel, localized
from rapport.identity.querysets import RestrictedManager, RestrictedQuerySet

from .calendars import Schedule


class BusinessCalendar(BilingualNameMixin, TimeStampedModel):
    """When a team works: hours per weekday in a time zone, China's public holidays and
    make-up workdays (switchable), and dated exceptions (`CalendarDay`). SLA targets are
    measured on one of these."""

    security_type = "service.calendar"

    name = models.CharField(_("name"), max_length=100, unique=True)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)
    time_zone = models.CharField(_("time zone"), max_length=60, default="Asia/Shanghai")
    # Seven lists (Monday … Sunday) of [start, end] minutes since midnight.
    weekly_hours = models.JSONField(_("working hours"), default=list)
    public_holidays = models.BooleanField(
        _("China's public holidays and make-up workdays"), default=True
    )
    is_default = models.BooleanField(_("default"), default=False)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("business calendar")
        verbose_name_plural = _("business calendars")
        ordering = ["-is_default", "name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=models.Q(is_default=True),
                name="service_calendar_one_default",
            )
        ]

    def __str__(self) -> str:
        return self.display_name

    def schedule(self) -> Schedule:
        """The calendar's rules for the arithmetic, its dated exceptions included (prefetch
        `days` to read many calendars in one query)."""
        return Schedule(
            time_zone=self.time_zone,
            weekly=tuple(tuple(tuple(pair) for pair in day) for day in self.weekly_hours),
            public_holidays=self.public_holidays,
            exceptions={
                exception.day: tuple(tuple(pair) for pair in exception.hours)
                for exception in self.days.all()
            },
        )


class CalendarDay(models.Model):
    """A date the calendar treats its own way: closed (no hours) or open with its hours — a
    company holiday, a day the team works a weekend, an arrangement not yet published."""

    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="days")
    day = models.DateField(_("date"))
    hours = models.JSONField(_("working hours"), default=list, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("calendar day")
        verbose_name_plural = _("calendar days")
        ordering = ["day"]
        constraints = [
            models.UniqueConstraint(fields=["calendar", "day"], name="service_calendar_day_unique")
        ]

    def __str__(self) -> str:
        return f"{self.calendar_id} {self.day}"


class TicketCategory(BilingualNameMixin, TimeStampedModel):
    """What a ticket is about, as a tree (产品问题 › 安装); SLA policies and reports use it."""

    security_type = "service.ticketcategory"

    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent category"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
    )
    position = models.PositiveIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("ticket category")
        verbose_name_plural = _("ticket categories")
        ordering = ["position", "name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["parent", "name"], name="service_category_name_unique"),
        ]

    def __str__(self) -> str:
        return self.display_name


class TicketKind(models.TextChoices):
    QUESTION = "question", _("Question")
    INCIDENT = "incident", _("Incident")
    REQUEST = "request", _("Service request")
    COMPLAINT = "complaint", _("Complaint")


class TicketPriority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


class TicketChannel(models.TextChoices):
    AGENT = "agent", _("Entered by an agent")
    EMAIL = "email", _("E-mail")
    PHONE = "phone", _("Phone")
    CHAT = "chat", _("Chat / WeChat")
    WEB_FORM = "web_form", _("Web form")
    API = "api", _("API")


class TicketStatus(models.TextChoices):
    NEW = "new", _("New")
    OPEN = "open", pgettext_lazy("ticket status", "Open")
    PENDING = "pending", _("Waiting on customer")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")


OPEN_STATUSES = (TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING)


class SlaPolicy(BilingualNameMixin, TimeStampedModel):
    """Service-level targets for the tickets it matches: the first policy in order whose
    conditions all hold (an empty condition matches everything) applies. Targets are working
    minutes on the policy's calendar (the default calendar when it names none)."""

    security_type = "service.slapolicy"

    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)
    position = models.PositiveIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    calendar = models.ForeignKey(
        BusinessCalendar,
        verbose_name=_("business calendar"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    # Conditions (lists of codes or ids; empty: any).
    priorities = models.JSONField(_("priorities"), default=list, blank=True)
    kinds = models.JSONField(_("types"), default=list, blank=True)
    tiers = models.JSONField(_("customer tiers"), default=list, blank=True)
    categories = models.JSONField(_("categories"), default=list, blank=True)
    first_response_minutes = models.PositiveIntegerField(_("first response within (minutes)"))
    resolution_minutes = models.PositiveIntegerField(_("resolution within (minutes)"))
    warn_percent = models.PositiveSmallIntegerField(
        _("warn at (per cent of the target)"), default=80
    )

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.display_name


class Ticket(TimeStampedModel):
    """A customer's problem or request, from first contact to closing: who has it (a team's
    queue, an agent), about whom (account, contact), how urgent, and its conversation.

    Visibility keys on the assignee and the queue's team (`scope_team_field`): agents see
    their own tickets and their teams' queues, managers their department's teams."""

    security_type = "service.ticket"
    scope_owner_field = "assignee"
    scope_team_field = "team"

    subject = models.CharField(_("subject"), max_length=300)
    description = models.TextField(_("description"), blank=True)
    kind = models.CharField(
        _("type"), max_length=20, choices=TicketKind.choices, default=TicketKind.QUESTION
    )
    priority = models.CharField(
        _("priority"), max_length=10, choices=TicketPriority.choices, default=TicketPriority.NORMAL
    )
    channel = models.CharField(
        _("channel"), max_length=20, choices=TicketChannel.choices, default=TicketChannel.AGENT
    )
    status = models.CharField(
        _("status"), max_length=10, choices=TicketStatus.choices, default=TicketStatus.NEW
    )
    category = models.ForeignKey(
        TicketCategory,
        verbose_name=_("category"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="tickets",
    )
    account = models.ForeignKey(
        "customers.Account",
        verbose_name=_("account"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="tickets",
    )
    contact = models.ForeignKey(
        "customers.Contact",
        verbose_name=_("contact"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="tickets",
    )
    team = models.ForeignKey(
        "identity.Team",
        verbose_name=_("queue"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="tickets",
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
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
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent ticket"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="children",
    )
    first_response_at = models.DateTimeField(_("first response at"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    last_activity_at = models.DateTimeField(_("last activity"), default=timezone.now)
    # the customer's language ("zh-hans", "en"; "" when unknown): assignment prefers agents
    # who speak it
    language = models.CharField(_("language"), max_length=10, blank=True)
    # Service-level clocks (`rapport.service.sla`): due and warning times in real time,
    # computed on the policy's business calendar; the resolution clock stops while the
    # ticket waits on the customer (paused_at set, resolution due cleared) and the working
    # time spent waiting is added back when it resumes.
    sla_policy = models.ForeignKey(
        SlaPolicy,
        verbose_name=_("SLA policy"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="tickets",
    )
    first_response_due_at = models.DateTimeField(_("first response due"), null=True, blank=True)
    first_response_warn_at = models.DateTimeField(null=True, blank=True)
    resolution_due_at = models.DateTimeField(_("resolution due"), null=True, blank=True)
    resolution_warn_at = models.DateTimeField(null=True, blank=True)
    sla_paused_at = models.DateTimeField(_("clock paused at"), null=True, blank=True)
    sla_paused_seconds = models.PositiveIntegerField(default=0)
    first_response_warned = models.BooleanField(default=False)
    first_response_breached = models.BooleanField(_("first response breached"), default=False)
    resolution_warned = models.BooleanField(default=False)
    resolution_breached = models.BooleanField(_("resolution breached"), default=False)

    objects = RestrictedManager()

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        indexes = [
            models.Index(fields=["status", "team", "-id"], name="service_ticket_queue_idx"),
            models.Index(fields=["assignee", "status", "-id"], name="service_ticket_agent_idx"),
            models.Index(fields=["account", "-id"], name="service_ticket_account_idx"),
            models.Index(fields=["contact", "-id"], name="service_ticket_contact_idx"),
            # the SLA sweep reads these in time order, over open tickets only (the closed
            # history keeps its due times: a full index walked all of it every minute)
            *[
                models.Index(
                    fields=[field],
                    name=f"service_ticket_{short}_open_idx",
                    condition=models.Q(status__in=OPEN_STATUSES),
                )
                for field, short in (
                    ("first_response_warn_at", "frw"),
                    ("first_response_due_at", "frd"),
                    ("resolution_warn_at", "rw"),
                    ("resolution_due_at", "rd"),
                )
            ],
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.subject}"

    @property
    def number(self) -> str:
        return f"#{self.pk}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class MessageKind(models.TextChoices):
    REPLY = "reply", _("Reply to the customer")
    NOTE = "note", _("Internal note")
    INBOUND = "inbound", _("From the customer")


class TicketMessage(models.Model):
    """One entry of a ticket's conversation: a reply to the customer, an internal note (never
    shown or sent to the customer), or what the customer wrote."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    kind = models.CharField(_("type"), max_length=10, choices=MessageKind.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    body = models.TextField(_("message"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    # E-mail (`rapport.service.mail`): the Message-ID of the e-mail this message came in as or
    # was sent as (replies thread on it), and the customer's address it came from or went to.
    email_message_id = models.CharField(_("e-mail Message-ID"), max_length=255, blank=True)
    email_address = models.CharField(_("e-mail address"), max_length=254, blank=True)
    sent_at = models.DateTimeField(_("e-mailed at"), null=True, blank=True)
    # why a reply was kept on the ticket but not e-mailed (no address, consent withdrawn,
    # the mail server refused it)
    not_sent_reason = models.CharField(_("not e-mailed because"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("ticket message")
        verbose_name_plural = _("ticket messages")
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["ticket", "created_at"], name="service_message_ticket_idx"),
            models.Index(
                fields=["email_message_id"],
                name="service_message_msgid_idx",
                condition=~models.Q(email_message_id=""),
            ),
        ]
        constraints = [
            # the same e-mail delivered twice (a poller retry, a resent raw message) is one
            # message
            models.UniqueConstraint(
                fields=["email_message_id"],
                condition=models.Q(kind="inbound") & ~models.Q(email_message_id=""),
                name="service_message_inbound_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.kind}"


def ticket_attachment_path(attachment: TicketAttachment, filename: str) -> str:
    """Stored under a random name (the original name is kept in the row, never in the path)."""
    import uuid
    from pathlib import PurePath

    suffix = PurePath(filename).suffix.lower()[:10]
    return f"tickets/{timezone.now():%Y/%m}/{uuid.uuid4().hex}{suffix}"


class TicketAttachment(models.Model):
    """A file that came with a message of a ticket (an e-mail's attachment, a screenshot an
    agent added). Served only through the download view, to people who may see the ticket."""

    message = models.ForeignKey(
        TicketMessage,
        verbose_name=_("message"),
        on_delete=models.CASCADE,
        related_name="attachments",
    )
    file = models.FileField(_("file"), upload_to=ticket_attachment_path, max_length=200)
    name = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(_("type"), max_length=100)
    size = models.PositiveBigIntegerField(_("size"))
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("ticket attachment")
        verbose_name_plural = _("ticket attachments")

    def __str__(self) -> str:
        return self.name


# --- knowledge base ---


class ArticleCategory(BilingualNameMixin, TimeStampedModel):
    """Where a knowledge-base article sits, as a two-level tree (账户与登录 › 密码). Managed by
    those with `manage` on `service.article`."""

    security_type = "service.article"

    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent category"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
    )
    position = models.PositiveIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("article category")
        verbose_name_plural = _("article categories")
        ordering = ["position", "name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["parent", "name"], name="service_article_category_name_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.display_name


class ArticleKind(models.TextChoices):
    FAQ = "faq", _("FAQ")
    CASE = "case", _("Case")


class ArticleVisibility(models.TextChoices):
    INTERNAL = "internal", _("Internal")
    PUBLIC = "public", _("Public")


class ArticleStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    REVIEW = "review", _("In review")
    PUBLISHED = "published", _("Published")
    ARCHIVED = "archived", _("Archived")


class VersionStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    REVIEW = "review", _("In review")
    PUBLISHED = "published", _("Published")
    SUPERSEDED = "superseded", _("Superseded")


class ArticleQuerySet(RestrictedQuerySet):
    def restrict(self, user, action: str = "view") -> ArticleQuerySet:
        """`view` reads published (and archived) articles within the view grant; drafts and
        articles in review are read by those who may change or approve them (an agent their
        own, a service manager every one). Other actions as granted."""
        from rapport.identity.policy import restriction_q

        if action != "view":
            return super().restrict(user, action)
        condition = None
        readers = restriction_q(user, self.model, "view")
        if readers is not None:
            condition = readers & models.Q(
                status__in=[ArticleStatus.PUBLISHED, ArticleStatus.ARCHIVED]
            )
        for editing in ("change", "approve"):
            writers = restriction_q(user, self.model, editing)
            if writers is not None and not writers:  # an unconditional "all": every article
                return self.all()
            if writers is not None:
                condition = writers if condition is None else condition | writers
        if condition is None:
            return self.none()
        return self.filter(condition)

    def public(self) -> ArticleQuerySet:
        """What anyone may read on the help pages: published public articles."""
        return self.filter(status=ArticleStatus.PUBLISHED, visibility=ArticleVisibility.PUBLIC)


class Article(TimeStampedModel):
    """A knowledge-base article (常见问题 or a case from the case library) in Chinese and
    English. Its text lives in versions: the published one is what readers see, a pending one
    (draft or in review) is the next edit. `title`/`title_en` repeat the live version's (or,
    before the first publication, the pending one's) for lists."""

    security_type = "service.article"
    scope_owner_field = "author"

    kind = models.CharField(
        _("type"), max_length=10, choices=ArticleKind.choices, default=ArticleKind.FAQ
    )
    visibility = models.CharField(
        _("visibility"),
        max_length=10,
        choices=ArticleVisibility.choices,
        default=ArticleVisibility.INTERNAL,
    )
    status = models.CharField(
        _("status"), max_length=10, choices=ArticleStatus.choices, default=ArticleStatus.DRAFT
    )
    category = models.ForeignKey(
        ArticleCategory,
        verbose_name=_("category"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="articles",
    )
    title = models.CharField(_("title"), max_length=300)
    title_en = models.CharField(_("English title"), max_length=300, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    source_ticket = models.ForeignKey(
        Ticket,
        verbose_name=_("source ticket"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="articles",
    )
    published_version = models.ForeignKey(
        "ArticleVersion",
        verbose_name=_("published version"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    pending_version = models.ForeignKey(
        "ArticleVersion",
        verbose_name=_("pending version"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    helpful_count = models.PositiveIntegerField(_("helpful"), default=0)
    unhelpful_count = models.PositiveIntegerField(_("not helpful"), default=0)

    objects = models.Manager.from_queryset(ArticleQuerySet)()

    class Meta:
        verbose_name = _("article")
        verbose_name_plural = _("articles")
        indexes = [
            models.Index(fields=["status", "visibility", "-id"], name="service_article_status_idx"),
            models.Index(fields=["author", "status"], name="service_article_author_idx"),
            models.Index(fields=["category", "status"], name="service_article_category_idx"),
        ]

    def __str__(self) -> str:
        return self.display_title

    @property
    def display_title(self) -> str:
        return localized(self.title, self.title_en)

    @property
    def is_live(self) -> bool:
        return self.status == ArticleStatus.PUBLISHED


class ArticleVersion(models.Model):
    """One edit of an article's text. draft → in review → published; a published version is
    superseded when the next one is published; a rejected one goes back to draft with the
    reviewer's note."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    title = models.CharField(_("title"), max_length=300)
    title_en = models.CharField(_("English title"), max_length=300, blank=True)
    body = models.TextField(_("text"))
    body_en = models.TextField(_("English text"), blank=True)
    status = models.CharField(
        _("status"), max_length=12, choices=VersionStatus.choices, default=VersionStatus.DRAFT
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewed by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    review_note = models.CharField(_("reviewer's note"), max_length=1000, blank=True)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)

    class Meta:
        verbose_name = _("article version")
        verbose_name_plural = _("article versions")
        ordering = ["article", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["article", "number"], name="service_article_version_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.article_id} v{self.number}"

    @property
    def display_title(self) -> str:
        return localized(self.title, self.title_en)

    @property
    def display_body(self) -> str:
        return localized(self.body, self.body_en)


class ArticleVote(models.Model):
    """ "Was this helpful?" — one vote per person (signed in) or per browser (a visitor's
    cookie, stored hashed), changeable."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="votes")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    visitor_key = models.CharField(max_length=64, blank=True)
    helpful = models.BooleanField(_("helpful"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("article vote")
        verbose_name_plural = _("article votes")
        constraints = [
            models.UniqueConstraint(
                fields=["article", "user"],
                condition=models.Q(user__isnull=False),
                name="service_article_vote_user_once",
            ),
            models.UniqueConstraint(
                fields=["article", "visitor_key"],
                condition=~models.Q(visitor_key=""),
                name="service_article_vote_visitor_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.article_id} {'+' if self.helpful else '-'}"


# --- surveys ---


class SurveyKind(models.TextChoices):
    CSAT = "csat", _("Satisfaction after a ticket (CSAT)")
    NPS = "nps", _("Likelihood to recommend (NPS)")


class SurveyNotSent(models.TextChoices):
    """Why a survey was recorded but never reached the customer."""

    NO_CONTACT = "no_contact", _("The ticket has no contact.")
    NO_EMAIL = "no_email", _("The contact has no e-mail address or mobile number.")
    NO_CONSENT = "no_consent", _("The contact has not agreed to surveys by e-mail or SMS.")
    ANONYMIZED = "anonymized", _("The contact's data was erased.")
    SEND_FAILED = "send_failed", _("The mail server or SMS gateway refused the message.")


class SurveyChannel(models.TextChoices):
    EMAIL = "email", _("E-mail")
    SMS = "sms", _("SMS")


SURVEY_SCALES = {SurveyKind.CSAT: (1, 5), SurveyKind.NPS: (0, 10)}
SURVEY_COMMENT_MAX = 2000


class Survey(TimeStampedModel):
    """One question put to one customer contact: CSAT (1–5) after a ticket was resolved, or
    NPS (0–10) now and then. The link's secret is never stored, only its SHA-256
    (`token_hash`), so the table gives away no working links. A survey that could not go
    out keeps why (`not_sent_reason`).

    Visibility keys on the agent who had the ticket (for NPS, the account's owner) and the
    ticket's queue, like the ticket itself: agents see their queues' surveys, service
    managers their department's."""

    security_type = "service.survey"
    scope_owner_field = "agent"
    scope_team_field = "team"

    kind = models.CharField(_("type"), max_length=10, choices=SurveyKind.choices)
    ticket = models.ForeignKey(
        Ticket,
        verbose_name=_("ticket"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="surveys",
    )
    contact = models.ForeignKey(
        "customers.Contact",
        verbose_name=_("contact"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="surveys",
    )
    account = models.ForeignKey(
        "customers.Account",
        verbose_name=_("account"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="surveys",
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("agent"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    team = models.ForeignKey(
        "identity.Team",
        verbose_name=_("queue"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    category = models.ForeignKey(
        TicketCategory,
        verbose_name=_("category"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # NPS: the N-day window the survey belongs to, so two runs at once ask a person once
    period = models.CharField(max_length=20, blank=True, default="")
    language = models.CharField(_("language"), max_length=10, default="zh-hans")
    # how the link went out: e-mail when the contact has an address and agreed to surveys by
    # e-mail, else SMS when they have a mobile number and agreed to surveys by SMS
    channel = models.CharField(
        _("sent by"), max_length=10, choices=SurveyChannel.choices, default=SurveyChannel.EMAIL
    )
    token_hash = models.CharField(max_length=64, null=True, blank=True, unique=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    not_sent_reason = models.CharField(
        _("not sent because"), max_length=20, choices=SurveyNotSent.choices, blank=True
    )
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    score = models.PositiveSmallIntegerField(_("score"), null=True, blank=True)
    comment = models.TextField(_("comment"), blank=True)
    follow_up = models.ForeignKey(
        "customers.Interaction",
        verbose_name=_("follow-up task"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    follow_up_done = models.BooleanField(default=False)

    objects = RestrictedManager()

    class Meta:
        verbose_name = _("survey")
        verbose_name_plural = _("surveys")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["kind", "sent_at"], name="service_survey_sent_idx"),
            models.Index(
                fields=["contact", "kind", "-created_at"], name="service_survey_contact_idx"
            ),
            models.Index(fields=["account", "-id"], name="service_survey_account_idx"),
            models.Index(fields=["agent", "kind", "sent_at"], name="service_survey_agent_idx"),
            models.Index(fields=["team", "kind", "sent_at"], name="service_survey_team_idx"),
        ]
        constraints = [
            # one CSAT per ticket, whatever happens to the ticket afterwards
            models.UniqueConstraint(
                fields=["ticket"],
                condition=models.Q(kind="csat"),
                name="service_survey_one_csat_per_ticket",
            ),
            # one NPS per person per window
            models.UniqueConstraint(
                fields=["contact", "period"],
                condition=models.Q(kind="nps"),
                name="service_survey_one_nps_per_period",
            ),
            models.CheckConstraint(
                condition=models.Q(score__isnull=True) | models.Q(score__lte=10),
                name="service_survey_score_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"

    @property
    def scale(self) -> tuple[int, int]:
        return SURVEY_SCALES[SurveyKind(self.kind)]

    @property
    def is_answered(self) -> bool:
        return self.answered_at is not None

    def is_expired(self, now=None) -> bool:
        now = now or timezone.now()
        return self.answered_at is None and self.expires_at is not None and self.expires_at <= now

    @property
    def state(self) -> str:
        """not_sent, sending, waiting, expired or answered."""
        if self.answered_at is not None:
            return "answered"
        if self.not_sent_reason:
            return "not_sent"
        if self.sent_at is None:
            return "sending"
        return "expired" if self.is_expired() else "waiting"

    @property
    def is_low(self) -> bool:
        if self.score is None:
            return False
        return self.score <= (2 if self.kind == SurveyKind.CSAT else 6)


# --- assignment ---


class AutoAssign(models.TextChoices):
    OFF = "off", _("Off: agents take tickets from the queue")
    ROUND_ROBIN = "round_robin", _("Round robin")
    LEAST_LOADED = "least_loaded", _("Fewest open tickets first")


class QueueSettings(TimeStampedModel):
    """How a team's queue hands out new tickets (`rapport.service.assignment`): not at all,
    in turn, or to whoever has the fewest open tickets — among the team's available agents,
    preferring those skilled in the ticket's category and speaking its language, never above
    an agent's capacity."""

    security_type = "service.queue"

    team = models.OneToOneField(
        "identity.Team",
        verbose_name=_("team"),
        on_delete=models.CASCADE,
        related_name="queue_settings",
    )
    auto_assign = models.CharField(
        _("assign new tickets"), max_length=20, choices=AutoAssign.choices, default=AutoAssign.OFF
    )
    match_skills = models.BooleanField(_("prefer agents skilled in the category"), default=True)
    match_language = models.BooleanField(
        _("prefer agents who speak the customer's language"), default=True
    )
    max_open_per_agent = models.PositiveIntegerField(
        _("at most this many open tickets per agent (0: no limit)"), default=0
    )
    # the round robin's cursor: who got the last ticket
    last_assigned = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("queue settings")
        verbose_name_plural = _("queue settings")

    def __str__(self) -> str:
        return str(self.team)


class AgentProfile(TimeStampedModel):
    """What assignment knows about a person who works on tickets: whether they are available
    (and until when they are away), the categories they are skilled in and the languages
    they answer in."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("agent"),
        on_delete=models.CASCADE,
        related_name="agent_profile",
    )
    available = models.BooleanField(_("available for new tickets"), default=True)
    away_until = models.DateTimeField(_("away until"), null=True, blank=True)
    skills = models.ManyToManyField(
        TicketCategory, verbose_name=_("skills (categories)"), blank=True, related_name="+"
    )
    languages = models.JSONField(_("languages"), default=list, blank=True)

    class Meta:
        verbose_name = _("agent profile")
        verbose_name_plural = _("agent profiles")

    def __str__(self) -> str:
        return str(self.user)


# --- complaints ---


class ComplaintCause(BilingualNameMixin, TimeStampedModel):
    """A root-cause category for complaints (product defect, delivery delay, staff attitude
    …), kept by service managers; complaints are reported by cause."""

    security_type = "service.complaintcause"

    name = models.CharField(_("name"), max_length=100, unique=True)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)
    position = models.PositiveIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("complaint cause")
        verbose_name_plural = _("complaint causes")
        ordering = ["position", "name", "id"]

    def __str__(self) -> str:
        return self.display_name


class ComplaintStage(models.TextChoices):
    REGISTERED = "registered", _("Registered")
    INVESTIGATING = "investigating", _("Investigating")
    RESOLVED = "resolved", _("Resolved")
    CONFIRMED = "confirmed", _("Confirmed by the customer")


class Complaint(TimeStampedModel):
    """The complaint side of a ticket of type complaint: its own workflow (registered →
    investigating → resolved → confirmed by the customer), what was found, the root cause,
    the product or service concerned and the corrective action with its owner and date."""

    ticket = models.OneToOneField(
        Ticket, verbose_name=_("ticket"), on_delete=models.CASCADE, related_name="complaint"
    )
    stage = models.CharField(
        _("stage"),
        max_length=20,
        choices=ComplaintStage.choices,
        default=ComplaintStage.REGISTERED,
    )
    product = models.CharField(_("product or service"), max_length=200, blank=True)
    cause = models.ForeignKey(
        ComplaintCause,
        verbose_name=_("root cause"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="complaints",
    )
    findings = models.TextField(_("what the investigation found"), blank=True)
    corrective_action = models.TextField(_("corrective action"), blank=True)
    action_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("action owner"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    action_due = models.DateField(_("action due"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    confirmation_note = models.CharField(
        _("how the customer confirmed"), max_length=500, blank=True
    )

    class Meta:
        verbose_name = _("complaint")
        verbose_name_plural = _("complaints")
        indexes = [
            models.Index(fields=["stage"], name="service_complaint_stage_idx"),
            models.Index(fields=["cause", "created_at"], name="service_complaint_cause_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.stage}"
