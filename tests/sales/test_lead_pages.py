"""The lead pages: list with filters and views, the pool with its counter and claim buttons,
new lead with the duplicate warning, the lead's page and its actions, conversion,
administration of pools and rules, the public lead form (spam trap, rate limit, consent);
other teams' leads are not found; query counts do not grow with rows."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from rapport.customers.models import Account
from rapport.sales.lead_intake import LEAD_SYSTEM
from rapport.sales.models import Lead, LeadAssignmentRule, LeadPool
from rapport.sales.models.leads import AssignmentMethod, LeadStatus
from rapport.sales.services import leads as services
from tests.factories import AccountFactory, TeamFactory
from tests.query_counts import assert_flat

pytestmark = pytest.mark.django_db


def signed_in(user, language="zh-hans") -> Client:
    user.language = language
    user.save(update_fields=["language"])
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def team(org):
    return TeamFactory(name="华东销售", members=[org["rep_east"], org["rep_sh"]])


@pytest.fixture
def pool(team):
    return LeadPool.objects.create(name="华东公海", team=team, is_default=True, max_held=3)


def test_list_views_and_filters(org, pool):
    rep = org["rep_sh"]
    hot = services.lead_create(actor=rep, owner=rep, name="热线索", rating="hot", source="event")
    services.lead_create(actor=rep, owner=rep, name="冷线索", rating="cold")
    pooled = services.lead_create(actor=org["admin"], owner=None, name="公海线索")
    other = services.lead_create(actor=org["rep_south"], owner=org["rep_south"], name="别人的")
    client = signed_in(rep)
    body = client.get(reverse("sales:lead_list")).content.decode()
    assert f'data-lead-row="{hot.pk}"' in body and f'data-lead-row="{pooled.pk}"' not in body
    body = client.get(reverse("sales:lead_list"), {"view": "pool"}).content.decode()
    assert f'data-lead-row="{pooled.pk}"' in body and f'data-lead-row="{hot.pk}"' not in body
    body = client.get(reverse("sales:lead_list"), {"view": "all", "rating": "hot"}).content.decode()
    assert body.count("data-lead-row=") == 1 and f'data-lead-row="{hot.pk}"' in body
    body = client.get(reverse("sales:lead_list"), {"view": "all", "q": "冷"}).content.decode()
    assert body.count("data-lead-row=") == 1
    assert (
        f'data-lead-row="{other.pk}"'
        not in client.get(reverse("sales:lead_list"), {"view": "all"}).content.decode()
    )
    assert client.get(reverse("sales:lead_detail", args=[other.pk])).status_code == 404


def test_list_and_pool_query_counts_do_not_grow(org, pool):
    rep = org["rep_sh"]
    client = signed_in(rep)

    def grow(n):
        for i in range(n):
            services.lead_create(actor=rep, owner=rep, name=f"线索{i}", company=f"公司{i}")
            services.lead_create(actor=org["admin"], owner=None, name=f"公海{i}")

    assert_flat(client, reverse("sales:lead_list"), grow, few=2, many=8, params={"view": "all"})
    assert_flat(client, reverse("sales:lead_pool"), lambda n: grow(n), few=1, many=5)


def test_detail_query_count_does_not_grow_with_follow_ups(org, pool):
    rep = org["rep_sh"]
    lead = services.lead_create(actor=rep, owner=rep, name="明细")
    client = signed_in(rep)

    def grow(n):
        for i in range(n):
            services.lead_follow_up_add(actor=rep, lead=lead, summary=f"第{i}次电话")

    assert_flat(client, reverse("sales:lead_detail", args=[lead.pk]), grow, few=1, many=6)


def test_pool_page_claims_and_shows_the_counter(org, pool):
    rep = org["rep_sh"]
    leads = [
        services.lead_create(actor=org["admin"], owner=None, name=f"公海{i}") for i in range(4)
    ]
    client = signed_in(rep, "en")
    body = client.get(reverse("sales:lead_pool")).content.decode()
    assert "You hold 0 of 3" in body and body.count('data-testid="claim"') == 4
    for lead in leads[:3]:
        response = client.post(reverse("sales:lead_claim", args=[lead.pk]), {"next": "pool"})
        assert response.status_code == 302
    body = client.get(reverse("sales:lead_pool")).content.decode()
    assert "You hold 3 of 3" in body and "disabled" in body
    client.post(reverse("sales:lead_claim", args=[leads[3].pk]), {"next": "pool"})
    assert Lead.objects.get(pk=leads[3].pk).owner is None  # over the limit: refused
    # another region's rep cannot even see the pool's leads
    south = signed_in(org["rep_south"])
    assert south.get(reverse("sales:lead_detail", args=[leads[3].pk])).status_code == 404


def test_create_warns_of_duplicates_then_saves_anyway(org, pool):
    rep = org["rep_sh"]
    AccountFactory(owner=rep, name="星河数据有限公司")
    client = signed_in(rep)
    data = {"name": "赵六", "company": "星河数据有限公司", "source": "manual", "owner": "me"}
    warned = client.post(reverse("sales:lead_create"), data)
    assert warned.status_code == 200 and 'data-testid="duplicates"' in warned.content.decode()
    assert Lead.objects.count() == 0
    saved = client.post(reverse("sales:lead_create"), {**data, "duplicates_seen": "1"})
    assert saved.status_code == 302
    lead = Lead.objects.get()
    assert lead.owner == rep and lead.company_key == "星河数据"


def test_create_errors_beside_the_field(org, pool):
    client = signed_in(org["rep_sh"])
    response = client.post(
        reverse("sales:lead_create"),
        {"name": "", "phone": "12", "source": "manual", "owner": "me"},
    )
    body = response.content.decode()
    assert 'data-field-error="name"' in body and 'data-field-error="phone"' in body
    assert Lead.objects.count() == 0


def test_detail_actions_follow_up_qualify_disqualify_release(org, pool):
    rep = org["rep_sh"]
    lead = services.lead_create(actor=rep, owner=rep, name="钱七")
    client = signed_in(rep)
    body = client.get(reverse("sales:lead_detail", args=[lead.pk])).content.decode()
    for testid in ("follow-up-form", "qualify-form", "disqualify-form", "release", "convert"):
        assert f'data-testid="{testid}"' in body
    assert 'data-testid="assign-form"' not in body  # a rep does not assign
    client.post(
        reverse("sales:lead_follow_up", args=[lead.pk]), {"kind": "call", "summary": "聊了"}
    )
    refused = client.post(reverse("sales:lead_disqualify", args=[lead.pk]), {"reason": ""})
    assert refused.status_code == 400 and 'data-field-error="reason"' in refused.content.decode()
    client.post(
        reverse("sales:lead_qualify", args=[lead.pk]),
        {"budget": "30000", "is_decision_maker": "true", "rating": "warm"},
    )
    lead.refresh_from_db()
    assert lead.status == LeadStatus.QUALIFIED and lead.is_decision_maker is True
    assert lead.last_follow_up_at is not None
    client.post(reverse("sales:lead_release", args=[lead.pk]))
    lead.refresh_from_db()
    assert lead.owner is None


def test_manager_assigns_from_the_page(org, pool):
    lead = services.lead_create(actor=org["admin"], owner=None, name="孙八")
    client = signed_in(org["admin"])
    body = client.get(reverse("sales:lead_detail", args=[lead.pk])).content.decode()
    assert 'data-testid="assign-form"' in body
    client.post(reverse("sales:lead_assign", args=[lead.pk]), {"owner": str(org["rep_east"].pk)})
    assert Lead.objects.get(pk=lead.pk).owner == org["rep_east"]


def test_convert_page_offers_matches_and_converts(org, pool):
    rep = org["rep_sh"]
    account = AccountFactory(owner=rep, name="青松能源有限公司")
    lead = services.lead_create(actor=rep, owner=rep, name="周九", company="青松能源有限公司")
    client = signed_in(rep)
    body = client.get(reverse("sales:lead_convert", args=[lead.pk])).content.decode()
    assert f'value="{account.pk}"' in body
    response = client.post(
        reverse("sales:lead_convert", args=[lead.pk]),
        {
            "account_choice": str(account.pk),
            "contact_choice": "new",
            "create_opportunity": "on",
            "opportunity_name": "青松项目",
            "amount": "50000",
        },
    )
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.status == LeadStatus.CONVERTED and lead.converted_account == account
    assert Account.objects.count() == 1 and lead.converted_opportunity.name == "青松项目"


def test_admin_pages_for_pools_and_rules(org, pool, team):
    client = signed_in(org["admin"])
    assert client.get(reverse("sales:lead_pool_list")).status_code == 200
    created = client.post(
        reverse("sales:lead_pool_list"),
        {"name": "新公海", "max_held": "10", "return_after_days": "15", "is_active": "on"},
    )
    assert created.status_code == 302
    assert LeadPool.objects.get(name="新公海").return_after_days == 15
    bad = client.post(reverse("sales:lead_rule_list"), {"name": "轮询", "method": "round_robin"})
    assert 'data-field-error="team"' in bad.content.decode()
    client.post(
        reverse("sales:lead_rule_list"),
        {"name": "轮询", "method": "round_robin", "team": str(team.pk), "is_active": "on"},
    )
    rule = LeadAssignmentRule.objects.get()
    assert rule.method == AssignmentMethod.ROUND_ROBIN
    assert client.get(reverse("sales:lead_rule_edit", args=[rule.pk])).status_code == 200
    assert signed_in(org["rep_sh"]).get(reverse("sales:lead_pool_list")).status_code == 403


# --- the public form -----------------------------------------------------------------------


@pytest.fixture
def public(db):
    cache.clear()
    LEAD_SYSTEM.ensure()
    yield Client()
    cache.clear()


def test_public_form_creates_a_lead_through_the_rules(org, pool, public):
    LeadAssignmentRule.objects.create(
        name="网站线索", method=AssignmentMethod.USER, user=org["rep_east"]
    )
    page = public.get(reverse("sales:lead_public_form"))
    assert page.status_code == 200 and 'data-testid="lead-consent"' in page.content.decode()
    done = public.post(
        reverse("sales:lead_public_form"),
        {"name": "网站访客", "company": "来访公司", "phone": "13812345678", "consent": "1"},
    )
    assert done.status_code == 200 and 'data-testid="lead-form-done"' in done.content.decode()
    lead = Lead.objects.get()
    assert lead.source == "web_form" and lead.owner == org["rep_east"]
    assert lead.phone == "+8613812345678" and lead.created_by.username == "sales-leads"


def test_public_form_needs_consent_and_a_way_to_reach(public, pool):
    response = public.post(reverse("sales:lead_public_form"), {"name": "无同意"})
    body = response.content.decode()
    assert response.status_code == 400
    assert 'data-error-for="consent"' in body and 'data-error-for="phone"' in body
    bad = public.post(
        reverse("sales:lead_public_form"), {"name": "x", "email": "nope", "consent": "1"}
    )
    assert bad.status_code == 400 and 'data-error-for="email"' in bad.content.decode()
    assert Lead.objects.count() == 0


def test_public_form_spam_trap_and_rate_limit(public, pool):
    trapped = public.post(
        reverse("sales:lead_public_form"),
        {"name": "bot", "email": "bot@example.com", "consent": "1", "website": "http://spam"},
    )
    assert trapped.status_code == 200 and Lead.objects.count() == 0
    for i in range(5):
        public.post(
            reverse("sales:lead_public_form"),
            {"name": f"访客{i}", "email": f"v{i}@example.com", "consent": "1"},
        )
    assert Lead.objects.count() == 5
    limited = public.post(
        reverse("sales:lead_public_form"),
        {"name": "第六个", "email": "v6@example.com", "consent": "1"},
    )
    assert limited.status_code == 429 and Lead.objects.count() == 5


def test_public_form_in_english(public, pool):
    body = public.get(reverse("sales:lead_public_form"), {"lang": "en"}).content.decode()
    assert "Talk to our sales team" in body
