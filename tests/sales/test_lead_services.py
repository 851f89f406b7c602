"""Lead services: capture with normalisation, qualification, status moves, follow-ups,
assignment rules, the pool (claim limits, release, assign, return after N days), duplicate
checks against leads and customers, and conversion in one transaction."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from rapport.audit.models import AuditEvent
from rapport.core.errors import PermissionDenied
from rapport.core.notifications.models import Notification
from rapport.customers.models import Account, Contact
from rapport.customers.validators import identifier_blind
from rapport.sales.lead_selectors import leads_visible, pool_leads
from rapport.sales.models import Lead, LeadAssignmentRule, LeadFollowUp, LeadPool, Opportunity
from rapport.sales.models.leads import AssignmentMethod, LeadStatus
from rapport.sales.services import leads as services
from tests.factories import AccountFactory, ContactFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def team(org):
    return TeamFactory(name="华东销售", members=[org["rep_east"], org["rep_sh"]])


@pytest.fixture
def pool(team):
    return LeadPool.objects.create(name="华东公海", team=team, is_default=True)


def _create(actor, **values):
    values.setdefault("name", "王小明")
    return services.lead_create(actor=actor, **values)


# --- capture ---------------------------------------------------------------------------


def test_create_normalises_contact_details_and_fills_the_keys(org, pool):
    lead = _create(
        org["rep_sh"],
        owner=org["rep_sh"],
        company="北京華信軟件有限公司",
        phone="138 1234 5678",
        email="Wang@Example.COM",
        province="广东",
        budget="50000.50",
    )
    lead.refresh_from_db()
    assert lead.phone == "+8613812345678"
    assert lead.email == "Wang@example.com"
    assert lead.phone_blind == identifier_blind("phone", "+8613812345678")
    assert lead.email_blind == identifier_blind("email", "Wang@example.com")
    assert lead.company_key == "北京华信软件"
    assert lead.province == "广东省"
    assert lead.budget == Decimal("50000.50")
    assert lead.owner == org["rep_sh"] and lead.pool == pool and lead.team == pool.team
    assert lead.status == LeadStatus.NEW
    assert AuditEvent.objects.filter(action="create", object_type="sales.lead").count() == 1


def test_create_names_every_bad_field_and_stores_nothing(org, pool):
    with pytest.raises(ValidationError) as caught:
        _create(
            org["rep_sh"],
            owner=org["rep_sh"],
            name="",
            phone="12",
            email="not-an-email",
            rating="boiling",
            budget="-5",
            expected_purchase_date="soon",
        )
    assert set(caught.value.message_dict) == {
        "name",
        "phone",
        "email",
        "rating",
        "budget",
        "expected_purchase_date",
    }
    assert Lead.objects.count() == 0


def test_a_rep_cannot_give_a_new_lead_to_someone_else(org, pool):
    with pytest.raises(ValidationError) as caught:
        _create(org["rep_sh"], owner=org["rep_east"])
    assert "owner" in caught.value.message_dict
    with pytest.raises(PermissionDenied):
        _create(org["finance"], owner=None)


def test_update_refills_the_blind_index(org, pool):
    lead = _create(org["rep_sh"], owner=org["rep_sh"], phone="13812345678")
    services.lead_update(actor=org["rep_sh"], lead=lead, phone="13900001111", company="新公司")
    lead.refresh_from_db()
    assert lead.phone_blind == identifier_blind("phone", "+8613900001111")
    assert lead.company_key == "新"  # 公司 is a suffix
    with pytest.raises(PermissionDenied):
        services.lead_update(actor=org["rep_south"], lead=lead, name="X")


# --- qualification, status, follow-ups -----------------------------------------------------


def test_qualify_records_bant_and_status(org, pool):
    lead = _create(org["rep_sh"], owner=org["rep_sh"])
    services.lead_qualify(
        actor=org["rep_sh"],
        lead=lead,
        budget="200000",
        is_decision_maker=True,
        need="CRM for 50 people",
        expected_purchase_date=dt.date(2027, 3, 1),
        rating="hot",
    )
    lead.refresh_from_db()
    assert lead.status == LeadStatus.QUALIFIED
    assert (lead.budget, lead.is_decision_maker, lead.rating) == (Decimal("200000"), True, "hot")
    assert lead.expected_purchase_date == dt.date(2027, 3, 1)


def test_disqualify_needs_a_reason_and_converted_is_not_a_status_move(org, pool):
    lead = _create(org["rep_sh"], owner=org["rep_sh"])
    with pytest.raises(ValidationError) as caught:
        services.lead_disqualify(actor=org["rep_sh"], lead=lead, reason="  ")
    assert caught.value.message_dict.keys() == {"reason"}
    services.lead_disqualify(actor=org["rep_sh"], lead=lead, reason="无预算")
    lead.refresh_from_db()
    assert (lead.status, lead.disqualify_reason) == ("disqualified", "无预算")
    with pytest.raises(ValidationError) as caught:
        services.lead_set_status(actor=org["rep_sh"], lead=lead, status="qualified")
    assert caught.value.error_dict["status"][0].code == "invalid_move"
    services.lead_set_status(actor=org["rep_sh"], lead=lead, status="working")
    lead.refresh_from_db()
    assert (lead.status, lead.disqualify_reason) == ("working", "")
    with pytest.raises(ValidationError):
        services.lead_set_status(actor=org["rep_sh"], lead=lead, status="converted")


def test_follow_up_sets_last_follow_up_and_starts_work(org, pool):
    lead = _create(org["rep_sh"], owner=org["rep_sh"])
    when = timezone.now() - dt.timedelta(hours=2)
    follow_up = services.lead_follow_up_add(
        actor=org["rep_sh"], lead=lead, summary="电话沟通需求", kind="call", occurred_at=when
    )
    lead.refresh_from_db()
    assert lead.last_follow_up_at == when and lead.status == LeadStatus.WORKING
    assert follow_up.author == org["rep_sh"]
    with pytest.raises(ValidationError) as caught:
        services.lead_follow_up_add(actor=org["rep_sh"], lead=lead, summary="", kind="fax")
    assert set(caught.value.message_dict) == {"summary", "kind"}
    assert LeadFollowUp.objects.count() == 1


# --- assignment rules ------------------------------------------------------------------------


def test_round_robin_takes_turns_within_the_team(org, pool, team):
    LeadAssignmentRule.objects.create(
        name="轮询", method=AssignmentMethod.ROUND_ROBIN, team=team, position=1
    )
    owners = [_create(org["admin"]).owner for _ in range(4)]
    first, second = sorted([org["rep_east"], org["rep_sh"]], key=lambda u: u.pk)
    assert owners == [first, second, first, second]


def test_least_loaded_gives_to_whoever_holds_fewest_open_leads(org, pool, team):
    for _ in range(2):
        _create(org["rep_east"], owner=org["rep_east"])
    LeadAssignmentRule.objects.create(name="负载", method=AssignmentMethod.LEAST_LOADED, team=team)
    assert _create(org["admin"]).owner == org["rep_sh"]


def test_first_matching_rule_wins_named_user_and_pool(org, pool, team):
    other_pool = LeadPool.objects.create(name="华南公海")
    services.rule_create(
        actor=org["admin"],
        name="广东给南区",
        position=1,
        condition='province = "广东省"',
        method=AssignmentMethod.USER,
        user=org["rep_south"],
    )
    services.rule_create(
        actor=org["admin"],
        name="展会进公海",
        position=2,
        condition="source = event",
        method=AssignmentMethod.POOL,
        pool=other_pool,
    )
    south = _create(org["admin"], province="广东", source="event")
    fair = _create(org["admin"], province="上海", source="event")
    other = _create(org["admin"], province="上海")
    assert (south.owner, south.pool) == (org["rep_south"], pool)
    assert (fair.owner, fair.pool, fair.team) == (None, other_pool, None)
    assert (other.owner, other.pool) == (None, pool)  # no rule: the default pool
    # the named person is told
    assert Notification.objects.filter(recipient=org["rep_south"]).count() == 1


def test_bad_rule_condition_is_refused_naming_the_field(org):
    with pytest.raises(ValidationError) as caught:
        services.rule_create(actor=org["admin"], name="x", condition="nosuchfield = 1")
    assert "condition" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        services.rule_create(actor=org["admin"], name="x", method="round_robin")
    assert "team" in caught.value.message_dict
    with pytest.raises(PermissionDenied):
        services.rule_create(actor=org["rep_sh"], name="x")


# --- the pool ------------------------------------------------------------------------------


def test_claim_limits_held_and_per_day(org, pool):
    pool.max_held = 2
    pool.claims_per_day = 3
    pool.save()
    leads = [_create(org["admin"], owner=None) for _ in range(5)]
    rep = org["rep_sh"]
    services.lead_claim(actor=rep, lead=leads[0])
    services.lead_claim(actor=rep, lead=leads[1])
    with pytest.raises(ValidationError) as caught:
        services.lead_claim(actor=rep, lead=leads[2])
    assert caught.value.error_dict["lead"][0].code == "max_held"
    services.lead_release(actor=rep, lead=leads[0])
    services.lead_claim(actor=rep, lead=leads[2])  # third claim today
    services.lead_release(actor=rep, lead=leads[1])
    with pytest.raises(ValidationError) as caught:
        services.lead_claim(actor=rep, lead=leads[3])
    assert caught.value.error_dict["lead"][0].code == "claims_per_day"
    assert Lead.objects.filter(owner=rep).count() == 1


def test_claim_refuses_taken_leads_and_other_teams_pools(org, pool):
    lead = _create(org["admin"], owner=None)
    services.lead_claim(actor=org["rep_sh"], lead=lead)
    with pytest.raises(ValidationError) as caught:
        services.lead_claim(actor=org["rep_east"], lead=lead)
    assert caught.value.error_dict["lead"][0].code == "taken"
    other = _create(org["admin"], owner=None)
    with pytest.raises(PermissionDenied):
        services.lead_claim(actor=org["rep_south"], lead=other)  # not in the pool's team


def test_pool_without_team_is_open_to_everyone_who_works_on_leads(org):
    open_pool = LeadPool.objects.create(name="全员公海", is_default=True)
    lead = _create(org["admin"], owner=None)
    assert lead.pool == open_pool
    assert lead in pool_leads(org["rep_south"])
    with pytest.raises(PermissionDenied):
        services.lead_claim(actor=org["finance"], lead=lead)
    services.lead_claim(actor=org["rep_south"], lead=lead)
    assert Lead.objects.get(pk=lead.pk).owner == org["rep_south"]


def test_rep_sees_own_and_team_pool_not_other_teams_leads(org, pool):
    mine = _create(org["rep_sh"], owner=org["rep_sh"])
    teammates = _create(org["rep_east"], owner=org["rep_east"])
    in_pool = _create(org["admin"], owner=None)
    south_pool = LeadPool.objects.create(name="华南", team=TeamFactory(members=[org["rep_south"]]))
    south_lead = _create(org["admin"], owner=None, pool=south_pool)
    visible = set(leads_visible(org["rep_sh"]))
    assert mine in visible and in_pool in visible
    assert teammates not in visible and south_lead not in visible
    assert set(leads_visible(org["rep_south"])) == {south_lead}


def test_assign_needs_the_assign_grant_and_tells_the_new_owner(org, pool):
    lead = _create(org["admin"], owner=None)
    with pytest.raises(PermissionDenied):
        services.lead_assign(actor=org["rep_sh"], lead=lead, owner=org["rep_sh"])
    services.lead_assign(actor=org["admin"], lead=lead, owner=org["rep_east"])
    lead.refresh_from_db()
    assert lead.owner == org["rep_east"] and lead.assigned_at is not None
    assert Notification.objects.filter(recipient=org["rep_east"]).exists()
    with pytest.raises(ValidationError):
        services.lead_assign(actor=org["admin"], lead=lead, owner=org["finance"])


def test_release_gives_the_lead_back(org, pool):
    lead = _create(org["rep_sh"], owner=org["rep_sh"])
    with pytest.raises(PermissionDenied):
        services.lead_release(actor=org["rep_east"], lead=lead)
    services.lead_release(actor=org["rep_sh"], lead=lead)
    lead.refresh_from_db()
    assert lead.owner is None and lead.pool == pool
    with pytest.raises(ValidationError):
        services.lead_release(actor=org["rep_sh"], lead=lead)


def test_return_stale_after_n_days_is_idempotent(org, pool):
    pool.return_after_days = 7
    pool.save()
    now = timezone.now()
    stale = _create(org["rep_sh"], owner=org["rep_sh"])
    fresh = _create(org["rep_sh"], owner=org["rep_sh"])
    followed = _create(org["rep_east"], owner=org["rep_east"])
    done = _create(org["rep_sh"], owner=org["rep_sh"])
    Lead.objects.filter(pk__in=[stale.pk, followed.pk, done.pk]).update(
        assigned_at=now - dt.timedelta(days=10), created_at=now - dt.timedelta(days=10)
    )
    Lead.objects.filter(pk=done.pk).update(status=LeadStatus.DISQUALIFIED)
    services.lead_follow_up_add(
        actor=org["rep_east"], lead=followed, summary="拜访", occurred_at=now - dt.timedelta(days=2)
    )
    assert services.leads_return_stale(now=now) == 1
    stale.refresh_from_db()
    assert stale.owner is None and stale.returned_count == 1 and stale.pool == pool
    for other in (fresh, followed, done):
        other.refresh_from_db()
        assert other.owner is not None
    notes = Notification.objects.filter(recipient=org["rep_sh"], kind="lead.returned")
    assert notes.count() == 1
    # again: nothing more to do, nothing counted twice
    assert services.leads_return_stale(now=now) == 0
    stale.refresh_from_db()
    assert stale.returned_count == 1 and notes.count() == 1
    assert AuditEvent.objects.filter(action="return", object_id=str(stale.pk)).count() == 1


def test_return_stale_leaves_pools_without_a_limit_alone(org, pool):
    lead = _create(org["rep_sh"], owner=org["rep_sh"])
    Lead.objects.filter(pk=lead.pk).update(assigned_at=timezone.now() - dt.timedelta(days=400))
    assert services.leads_return_stale() == 0


# --- duplicates ----------------------------------------------------------------------------


def test_duplicates_against_leads_contacts_and_accounts(org, pool):
    rep = org["rep_sh"]
    existing = _create(rep, owner=rep, phone="13812345678", company="星辰科技有限公司")
    contact = ContactFactory(
        owner=rep, name="李雷", phones=["+8613700000000"], emails=["lilei@example.com"]
    )
    from rapport.customers.services.records import _sync_identifiers

    _sync_identifiers(contact)
    account = AccountFactory(owner=rep, name="月光贸易有限公司")
    found = services.lead_duplicates(
        user=rep,
        values={
            "phone": "+86 138-1234-5678",
            "email": "lilei@example.com",
            "company": "月光贸易有限公司",
        },
    )
    kinds = {(item.kind, item.record.pk) for item in found}
    assert ("lead", existing.pk) in kinds
    assert ("contact", contact.pk) in kinds
    assert ("account", account.pk) in kinds
    by_company = services.lead_duplicates(user=rep, values={"company": "星辰科技"})
    assert [item.record.pk for item in by_company if item.kind == "lead"] == [existing.pk]
    # another team's rep sees none of these records
    assert (
        services.lead_duplicates(
            user=org["rep_south"], values={"phone": "13812345678", "company": "月光贸易有限公司"}
        )
        == []
    )
    assert (
        services.lead_duplicates(user=rep, values={"phone": "13812345678"}, exclude_id=existing.pk)
        == []
    )


# --- conversion ----------------------------------------------------------------------------


def test_convert_creates_account_contact_and_opportunity(org, pool):
    rep = org["rep_sh"]
    lead = _create(rep, owner=rep, company="远航物流有限公司", phone="13812345678", email="a@b.cn")
    services.lead_convert(
        actor=rep, lead=lead, opportunity_name="远航 CRM", amount=Decimal("120000")
    )
    lead.refresh_from_db()
    assert lead.status == LeadStatus.CONVERTED and lead.converted_at is not None
    account, contact = lead.converted_account, lead.converted_contact
    assert account.name == "远航物流有限公司" and account.owner == rep
    assert contact.phones == ["+8613812345678"] and list(contact.accounts.all()) == [account]
    opportunity = lead.converted_opportunity
    assert opportunity.name == "远航 CRM" and opportunity.amount == Decimal("120000")
    assert opportunity.account == account and opportunity.owner == rep
    assert AuditEvent.objects.filter(action="convert", object_id=str(lead.pk)).exists()
    with pytest.raises(ValidationError):
        services.lead_convert(actor=rep, lead=lead)


def test_convert_merges_into_existing_account_and_contact(org, pool):
    rep = org["rep_sh"]
    account = AccountFactory(owner=rep, name="远航物流有限公司")
    contact = ContactFactory(owner=rep, name="王小明", phones=["+8613900000000"])
    lead = _create(rep, owner=rep, company="远航物流", phone="13812345678")
    services.lead_convert(
        actor=rep, lead=lead, account=account, contact=contact, create_opportunity=False
    )
    lead.refresh_from_db()
    contact.refresh_from_db()
    assert lead.converted_account == account and lead.converted_contact == contact
    assert lead.converted_opportunity is None
    assert contact.phones == ["+8613900000000", "+8613812345678"]
    assert list(contact.accounts.all()) == [account]
    assert Account.objects.count() == 1 and Contact.objects.count() == 1


def test_convert_failure_leaves_nothing(org, pool):
    rep = org["rep_sh"]
    lead = _create(rep, owner=rep, company="失败测试有限公司")
    with pytest.raises(ValidationError) as caught:
        services.lead_convert(actor=rep, lead=lead, amount="-1")
    assert "amount" in caught.value.message_dict
    # a refusal deep inside (the opportunity's service) rolls the account and contact back
    with pytest.raises(ValidationError):
        services.lead_convert(actor=rep, lead=lead, opportunity_name="x" * 1000)
    lead.refresh_from_db()
    assert lead.status == LeadStatus.NEW
    assert Account.objects.count() == 0 and Contact.objects.count() == 0
    assert Opportunity.objects.count() == 0


def test_convert_refuses_an_account_the_rep_cannot_see(org, pool):
    rep = org["rep_sh"]
    hidden = AccountFactory(owner=org["rep_south"])
    lead = _create(rep, owner=rep)
    with pytest.raises(ValidationError) as caught:
        services.lead_convert(actor=rep, lead=lead, account=hidden)
    assert "account" in caught.value.message_dict


def test_pool_admin_one_default(org):
    first = services.pool_create(actor=org["admin"], name="一号", is_default=True)
    second = services.pool_create(actor=org["admin"], name="二号", is_default=True, max_held="5")
    first.refresh_from_db()
    assert not first.is_default and second.is_default and second.max_held == 5
    with pytest.raises(ValidationError) as caught:
        services.pool_create(actor=org["admin"], name="一号", max_held="many")
    assert set(caught.value.message_dict) == {"name", "max_held"}
    with pytest.raises(PermissionDenied):
        services.pool_create(actor=org["rep_sh"], name="三号")
    assert UserFactory  # noqa: B018


def test_demo_leads_in_every_state(org):
    import random

    from rapport.sales.lead_intake import LEAD_SYSTEM
    from rapport.web.demo_sales_leads import generate_leads

    LEAD_SYSTEM.ensure()
    users = {"admin": org["admin"], "sales_rep": org["rep_sh"], "sales_rep_south": org["rep_south"]}
    made = generate_leads(users=users, count=60, rng=random.Random(7))
    assert made == 60 and Lead.objects.count() == 60
    statuses = set(Lead.objects.values_list("status", flat=True))
    assert {"new", "working", "qualified", "disqualified"} <= statuses
    assert Lead.objects.filter(owner__isnull=True).exists()
    assert LeadPool.objects.get(is_default=True).name_en == "Open pool"
    assert generate_leads(users=users, count=5, rng=random.Random(1)) == 0  # once


def test_return_stale_runs_daily_on_beat(org, pool):
    from django_celery_beat.models import PeriodicTask

    from rapport.sales import lead_tasks
    from rapport.sales.lead_intake import LEAD_SYSTEM

    task = PeriodicTask.objects.get(name=lead_tasks.RETURN_STALE)
    assert task.task == "sales.leads_return_stale" and task.crontab.hour == "2"
    lead_tasks.schedule()  # again after a migrate: still one entry
    assert PeriodicTask.objects.filter(name=lead_tasks.RETURN_STALE).count() == 1
    LEAD_SYSTEM.ensure()
    pool.return_after_days = 3
    pool.save()
    lead = _create(org["rep_sh"], owner=org["rep_sh"])
    Lead.objects.filter(pk=lead.pk).update(assigned_at=timezone.now() - dt.timedelta(days=5))
    assert lead_tasks.leads_return_stale.apply().get() == 1
    assert Lead.objects.get(pk=lead.pk).owner is None


def test_a_follow_up_dated_before_2000_is_refused_naming_the_time(org):
    # found by the API fuzz: a year-881 time was stored and rendered as an unparseable offset
    rep = org["rep_sh"]
    lead = services.lead_create(actor=rep, owner=rep, name="周先生", company="早年公司")
    with pytest.raises(ValidationError) as refused:
        services.lead_follow_up_add(
            actor=rep,
            lead=lead,
            summary="电话沟通",
            occurred_at=dt.datetime(881, 3, 27, tzinfo=dt.UTC),
        )
    assert refused.value.error_dict["occurred_at"][0].code == "too_early"
    assert not lead.follow_ups.exists()
