"""factory-boy factories. Business records are created through services where it matters;
these build the organisation (departments, users, roles) the tests act in."""

from __future__ import annotations

import factory
from factory.django import DjangoModelFactory

from rapport.core import search
from rapport.customers.models import Account, Contact
from rapport.identity.models import Department, Role, Team, User

PASSWORD = "Rapport-Test-Pass-2026"


class DepartmentFactory(DjangoModelFactory):
    class Meta:
        model = Department
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"部门{n}")
    code = factory.Sequence(lambda n: f"dept-{n}")

    @factory.post_generation
    def set_path(obj, create, extracted, **kwargs):
        parent_path = obj.parent.path if obj.parent_id else "/"
        obj.path = f"{parent_path}{obj.pk}/"
        obj.save(update_fields=["path"])


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    display_name = factory.LazyAttribute(lambda o: o.username.title())
    language = "en"

    @factory.post_generation
    def password(obj, create, extracted, **kwargs):
        obj.set_password(extracted or PASSWORD)
        obj.save(update_fields=["password"])

    @factory.post_generation
    def roles(obj, create, extracted, **kwargs):
        if extracted:
            obj.roles.set(
                [
                    Role.objects.get(code=code) if isinstance(code, str) else code
                    for code in extracted
                ]
            )


class TeamFactory(DjangoModelFactory):
    class Meta:
        model = Team
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Team {n}")

    @factory.post_generation
    def members(obj, create, extracted, **kwargs):
        if extracted:
            obj.members.set(extracted)


def _indexed(obj, create, extracted, **kwargs):
    """Factories skip the services, so no event indexes the record: index it here, as a
    committed service write would have."""
    if create:
        search.refresh(obj.security_type, [obj.pk])


class AccountFactory(DjangoModelFactory):
    class Meta:
        model = Account
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"测试公司{n}有限公司")
    owner = factory.SubFactory(UserFactory)
    province = "上海市"
    city = "上海市"
    search_document = factory.PostGeneration(_indexed)


class ContactFactory(DjangoModelFactory):
    class Meta:
        model = Contact
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"联系人{n}")
    owner = factory.SubFactory(UserFactory)
    phones = factory.LazyFunction(lambda: ["+8613812345678"])
    emails = factory.Sequence(lambda n: [f"contact{n}@example.com"])
    search_document = factory.PostGeneration(_indexed)
