"""Changes to many accounts or contacts at once, from a list selection or the API.

Each record goes through the one-record service (`record_assign`, `account_update`), which
checks the actor's permission on it and writes its own audit event. All records change in
one transaction: when one is refused nothing is stored, and the error names that record.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from rapport.core.errors import DomainError, PermissionDenied
from rapport.identity.models import Action, User

from .. import options as account_options
from ..models import Account
from .records import account_update, record_assign

MAX_RECORDS = 500


def _check_size(records: Sequence[Any]) -> None:
    if not records:
        raise ValidationError(
            {"ids": ValidationError(_("Choose at least one record."), code="required")}
        )
    if len(records) > MAX_RECORDS:
        raise ValidationError(
            {
                "ids": ValidationError(
                    _("Choose at most %(n)d records at a time.") % {"n": MAX_RECORDS},
                    code="too_many",
                )
            }
        )


def _each(records: Sequence[Any], change: Callable[[Any], Any]) -> list[Any]:
    """Apply `change` to every record in one transaction; a refusal names the record."""
    with transaction.atomic():
        for record in records:
            name = {"name": str(record), "id": record.pk}
            try:
                change(record)
            except PermissionDenied as error:
                raise PermissionDenied(
                    _("“%(name)s” (#%(id)d): you may not change it; nothing was changed.") % name,
                    code=error.code,
                    field="ids",
                ) from error
            except DomainError as error:
                raise DomainError(
                    _("“%(name)s” (#%(id)d): %(reason)s Nothing was changed.")
                    % {**name, "reason": error.message},
                    code=error.code,
                    field="ids",
                ) from error
            except ValidationError as error:
                reason = " ".join(error.messages)
                raise ValidationError(
                    {
                        "ids": ValidationError(
                            _("“%(name)s” (#%(id)d): %(reason)s Nothing was changed.")
                            % {**name, "reason": reason},
                            code=getattr(error, "code", None) or "invalid",
                        )
                    }
                ) from error
    return list(records)


def records_assign(*, actor: User, records: Sequence[Account | Any], owner: User) -> list[Any]:
    """Hand every record to `owner`, an active user the actor can see; all or nothing.
    Each change is audited by `record_assign` (an unchanged owner writes nothing)."""
    _check_size(records)
    eligible = User.objects.restrict(actor, Action.VIEW).filter(pk=owner.pk, is_active=True)
    if not eligible.exists():
        raise ValidationError(
            {
                "owner": ValidationError(
                    _("Choose an active user you can see."), code="invalid_owner"
                )
            }
        )
    return _each(records, lambda record: record_assign(actor=actor, record=record, owner=owner))


def accounts_set_stage(*, actor: User, accounts: Sequence[Account], stage: str) -> list[Account]:
    """Move every account to lifecycle stage `stage`; all or nothing. Each change is
    audited by `account_update` (with its before and after)."""
    _check_size(accounts)
    if not account_options.is_active_code("lifecycle_stage", stage):
        raise ValidationError(
            {
                "lifecycle_stage": ValidationError(
                    _("Choose a lifecycle stage."), code="invalid_choice"
                )
            }
        )
    return _each(
        accounts,
        lambda account: account_update(actor=actor, account=account, lifecycle_stage=stage),
    )
