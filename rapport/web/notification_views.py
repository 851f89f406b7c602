"""The signed-in user's notifications: the bell's dropdown, the inbox page, marking read.

Only one's own: every lookup is by id *and* recipient, so someone else's notification is a
404 like one that does not exist.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from rapport.core.notifications import selectors, services
from rapport.core.notifications.models import Notification
from rapport.core.paging import cursor_page

MENU_SIZE = 8
PAGE_SIZE = 30


def _own(request: HttpRequest, pk: int) -> Notification:
    return get_object_or_404(Notification, pk=pk, recipient=request.user)


def _local_path(request: HttpRequest, target: str) -> str:
    """A path on this site, else the inbox: never an open redirect."""
    if (
        target.startswith("/")
        and not target.startswith("//")
        and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()})
    ):
        return target
    return reverse("web:notification_list")


@login_required
@require_GET
def notification_list(request: HttpRequest) -> HttpResponse:
    """The inbox, newest first, keyset-paged; `?unread=1` for the unread ones only."""
    unread_only = request.GET.get("unread") == "1"
    notifications = selectors.inbox(request.user, unread=unread_only)
    page = cursor_page(request, notifications, ordering=["-created_at", "-id"], page_size=PAGE_SIZE)
    return render(
        request,
        "web/notifications.html",
        {"page": page, "notifications": page.items, "unread_only": unread_only},
    )


@login_required
@require_GET
def notification_menu(request: HttpRequest) -> HttpResponse:
    """The bell's dropdown (loaded by htmx when it opens): the latest few."""
    latest = list(selectors.inbox(request.user)[:MENU_SIZE])
    return render(request, "web/components/notification_menu.html", {"notifications": latest})


@login_required
@require_GET
def notification_open(request: HttpRequest, pk: int) -> HttpResponse:
    """Follow a notification to what it is about; opening it reads it.

    A GET because it is a link (open in a new tab, long-press on a phone); marking one's
    own notification read is idempotent and touches nothing anyone else sees.
    """
    notification = _own(request, pk)
    services.notification_mark_read(actor=request.user, notification=notification)
    return redirect(_local_path(request, notification.url))


@login_required
@require_POST
def notification_read(request: HttpRequest, pk: int) -> HttpResponse:
    services.notification_mark_read(actor=request.user, notification=_own(request, pk))
    return redirect(_local_path(request, request.POST.get("next", "")))


@login_required
@require_POST
def notifications_read_all(request: HttpRequest) -> HttpResponse:
    count = services.notifications_mark_all_read(actor=request.user)
    if count:
        messages.success(request, _("All notifications are marked read."))
    return redirect(_local_path(request, request.POST.get("next", "")))
