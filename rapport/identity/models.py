"""Users, departments, teams, roles and grants, shares, field rules, tokens, account requests."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from rapport.core.models import TimeStampedModel

from .querysets import RestrictedQuerySet


class Action(models.TextChoices):
    VIEW = "view", _("View")
    ADD = "add", _("Add")
    CHANGE = "change", _("Change")
    DELETE = "delete", _("Delete")
    EXPORT = "export", _("Export")
    IMPORT = "import", _("Import")
    ASSIGN = "assign", _("Assign")
    APPROVE = "approve", _("Approve")
    MANAGE = "manage", _("Manage")


class Scope(models.TextChoices):
    OWN = "own", _("Own records")
    TEAM = "team", _("Team")
    DEPARTMENT = "department", _("Department and below")
    ALL = "all", _("All")


SCOPE_RANK = {Scope.OWN: 0, Scope.TEAM: 1, Scope.DEPARTMENT: 2, Scope.ALL: 3}


class Department(TimeStampedModel):
    """A node of the organisation tree. `path` ("/1/4/9/") makes subtree reads one indexed LIKE."""

    name = models.CharField(_("name"), max_length=120)
    code = models.SlugField(_("code"), max_length=60, unique=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent department"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
    )
    path = models.CharField(max_length=500, db_index=True, editable=False, default="/")
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("manager"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="managed_departments",
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["path"]
        verbose_name = _("department")
        verbose_name_plural = _("departments")

    def __str__(self) -> str:
        return self.name

    @property
    def depth(self) -> int:
        return max(0, self.path.count("/") - 2)


class RapportUserManager(UserManager.from_queryset(RestrictedQuerySet)):  # type: ignore[misc]
    pass


class User(AbstractUser):
    """A person who uses Rapport. Users are deactivated, never deleted."""

    security_type = "identity.user"
    scope_owner_field = "pk"

    email = models.EmailField(_("e-mail"), blank=True, db_index=True)
    display_name = models.CharField(_("display name"), max_length=120, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    title = models.CharField(_("job title"), max_length=120, blank=True)
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="members",
    )
    manager = models.ForeignKey(
        "self",
        verbose_name=_("manager"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reports",
    )
    roles = models.ManyToManyField(
        "Role", verbose_name=_("roles"), blank=True, related_name="users"
    )
    language = models.CharField(
        _("language"), max_length=10, choices=settings.LANGUAGES, default=settings.LANGUAGE_CODE
    )
    timezone = models.CharField(
        _("time zone"), max_length=60, default=settings.DEFAULT_USER_TIMEZONE
    )
    deactivated_at = models.DateTimeField(_("deactivated at"), null=True, blank=True)
    successor = models.ForeignKey(
        "self",
        verbose_name=_("records handed to"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    objects = RapportUserManager()

    class Meta:
        ordering = ["username"]
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.UniqueConstraint(
                fields=["email"], condition=~models.Q(email=""), name="identity_user_email_unique"
            )
        ]

    def __str__(self) -> str:
        return self.display_name or self.get_full_name() or self.username


def user_display(user) -> str:
    return str(user)


class Team(TimeStampedModel):
    name = models.CharField(_("name"), max_length=120, unique=True)
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="teams",
    )
    lead = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("team lead"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="led_teams",
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("members"), blank=True, related_name="teams"
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("team")
        verbose_name_plural = _("teams")

    def __str__(self) -> str:
        return self.name


class Role(TimeStampedModel):
    code = models.SlugField(_("code"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    is_builtin = models.BooleanField(_("built-in"), default=False, editable=False)
    require_mfa = models.BooleanField(_("require two-factor authentication"), default=False)

    class Meta:
        ordering = ["name"]
        verbose_name = _("role")
        verbose_name_plural = _("roles")

    def __str__(self) -> str:
        from .builtin import builtin_role_name

        return builtin_role_name(self.code) if self.is_builtin else self.name


class Grant(models.Model):
    """One permission of a role: do `action` on `object_type` records within `scope`.

    `conditions` narrows it by attribute: {"province": ["广东省", "上海市"], "tier": ["A"]}.
    """

    role = models.ForeignKey(Role, on_delete=models.CASCADE, related_name="grants")
    object_type = models.CharField(_("object type"), max_length=60)
    action = models.CharField(_("action"), max_length=20, choices=Action)
    scope = models.CharField(_("scope"), max_length=20, choices=Scope, default=Scope.OWN)
    conditions = models.JSONField(_("conditions"), default=dict, blank=True)

    class Meta:
        ordering = ["object_type", "action"]
        constraints = [
            models.UniqueConstraint(
                fields=["role", "object_type", "action"], name="identity_grant_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.role.code}:{self.object_type}:{self.action}:{self.scope}"


class RecordShare(models.Model):
    class Level(models.TextChoices):
        VIEW = "view", _("View")
        CHANGE = "change", _("View and change")

    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE)
    object_id = models.PositiveBigIntegerField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="shares",
    )
    team = models.ForeignKey(
        Team, on_delete=models.CASCADE, null=True, blank=True, related_name="shares"
    )
    level = models.CharField(_("level"), max_length=10, choices=Level, default=Level.VIEW)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["content_type", "object_id"], name="identity_share_object_idx")
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(user__isnull=False) ^ models.Q(team__isnull=False),
                name="identity_share_one_grantee",
            )
        ]

    def __str__(self) -> str:
        return f"{self.content_type_id}:{self.object_id} → {self.user_id or self.team_id}"


class FieldRule(models.Model):
    class Rule(models.TextChoices):
        READONLY = "readonly", _("Read-only")
        MASKED = "masked", _("Masked")
        HIDDEN = "hidden", _("Hidden")

    role = models.ForeignKey(Role, on_delete=models.CASCADE, related_name="field_rules")
    object_type = models.CharField(_("object type"), max_length=60)
    field = models.CharField(_("field"), max_length=60)
    rule = models.CharField(_("rule"), max_length=10, choices=Rule)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["role", "object_type", "field"], name="identity_fieldrule_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.role_id}:{self.object_type}.{self.field}={self.rule}"


class ApiToken(models.Model):
    """A personal API token. Only its SHA-256 is stored; the secret is shown once."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=12, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"))
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_usable(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()


class PasswordHistory(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    password = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"password of {self.user_id} at {self.created_at}"


class AccountRequest(TimeStampedModel):
    """A manager's request for a new user account, decided by an administrator (or by an
    approval process for new accounts, when one applies: `services.account_requests`)."""

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    username = models.CharField(_("username"), max_length=150)
    email = models.EmailField(_("e-mail"))
    display_name = models.CharField(_("display name"), max_length=120)
    department = models.ForeignKey(
        Department, verbose_name=_("department"), on_delete=models.PROTECT, null=True, blank=True
    )
    roles = models.ManyToManyField(Role, verbose_name=_("roles"), blank=True)
    reason = models.TextField(_("reason"), blank=True)
    state = models.CharField(_("state"), max_length=10, choices=State, default=State.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(_("decision note"), blank=True)
    created_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("account request")
        verbose_name_plural = _("account requests")

    def __str__(self) -> str:
        return f"{self.display_name} <{self.username}>"


class SavedView(TimeStampedModel):
    """A list as someone likes to see it: a filter (filter-language tree), columns and sort,
    kept for themselves or shared with a team."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.CASCADE,
        related_name="saved_views",
    )
    object_type = models.CharField(_("list"), max_length=60)
    name = models.CharField(_("name"), max_length=120)
    filter = models.JSONField(_("filter"), default=dict, blank=True)
    columns = models.JSONField(_("columns"), default=list, blank=True)
    ordering = models.CharField(_("sort"), max_length=60, blank=True)
    # The list's quick filters as they were when saved ({"q": "银行", "tier": "A", "tag": ["3"]}):
    # what the list page's own boxes hold, beside the filter-language text.
    params = models.JSONField(_("quick filters"), default=dict, blank=True)
    team = models.ForeignKey(
        Team,
        verbose_name=_("shared with team"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="saved_views",
    )

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("saved view")
        verbose_name_plural = _("saved views")
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "object_type", "name"], name="saved_view_unique_name"
            )
        ]
        indexes = [models.Index(fields=["object_type", "team"], name="saved_view_team_idx")]

    def __str__(self) -> str:
        return self.name
