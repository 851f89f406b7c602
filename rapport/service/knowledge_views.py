"""The knowledge-base pages for staff: the list (search, filters, FAQ / case library / my
drafts / in review), an article with its versions, workflow and votes, the editor (also from
a solved ticket), the categories page under Administration, and the suggestions shown
while an agent writes a reply.

Views parse, authorize and render: reads go through `Article.objects.restrict`, every write
through `rapport.service.services.knowledge`, whose errors land beside their field.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from rapport.core.paging import cursor_page
from rapport.identity import policy
from rapport.identity.models import Action
from rapport.identity.views._common import _admin_context, _call, _message_call

from . import knowledge_search
from .knowledge_forms import ArticleCategoryForm, ArticleForm, RejectForm, category_choices
from .models import (
    Article,
    ArticleCategory,
    ArticleKind,
    ArticleStatus,
    ArticleVersion,
    ArticleVisibility,
    Ticket,
    VersionStatus,
)
from .services import knowledge

ARTICLE = Article.security_type
PAGE_SIZE = 30
TABS = {
    "all": gettext_lazy("All"),
    "faq": gettext_lazy("FAQ"),
    "case": gettext_lazy("Case library"),
    "drafts": gettext_lazy("My drafts"),
    "review": gettext_lazy("In review"),
}
SUGGESTIONS = 5


def _require_grant(user, action: str) -> None:
    if not policy.has_grant(user, ARTICLE, action):
        raise PermissionDenied(_("You do not have permission to do this."))


def _article_for(user, pk: int, action: str = Action.VIEW) -> Article:
    """The article, if the user may `action` it; else not found (its existence stays hidden)."""
    article = (
        Article.objects.restrict(user, action)
        .select_related(
            "category", "author", "source_ticket", "pending_version", "published_version"
        )
        .filter(pk=pk)
        .first()
    )
    if article is None:
        raise Http404(_("No such article."))
    return article


@login_required
def article_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    _require_grant(user, Action.VIEW)
    tab = request.GET.get("tab") or "all"
    if tab not in TABS:
        tab = "all"
    articles = Article.objects.restrict(user, Action.VIEW).select_related(
        "category", "author", "pending_version"
    )
    if tab in ("faq", "case"):
        articles = articles.filter(kind=tab).exclude(status=ArticleStatus.ARCHIVED)
    elif tab == "drafts":
        articles = articles.filter(
            pending_version__author=user, pending_version__status=VersionStatus.DRAFT
        )
    elif tab == "review":
        articles = articles.filter(pending_version__status=VersionStatus.REVIEW)
    status = request.GET.get("status") or ""
    if status in ArticleStatus.values:
        articles = articles.filter(status=status)
    elif tab == "all":
        articles = articles.exclude(status=ArticleStatus.ARCHIVED)
    kind = request.GET.get("kind") or ""
    if kind in ArticleKind.values:
        articles = articles.filter(kind=kind)
    category = request.GET.get("category") or ""
    if category.isdigit():
        articles = articles.filter(
            Q(category_id=int(category)) | Q(category__parent_id=int(category))
        )
    text = (request.GET.get("q") or "").strip()
    if text:
        articles = knowledge_search.filter_articles(articles, text)
    page = cursor_page(request, articles, ordering=["-id"], page_size=PAGE_SIZE)
    return render(
        request,
        "service/knowledge/article_list.html",
        {
            "page": page,
            "tab": tab,
            "tabs": TABS,
            "q": text,
            "status": status,
            "statuses": ArticleStatus.choices,
            "kind": kind,
            "kinds": ArticleKind.choices,
            "category": category,
            "categories": category_choices(active_only=False)[1:],
            "can_add": policy.has_grant(user, ARTICLE, Action.ADD),
            "can_manage": policy.has_grant(user, ARTICLE, Action.MANAGE),
        },
    )


def _detail(request, article: Article, *, reject_form=None, status: int = 200) -> HttpResponse:
    user = request.user
    versions = list(
        ArticleVersion.objects.filter(article=article)
        .select_related("author", "reviewed_by")
        .order_by("-number")
    )
    shown = None
    wanted = request.GET.get("version", "")
    if wanted.isdigit():
        shown = next((v for v in versions if v.number == int(wanted)), None)
    if shown is None:
        shown = article.published_version or article.pending_version or (versions or [None])[0]
    can_change = policy.can(user, Action.CHANGE, article)
    can_approve = policy.can(user, Action.APPROVE, article)
    can_manage = policy.can(user, Action.MANAGE, article)
    pending = article.pending_version
    archived = article.status == ArticleStatus.ARCHIVED
    return render(
        request,
        "service/knowledge/article_detail.html",
        {
            "article": article,
            "shown": shown,
            "versions": versions,
            "pending": pending,
            "can_edit": can_change and not archived,
            "can_submit": can_change
            and not archived
            and pending is not None
            and pending.status == VersionStatus.DRAFT,
            "can_publish": can_approve and not archived and pending is not None,
            "can_reject": can_approve
            and not archived
            and pending is not None
            and pending.status == VersionStatus.REVIEW,
            "can_archive": can_manage and not archived,
            "can_restore": can_manage and archived,
            "reject_form": reject_form or RejectForm(),
            "my_vote": knowledge.vote_of(actor=user, article=article),
            "can_vote": article.status == ArticleStatus.PUBLISHED,
            "public_url": request.build_absolute_uri(reverse("help:article", args=[article.pk]))
            if article.visibility == ArticleVisibility.PUBLIC
            and article.status == ArticleStatus.PUBLISHED
            else "",
        },
        status=status,
    )


@login_required
def article_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, _article_for(request.user, pk))


@login_required
def article_create(request: HttpRequest) -> HttpResponse:
    user = request.user
    _require_grant(user, Action.ADD)
    ticket = None
    initial: dict = {}
    ticket_id = request.POST.get("ticket") or request.GET.get("ticket") or ""
    if ticket_id.isdigit():
        ticket = Ticket.objects.restrict(user, Action.VIEW).filter(pk=int(ticket_id)).first()
        if ticket is None:
            raise Http404(_("No such ticket."))
        if request.method != "POST":
            values = knowledge.case_values_from_ticket(actor=user, ticket=ticket)
            initial = {
                "title": values["title"],
                "body": values["body"],
                "kind": values["kind"],
                "visibility": values["visibility"],
            }
    form = ArticleForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        article = _call(
            form,
            knowledge.article_create,
            actor=user,
            source_ticket=ticket,
            **form.service_values(),
        )
        if article:
            messages.success(request, _("Draft saved."))
            return redirect("service:article_detail", pk=article.pk)
    return render(
        request,
        "service/knowledge/article_form.html",
        {"form": form, "article": None, "ticket": ticket},
    )


@login_required
def article_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    article = _article_for(user, pk, Action.CHANGE)
    form = ArticleForm(request.POST or None, article=article)
    saved = (
        request.method == "POST"
        and form.is_valid()
        and _call(
            form, knowledge.article_update, actor=user, article=article, **form.service_values()
        )
    )
    if saved:
        messages.success(request, _("Saved."))
        return redirect("service:article_detail", pk=article.pk)
    return render(
        request,
        "service/knowledge/article_form.html",
        {"form": form, "article": article, "ticket": article.source_ticket},
    )


STEPS = {
    "submit": (Action.CHANGE, knowledge.article_submit, gettext_lazy("Sent for review.")),
    "publish": (Action.APPROVE, knowledge.article_publish, gettext_lazy("Published.")),
    "archive": (Action.MANAGE, knowledge.article_archive, gettext_lazy("Archived.")),
}


@login_required
@require_POST
def article_step(request: HttpRequest, pk: int, step: str) -> HttpResponse:
    user = request.user
    article = _article_for(user, pk)
    if step == "reject":
        form = RejectForm(request.POST)
        if form.is_valid() and _call(
            form,
            knowledge.article_reject,
            actor=user,
            article=article,
            note=form.cleaned_data["note"],
        ):
            messages.success(request, _("Sent back to the author."))
            return redirect("service:article_detail", pk=article.pk)
        return _detail(request, article, reject_form=form, status=400)
    if step == "restore":
        _result, done = _message_call(
            request, knowledge.article_archive, actor=user, article=article, archived=False
        )
        if done:
            messages.success(request, _("Restored."))
        return redirect("service:article_detail", pk=article.pk)
    if step not in STEPS:
        raise Http404
    _action, service, done_message = STEPS[step]
    _result, done = _message_call(request, service, actor=user, article=article)
    if done:
        messages.success(request, str(done_message))
    return redirect("service:article_detail", pk=article.pk)


@login_required
@require_POST
def article_vote(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    article = _article_for(user, pk)
    helpful = request.POST.get("helpful") == "1"
    article, _done = _message_call(
        request, knowledge.article_vote, actor=user, article=article, helpful=helpful
    )
    article = _article_for(user, pk)
    if request.htmx:
        return render(
            request,
            "service/knowledge/_votes.html",
            {
                "article": article,
                "my_vote": knowledge.vote_of(actor=user, article=article),
                "can_vote": article.status == ArticleStatus.PUBLISHED,
            },
        )
    return redirect("service:article_detail", pk=pk)


@login_required
@require_GET
def ticket_suggestions(request: HttpRequest, pk: int) -> HttpResponse:
    """Published articles matching the ticket (subject, description) and the reply being
    typed (`body`), for the htmx panel under the message form."""
    user = request.user
    ticket = Ticket.objects.restrict(user, Action.VIEW).filter(pk=pk).first()
    if ticket is None:
        raise Http404(_("No such ticket."))
    articles = []
    if policy.has_grant(user, ARTICLE, Action.VIEW):
        typed = (request.GET.get("body") or "")[:2000]
        articles = knowledge_search.suggest(
            user, [typed, ticket.subject, ticket.description[:3000]], limit=SUGGESTIONS
        )
    rows = [
        {
            "article": article,
            "url": request.build_absolute_uri(reverse("help:article", args=[article.pk]))
            if article.visibility == ArticleVisibility.PUBLIC
            else "",
            "text": article.published_version.display_body if article.published_version else "",
        }
        for article in articles
    ]
    return render(
        request,
        "service/knowledge/_suggestions.html",
        {
            "ticket": ticket,
            "rows": rows,
            # a solved ticket worth reusing: its case draft, prefilled
            "can_make_case": ticket.status in knowledge.SOLVED
            and policy.has_grant(user, ARTICLE, Action.ADD),
        },
    )


# --- categories (administration) ----------------------------------------------------------------


def _tree() -> list[dict]:
    categories = list(ArticleCategory.objects.all())
    children: dict[int | None, list[ArticleCategory]] = {}
    for category in categories:
        children.setdefault(category.parent_id, []).append(category)
    rows = []
    for root in children.get(None, []):
        rows.append({"category": root, "depth": 0})
        rows.extend({"category": child, "depth": 1} for child in children.get(root.pk, []))
    return rows


@login_required
def article_category_list(request: HttpRequest) -> HttpResponse:
    _require_grant(request.user, Action.MANAGE)
    form = ArticleCategoryForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        category = _call(
            form, knowledge.article_category_create, actor=request.user, **form.service_values()
        )
        if category:
            messages.success(request, _("“%(name)s” added.") % {"name": category.display_name})
            return redirect("service:article_category_list")
    return render(
        request,
        "service/knowledge/category_list.html",
        {**_admin_context(request, "article_categories"), "rows": _tree(), "form": form},
    )


@login_required
def article_category_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _require_grant(request.user, Action.MANAGE)
    category = get_object_or_404(ArticleCategory, pk=pk)
    form = ArticleCategoryForm(request.POST or None, category=category)
    saved = (
        request.method == "POST"
        and form.is_valid()
        and _call(
            form,
            knowledge.article_category_update,
            actor=request.user,
            category=category,
            **form.service_values(),
        )
    )
    if saved:
        messages.success(request, _("Saved."))
        return redirect("service:article_category_list")
    return render(
        request,
        "service/knowledge/category_edit.html",
        {**_admin_context(request, "article_categories"), "category": category, "form": form},
    )


@login_required
@require_POST
def article_category_active(request: HttpRequest, pk: int) -> HttpResponse:
    _require_grant(request.user, Action.MANAGE)
    category = get_object_or_404(ArticleCategory, pk=pk)
    _message_call(
        request,
        knowledge.article_category_update,
        actor=request.user,
        category=category,
        is_active=request.POST.get("active") == "1",
    )
    return redirect("service:article_category_list")
