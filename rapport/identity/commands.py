"""Acting-user and lookup helpers for the identity-aware `rapport` commands."""

from __future__ import annotations

from collections.abc import Sequence

from django.core.management.base import CommandError
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .models import Role, User


def default_actor() -> User | None:
    """The first active superuser, else the first active user with the administrator role."""
    return (
        User.objects.filter(is_active=True)
        .filter(Q(is_superuser=True) | Q(roles__code="administrator"))
        .order_by("-is_superuser", "pk")
        .first()
    )


def resolve_actor(username: str | None) -> User:
    """The acting user for a CLI command: `--as USERNAME`, else the default administrator."""
    if username:
        actor = User.objects.filter(username__iexact=username).first()
        if actor is None:
            raise CommandError(_("as: No user “%(username)s”.") % {"username": username})
        if not actor.is_active:
            raise CommandError(
                _("as: The user “%(username)s” is deactivated.") % {"username": username}
            )
        return actor
    actor = default_actor()
    if actor is None:
        raise CommandError(
            _(
                "as: There is no administrator to act as. Create one first with "
                "“rapport user create USERNAME --superuser”."
            )
        )
    return actor


def add_actor_argument(parser) -> None:
    parser.add_argument(
        "--as",
        dest="acting_as",
        metavar="USERNAME",
        help=gettext_lazy(
            "Act as this user (default: the first active superuser or administrator)."
        ),
    )


def get_user(username: str, field: str = "username") -> User:
    user = User.objects.filter(username__iexact=username).first()
    if user is None:
        raise CommandError(
            _("%(field)s: No user “%(username)s”.") % {"field": field, "username": username}
        )
    return user


def get_roles(codes: Sequence[str], field: str = "roles") -> list[Role]:
    roles = {role.code: role for role in Role.objects.filter(code__in=codes)}
    unknown = [code for code in codes if code not in roles]
    if unknown:
        raise CommandError(
            _("%(field)s: Unknown role “%(codes)s”.")
            % {"field": field, "codes": "”, “".join(unknown)}
        )
    return [roles[code] for code in dict.fromkeys(codes)]
