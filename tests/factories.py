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


# --- sales (docs/sales-plan.md) -------------------------------------------------------------
# Plain rows for tests that need a record to exist; tests of a service call the service.


class PipelineFactory(DjangoModelFactory):
    """A pipeline with four open stages and a won and a lost one (positions 1–6)."""

    class Meta:
        model = "sales.Pipeline"
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"销售流程{n}")
    name_en = factory.Sequence(lambda n: f"Pipeline {n}")

    @factory.post_generation
    def stages(obj, create, extracted, **kwargs):
        from rapport.sales.models import Stage

        if not create or extracted is False:
            return
        rows = extracted or [
            ("初步接触", "Prospecting", 10, False, False),
            ("需求确认", "Qualification", 30, False, False),
            ("方案报价", "Proposal", 60, False, False),
            ("商务谈判", "Negotiation", 80, False, False),
            ("赢单", "Won", 100, True, False),
            ("输单", "Lost", 0, False, True),
        ]
        for position, (name, name_en, probability, won, lost) in enumerate(rows, start=1):
            Stage.objects.create(
                pipeline=obj,
                name=name,
                name_en=name_en,
                position=position,
                probability=probability,
                is_won=won,
                is_lost=lost,
            )


class OpportunityFactory(DjangoModelFactory):
    class Meta:
        model = "sales.Opportunity"

    name = factory.Sequence(lambda n: f"商机{n}")
    owner = factory.SubFactory(UserFactory)
    account = factory.SubFactory(AccountFactory, owner=factory.SelfAttribute("..owner"))
    pipeline = factory.SubFactory(PipelineFactory)
    stage = factory.LazyAttribute(lambda o: o.pipeline.stages.order_by("position").first())
    amount = factory.Sequence(lambda n: 10000 + n)
    probability = factory.LazyAttribute(lambda o: o.stage.probability)


class TaxRateFactory(DjangoModelFactory):
    class Meta:
        model = "sales.TaxRate"
        django_get_or_create = ("name",)

    name = "增值税 13%"
    name_en = "VAT 13%"
    rate = 13


class ProductFactory(DjangoModelFactory):
    class Meta:
        model = "sales.Product"

    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    name = factory.Sequence(lambda n: f"产品{n}")
    name_en = factory.Sequence(lambda n: f"Product {n}")
    list_price = 100
    tax_rate = factory.SubFactory(TaxRateFactory)


class WarehouseFactory(DjangoModelFactory):
    class Meta:
        model = "sales.Warehouse"

    code = factory.Sequence(lambda n: f"wh{n}")
    name = factory.Sequence(lambda n: f"仓库{n}")


class LeadPoolFactory(DjangoModelFactory):
    class Meta:
        model = "sales.LeadPool"

    name = factory.Sequence(lambda n: f"公海{n}")


class LeadFactory(DjangoModelFactory):
    class Meta:
        model = "sales.Lead"

    name = factory.Sequence(lambda n: f"线索联系人{n}")
    company = factory.Sequence(lambda n: f"潜在客户{n}有限公司")
    owner = factory.SubFactory(UserFactory)
