"""System actors: users that background work acts as (automation rules, the service
mailbox), so that permissions, validation and audit apply to what they do as to what a person
does.

None of them can sign in: the password is unusable, there is no e-mail (no reset, no SSO
match) and no tokens are issued. Each has one role granting what its work needs, scope all.
Pickers of people leave them out (`usernames()`).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from .models import Grant, Role, User

_actors: dict[str, SystemActor] = {}


@dataclass(frozen=True)
class SystemActor:
    username: str
    display_name: str
    role_code: str
    role_name: str
    description: str
    # (object type, action) pairs the role grants, scope all
    grants: tuple[tuple[str, str], ...]

    def ensure(self) -> User:
        """Create (or repair) the user and its role; idempotent, runs after migrate."""
        with transaction.atomic():
            role, _created = Role.objects.get_or_create(
                code=self.role_code,
                defaults={"name": self.role_name, "description": self.description},
            )
            for object_type, action in self.grants:
                Grant.objects.get_or_create(
                    role=role, object_type=object_type, action=action, defaults={"scope": "all"}
                )
            user = User.objects.filter(username=self.username).first()
            if user is None:
                user = User(username=self.username, display_name=self.display_name, is_active=True)
                user.set_unusable_password()
                user.save()
            elif user.has_usable_password() or not user.is_active:
                user.set_unusable_password()
                user.is_active = True
                user.save(update_fields=["password", "is_active"])
            user.roles.add(role)
        return user

    def get(self) -> User:
        """The user, fresh from the database (its grants are read once per object)."""
        user = User.objects.filter(username=self.username, is_active=True).first()
        return user if user is not None else self.ensure()


def define(**fields) -> SystemActor:
    actor = SystemActor(**fields)
    _actors[actor.username] = actor
    return actor


def usernames() -> frozenset[str]:
    """The usernames of every system actor (to leave out of pickers of people)."""
    return frozenset(_actors)


def is_system(user: User | None) -> bool:
    return user is not None and user.username in _actors
