"""Home page, language switch and the shared job progress component."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from rapport.core.models import Job
from rapport.identity import services as identity_services


@login_required
def home(request):
    return render(request, "web/home.html", {})


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
