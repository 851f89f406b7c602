"""The automation system actor: the user rules act as, through the domain services, so that
permissions, validation and audit apply to what a rule does as to what a person does.

It cannot sign in: its password is unusable, it has no e-mail (no reset, no SSO match) and
no tokens are issued for it. Its one role grants what rule actions need.
"""

from __future__ import annotations

from django.db import transaction

from rapport.identity.models import Grant, Role, User

USERNAME = "automation"
ROLE_CODE = "automation_system"
ROLE_NAME = "自动化规则 / Automation rules"

# (object type, action) the role grants, scope all.
GRANTS = [
    *[
        (object_type, action)
        for object_type in ("customers.account", "customers.contact")
        for action in ("view", "change", "assign")
    ],
    ("customers.interaction", "view"),
    ("customers.interaction", "add"),
    ("customers.interaction", "change"),
    ("customers.interaction", "assign"),
    ("identity.user", "view"),
]


def ensure() -> User:
    """Create (or repair) the system actor and its role; idempotent, runs after migrate."""
    with transaction.atomic():
        role, _created = Role.objects.get_or_create(
            code=ROLE_CODE,
            defaults={
                "name": ROLE_NAME,
                "description": "Used by automation rules; not for people.",
            },
        )
        for object_type, action in GRANTS:
            Grant.objects.get_or_create(
                role=role, object_type=object_type, action=action, defaults={"scope": "all"}
            )
        user = User.objects.filter(username=USERNAME).first()
        if user is None:
            user = User(username=USERNAME, display_name="自动化 Automation", is_active=True)
            user.set_unusable_password()
            user.save()
        elif user.has_usable_password() or not user.is_active:
            user.set_unusable_password()
            user.is_active = True
            user.save(update_fields=["password", "is_active"])
        user.roles.add(role)
    return user


def get() -> User:
    """The system actor, fresh from the database (its grants are read once per object)."""
    user = User.objects.filter(username=USERNAME, is_active=True).first()
    return user if user is not None else ensure()
