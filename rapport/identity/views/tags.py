"""The tag tree administration page: list as a tree, create, rename, recolour, move, retire.

Every write goes through `rapport.core.tags.services`, which checks the `manage` grant on
`core.tag` again and audits the change.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from rapport.core.tags import services as tag_services
from rapport.core.tags.models import Tag, TaggedRecord
from rapport.core.tags.selectors import tag_tree

from .. import forms
from ..models import Action
from ._common import TAG, _admin_context, _call, _message_call, _require


def _usage() -> dict[int, int]:
    """{tag id: number of records carrying it} in one grouped query."""
    return dict(
        TaggedRecord.objects.values("tag")
        .annotate(records=Count("id"))
        .values_list("tag", "records")
    )


@login_required
def tag_list(request):
    _require(request.user, TAG, Action.MANAGE)
    form = forms.TagForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        tag = _call(form, tag_services.tag_create, actor=request.user, **form.cleaned_data)
        if tag:
            messages.success(request, _("Tag “%(name)s” created.") % {"name": tag})
            return redirect("identity:tag_list")
    usage = _usage()
    nodes = [
        {"tag": node.tag, "depth": node.depth, "records": usage.get(node.tag.pk, 0)}
        for node in tag_tree(Tag.objects.all())
    ]
    return render(
        request,
        "identity/tag_list.html",
        {**_admin_context(request, "tags"), "form": form, "nodes": nodes},
    )


@login_required
def tag_edit(request, pk: int):
    _require(request.user, TAG, Action.MANAGE)
    tag = get_object_or_404(Tag, pk=pk)
    form = forms.TagForm(request.POST or None, tag=tag)
    if request.method == "POST" and form.is_valid():
        if _call(form, tag_services.tag_update, actor=request.user, tag=tag, **form.cleaned_data):
            messages.success(request, _("Saved."))
            return redirect("identity:tag_list")
        tag.refresh_from_db()
    return render(
        request,
        "identity/tag_edit.html",
        {**_admin_context(request, "tags"), "tag": tag, "form": form},
    )


@login_required
@require_POST
def tag_deactivate(request, pk: int):
    _require(request.user, TAG, Action.MANAGE)
    tag = get_object_or_404(Tag, pk=pk)
    retired, done = _message_call(request, tag_services.tag_deactivate, actor=request.user, tag=tag)
    if done:
        messages.success(
            request,
            _("Tag “%(name)s” deactivated (%(count)d with the tags under it).")
            % {"name": tag, "count": len(retired)},
        )
    return redirect("identity:tag_list")


@login_required
@require_POST
def tag_reactivate(request, pk: int):
    _require(request.user, TAG, Action.MANAGE)
    tag = get_object_or_404(Tag, pk=pk)
    _tag, done = _message_call(request, tag_services.tag_reactivate, actor=request.user, tag=tag)
    if done:
        messages.success(request, _("Tag “%(name)s” is active again.") % {"name": tag})
    return redirect("identity:tag_list")
