"""The public lead form (`/forms/lead/`): people who are not signed in leave their details
and ask to be contacted; the request becomes a lead (source: web form) written by the lead
intake system actor, so the assignment rules apply. Bots are kept out as on the support
form: a field people do not see (filled in: nothing is stored) and a limit of requests per
address per hour. The visitor must agree to be contacted (the consent text is shown)."""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_protect

from .lead_intake import LEAD_SYSTEM
from .models.leads import LeadSource
from .services import leads as lead_services

PER_HOUR = 5
FIELDS = ("name", "company", "phone", "email", "description")


LANGUAGES = dict(settings.LANGUAGES)


def respond(request: HttpRequest, template: str, context: dict, status: int = 200):
    """Render in the visitor's language; `?lang=` switches it (and is remembered)."""
    wanted = request.GET.get("lang", "")
    if wanted in LANGUAGES:
        translation.activate(wanted)
        request.LANGUAGE_CODE = wanted
    current = translation.get_language() or settings.LANGUAGE_CODE
    response = render(
        request,
        template,
        {
            **context,
            "languages": [
                (code, name) for code, name in settings.LANGUAGES if not current.startswith(code)
            ],
            "current_language": current,
        },
        status=status,
    )
    if wanted in LANGUAGES:
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME, wanted, max_age=365 * 24 * 3600, samesite="Lax"
        )
    return response


def _client(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "") or "unknown"


@csrf_protect
def lead_form(request: HttpRequest) -> HttpResponse:
    values = dict.fromkeys(FIELDS, "")
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        values = {name: request.POST.get(name, "") for name in FIELDS}
        if request.POST.get("website"):  # the hidden field: only robots fill it in
            return respond(request, "sales/leads/public_done.html", {})
        key = f"rapport:lead-form:{_client(request)}"
        if cache.get(key, 0) >= PER_HOUR:
            return respond(
                request,
                "sales/leads/public_form.html",
                {"values": values, "limited": True},
                status=429,
            )
        if not values["name"].strip():
            errors["name"] = [_("Enter the lead's name.")]
        if not request.POST.get("consent"):
            errors["consent"] = [_("Please agree so that we may contact you.")]
        if not values["phone"].strip() and not values["email"].strip():
            errors["phone"] = [_("Leave a phone number or an e-mail address.")]
        if not errors:
            try:
                lead_services.lead_create(
                    actor=LEAD_SYSTEM.get(),
                    source=LeadSource.WEB_FORM,
                    source_detail=_("Web form"),
                    name=values["name"],
                    company=values["company"],
                    phone=values["phone"],
                    email=values["email"],
                    description=values["description"],
                    custom={"consent": "contact", "consent_ip": _client(request)},
                )
            except ValidationError as error:
                errors = {name: list(messages) for name, messages in error.message_dict.items()}
            else:
                cache.set(key, cache.get(key, 0) + 1, 3600)
                return respond(request, "sales/leads/public_done.html", {})
    return respond(
        request,
        "sales/leads/public_form.html",
        {"values": values, "errors": errors},
        status=400 if errors else 200,
    )
