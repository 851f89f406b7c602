"""Tags in core: the tree (create, move, cycles, deactivation), bulk tag/untag all or nothing,
audit and events per record, who may do what, and the tag filter on querysets."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from rapport.audit.models import AuditEvent
from rapport.core.errors import PermissionDenied
from rapport.core.models import OutboxMessage, Tag, TaggedRecord
from rapport.core.tags import selectors, services
from rapport.customers.models import Account, Contact
from tests.factories import AccountFactory, ContactFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def tree(org):
    """行业/Industry > 制造业/Manufacturing > 汽车/Automotive; 来源/Source > 展会; VIP."""
    admin = org["admin"]
    industry = services.tag_create(actor=admin, name="行业", name_en="Industry", colour="blue")
    manufacturing = services.tag_create(
        actor=admin, name="制造业", name_en="Manufacturing", colour="orange", parent=industry
    )
    automotive = services.tag_create(
        actor=admin, name="汽车", name_en="Automotive", colour="red", parent=manufacturing
    )
    source = services.tag_create(actor=admin, name="来源", name_en="Source", colour="green")
    fair = services.tag_create(actor=admin, name="展会", name_en="Trade fair", parent=source)
    vip = services.tag_create(actor=admin, name="VIP", colour="purple")
    return {
        "industry": industry,
        "manufacturing": manufacturing,
        "automotive": automotive,
        "source": source,
        "fair": fair,
        "vip": vip,
    }


# --- the tree --------------------------------------------------------------------------------


def test_paths_follow_the_tree_and_names_follow_the_language(tree):
    industry, automotive = tree["industry"], tree["automotive"]
    assert automotive.path == f"{industry.path}{tree['manufacturing'].pk}/{automotive.pk}/"
    assert automotive.depth == 2
    with translation.override("en"):
        assert str(automotive) == "Automotive"
    with translation.override("zh-hans"):
        assert str(automotive) == "汽车"
    assert str(tree["vip"]) == "VIP"  # no English name: the name in every language


def test_moving_a_tag_carries_its_subtree(org, tree):
    services.tag_update(actor=org["admin"], tag=tree["manufacturing"], parent=tree["source"])
    automotive = Tag.objects.get(pk=tree["automotive"].pk)
    assert automotive.path.startswith(tree["source"].path)
    assert automotive.depth == 2
    services.tag_update(actor=org["admin"], tag=tree["manufacturing"], parent=None)
    assert Tag.objects.get(pk=tree["manufacturing"].pk).depth == 0
    assert Tag.objects.get(pk=tree["automotive"].pk).depth == 1


@pytest.mark.parametrize("target", ["industry", "automotive"])
def test_moving_under_itself_or_a_descendant_is_refused(org, tree, target):
    industry = tree["industry"]
    moved_under = industry if target == "industry" else tree["automotive"]
    with pytest.raises(ValidationError) as caught:
        services.tag_update(actor=org["admin"], tag=industry, parent=moved_under)
    assert [e.code for e in caught.value.error_dict["parent"]] == ["cycle"]
    industry.refresh_from_db()
    assert industry.parent_id is None and industry.path == f"/{industry.pk}/"


def test_sibling_names_are_unique_but_cousins_may_share(org, tree):
    with pytest.raises(ValidationError) as caught:
        services.tag_create(actor=org["admin"], name="  制造业 ", parent=tree["industry"])
    assert [e.code for e in caught.value.error_dict["name"]] == ["duplicate"]
    with pytest.raises(ValidationError):
        services.tag_create(actor=org["admin"], name="VIP")  # top level too
    services.tag_create(actor=org["admin"], name="制造业", parent=tree["source"])  # fine


def test_bad_colour_and_empty_name_are_named_and_nothing_is_stored(org):
    before = Tag.objects.count()
    with translation.override("zh-hans"), pytest.raises(ValidationError) as caught:
        services.tag_create(actor=org["admin"], name=" ", colour="mauve")
    errors = caught.value.error_dict
    assert set(errors) == {"name", "colour"}
    assert errors["colour"][0].code == "invalid_choice"
    assert "mauve" in errors["colour"][0].message and "blue" in errors["colour"][0].message
    assert "颜色" in errors["colour"][0].message  # localized
    assert Tag.objects.count() == before
    assert not AuditEvent.objects.filter(action="tag.create", result="success").count() > 0


def test_depth_is_limited(org):
    parent = None
    for level in range(services.MAX_DEPTH):
        parent = services.tag_create(actor=org["admin"], name=f"L{level}", parent=parent)
    with pytest.raises(ValidationError) as caught:
        services.tag_create(actor=org["admin"], name="too deep", parent=parent)
    assert caught.value.error_dict["parent"][0].code == "too_deep"


def test_deactivating_retires_the_subtree_and_keeps_links(org, tree):
    account = AccountFactory(owner=org["rep_sh"])
    services.records_tag(actor=org["rep_sh"], records=[account], tags=[tree["automotive"]])
    retired = services.tag_deactivate(actor=org["admin"], tag=tree["manufacturing"])
    assert {tag.pk for tag in retired} == {tree["manufacturing"].pk, tree["automotive"].pk}
    assert TaggedRecord.objects.filter(object_id=account.pk).exists()  # kept
    assert selectors.tags_of([account]) == {account.pk: []}  # not shown
    with pytest.raises(ValidationError) as caught:
        services.records_tag(actor=org["rep_sh"], records=[account], tags=[tree["automotive"]])
    assert caught.value.error_dict["tags"][0].code == "inactive"
    with pytest.raises(ValidationError):  # parent first
        services.tag_reactivate(actor=org["admin"], tag=tree["automotive"])
    services.tag_reactivate(actor=org["admin"], tag=tree["manufacturing"])
    services.tag_reactivate(actor=org["admin"], tag=tree["automotive"])
    assert selectors.tags_of([account])[account.pk] == [tree["automotive"]]


def test_tree_changes_are_audited(org, tree):
    services.tag_update(actor=org["admin"], tag=tree["vip"], colour="red", name_en="Key client")
    event = AuditEvent.objects.filter(action="tag.update", object_id=str(tree["vip"].pk)).get()
    assert event.actor == org["admin"]
    assert event.changes == {"name_en": ["", "Key client"], "colour": ["purple", "red"]}
    assert AuditEvent.objects.filter(action="tag.create").count() == 6


@pytest.mark.parametrize("role", ["rep_sh", "sales_manager", "cm", "auditor"])
def test_only_tag_managers_change_the_tree(org, tree, role):
    with pytest.raises(PermissionDenied):
        services.tag_create(actor=org[role], name="私有标签")
    with pytest.raises(PermissionDenied):
        services.tag_update(actor=org[role], tag=tree["vip"], name="VVIP")
    with pytest.raises(PermissionDenied):
        services.tag_deactivate(actor=org[role], tag=tree["vip"])
    assert not Tag.objects.filter(name__in=["私有标签", "VVIP"]).exists()
    assert Tag.objects.get(pk=tree["vip"].pk).is_active


# --- tags on records -------------------------------------------------------------------------


def test_rep_tags_own_records_audited_and_announced_per_record(org, tree):
    rep = org["rep_sh"]
    accounts = [AccountFactory(owner=rep) for _ in range(3)]
    already = accounts[0]
    services.records_tag(actor=rep, records=[already], tags=[tree["vip"]])
    outbox_before = OutboxMessage.objects.filter(topic="record.updated").count()
    changed = services.records_tag(actor=rep, records=accounts, tags=[tree["vip"], tree["fair"]])
    assert changed == accounts  # the first gains 展会
    tagged = selectors.tags_of(accounts)
    assert all({t.pk for t in tagged[a.pk]} == {tree["vip"].pk, tree["fair"].pk} for a in accounts)
    events = AuditEvent.objects.filter(action="update", object_type="customers.account")
    assert events.filter(object_id=str(already.pk)).first().changes == {
        "tags": [[tree["vip"].pk], sorted([tree["vip"].pk, tree["fair"].pk])]
    }
    assert events.filter(actor=rep).count() == 4  # one per record per call that changed it
    messages = OutboxMessage.objects.filter(topic="record.updated").order_by("id")
    assert messages.count() - outbox_before == 3
    assert messages.last().payload == {
        "type": "customers.account",
        "id": accounts[-1].pk,
        "fields": ["tags"],
    }
    # Tagging again changes nothing and writes nothing.
    assert services.records_tag(actor=rep, records=accounts, tags=[tree["vip"]]) == []
    assert events.filter(actor=rep).count() == 4


def test_bulk_tag_is_all_or_nothing_and_names_the_refused_record(org, tree):
    rep = org["rep_sh"]
    mine = [AccountFactory(owner=rep, name=f"自己的公司{n}") for n in range(2)]
    other = AccountFactory(owner=org["rep_south"], name="别人的公司")
    audit_before = AuditEvent.objects.count()
    with pytest.raises(PermissionDenied) as caught:
        services.records_tag(actor=rep, records=[*mine, other], tags=[tree["vip"]])
    assert "别人的公司" in str(caught.value.message)
    assert "自己的公司" not in str(caught.value.message)
    assert caught.value.field == "records"
    assert not TaggedRecord.objects.exists()
    assert AuditEvent.objects.count() == audit_before
    # Untagging is checked the same way.
    services.records_tag(actor=org["admin"], records=[*mine, other], tags=[tree["vip"]])
    with pytest.raises(PermissionDenied):
        services.records_untag(actor=rep, records=[*mine, other], tags=[tree["vip"]])
    assert TaggedRecord.objects.count() == 3


def test_manager_tags_department_records_and_untags(org, tree):
    manager = org["sales_manager"]
    east = AccountFactory(owner=org["rep_sh"])  # Shanghai is under East
    contact = ContactFactory(owner=org["rep_east"])
    services.records_tag(actor=manager, records=[east], tags=[tree["vip"], tree["fair"]])
    services.records_tag(actor=manager, records=[contact], tags=[tree["vip"]])
    assert services.records_untag(actor=manager, records=[east], tags=[tree["vip"]]) == [east]
    assert [t.pk for t in selectors.tags_of([east])[east.pk]] == [tree["fair"].pk]
    assert [t.pk for t in selectors.tags_of([contact])[contact.pk]] == [tree["vip"].pk]
    with pytest.raises(PermissionDenied):
        services.records_tag(
            actor=manager, records=[AccountFactory(owner=org["rep_south"])], tags=[tree["vip"]]
        )


def test_auditor_cannot_tag(org, tree):
    account = AccountFactory(owner=org["rep_sh"])
    with pytest.raises(PermissionDenied):
        services.records_tag(actor=org["auditor"], records=[account], tags=[tree["vip"]])


def test_bad_record_lists_are_refused(org, tree):
    admin = org["admin"]
    with pytest.raises(ValidationError) as caught:
        services.records_tag(actor=admin, records=[], tags=[tree["vip"]])
    assert "records" in caught.value.error_dict
    with pytest.raises(ValidationError) as caught:
        services.records_tag(
            actor=admin,
            records=[AccountFactory(owner=admin), ContactFactory(owner=admin)],
            tags=[tree["vip"]],
        )
    assert caught.value.error_dict["records"][0].code == "mixed_types"
    with pytest.raises(ValidationError) as caught:
        services.records_tag(actor=admin, records=[tree["fair"]], tags=[tree["vip"]])
    assert caught.value.error_dict["records"][0].code == "not_taggable"
    with pytest.raises(ValidationError) as caught:
        services.records_tag(actor=admin, records=[AccountFactory(owner=admin)], tags=[])
    assert "tags" in caught.value.error_dict
    assert not TaggedRecord.objects.exists()


# --- selectors -------------------------------------------------------------------------------


def test_filter_by_tag_includes_descendants(org, tree):
    admin = org["admin"]
    car_maker = AccountFactory(owner=admin, name="汽车厂")
    factory = AccountFactory(owner=admin, name="工厂")
    fair_lead = AccountFactory(owner=admin, name="展会客户")
    AccountFactory(owner=admin, name="无标签")
    services.records_tag(actor=admin, records=[car_maker], tags=[tree["automotive"], tree["fair"]])
    services.records_tag(actor=admin, records=[factory], tags=[tree["manufacturing"]])
    services.records_tag(actor=admin, records=[fair_lead], tags=[tree["fair"]])
    accounts = Account.objects.all()

    def names(queryset) -> set[str]:
        return set(queryset.values_list("name", flat=True))

    assert names(selectors.with_tags(accounts, [tree["industry"].pk])) == {"汽车厂", "工厂"}
    assert (
        names(selectors.with_tags(accounts, [tree["industry"].pk], include_descendants=False))
        == set()
    )
    assert names(selectors.with_tags(accounts, [tree["manufacturing"].pk, tree["source"].pk])) == {
        "汽车厂",
        "工厂",
        "展会客户",
    }
    assert names(
        selectors.with_tags(accounts, [tree["industry"].pk, tree["source"].pk], mode="all")
    ) == {"汽车厂"}
    assert names(selectors.with_tags(accounts, [987654])) == set()
    assert names(selectors.with_tags(accounts, [tree["fair"].pk, 987654], mode="all")) == set()
    # Contacts carry their own tags: an account's tag does not leak onto contacts.
    assert not selectors.with_tags(Contact.objects.all(), [tree["fair"].pk]).exists()


def test_tags_of_a_page_is_one_query(org, tree):
    admin = org["admin"]
    accounts = [AccountFactory(owner=admin) for _ in range(20)]
    for account in accounts[::2]:
        services.records_tag(actor=admin, records=[account], tags=[tree["vip"], tree["fair"]])
    selectors.tags_of(accounts[:1])  # the content type is cached after its first use
    with CaptureQueriesContext(connection) as captured:
        tagged = selectors.tags_of(accounts)
    assert len(captured) == 1
    assert len(tagged[accounts[0].pk]) == 2 and tagged[accounts[1].pk] == []


def test_tree_lists_parents_before_children(tree):
    with translation.override("en"):
        labels = [(node.depth, node.tag.label) for node in selectors.tag_tree()]
    assert labels == [
        (0, "Industry"),
        (1, "Manufacturing"),
        (2, "Automotive"),
        (0, "Source"),
        (1, "Trade fair"),
        (0, "VIP"),
    ]
