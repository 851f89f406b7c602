"""Every write to the knowledge base: articles and their versions, categories, votes.

An article's text lives in versions. A new article is a draft (version 1); it is submitted
for review, then published by someone with `approve` (or rejected back to draft with a
note). Editing a published article makes a new draft version while the published one stays
live; publishing it supersedes the old one. Archiving takes an article off every reader's
list and out of search (needs `manage`, as do the categories).

Each service checks the actor's grant (`policy`), validates the whole input (one
ValidationError naming every bad field; nothing stored), writes in one transaction with its
audit event and emits `record.created` / `record.updated` (the search index follows: only
published articles are indexed).
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from rapport.core import events, trail
from rapport.core.errors import PermissionDenied
from rapport.identity import policy
from rapport.identity.models import Action, User

from ..models import (
    Article,
    ArticleCategory,
    ArticleKind,
    ArticleStatus,
    ArticleVersion,
    ArticleVisibility,
    ArticleVote,
    Ticket,
    TicketStatus,
    VersionStatus,
)

ARTICLE = Article.security_type
ARTICLE_FIELDS = ("kind", "visibility", "status", "category", "title", "title_en", "source_ticket")
TEXT_FIELDS = ("title", "title_en", "body", "body_en")
META_FIELDS = ("kind", "visibility", "category")
CATEGORY_FIELDS = ("name", "name_en", "parent", "position", "is_active")
MAX_TITLE = 300
MAX_BODY = 100_000
MAX_NOTE = 1000
SOLVED = (TicketStatus.RESOLVED, TicketStatus.CLOSED)


def _denied(message: str | None = None) -> PermissionDenied:
    return PermissionDenied(
        message or _("You may not do this to this article."), code="article_denied"
    )


def _require(actor: User, action: str, article: Article) -> None:
    if not policy.can(actor, action, article):
        raise _denied()


def _announce(topic: str, article: Article, **extra: Any) -> None:
    events.emit(topic, {"type": ARTICLE, "id": article.pk, **extra})


def _clean(actor: User, values: dict[str, Any]) -> dict[str, Any]:
    """Normalise and validate the given fields (any of the text and article fields)."""
    errors: dict[str, list[ValidationError]] = {}

    def fail(name: str, message: str, code: str) -> None:
        errors.setdefault(name, []).append(ValidationError(message, code=code))

    cleaned: dict[str, Any] = {}
    for name in ("title", "title_en"):
        if name in values:
            title = " ".join(str(values[name] or "").split())
            if name == "title" and not title:
                fail(name, _("Enter a title."), "required")
            elif len(title) > MAX_TITLE:
                fail(name, _("At most %(n)d characters.") % {"n": MAX_TITLE}, "max_length")
            cleaned[name] = title
    for name in ("body", "body_en"):
        if name in values:
            body = str(values[name] or "").replace("\r\n", "\n").strip()
            if name == "body" and not body:
                fail(name, _("Enter the text of the article."), "required")
            elif len(body) > MAX_BODY:
                fail(name, _("At most %(n)d characters.") % {"n": MAX_BODY}, "max_length")
            cleaned[name] = body
    for name, choices in (("kind", ArticleKind), ("visibility", ArticleVisibility)):
        if name in values:
            if values[name] in choices.values:
                cleaned[name] = values[name]
            else:
                fail(
                    name,
                    _("“%(value)s” is not one of: %(choices)s.")
                    % {"value": values[name], "choices": ", ".join(choices.values)},
                    "invalid_choice",
                )
    if "category" in values:
        category = values["category"]
        if category is not None and not (
            isinstance(category, ArticleCategory) and category.is_active
        ):
            fail("category", _("Choose an active category."), "invalid")
        cleaned["category"] = category
    if "source_ticket" in values:
        ticket = values["source_ticket"]
        if ticket is not None:
            seen = (
                Ticket.objects.restrict(actor, Action.VIEW)
                .filter(pk=ticket.pk)
                .values_list("status", flat=True)
                .first()
                if isinstance(ticket, Ticket)
                else None
            )
            if seen is None:
                fail("source_ticket", _("Choose a ticket you can see."), "invalid")
            elif seen not in SOLVED:
                fail(
                    "source_ticket",
                    _("Only a resolved or closed ticket makes a case."),
                    "not_solved",
                )
        cleaned["source_ticket"] = ticket
    if errors:
        raise ValidationError(errors)
    return cleaned


def _sync_titles(article: Article) -> None:
    """The article's list titles: the live version's, else the pending one's."""
    source = article.published_version or article.pending_version
    if source is not None:
        article.title, article.title_en = source.title, source.title_en


# --- articles ---------------------------------------------------------------------------------


def article_create(
    *,
    actor: User,
    title: str,
    body: str,
    title_en: str = "",
    body_en: str = "",
    kind: str = ArticleKind.FAQ,
    visibility: str = ArticleVisibility.INTERNAL,
    category: ArticleCategory | None = None,
    source_ticket: Ticket | None = None,
) -> Article:
    """A new article, a draft (version 1) by the actor. From a solved ticket it is a case
    that remembers the ticket."""
    if not policy.has_grant(actor, ARTICLE, Action.ADD):
        raise _denied(_("You may not write knowledge-base articles."))
    cleaned = _clean(
        actor,
        {
            "title": title,
            "title_en": title_en,
            "body": body,
            "body_en": body_en,
            "kind": kind,
            "visibility": visibility,
            "category": category,
            "source_ticket": source_ticket,
        },
    )
    texts = {name: cleaned.pop(name) for name in TEXT_FIELDS}
    article = Article(
        **cleaned,
        title=texts["title"],
        title_en=texts["title_en"],
        author=actor,
        status=ArticleStatus.DRAFT,
    )
    if not policy.can(actor, Action.ADD, article):
        raise _denied(_("You may not write knowledge-base articles."))
    with transaction.atomic():
        article.save()
        version = ArticleVersion.objects.create(
            article=article, number=1, author=actor, status=VersionStatus.DRAFT, **texts
        )
        article.pending_version = version
        article.save(update_fields=["pending_version"])
        trail.record(
            actor=actor,
            action="create",
            target=article,
            changes=trail.diff({}, trail.snapshot(article, ARTICLE_FIELDS)),
        )
        _announce("record.created", article)
    return article


def article_update(*, actor: User, article: Article, **changes: Any) -> Article:
    """Change the text (title, title_en, body, body_en) and the article's type, visibility
    and category. New text goes into the pending version: the draft (a version in review
    goes back to draft), or a new draft when the article has none — the published version
    stays live until this one is published. Making a published article public needs
    `approve`."""
    unknown = set(changes) - set(TEXT_FIELDS) - set(META_FIELDS)
    if unknown:
        raise ValidationError(
            {name: ValidationError(_("Unknown field."), "unknown_field") for name in unknown}
        )
    _require(actor, Action.CHANGE, article)
    cleaned = _clean(actor, changes)
    with transaction.atomic():
        article = Article.objects.select_for_update(of=("self",)).get(pk=article.pk)
        if article.status == ArticleStatus.ARCHIVED:
            raise ValidationError(
                _("An archived article cannot be edited; restore it first."), code="archived"
            )
        if (
            cleaned.get("visibility") == ArticleVisibility.PUBLIC
            and article.visibility != ArticleVisibility.PUBLIC
            and article.published_version_id is not None
            and not policy.can(actor, Action.APPROVE, article)
        ):
            raise ValidationError(
                {
                    "visibility": ValidationError(
                        _("Only a reviewer may make a published article public."), "approve"
                    )
                }
            )
        before = trail.snapshot(article, ARTICLE_FIELDS)
        texts = {name: cleaned.pop(name) for name in TEXT_FIELDS if name in cleaned}
        for name, value in cleaned.items():
            setattr(article, name, value)
        version_changes: dict[str, list[Any]] = {}
        if texts:
            version = article.pending_version
            base = version or article.published_version
            current = {name: getattr(base, name) for name in TEXT_FIELDS} if base else {}
            if any(current.get(name) != value for name, value in texts.items()):
                if version is None:
                    number = (
                        ArticleVersion.objects.filter(article=article).order_by("-number").first()
                    )
                    version = ArticleVersion(
                        article=article,
                        number=(number.number + 1) if number else 1,
                        author=actor,
                        **current,
                    )
                for name, value in texts.items():
                    if getattr(version, name, None) != value:
                        version_changes[name] = [getattr(version, name, None), value]
                        setattr(version, name, value)
                version.status = VersionStatus.DRAFT
                version.submitted_at = None
                version.updated_at = timezone.now()
                version.save()
                article.pending_version = version
                if article.published_version_id is None:
                    article.status = ArticleStatus.DRAFT
        _sync_titles(article)
        changed = trail.diff(before, trail.snapshot(article, ARTICLE_FIELDS))
        if not changed and not version_changes:
            return article
        article.save()
        trail.record(
            actor=actor,
            action="update",
            target=article,
            changes={**changed, **{f"version.{k}": v for k, v in version_changes.items()}},
            extra={"version": article.pending_version.number if version_changes else None},
        )
        _announce("record.updated", article, fields=sorted({*changed, *version_changes}))
    return article


def _pending(article: Article, *statuses: str) -> ArticleVersion:
    version = article.pending_version
    if version is None or version.status not in statuses:
        raise ValidationError(
            _("This article has no version waiting for this step."), code="no_pending_version"
        )
    return version


def article_submit(*, actor: User, article: Article) -> Article:
    """Send the pending draft for review."""
    _require(actor, Action.CHANGE, article)
    with transaction.atomic():
        article = (
            Article.objects.select_for_update(of=("self",))
            .select_related("pending_version")
            .get(pk=article.pk)
        )
        version = _pending(article, VersionStatus.DRAFT)
        version.status = VersionStatus.REVIEW
        version.submitted_at = timezone.now()
        version.save(update_fields=["status", "submitted_at"])
        if article.published_version_id is None:
            article.status = ArticleStatus.REVIEW
            article.save(update_fields=["status", "updated_at"])
        trail.record(
            actor=actor, action="submit", target=article, extra={"version": version.number}
        )
        _announce("record.updated", article, fields=["status"])
    return article


def article_publish(*, actor: User, article: Article) -> Article:
    """Publish the pending version (in review, or a draft a reviewer publishes directly):
    it becomes what readers see and the previously published version is superseded."""
    _require(actor, Action.APPROVE, article)
    with transaction.atomic():
        article = (
            Article.objects.select_for_update(of=("self",))
            .select_related("pending_version", "published_version")
            .get(pk=article.pk)
        )
        if article.status == ArticleStatus.ARCHIVED:
            raise ValidationError(
                _("An archived article cannot be published; restore it first."), code="archived"
            )
        version = _pending(article, VersionStatus.DRAFT, VersionStatus.REVIEW)
        before = trail.snapshot(article, ARTICLE_FIELDS)
        now = timezone.now()
        previous = article.published_version
        if previous is not None:
            previous.status = VersionStatus.SUPERSEDED
            previous.save(update_fields=["status"])
        version.status = VersionStatus.PUBLISHED
        version.published_at = now
        version.reviewed_by = actor
        version.reviewed_at = now
        version.review_note = ""
        version.save()
        article.published_version = version
        article.pending_version = None
        article.status = ArticleStatus.PUBLISHED
        article.published_at = now
        _sync_titles(article)
        article.save()
        trail.record(
            actor=actor,
            action="publish",
            target=article,
            changes=trail.diff(before, trail.snapshot(article, ARTICLE_FIELDS)),
            extra={"version": version.number, "superseded": previous.number if previous else None},
        )
        _announce("record.updated", article, fields=["status", "published_version"])
    return article


def article_reject(*, actor: User, article: Article, note: str) -> Article:
    """Send the version in review back to draft with the reviewer's note."""
    _require(actor, Action.APPROVE, article)
    note = str(note or "").strip()
    if not note:
        raise ValidationError({"note": ValidationError(_("Say what to change."), "required")})
    if len(note) > MAX_NOTE:
        raise ValidationError(
            {"note": ValidationError(_("At most %(n)d characters.") % {"n": MAX_NOTE}, "max")}
        )
    with transaction.atomic():
        article = (
            Article.objects.select_for_update(of=("self",))
            .select_related("pending_version")
            .get(pk=article.pk)
        )
        version = _pending(article, VersionStatus.REVIEW)
        version.status = VersionStatus.DRAFT
        version.review_note = note
        version.reviewed_by = actor
        version.reviewed_at = timezone.now()
        version.submitted_at = None
        version.save()
        if article.published_version_id is None:
            article.status = ArticleStatus.DRAFT
            article.save(update_fields=["status", "updated_at"])
        trail.record(
            actor=actor,
            action="reject",
            target=article,
            extra={"version": version.number, "note": note},
        )
        _announce("record.updated", article, fields=["status"])
    return article


def article_archive(*, actor: User, article: Article, archived: bool = True) -> Article:
    """Archive an article (off every reader's list and out of search; its versions are
    kept), or restore it (published again if it had a published version, else a draft)."""
    _require(actor, Action.MANAGE, article)
    with transaction.atomic():
        article = Article.objects.select_for_update(of=("self",)).get(pk=article.pk)
        before = trail.snapshot(article, ARTICLE_FIELDS)
        if archived:
            article.status = ArticleStatus.ARCHIVED
        elif article.status == ArticleStatus.ARCHIVED:
            if article.published_version_id is not None:
                article.status = ArticleStatus.PUBLISHED
            else:
                pending = article.pending_version
                article.status = (
                    ArticleStatus.REVIEW
                    if pending is not None and pending.status == VersionStatus.REVIEW
                    else ArticleStatus.DRAFT
                )
        changed = trail.diff(before, trail.snapshot(article, ARTICLE_FIELDS))
        if not changed:
            return article
        article.save(update_fields=["status", "updated_at"])
        trail.record(
            actor=actor,
            action="archive" if archived else "restore",
            target=article,
            changes=changed,
        )
        _announce("record.updated", article, fields=["status"])
    return article


def case_values_from_ticket(*, actor: User, ticket: Ticket) -> dict[str, Any]:
    """What a case drawn from a solved ticket starts with: the problem (subject and
    description) and the answers given (replies to the customer, not internal notes)."""
    if not policy.can(actor, Action.VIEW, ticket):
        raise _denied(_("You may not see this ticket."))
    replies = [
        message.body.strip()
        for message in ticket.messages.filter(kind="reply").order_by("created_at", "id")
        if message.body.strip()
    ]
    parts = [_("Problem"), ticket.description.strip() or ticket.subject, "", _("Solution")]
    parts.extend(replies or [""])
    return {
        "title": ticket.subject,
        "body": "\n\n".join(part for part in parts if part is not None).strip(),
        "kind": ArticleKind.CASE,
        "visibility": ArticleVisibility.INTERNAL,
        "source_ticket": ticket,
    }


# --- votes ------------------------------------------------------------------------------------


def visitor_key(token: str) -> str:
    """What is stored for a visitor's browser: the hash of its random cookie."""
    return hashlib.sha256(f"rapport-kb-vote:{token}".encode()).hexdigest()


def article_vote(
    *,
    actor: User | None,
    article: Article,
    helpful: bool,
    visitor_token: str = "",
) -> Article:
    """Record "was this helpful?": one vote per signed-in person, or per browser for a
    visitor (the token of its cookie); voting again changes the vote. Only published
    articles the voter may read (a visitor: public ones) take votes. Returns the article
    with its counts."""
    signed_in = actor is not None and actor.is_authenticated
    readable = (
        Article.objects.restrict(actor, Action.VIEW) if signed_in else Article.objects.public()
    )
    if not readable.filter(pk=article.pk, status=ArticleStatus.PUBLISHED).exists():
        raise _denied(_("This article takes no votes."))
    if not signed_in and not (visitor_token and 16 <= len(visitor_token) <= 200):
        raise ValidationError(_("Your browser did not keep the vote cookie."), code="no_token")
    who = Q(user=actor) if signed_in else Q(visitor_key=visitor_key(visitor_token))
    helpful = bool(helpful)
    with transaction.atomic():
        article = Article.objects.select_for_update(of=("self",)).get(pk=article.pk)
        vote = ArticleVote.objects.filter(who, article=article).first()
        if vote is None:
            try:
                with transaction.atomic():
                    ArticleVote.objects.create(
                        article=article,
                        user=actor if signed_in else None,
                        visitor_key="" if signed_in else visitor_key(visitor_token),
                        helpful=helpful,
                    )
            except IntegrityError:  # the same person's second click, at the same time
                ArticleVote.objects.filter(who, article=article).update(
                    helpful=helpful, updated_at=timezone.now()
                )
        elif vote.helpful != helpful:
            vote.helpful = helpful
            vote.updated_at = timezone.now()
            vote.save(update_fields=["helpful", "updated_at"])
        counts = ArticleVote.objects.filter(article=article).aggregate(
            yes=Count("pk", filter=Q(helpful=True)), no=Count("pk", filter=Q(helpful=False))
        )
        article.helpful_count, article.unhelpful_count = counts["yes"], counts["no"]
        article.save(update_fields=["helpful_count", "unhelpful_count"])
        if signed_in:
            trail.record(actor=actor, action="vote", target=article, extra={"helpful": helpful})
    return article


def vote_of(*, actor: User | None, article: Article, visitor_token: str = "") -> bool | None:
    """The voter's current vote on the article (None: not voted)."""
    if actor is not None and actor.is_authenticated:
        vote = ArticleVote.objects.filter(article=article, user=actor).first()
    elif visitor_token:
        vote = ArticleVote.objects.filter(
            article=article, visitor_key=visitor_key(visitor_token)
        ).first()
    else:
        vote = None
    return None if vote is None else vote.helpful


# --- categories -------------------------------------------------------------------------------


def require_manage(actor: User) -> None:
    if not policy.has_grant(actor, ARTICLE, Action.MANAGE):
        raise PermissionDenied(
            _("You may not configure the knowledge base."), code="article_manage_denied"
        )


def _clean_category(category: ArticleCategory | None, values: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[ValidationError]] = {}
    cleaned: dict[str, Any] = {}
    for name in ("name", "name_en"):
        if name in values:
            text = " ".join(str(values[name] or "").split())
            if name == "name" and not text:
                errors.setdefault(name, []).append(ValidationError(_("Enter a name."), "required"))
            elif len(text) > 100:
                errors.setdefault(name, []).append(
                    ValidationError(_("At most %(n)d characters.") % {"n": 100}, "max_length")
                )
            cleaned[name] = text
    if "parent" in values:
        parent = values["parent"]
        if parent is not None:
            if not isinstance(parent, ArticleCategory):
                errors.setdefault("parent", []).append(
                    ValidationError(_("Choose a category."), "invalid")
                )
            elif parent.parent_id is not None:
                errors.setdefault("parent", []).append(
                    ValidationError(_("Categories have two levels only."), "depth")
                )
            elif category is not None and (parent.pk == category.pk or category.children.exists()):
                errors.setdefault("parent", []).append(
                    ValidationError(
                        _("A category with sub-categories stays at the top level."), "depth"
                    )
                )
        cleaned["parent"] = parent
    if "position" in values:
        try:
            cleaned["position"] = max(0, int(values["position"] or 0))
        except (TypeError, ValueError):
            errors.setdefault("position", []).append(
                ValidationError(_("Enter a whole number."), "invalid")
            )
    if "is_active" in values:
        cleaned["is_active"] = bool(values["is_active"])
    name = cleaned.get("name", category.name if category else "")
    parent = cleaned.get("parent", category.parent if category else None)
    if (
        name
        and "name" not in errors
        and "parent" not in errors
        and ArticleCategory.objects.filter(name=name, parent=parent)
        .exclude(pk=category.pk if category else None)
        .exists()
    ):
        errors.setdefault("name", []).append(
            ValidationError(_("There is already a category with this name here."), "duplicate")
        )
    if errors:
        raise ValidationError(errors)
    return cleaned


def article_category_create(
    *,
    actor: User,
    name: str,
    name_en: str = "",
    parent: ArticleCategory | None = None,
    position: int = 0,
) -> ArticleCategory:
    require_manage(actor)
    cleaned = _clean_category(
        None, {"name": name, "name_en": name_en, "parent": parent, "position": position}
    )
    with transaction.atomic():
        category = ArticleCategory.objects.create(**cleaned)
        trail.record(
            actor=actor,
            action="create",
            target=category,
            object_type="service.articlecategory",
            changes=trail.diff({}, trail.snapshot(category, CATEGORY_FIELDS)),
        )
    return category


def article_category_update(
    *, actor: User, category: ArticleCategory, **changes: Any
) -> ArticleCategory:
    """Rename, move, reorder, retire (`is_active` false) or offer again a category."""
    require_manage(actor)
    unknown = set(changes) - set(CATEGORY_FIELDS)
    if unknown:
        raise ValidationError(
            {name: ValidationError(_("Unknown field."), "unknown_field") for name in unknown}
        )
    cleaned = _clean_category(category, changes)
    with transaction.atomic():
        category = ArticleCategory.objects.select_for_update().get(pk=category.pk)
        before = trail.snapshot(category, CATEGORY_FIELDS)
        for name, value in cleaned.items():
            setattr(category, name, value)
        changed = trail.diff(before, trail.snapshot(category, CATEGORY_FIELDS))
        if changed:
            category.save()
            trail.record(
                actor=actor,
                action="update",
                target=category,
                object_type="service.articlecategory",
                changes=changed,
            )
    # the articles' documents carry the category's names
    if {"name", "name_en"} & set(changed):
        ids = list(category.articles.values_list("pk", flat=True)[:5000])
        if ids:
            with transaction.atomic():
                for article_id in ids:
                    events.emit(
                        "record.updated",
                        {"type": ARTICLE, "id": article_id, "fields": ["category"]},
                    )
    return category
