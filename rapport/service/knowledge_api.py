"""REST API of the knowledge base: parse, authorize, call the service, render.

`/api/v1/service/articles/` lists the articles the caller may read (published ones within
their view grant; drafts they may change or approve), searches them (`?q=`, the same
Chinese-first index), creates and edits them (edits of a published article make a new
draft version), moves them through the workflow (`submit/`, `publish/`, `reject/`,
`archive/`, `restore/`), lists their versions and takes "was this helpful?" votes.
`/api/v1/service/article-categories/` is the category tree.
"""

from __future__ import annotations

import django_filters
from django.db.models import Q
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter
from rest_framework.response import Response

from rapport.core.api import CursorPagination, StrictInputSerializer, error_responses, parse
from rapport.core.errors import NotFound
from rapport.identity.api import GenericViewSet, GrantPermission, UserRefSerializer
from rapport.identity.models import Action

from . import knowledge_search
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


class VersionOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    number = serializers.IntegerField(read_only=True)
    status = serializers.CharField(read_only=True, help_text=", ".join(VersionStatus.values))
    title = serializers.CharField(read_only=True)
    title_en = serializers.CharField(read_only=True)
    body = serializers.CharField(read_only=True)
    body_en = serializers.CharField(read_only=True)
    author = UserRefSerializer(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)
    submitted_at = serializers.DateTimeField(read_only=True, allow_null=True)
    reviewed_by = UserRefSerializer(read_only=True, allow_null=True)
    reviewed_at = serializers.DateTimeField(read_only=True, allow_null=True)
    review_note = serializers.CharField(read_only=True)
    published_at = serializers.DateTimeField(read_only=True, allow_null=True)


class ArticleOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    kind = serializers.CharField(read_only=True, help_text=", ".join(ArticleKind.values))
    visibility = serializers.CharField(
        read_only=True, help_text=", ".join(ArticleVisibility.values)
    )
    status = serializers.CharField(read_only=True, help_text=", ".join(ArticleStatus.values))
    category = serializers.IntegerField(source="category_id", read_only=True, allow_null=True)
    title = serializers.CharField(read_only=True, help_text="The live (or first draft's) title.")
    title_en = serializers.CharField(read_only=True)
    author = UserRefSerializer(read_only=True)
    source_ticket = serializers.IntegerField(
        source="source_ticket_id", read_only=True, allow_null=True
    )
    published_version = serializers.IntegerField(
        source="published_version.number", read_only=True, allow_null=True, default=None
    )
    pending_version = serializers.IntegerField(
        source="pending_version.number", read_only=True, allow_null=True, default=None
    )
    pending_status = serializers.CharField(
        source="pending_version.status",
        read_only=True,
        allow_null=True,
        default=None,
        help_text="draft or review; null when nothing is pending",
    )
    published_at = serializers.DateTimeField(read_only=True, allow_null=True)
    helpful_count = serializers.IntegerField(read_only=True)
    unhelpful_count = serializers.IntegerField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)


class ArticleDetailSerializer(ArticleOutputSerializer):
    published = VersionOutputSerializer(source="published_version", read_only=True, allow_null=True)
    pending = VersionOutputSerializer(source="pending_version", read_only=True, allow_null=True)


class _ArticleInput(StrictInputSerializer):
    title = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    title_en = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    body = serializers.CharField(required=False, allow_blank=True)
    body_en = serializers.CharField(required=False, allow_blank=True)
    kind = serializers.CharField(required=False, max_length=20, help_text="faq or case")
    visibility = serializers.CharField(
        required=False, max_length=20, help_text="internal or public"
    )
    category = serializers.PrimaryKeyRelatedField(
        queryset=ArticleCategory.objects.all(), required=False, allow_null=True
    )


class ArticleCreateSerializer(_ArticleInput):
    title = serializers.CharField(allow_blank=True, max_length=1000)
    body = serializers.CharField(allow_blank=True)
    source_ticket = serializers.IntegerField(
        required=False, allow_null=True, help_text="A resolved or closed ticket: makes a case."
    )


class ArticleRejectSerializer(StrictInputSerializer):
    note = serializers.CharField(allow_blank=True, max_length=2000)


class ArticleVoteSerializer(StrictInputSerializer):
    helpful = serializers.BooleanField()


class CodesFilter(django_filters.BaseInFilter, django_filters.CharFilter):
    """`?status=draft,review`: any of the codes."""


class ArticleFilter(django_filters.FilterSet):
    kind = CodesFilter(field_name="kind", label="faq, case (comma-separated)")
    status = CodesFilter(
        field_name="status", label="draft, review, published, archived (comma-separated)"
    )
    visibility = CodesFilter(field_name="visibility", label="internal, public (comma-separated)")
    category = django_filters.NumberFilter(
        method="in_category", label="Category id (its sub-categories included)"
    )
    pending = django_filters.CharFilter(
        field_name="pending_version__status",
        label="Articles with a pending version in this state: draft or review",
    )

    class Meta:
        model = Article
        fields: list[str] = []

    def in_category(self, queryset, name, value):
        return queryset.filter(Q(category_id=value) | Q(category__parent_id=value))


class ArticlePagination(CursorPagination):
    ordering = ("-id",)


@extend_schema_view(
    list=extend_schema(
        responses={200: ArticleOutputSerializer, **error_responses(400, 401, 403)},
        description="Articles the caller may read, newest first; `?q=` searches titles and "
        "text in Chinese, pinyin or English (published articles; drafts by title).",
    ),
    retrieve=extend_schema(
        responses={200: ArticleDetailSerializer, **error_responses(401, 403, 404)}
    ),
)
class ArticleViewSet(GenericViewSet):
    """Knowledge-base articles (FAQ and cases)."""

    object_type = Article.security_type
    permission_classes = [GrantPermission]
    grant_actions = {
        "list": Action.VIEW,
        "retrieve": Action.VIEW,
        "versions": Action.VIEW,
        "vote": Action.VIEW,
        "create": Action.ADD,
        "partial_update": Action.CHANGE,
        "submit": Action.CHANGE,
        "publish": Action.APPROVE,
        "reject": Action.APPROVE,
        "archive": Action.MANAGE,
        "restore": Action.MANAGE,
    }
    serializer_class = ArticleOutputSerializer
    pagination_class = ArticlePagination
    filterset_class = ArticleFilter
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend, OrderingFilter]
    ordering_fields = ["id", "updated_at", "published_at", "helpful_count"]
    ordering = ["-id"]

    def get_queryset(self):
        articles = Article.objects.restrict(self.request.user, Action.VIEW).select_related(
            "author", "published_version", "pending_version"
        )
        text = self.request.query_params.get("q", "") if hasattr(self, "request") else ""
        if text.strip():
            articles = knowledge_search.filter_articles(articles, text[:200])
        return articles

    def fetch(self, action_name: str, pk) -> Article:
        try:
            pk = int(pk)
        except (TypeError, ValueError):
            raise NotFound() from None
        article = Article.objects.restrict(self.request.user, action_name).filter(pk=pk).first()
        if article is None:
            raise NotFound()
        return article

    def render(self, article: Article, status_code: int = status.HTTP_200_OK) -> Response:
        fresh = (
            Article.objects.select_related(
                "author",
                "published_version__author",
                "published_version__reviewed_by",
                "pending_version__author",
                "pending_version__reviewed_by",
            )
            .filter(pk=article.pk)
            .first()
        )
        return Response(ArticleDetailSerializer(fresh).data, status=status_code)

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(ArticleOutputSerializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        return self.render(self.fetch(Action.VIEW, pk))

    @extend_schema(
        request=ArticleCreateSerializer,
        responses={201: ArticleDetailSerializer, **error_responses(400, 401, 403, 415)},
        description="A new article: a draft (version 1) by the caller. With `source_ticket` "
        "(resolved or closed) it is a case that remembers the ticket.",
    )
    def create(self, request):
        values = parse(ArticleCreateSerializer, request)
        ticket_id = values.pop("source_ticket", None)
        if ticket_id is not None:
            ticket = Ticket.objects.restrict(request.user, Action.VIEW).filter(pk=ticket_id).first()
            # a ticket the caller may not see is refused like a bad value, by the service
            values["source_ticket"] = ticket if ticket is not None else str(ticket_id)
        article = knowledge.article_create(actor=request.user, **values)
        return self.render(article, status.HTTP_201_CREATED)

    @extend_schema(
        request=_ArticleInput,
        responses={200: ArticleDetailSerializer, **error_responses(400, 401, 403, 404, 415)},
        description="Change the text (into the pending version; a new draft version when "
        "the article is published) and the type, visibility and category.",
    )
    def partial_update(self, request, pk=None):
        article = self.fetch(Action.CHANGE, pk)
        values = parse(_ArticleInput, request, partial=True)
        knowledge.article_update(actor=request.user, article=article, **values)
        return self.render(article)

    @extend_schema(
        responses={200: VersionOutputSerializer(many=True), **error_responses(401, 403, 404)},
        description="Every version, newest first.",
    )
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def versions(self, request, pk=None):
        article = self.fetch(Action.VIEW, pk)
        rows = (
            ArticleVersion.objects.filter(article=article)
            .select_related("author", "reviewed_by")
            .order_by("-number")
        )
        return Response(VersionOutputSerializer(rows, many=True).data)

    def _step(self, request, pk, service, **values) -> Response:
        article = self.fetch(Action.VIEW, pk)
        service(actor=request.user, article=article, **values)
        return self.render(article)

    @extend_schema(
        request=None,
        responses={200: ArticleDetailSerializer, **error_responses(400, 401, 403, 404)},
        description="Send the pending draft for review.",
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def submit(self, request, pk=None):
        return self._step(request, pk, knowledge.article_submit)

    @extend_schema(
        request=None,
        responses={200: ArticleDetailSerializer, **error_responses(400, 401, 403, 404)},
        description="Publish the pending version; the published one is superseded.",
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def publish(self, request, pk=None):
        return self._step(request, pk, knowledge.article_publish)

    @extend_schema(
        request=ArticleRejectSerializer,
        responses={200: ArticleDetailSerializer, **error_responses(400, 401, 403, 404, 415)},
        description="Send the version in review back to draft with a note.",
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def reject(self, request, pk=None):
        values = parse(ArticleRejectSerializer, request)
        return self._step(request, pk, knowledge.article_reject, **values)

    @extend_schema(
        request=None,
        responses={200: ArticleDetailSerializer, **error_responses(400, 401, 403, 404)},
        description="Take the article off every list and out of search (versions kept).",
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def archive(self, request, pk=None):
        return self._step(request, pk, knowledge.article_archive)

    @extend_schema(
        request=None,
        responses={200: ArticleDetailSerializer, **error_responses(400, 401, 403, 404)},
        description="Bring an archived article back.",
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def restore(self, request, pk=None):
        return self._step(request, pk, knowledge.article_archive, archived=False)

    @extend_schema(
        request=ArticleVoteSerializer,
        responses={200: ArticleOutputSerializer, **error_responses(400, 401, 403, 404, 415)},
        description="Was this helpful? One vote per person; voting again changes it.",
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def vote(self, request, pk=None):
        article = self.fetch(Action.VIEW, pk)
        values = parse(ArticleVoteSerializer, request)
        article = knowledge.article_vote(actor=request.user, article=article, **values)
        return Response(ArticleOutputSerializer(article).data)


class CategoryOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    name_en = serializers.CharField(read_only=True)
    display_name = serializers.CharField(read_only=True)
    parent = serializers.IntegerField(source="parent_id", read_only=True, allow_null=True)
    position = serializers.IntegerField(read_only=True)
    is_active = serializers.BooleanField(read_only=True)


class CategoryInputSerializer(StrictInputSerializer):
    name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    name_en = serializers.CharField(required=False, allow_blank=True, max_length=200)
    parent = serializers.PrimaryKeyRelatedField(
        queryset=ArticleCategory.objects.all(), required=False, allow_null=True
    )
    position = serializers.IntegerField(required=False, min_value=0, max_value=100_000)
    is_active = serializers.BooleanField(required=False)


class CategoryCreateSerializer(CategoryInputSerializer):
    name = serializers.CharField(allow_blank=True, max_length=200)


class CategoryPagination(CursorPagination):
    ordering = ("position", "id")
    page_size = 200


@extend_schema_view(
    list=extend_schema(responses={200: CategoryOutputSerializer, **error_responses(400, 401, 403)}),
    retrieve=extend_schema(
        responses={200: CategoryOutputSerializer, **error_responses(401, 403, 404)}
    ),
)
class ArticleCategoryViewSet(GenericViewSet):
    """The knowledge base's categories (two levels), read by every reader of articles."""

    object_type = Article.security_type
    permission_classes = [GrantPermission]
    grant_actions = {
        "list": Action.VIEW,
        "retrieve": Action.VIEW,
        "create": Action.MANAGE,
        "partial_update": Action.MANAGE,
    }
    serializer_class = CategoryOutputSerializer
    pagination_class = CategoryPagination

    def get_queryset(self):
        return ArticleCategory.objects.order_by("position", "id")

    def get_object(self) -> ArticleCategory:
        try:
            return ArticleCategory.objects.get(pk=int(self.kwargs["pk"]))
        except (ArticleCategory.DoesNotExist, ValueError, TypeError):
            raise NotFound() from None

    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(CategoryOutputSerializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        return Response(CategoryOutputSerializer(self.get_object()).data)

    @extend_schema(
        request=CategoryCreateSerializer,
        responses={201: CategoryOutputSerializer, **error_responses(400, 401, 403, 415)},
    )
    def create(self, request):
        values = parse(CategoryCreateSerializer, request)
        values.pop("is_active", None)
        created = knowledge.article_category_create(actor=request.user, **values)
        return Response(CategoryOutputSerializer(created).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=CategoryInputSerializer,
        responses={200: CategoryOutputSerializer, **error_responses(400, 401, 403, 404, 415)},
    )
    def partial_update(self, request, pk=None):
        values = parse(CategoryInputSerializer, request, partial=True)
        updated = knowledge.article_category_update(
            actor=request.user, category=self.get_object(), **values
        )
        return Response(CategoryOutputSerializer(updated).data)
