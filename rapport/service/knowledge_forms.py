"""Forms of the knowledge-base pages: they parse; the services validate and decide."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rapport.core.forms import TablerForm

from .models import Article, ArticleCategory, ArticleKind, ArticleVisibility


def category_choices(*, active_only: bool = True, blank: str = "") -> list[tuple[str, str]]:
    """The two-level tree as options ("账户与登录", "— 密码"), one query."""
    categories = ArticleCategory.objects.all()
    if active_only:
        categories = categories.filter(is_active=True)
    rows = list(categories)
    children: dict[int | None, list[ArticleCategory]] = {}
    for category in rows:
        children.setdefault(category.parent_id, []).append(category)
    choices = [("", blank)]
    for root in children.get(None, []):
        choices.append((str(root.pk), root.display_name))
        choices.extend(
            (str(child.pk), f"— {child.display_name}") for child in children.get(root.pk, [])
        )
    return choices


class ArticleForm(TablerForm):
    title = forms.CharField(label=gettext_lazy("Title (Chinese)"), required=False, max_length=1000)
    title_en = forms.CharField(
        label=gettext_lazy("Title (English)"), required=False, max_length=1000
    )
    body = forms.CharField(
        label=gettext_lazy("Text (Chinese)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 12}),
        help_text=gettext_lazy("Plain text; an empty line starts a new paragraph."),
    )
    body_en = forms.CharField(
        label=gettext_lazy("Text (English)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 12}),
    )
    kind = forms.ChoiceField(label=gettext_lazy("Type"), choices=ArticleKind.choices)
    visibility = forms.ChoiceField(
        label=gettext_lazy("Visibility"),
        choices=ArticleVisibility.choices,
        help_text=gettext_lazy("Public articles appear on the help page for customers."),
    )
    category = forms.ChoiceField(label=gettext_lazy("Category"), required=False)

    def __init__(self, *args, article: Article | None = None, **kwargs):
        initial = dict(kwargs.pop("initial", {}) or {})
        if article is not None:
            version = article.pending_version or article.published_version
            initial.update(
                kind=article.kind,
                visibility=article.visibility,
                category=str(article.category_id or ""),
            )
            if version is not None:
                initial.update(
                    title=version.title,
                    title_en=version.title_en,
                    body=version.body,
                    body_en=version.body_en,
                )
        super().__init__(*args, initial=initial, **kwargs)
        self.fields["category"].choices = category_choices(blank=_("No category"))
        if article is not None and article.category_id and not article.category.is_active:
            self.fields["category"].choices.append(
                (str(article.category_id), article.category.display_name)
            )

    def service_values(self) -> dict:
        category_id = self.cleaned_data.get("category")
        return {
            "title": self.cleaned_data["title"],
            "title_en": self.cleaned_data["title_en"],
            "body": self.cleaned_data["body"],
            "body_en": self.cleaned_data["body_en"],
            "kind": self.cleaned_data["kind"],
            "visibility": self.cleaned_data["visibility"],
            "category": ArticleCategory.objects.filter(pk=category_id).first()
            if category_id
            else None,
        }


class RejectForm(TablerForm):
    note = forms.CharField(
        label=gettext_lazy("What to change"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class ArticleCategoryForm(TablerForm):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200, required=False)
    name_en = forms.CharField(label=gettext_lazy("English name"), max_length=200, required=False)
    parent = forms.ChoiceField(label=gettext_lazy("Parent category"), required=False)
    position = forms.IntegerField(label=gettext_lazy("Position"), required=False, min_value=0)

    def __init__(self, *args, category: ArticleCategory | None = None, **kwargs):
        initial = dict(kwargs.pop("initial", {}) or {})
        if category is not None:
            initial.update(
                name=category.name,
                name_en=category.name_en,
                parent=str(category.parent_id or ""),
                position=category.position,
            )
        super().__init__(*args, initial=initial, **kwargs)
        roots = ArticleCategory.objects.filter(parent__isnull=True).exclude(
            pk=category.pk if category else None
        )
        self.fields["parent"].choices = [("", _("None (top level)"))] + [
            (str(root.pk), root.display_name) for root in roots
        ]

    def service_values(self) -> dict:
        parent_id = self.cleaned_data.get("parent")
        return {
            "name": self.cleaned_data["name"],
            "name_en": self.cleaned_data["name_en"],
            "parent": ArticleCategory.objects.filter(pk=parent_id).first() if parent_id else None,
            "position": self.cleaned_data.get("position") or 0,
        }
