"""The public help pages (`/help/`), for customers, without signing in: published public
articles by category, search (the same Chinese-first index), an article in the visitor's
language with a switch, and "was this helpful?" (one vote per browser, changeable).

Only `Article.objects.public()` is read here: an internal, draft, in-review or archived
article is not found (404), whatever its number.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.views.decorators.http import require_POST

from rapport.core.errors import PermissionDenied

from . import knowledge_search
from .models import Article, ArticleCategory
from .services import knowledge

VOTER_COOKIE = "rapport_kb_voter"
VOTER_COOKIE_AGE = 365 * 24 * 3600
LANGUAGES = dict(settings.LANGUAGES)
RESULTS = 20


def _language(request: HttpRequest) -> str | None:
    """`?lang=` switches the page's language (and is remembered in the language cookie)."""
    wanted = request.GET.get("lang", "")
    if wanted in LANGUAGES:
        translation.activate(wanted)
        request.LANGUAGE_CODE = wanted
        return wanted
    return None


def respond(request: HttpRequest, template: str, context: dict, status: int = 200):
    chosen = _language(request)
    current = translation.get_language() or settings.LANGUAGE_CODE
    response = render(
        request,
        template,
        {
            **context,
            "languages": [
                (code, name) for code, name in settings.LANGUAGES if not current.startswith(code)
            ],
            "current_language": current,
        },
        status=status,
    )
    if chosen:
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME, chosen, max_age=VOTER_COOKIE_AGE, samesite="Lax"
        )
    return response


def _public_categories() -> list[dict]:
    """Categories that hold public articles, with their articles (two queries)."""
    articles = list(
        Article.objects.public().select_related("category").order_by("category_id", "-published_at")
    )
    categories = {category.pk: category for category in ArticleCategory.objects.all()}
    groups: dict[int | None, dict] = {}
    for article in articles:
        category = categories.get(article.category_id)
        root = categories.get(category.parent_id) if category and category.parent_id else category
        key = root.pk if root else None
        group = groups.setdefault(key, {"category": root, "articles": []})
        group["articles"].append(article)
    ordered = sorted(
        groups.values(),
        key=lambda group: (
            group["category"] is None,
            group["category"].position if group["category"] else 0,
            group["category"].name if group["category"] else "",
        ),
    )
    return ordered


def help_home(request: HttpRequest) -> HttpResponse:
    text = (request.GET.get("q") or "").strip()[:200]
    results = None
    if text:
        ids = knowledge_search.ranked(Article.objects.public(), text, limit=RESULTS)
        by_id = {a.pk: a for a in Article.objects.public().filter(pk__in=ids)}
        results = [by_id[pk] for pk in ids if pk in by_id]
    return respond(
        request,
        "help/help_home.html",
        {"q": text, "results": results, "groups": [] if text else _public_categories()},
    )


def _public_article(pk: int) -> Article:
    article = (
        Article.objects.public()
        .select_related("published_version", "category", "category__parent")
        .filter(pk=pk)
        .first()
    )
    if article is None or article.published_version is None:
        raise Http404
    return article


def help_article(request: HttpRequest, pk: int) -> HttpResponse:
    article = _public_article(pk)
    token = request.COOKIES.get(VOTER_COOKIE, "")
    return respond(
        request,
        "help/help_article.html",
        {
            "article": article,
            "version": article.published_version,
            "my_vote": knowledge.vote_of(actor=None, article=article, visitor_token=token),
            "voted": request.GET.get("voted") == "1",
        },
    )


@require_POST
def help_vote(request: HttpRequest, pk: int) -> HttpResponse:
    article = _public_article(pk)
    token = request.COOKIES.get(VOTER_COOKIE, "")
    if not (16 <= len(token) <= 200):
        token = secrets.token_urlsafe(32)
    try:
        knowledge.article_vote(
            actor=None,
            article=article,
            helpful=request.POST.get("helpful") == "1",
            visitor_token=token,
        )
    except (PermissionDenied, ValidationError):
        raise Http404 from None
    language = request.POST.get("lang", "")
    suffix = f"&lang={language}" if language in LANGUAGES else ""
    response = redirect(f"{request.path.rsplit('vote/', 1)[0]}?voted=1{suffix}#vote")
    response.set_cookie(
        VOTER_COOKIE,
        token,
        max_age=VOTER_COOKIE_AGE,
        httponly=True,
        samesite="Lax",
        secure=request.is_secure(),
    )
    return response
