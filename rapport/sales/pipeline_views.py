"""Administration of pipelines, their stages (probability, won/lost, the fields required to
enter) and lost reasons (`/sales/admin/pipelines/`, `/sales/admin/lost-reasons/`), for those
with `manage` on `sales.pipeline`. Every write goes through the audited services."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from rapport.identity import policy
from rapport.identity.models import Action
from rapport.identity.views._common import _admin_context, _call, _message_call

from .models import LostReason, Pipeline, Stage
from .pipeline_forms import LostReasonForm, PipelineForm, StageForm
from .services import pipeline as services

SECTION = "pipelines"


def _require(user) -> None:
    if not policy.has_grant(user, "sales.pipeline", Action.MANAGE):
        raise PermissionDenied(_("You do not have permission to do this."))


def _context(request: HttpRequest, **extra) -> dict:
    return {**_admin_context(request, SECTION), **extra}


@login_required
def pipeline_list(request: HttpRequest) -> HttpResponse:
    _require(request.user)
    form = PipelineForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        created = _call(
            form,
            services.pipeline_create,
            actor=request.user,
            name=form.cleaned_data["name"],
            name_en=form.cleaned_data["name_en"],
            is_default=form.cleaned_data["is_default"],
        )
        if created:
            messages.success(request, _("Pipeline created."))
            return redirect("sales:pipeline_detail", pk=created.pk)
    pipelines = Pipeline.objects.prefetch_related("stages").order_by("position", "id")
    return render(
        request,
        "sales/pipelines/pipeline_list.html",
        _context(request, pipelines=pipelines, form=form),
    )


@login_required
def pipeline_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request.user)
    pipeline = Pipeline.objects.filter(pk=pk).first()
    if pipeline is None:
        raise Http404()
    form = PipelineForm(
        request.POST if request.POST.get("form") == "pipeline" else None,
        initial={
            "name": pipeline.name,
            "name_en": pipeline.name_en,
            "is_default": pipeline.is_default,
            "is_active": pipeline.is_active,
        },
    )
    stage_form = StageForm(
        request.POST if request.POST.get("form") == "stage" else None,
        prefix="new",
    )
    which = request.POST.get("form") if request.method == "POST" else None
    if (
        which == "pipeline"
        and form.is_valid()
        and _call(
            form,
            services.pipeline_update,
            actor=request.user,
            pipeline=pipeline,
            **form.cleaned_data,
        )
    ):
        messages.success(request, _("Saved."))
        return redirect("sales:pipeline_detail", pk=pipeline.pk)
    if (
        which == "stage"
        and stage_form.is_valid()
        and _call(
            stage_form,
            services.stage_create,
            actor=request.user,
            pipeline=pipeline,
            **stage_form.service_values(creating=True),
        )
    ):
        messages.success(request, _("Stage added."))
        return redirect("sales:pipeline_detail", pk=pipeline.pk)
    return render(
        request,
        "sales/pipelines/pipeline_detail.html",
        _context(
            request,
            pipeline=pipeline,
            stages=list(pipeline.stages.order_by("position", "id")),
            form=form,
            stage_form=stage_form,
            labels=dict(services.requirable_fields()),
        ),
    )


@login_required
@require_POST
def pipeline_stage_move(request: HttpRequest, pk: int) -> HttpResponse:
    """Move a stage one place up or down."""
    _require(request.user)
    stage = Stage.objects.filter(pk=pk).select_related("pipeline").first()
    if stage is None:
        raise Http404()
    stages = list(stage.pipeline.stages.order_by("position", "id"))
    index = stages.index(stage)
    other = index - 1 if request.POST.get("direction") == "up" else index + 1
    if 0 <= other < len(stages):
        stages[index], stages[other] = stages[other], stages[index]
        _message_call(
            request,
            services.stages_reorder,
            actor=request.user,
            pipeline=stage.pipeline,
            stages=stages,
        )
    return redirect("sales:pipeline_detail", pk=stage.pipeline_id)


@login_required
def stage_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request.user)
    stage = Stage.objects.filter(pk=pk).select_related("pipeline").first()
    if stage is None:
        raise Http404()
    form = StageForm(
        request.POST or None,
        initial={
            "name": stage.name,
            "name_en": stage.name_en,
            "probability": stage.probability,
            "is_won": stage.is_won,
            "is_lost": stage.is_lost,
            "required_fields": stage.required_fields,
            "stale_after_days": stage.stale_after_days,
            "is_active": stage.is_active,
        },
    )
    if (
        request.method == "POST"
        and form.is_valid()
        and _call(
            form,
            services.stage_update,
            actor=request.user,
            stage=stage,
            **form.service_values(creating=False),
        )
    ):
        messages.success(request, _("Saved."))
        return redirect("sales:pipeline_detail", pk=stage.pipeline_id)
    return render(
        request, "sales/pipelines/stage_form.html", _context(request, stage=stage, form=form)
    )


@login_required
@require_POST
def stage_delete(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request.user)
    stage = Stage.objects.filter(pk=pk).first()
    if stage is None:
        raise Http404()
    pipeline_id = stage.pipeline_id
    _done, ok = _message_call(request, services.stage_delete, actor=request.user, stage=stage)
    if ok:
        messages.success(request, _("Stage deleted."))
    return redirect("sales:pipeline_detail", pk=pipeline_id)


@login_required
def lost_reason_list(request: HttpRequest) -> HttpResponse:
    _require(request.user)
    form = LostReasonForm(request.POST or None)
    if (
        request.method == "POST"
        and form.is_valid()
        and _call(
            form,
            services.lost_reason_create,
            actor=request.user,
            name=form.cleaned_data["name"],
            name_en=form.cleaned_data["name_en"],
        )
    ):
        messages.success(request, _("Lost reason added."))
        return redirect("sales:lost_reason_list")
    return render(
        request,
        "sales/pipelines/lost_reason_list.html",
        _context(request, reasons=LostReason.objects.order_by("position", "id"), form=form),
    )


@login_required
def lost_reason_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request.user)
    reason = LostReason.objects.filter(pk=pk).first()
    if reason is None:
        raise Http404()
    form = LostReasonForm(
        request.POST or None,
        initial={"name": reason.name, "name_en": reason.name_en, "is_active": reason.is_active},
    )
    if (
        request.method == "POST"
        and form.is_valid()
        and _call(
            form,
            services.lost_reason_update,
            actor=request.user,
            lost_reason=reason,
            **form.cleaned_data,
        )
    ):
        messages.success(request, _("Saved."))
        return redirect("sales:lost_reason_list")
    return render(
        request,
        "sales/pipelines/lost_reason_form.html",
        _context(request, reason=reason, form=form),
    )
