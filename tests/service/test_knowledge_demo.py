"""The small demo's knowledge base: bilingual articles through the services, public ones on
the help page, a case from a solved demo ticket, one waiting for review."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import translation

from rapport.service.models import Article, ArticleStatus, VersionStatus

pytestmark = pytest.mark.django_db


def test_the_small_demo_writes_a_bilingual_knowledge_base(client):
    with translation.override("en"):
        call_command(
            "demo", "--size", "small", "--accounts", "12", "--contacts", "24",
            "--interactions", "10", "--seed", "3", stdout=StringIO(), stderr=StringIO(),
        )  # fmt: skip
    published = Article.objects.filter(status=ArticleStatus.PUBLISHED)
    assert published.filter(visibility="public").count() >= 4
    assert published.filter(visibility="internal").exists()
    assert all(article.title_en for article in published.filter(kind="faq"))
    case = Article.objects.get(kind="case")
    assert case.source_ticket is not None and case.status == ArticleStatus.PUBLISHED
    assert Article.objects.filter(pending_version__status=VersionStatus.REVIEW).exists()
    assert Article.objects.filter(
        status=ArticleStatus.PUBLISHED, pending_version__status=VersionStatus.DRAFT
    ).exists()
    home = client.get(reverse("help:home")).content.decode()
    public = published.filter(visibility="public").first()
    assert f'data-help-article="{public.pk}"' in home
