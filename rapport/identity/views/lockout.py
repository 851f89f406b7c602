"""What a sign-in locked out by django-axes sees."""

from __future__ import annotations

from django.shortcuts import render
from django.utils.translation import gettext as _


def lockout_response(request, credentials=None, *args, **kwargs):
    """What a locked-out login sees (django-axes calls this)."""
    if request is not None and request.path.startswith("/api/"):
        from django.http import JsonResponse

        return JsonResponse(
            {
                "error": {
                    "code": "account_locked",
                    "message": _(
                        "This account is locked after too many failed sign-ins. Ask an administrator to unlock it."
                    ),
                }
            },
            status=403,
        )
    return render(request, "identity/locked.html", status=403)
