"""Knowledge-base articles in the one search index (`rapport.core.search`).

Only published articles have a document (their live version's title and text in both
languages, and their category), so a draft is never found and an archived article drops out.
The same index answers global search, the knowledge-base list's `?q=`, the public help
search and the suggestions shown while an agent writes a reply.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from rapport.core import search
from rapport.core.search import index
from rapport.core.search import text as search_text
from rapport.identity.models import User

from .models import Article, ArticleStatus

ARTICLE = Article.security_type
# Words that say nothing about what a ticket is about (the TF-IDF table keeps the rest).
STOP_WORDS = {
    "the", "and", "for", "you", "your", "our", "are", "was", "were", "this", "that", "with",
    "have", "has", "not", "but", "can", "cannot", "please", "thanks", "thank", "hello", "dear",
    "regards", "hi", "will", "would", "could", "should", "from", "they", "them", "there",
    "what", "when", "how", "why", "which", "also", "just", "still", "any", "some",
    "您好", "你好", "谢谢", "感谢", "请问", "我们", "你们", "客户", "一下", "这个", "那个",
    "可以", "没有", "还是", "已经", "现在", "时候", "问题", "麻烦", "需要", "不行",
}  # fmt: skip
MAX_KEYWORDS = 8
_lock = threading.Lock()
_tfidf = None


def article_document(article: Article) -> search.Document:
    version = article.published_version
    category = article.category
    return search.Document(
        title=version.title if version else article.title,
        subtitle=version.title_en if version else article.title_en,
        texts=[
            version.title_en if version else article.title_en,
            (version.body if version else "")[:20000],
            (version.body_en if version else "")[:20000],
            *([category.name, category.name_en] if category else []),
        ],
    )


def articles_for_indexing(articles: QuerySet) -> QuerySet:
    # records left out are dropped from the index: only the published ones are findable
    return articles.filter(status=ArticleStatus.PUBLISHED).select_related(
        "published_version", "category"
    )


def articles_for_display(user: User, articles: QuerySet) -> QuerySet:
    return articles.select_related("category")


def present_article(user: User, article: Article) -> search.Hit:
    return search.Hit(
        id=article.pk,
        title=article.display_title,
        subtitle=" · ".join(
            str(part) for part in [article.get_kind_display(), article.category or ""] if str(part)
        ),
        url=reverse("service:article_detail", args=[article.pk]),
    )


def register() -> None:
    search.register(
        ARTICLE,
        model=Article,
        document=article_document,
        label=_("Knowledge base"),
        for_indexing=articles_for_indexing,
        for_display=articles_for_display,
        present=present_article,
    )


def filter_articles(articles: QuerySet, text: str) -> QuerySet:
    """A list's `?q=`: published articles through the index (Chinese, pinyin, typos), drafts
    (which the index does not hold) by their titles."""
    text = (text or "").strip()
    if not text:
        return articles
    also = Q(status__in=[ArticleStatus.DRAFT, ArticleStatus.REVIEW]) & (
        Q(title__icontains=text) | Q(title_en__icontains=text)
    )
    return search.filter_queryset(articles, text, also=also)


def ranked(articles: QuerySet, text: str, *, limit: int = 20) -> list[int]:
    """Ids of the articles in `articles` (already restricted) matching `text`, best first."""
    query = search.parse(text)
    if query.is_empty:
        return []
    ids = index.ranked_ids(ARTICLE, query, articles, limit)
    if not ids:
        retry = index.corrected(query)
        if retry is not None:
            ids = index.ranked_ids(ARTICLE, retry, articles, limit)
    return ids


def _keyword_table():
    global _tfidf
    if _tfidf is None:
        with _lock:
            if _tfidf is None:
                from jieba.analyse.tfidf import TFIDF

                table = TFIDF()
                table.tokenizer = search_text.segmenter()  # the index's own dictionary
                _tfidf = table
    return _tfidf


def keywords(texts: Iterable[str], *, limit: int = MAX_KEYWORDS) -> list[str]:
    """The words that say most about `texts` (TF-IDF over jieba's table), folded like the
    index's terms: what a ticket is about, without greetings and filler."""
    joined = "\n".join(part for part in texts if part)[:5000]
    if not joined.strip():
        return []
    chosen: list[str] = []
    for word in _keyword_table().extract_tags(search_text.fold(joined), topK=limit * 3):
        word = word.strip()
        if word in STOP_WORDS or len(word) < 2 or (word.isascii() and len(word) < 3):
            continue
        if not any(char.isalnum() for char in word):
            continue
        chosen.append(word)
        if len(chosen) >= limit:
            break
    return chosen


def suggest(user: User, texts: Iterable[str], *, limit: int = 5) -> list[Article]:
    """Published articles `user` may read that match any of the texts' keywords, those
    matching most of them first (one clause of alternatives: each keyword is enough)."""
    words = keywords(texts)
    if not words:
        return []
    query = search_text.Query(
        text=" ".join(words),
        clauses=(search_text.Clause(tuple((word,) for word in words)),),
    )
    readable = Article.objects.restrict(user, "view").filter(status=ArticleStatus.PUBLISHED)
    ids = index.ranked_ids(ARTICLE, query, readable, limit)
    by_id = {
        article.pk: article
        for article in readable.filter(pk__in=ids).select_related("category", "published_version")
    }
    return [by_id[pk] for pk in ids if pk in by_id]
