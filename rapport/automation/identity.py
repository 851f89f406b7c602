"""New user accounts as a guarded action: approval processes for "new user accounts" decide
account requests (`identity.services.account_requests`). When a manager asks for an account
and an active process's condition holds (department, roles asked for, who asks …), the
request waits for that approval instead of an administrator's decision; when the approval
ends, the account is created (or the request rejected) by the system actor on its authority.

(Identity cannot import automation; automation registers the type when it loads.)
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils.text import capfirst
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from rapport.core import filterlang as fl

from . import registry

TYPE = "identity.account_request"


def _refuse_update(actor, record, values):
    raise ValidationError(gettext("Account requests are not changed by rules."), code="guarded")


def _label(name: str):
    from rapport.identity.models import AccountRequest

    return capfirst(AccountRequest._meta.get_field(name).verbose_name)


def _fields(user: Any) -> list[fl.FilterField]:
    from rapport.identity.models import Department, Role

    departments = tuple(
        (str(pk), name)
        for pk, name in Department.objects.filter(is_active=True)
        .order_by("path")
        .values_list("pk", "name")
    )
    roles = tuple(
        (str(pk), name) for pk, name in Role.objects.order_by("name").values_list("pk", "name")
    )
    return [
        fl.FilterField("username", _label("username"), fl.TEXT),
        fl.FilterField("email", _label("email"), fl.TEXT),
        fl.FilterField("display_name", _label("display_name"), fl.TEXT),
        fl.FilterField(
            "department", _label("department"), fl.CHOICE, path="department_id", choices=departments
        ),
        fl.FilterField("role", _("Role asked for"), fl.CHOICE, path="roles", choices=roles),
        fl.FilterField("requested_by", _("Asked by"), fl.USER, path="requested_by_id"),
        fl.FilterField("created_at", _("Asked at"), fl.DATETIME),
    ]


def _restrict(actor, action: str = "view"):
    """Administrators of users see every request, the automation actor too (it checks
    process conditions); anyone else their own."""
    from rapport.identity import policy
    from rapport.identity.models import AccountRequest, Action

    from . import actor as system_actor

    requests = AccountRequest.objects.all()
    if actor is None or not actor.is_authenticated:
        return requests.none()
    if actor.username == system_actor.USERNAME or policy.has_grant(
        actor, "identity.user", Action.MANAGE
    ):
        return requests
    return requests.filter(requested_by=actor) if action == "view" else requests.none()


def _decided(actor, record, approved: bool, comment: str):
    from rapport.identity.services import account_request_decide

    return account_request_decide(actor=actor, request=record, approve=approved, note=comment)


def register() -> None:
    from rapport.identity.models import AccountRequest

    registry.register(
        TYPE,
        model=AccountRequest,
        label=_("new user accounts"),
        noun=_("account request"),
        update=_refuse_update,
        guarded=True,
        decided=_decided,
        restrict_with=_restrict,
    )
    fl.register_fields(TYPE, _fields)
