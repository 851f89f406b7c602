"""Domain errors shared by every app. Services raise these or Django's ValidationError."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    """A business rule refused the request. `code` is stable; `message` is translated."""

    status = 400
    default_code = "invalid"
    default_message = _("The request was refused.")

    def __init__(self, message=None, *, code: str | None = None, field: str | None = None):
        self.message = message or self.default_message
        self.code = code or self.default_code
        self.field = field
        super().__init__(str(self.message))


class PermissionDenied(DomainError):
    status = 403
    default_code = "permission_denied"
    default_message = _("You do not have permission to do this.")


class NotFound(DomainError):
    status = 404
    default_code = "not_found"
    default_message = _("Not found.")


class Conflict(DomainError):
    status = 409
    default_code = "conflict"
    default_message = _("The record was changed by someone else; reload and try again.")
