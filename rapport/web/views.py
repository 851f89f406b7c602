"""Home page, global search, language switch and the shared job progress component."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import NoReverseMatch, reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_POST

from rapport.audit.models import Alert
from rapport.core import search as search_index
from rapport.core.models import Job
from rapport.customers.models import Account, Contact
from rapport.customers.querysets import RecentRecord, recent_records
from rapport.identity import policy
from rapport.identity import services as identity_services
from rapport.identity.models import Action

# Counting what a user can see scans a large restricted table; a few minutes old is fine.
HOME_COUNTS_SECONDS = 120
CHANGE_ACTIONS = ("create", "update", "deactivate", "reactivate", "assign")
DETAIL_URLS = {
    Account.security_type: "customers:account_detail",
    Contact.security_type: "customers:contact_detail",
}
LIST_URLS = {
    Account.security_type: "customers:account_list",
    Contact.security_type: "customers:contact_list",
}
SEARCH_HITS_PER_TYPE = 10


def _visible_counts(user) -> dict[str, int | None]:
    key = f"rapport:home-counts:{user.pk}"
    counts = cache.get(key)
    if counts is None:
        counts = {
            name: model.objects.restrict(user, Action.VIEW).filter(is_active=True).count()
            if policy.has_grant(user, model.security_type, Action.VIEW)
            else None
            for name, model in (("accounts", Account), ("contacts", Contact))
        }
        cache.set(key, counts, HOME_COUNTS_SECONDS)
    return counts


def _with_urls(recent: list[RecentRecord]) -> list[dict]:
    return [
        {"item": item, "url": reverse(DETAIL_URLS[item.object_type], args=[item.record.pk])}
        for item in recent
    ]


@login_required
def home(request):
    """The user's desk: what they looked at and changed lately, what they can see, open alerts."""
    user = request.user
    context = {
        "counts": _visible_counts(user),
        "viewed": _with_urls(recent_records(user, actions=["view"], limit=10)),
        "changed": _with_urls(recent_records(user, actions=CHANGE_ACTIONS, limit=10)),
        "alerts": None,
    }
    if policy.has_grant(user, Alert.security_type, Action.VIEW):
        context["alerts"] = list(
            Alert.objects.restrict(user, Action.VIEW)
            .filter(acknowledged_at__isnull=True)
            .order_by("-created_at")[:10]
        )
        try:
            context["alert_list_url"] = reverse("audit:alert_list")
        except NoReverseMatch:  # the alerts page belongs to the audit app
            context["alert_list_url"] = ""
    return render(request, "web/home.html", context)


@require_POST
def set_language(request):
    """Switch language: saved on the user's profile when signed in, and in the cookie always."""
    language = request.POST.get("language", "")
    next_url = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = "/"
    response = HttpResponseRedirect(next_url)
    if translation.check_for_language(language) and language in dict(settings.LANGUAGES):
        if request.user.is_authenticated and request.user.language != language:
            identity_services.user_update(actor=request.user, user=request.user, language=language)
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME, language, max_age=365 * 24 * 3600, samesite="Lax"
        )
    return response


@login_required
def job_progress(request, pk: int):
    """The progress bar of one of the user's jobs (htmx polls it)."""
    job = get_object_or_404(Job.objects.filter(created_by=request.user), pk=pk)
    return render(request, "web/components/progress.html", {"job": job})


@login_required
def search(request):
    """Global search: the records the user may see, grouped by type, best match first."""
    query = request.GET.get("q", "").strip()[:200]
    results = search_index.search(request.user, query, limit=SEARCH_HITS_PER_TYPE)
    groups = []
    for group in results.groups:
        list_url = ""
        if group.object_type in LIST_URLS and group.hits:
            list_url = f"{reverse(LIST_URLS[group.object_type])}?{urlencode({'q': query})}"
        groups.append({**group.__dict__, "list_url": list_url})
    return render(
        request, "web/search.html", {"query": query, "results": results, "groups": groups}
    )
