"""The public support form (`/help/contact/`): customers who are not signed in ask for help;
the request becomes a ticket (`services.intake.ticket_from_form`) and the page shows its
number. Bots are kept out by a field people do not see (filled in: nothing is stored) and a
limit of requests per address per hour."""

from __future__ import annotations

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.utils import translation

from .help_views import respond
from .services.intake import ticket_from_form

PER_HOUR = 5


def _client(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def support_contact(request: HttpRequest) -> HttpResponse:
    values = {"name": "", "email": "", "phone": "", "subject": "", "description": ""}
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        values = {name: request.POST.get(name, "") for name in values}
        if request.POST.get("website"):  # the hidden field: only robots fill it in
            return respond(request, "help/contact_done.html", {"ticket": None})
        key = f"rapport:support-form:{_client(request)}"
        if cache.get(key, 0) >= PER_HOUR:
            return respond(
                request, "help/contact.html", {"values": values, "limited": True}, status=429
            )
        try:
            ticket = ticket_from_form(language=(translation.get_language() or "")[:10], **values)
        except ValidationError as error:
            errors = {name: list(messages) for name, messages in error.message_dict.items()}
        else:
            cache.set(key, cache.get(key, 0) + 1, 3600)
            return respond(request, "help/contact_done.html", {"ticket": ticket})
    return respond(
        request,
        "help/contact.html",
        {"values": values, "errors": errors},
        status=400 if errors else 200,
    )
