"""The review list of possible duplicates: compare and merge, or mark "not duplicates";
administrators start a scan and watch its progress."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from rapport.core import errors
from rapport.core.models import Job
from rapport.identity import policy

from . import scan, selectors, services
from .models import DuplicatePair

PAGE = 50
KINDS = {"customers.account": "accounts", "customers.contact": "contacts"}
SCAN_GRANT = ("dataops.duplicate", "manage")


@login_required
def duplicate_list(request: HttpRequest) -> HttpResponse:
    object_type = request.GET.get("type", "customers.account")
    if object_type not in KINDS:
        raise Http404()
    if not policy.has_grant(request.user, object_type, "view"):
        raise PermissionDenied
    try:
        offset = max(0, int(request.GET.get("offset", "0")))
    except ValueError:
        offset = 0
    pairs = list(selectors.pairs_for(request.user, object_type)[offset : offset + PAGE + 1])
    more = len(pairs) > PAGE
    pairs = selectors.with_records(request.user, pairs[:PAGE])
    kind = KINDS[object_type]
    for pair in pairs:
        pair.compare_url = (
            f"{reverse('customers:merge', args=[kind, pair.first_id])}?with={pair.second_id}"
        )
    can_scan = policy.has_grant(request.user, *SCAN_GRANT)
    last_scan = Job.objects.filter(kind=scan.KIND).order_by("-id").first() if can_scan else None
    return render(
        request,
        "dataops/duplicate_list.html",
        {
            "pairs": pairs,
            "object_type": object_type,
            "types": [
                ("customers.account", _("Accounts")),
                ("customers.contact", _("Contacts")),
            ],
            "offset": offset,
            "next_offset": offset + PAGE if more else None,
            "previous_offset": max(0, offset - PAGE) if offset else None,
            "can_scan": can_scan,
            "last_scan": last_scan,
        },
    )


@login_required
@require_POST
def duplicate_dismiss(request: HttpRequest, pk: int) -> HttpResponse:
    pair = DuplicatePair.objects.filter(pk=pk).first()
    if pair is None:
        raise Http404()
    try:
        services.pair_dismiss(actor=request.user, pair=pair)
    except errors.NotFound as error:
        raise Http404() from error
    except (errors.PermissionDenied, ValidationError) as error:
        messages.error(request, " ".join(getattr(error, "messages", [str(error)])))
    else:
        messages.success(request, _("Marked as not duplicates."))
    return redirect(f"{reverse('dataops:duplicate_list')}?type={pair.object_type}")


@login_required
@require_POST
def scan_now(request: HttpRequest) -> HttpResponse:
    if not policy.has_grant(request.user, *SCAN_GRANT):
        raise PermissionDenied
    from . import tasks

    job = scan.scan_start(actor=request.user)
    tasks.duplicate_scan.delay(job.pk)
    messages.success(request, _("The duplicate scan has started."))
    return redirect("dataops:duplicate_list")
