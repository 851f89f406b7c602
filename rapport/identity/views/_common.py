"""Helpers shared by the identity pages: permission checks, service calls, context."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from rapport.core import errors

from .. import policy
from ..models import Action

USER = "identity.user"


ROLE = "identity.role"
TAG = "core.tag"
CUSTOM_FIELD = "core.customfield"
ACCOUNT_OPTION = "customers.accountoption"  # the tiers and stages page (customers app)


def _require(user, object_type: str, action: str) -> None:
    if not policy.has_grant(user, object_type, action):
        raise PermissionDenied


def _call(form, service, /, **kwargs):
    """Run a service; on a refusal put its errors on the form and return None."""
    try:
        return service(**kwargs)
    except errors.PermissionDenied as error:
        raise PermissionDenied from error
    except errors.NotFound as error:
        raise Http404 from error
    except (ValidationError, errors.DomainError) as error:
        form.add_service_error(error)
        return None


def _message_call(http_request, service, /, **kwargs):
    """Run a service whose refusal is shown as a page message (buttons without a form)."""
    request = http_request
    try:
        return service(**kwargs), True
    except errors.PermissionDenied as error:
        raise PermissionDenied from error
    except errors.NotFound as error:
        raise Http404 from error
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    except errors.DomainError as error:
        messages.error(request, str(error.message))
    return None, False


def can_request_accounts(user) -> bool:
    return (
        policy.has_grant(user, USER, Action.ADD)
        or user.managed_departments.exists()
        or user.led_teams.exists()
    )


def _admin_context(request, section: str) -> dict:
    user = request.user
    return {
        "section": section,
        "can_manage_users": policy.has_grant(user, USER, Action.MANAGE),
        "can_view_roles": policy.has_grant(user, ROLE, Action.VIEW),
        "can_manage_tags": policy.has_grant(user, TAG, Action.MANAGE),
        "can_manage_custom_fields": policy.has_grant(user, CUSTOM_FIELD, Action.MANAGE),
        "can_manage_account_options": policy.has_grant(user, ACCOUNT_OPTION, Action.MANAGE),
        "can_request": can_request_accounts(user),
    }
