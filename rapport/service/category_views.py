"""The ticket categories page (administration): the tree, add, rename or move, retire.

Every write goes through `rapport.service.services.categories` (grant checked again,
audited)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from rapport.core.forms import TablerForm
from rapport.identity.models import Action
from rapport.identity.views._common import _admin_context, _call, _message_call, _require

from .models import TicketCategory
from .services import categories as category_services

CATEGORY = TicketCategory.security_type


class CategoryForm(TablerForm):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200, required=False)
    name_en = forms.CharField(label=gettext_lazy("English name"), max_length=200, required=False)
    parent = forms.ChoiceField(label=gettext_lazy("Parent category"), required=False)
    position = forms.IntegerField(label=gettext_lazy("Position"), required=False, min_value=0)

    def __init__(self, *args, category: TicketCategory | None = None, **kwargs):
        initial = dict(kwargs.pop("initial", {}) or {})
        if category is not None:
            initial.update(
                name=category.name,
                name_en=category.name_en,
                parent=str(category.parent_id or ""),
                position=category.position,
            )
        super().__init__(*args, initial=initial, **kwargs)
        roots = TicketCategory.objects.filter(parent__isnull=True).exclude(
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
            "parent": TicketCategory.objects.filter(pk=parent_id).first() if parent_id else None,
            "position": self.cleaned_data.get("position") or 0,
        }


def _tree() -> list[dict]:
    categories = list(TicketCategory.objects.select_related("parent"))
    children: dict[int | None, list[TicketCategory]] = {}
    for category in categories:
        children.setdefault(category.parent_id, []).append(category)
    rows = []
    for root in children.get(None, []):
        rows.append({"category": root, "depth": 0})
        rows.extend({"category": child, "depth": 1} for child in children.get(root.pk, []))
    return rows


@login_required
def category_list(request: HttpRequest) -> HttpResponse:
    _require(request.user, CATEGORY, Action.MANAGE)
    form = CategoryForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        category = _call(
            form, category_services.category_create, actor=request.user, **form.service_values()
        )
        if category:
            messages.success(request, _("“%(name)s” added.") % {"name": category.display_name})
            return redirect("service:category_list")
    return render(
        request,
        "service/categories/category_list.html",
        {**_admin_context(request, "ticket_categories"), "rows": _tree(), "form": form},
    )


@login_required
def category_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request.user, CATEGORY, Action.MANAGE)
    category = get_object_or_404(TicketCategory, pk=pk)
    form = CategoryForm(request.POST or None, category=category)
    saved = (
        request.method == "POST"
        and form.is_valid()
        and _call(
            form,
            category_services.category_update,
            actor=request.user,
            category=category,
            **form.service_values(),
        )
    )
    if saved:
        messages.success(request, _("Saved."))
        return redirect("service:category_list")
    return render(
        request,
        "service/categories/category_edit.html",
        {**_admin_context(request, "ticket_categories"), "category": category, "form": form},
    )


@login_required
@require_POST
def category_active(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request.user, CATEGORY, Action.MANAGE)
    category = get_object_or_404(TicketCategory, pk=pk)
    _message_call(
        request,
        category_services.category_update,
        actor=request.user,
        category=category,
        is_active=request.POST.get("active") == "1",
    )
    return redirect("service:category_list")
