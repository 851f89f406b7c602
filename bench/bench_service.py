"""Customer service at scale (issue 8): an agent's queue, the manager's SLA board, the SLA
sweep over the open tickets, knowledge-base search — each beside hand-written SQL.

    .venv/bin/python bench/bench_service.py                      # PostgreSQL, 2,000,000 tickets
    .venv/bin/python bench/bench_service.py --sqlite --tickets 50000   # a quick check

PostgreSQL: the database `rapport_bench_service` on RAPPORT_BENCH_POSTGRES_URL's server
(dropped and re-created unless `--existing`, which measures what an earlier run built).
`--sqlite`: a fresh file var/bench/service.sqlite3.

Setup: migrate; the demo organisation; a second service department (客户服务二部) beside the
demo's 客户服务中心, 10 queues (teams) of 20 service agents each, five in each department;
a business calendar (Mon–Fri 09:00–12:00, 13:30–18:00, Chinese holidays), the demo's ticket
categories and SLA policies (urgent 1 h / 4 h, high 2 h / 8 h, others 8 h / 40 h working
time); customers by the demo bulk generator (`--accounts`, two contacts each, no search
index); then the tickets through `core.rows.insert_rows` (COPY on PostgreSQL), 10,000 to a
transaction, ids in time order over two years:

- history (all but `--open`): `closed`, or `resolved` when under 30 days old, every one
  assigned, answered and resolved; due times are plausible values (created + the target in
  wall time) and about 8% / 10% missed their first response / resolution;
- `--open` (default 100,000) among the newest 2 × open tickets, ever likelier towards now:
  20% `new` in a queue unassigned, 55% `open` and 25% `pending` (clock paused) with an agent
  of the queue. Their policy and due/warning times are computed as `sla.apply` does: the
  policy by priority, `Schedule.add` on the policy's calendar. Warnings and breaches already
  due at generation time are marked as the sweep would have marked them.

Then `VACUUM (ANALYZE)` (PostgreSQL, outside a transaction; `ANALYZE` on SQLite), and
`--articles` (20,000) published bilingual knowledge-base articles with their versions,
indexed with `search.index_records` in batches, then the search's term statistics taken
(`search.statistics.refresh`, as the bulk demo does after a load).

Cases (ORM/app side beside raw SQL on a cursor; both checked to return the same rows first):

1. the ticket list as `ticket_views.ticket_list` builds it for views "mine" and "my queues"
   (`Ticket.objects.restrict(agent, "view")` + the view's filters + `cursor_page`, 50 + 1
   rows, account/contact/team/assignee joined), page 1 and page 2 (keyset);
2. the SLA board as `ticket_views.ticket_board` reads it for the service manager
   (department scope): open tickets per agent and per unassigned queue, the totals, and the
   names, profiles and queue settings it looks up;
3. `sla.sweep(now=…)`: `now` is moved forward each run to the moment by which `--due` more
   warnings/breaches fall due (flags set at generation count as swept), so each run finds
   fresh due rows and marks, events and notifies each in its transaction (business
   calendars make ties, so a run may find more); the first sweep (untimed) is checked
   against the raw SQL that finds the due rows, which is timed beside. Also timed: the
   sweep with nothing due (what every minute's run costs at least). `--reset-clocks`
   puts the flags back as generated for a re-run on an existing database;
4. knowledge-base search: `search.search(agent, text, types=["service.article"])` for
   Chinese and pinyin queries beside one statement doing the match, restriction, ranking
   and row fetch (the tsquery / FTS expression taken from the app's parser once).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")
os.environ.pop("RAPPORT_TASKS_EAGER", None)
os.environ.setdefault("RAPPORT_LOG_LEVEL", "ERROR")

POSTGRES_URL = os.environ.get(
    "RAPPORT_BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/rapport_bench"
)
DATABASE = "rapport_bench_service"
PROTECTED_DATABASES = {"rapport", "test_rapport", "postgres", "template0", "template1"}


def choose_database(args) -> str:
    """Point RAPPORT_DATABASE_URL at the bench database (fresh unless --existing); before
    Django is set up."""
    if args.sqlite:
        path = ROOT / "var" / "bench" / "service.sqlite3"
        path.parent.mkdir(parents=True, exist_ok=True)
        if not args.existing:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    else:
        import psycopg

        parts = urlsplit(POSTGRES_URL)
        name = args.database
        if name in PROTECTED_DATABASES:
            raise SystemExit(f"refusing to use the database {name!r} for benchmarks")
        if not args.existing:
            admin_url = urlunsplit(parts._replace(path="/postgres"))
            with psycopg.connect(admin_url, autocommit=True, connect_timeout=3) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                admin.execute(f'CREATE DATABASE "{name}"')
        url = urlunsplit(parts._replace(path=f"/{name}"))
    os.environ["RAPPORT_DATABASE_URL"] = url
    return url


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=2_000_000)
    parser.add_argument("--open", type=int, default=100_000, help="open tickets among them")
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--articles", type=int, default=20_000)
    parser.add_argument("--teams", type=int, default=10)
    parser.add_argument("--agents", type=int, default=20, help="agents per team")
    parser.add_argument("--due", type=int, default=2000, help="warnings/breaches per sweep")
    parser.add_argument("--sweeps", type=int, default=5, help="timed sweeps")
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--batch", type=int, default=10_000, help="tickets per transaction")
    parser.add_argument("--sqlite", action="store_true", help="a fresh SQLite file instead")
    parser.add_argument("--database", default=DATABASE, help="the PostgreSQL database's name")
    parser.add_argument(
        "--existing", action="store_true", help="measure what an earlier run built (no setup)"
    )
    parser.add_argument(
        "--reset-clocks",
        metavar="GENERATED_AT",
        help="with --existing: before the sweeps, put the open tickets' warning/breach flags "
        "back as generated at this ISO time (the build's generated_at in the JSON) and delete "
        "the sweeps' notifications, so the sweeps find the same due rows again",
    )
    parser.add_argument(
        "--only",
        help="comma-separated case groups to measure: list, board, kb, sweep (default: all)",
    )
    parser.add_argument("--json", help="default: var/bench/service-<database>.json")
    return parser.parse_args()


ARGS = parse_args() if __name__ == "__main__" else None
if ARGS is not None:
    choose_database(ARGS)

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models import Count, Q  # noqa: E402
from django.test import RequestFactory  # noqa: E402
from django.utils import timezone  # noqa: E402
from harness import (  # noqa: E402
    comparison_table,
    database_version,
    measure,
    measure_cases,
    write_results,
)

from rapport.core import search  # noqa: E402
from rapport.core.paging import cursor_page  # noqa: E402
from rapport.core.rows import insert_rows  # noqa: E402
from rapport.core.search import index as search_index  # noqa: E402
from rapport.core.search import statistics as search_statistics  # noqa: E402
from rapport.core.search import text as search_text  # noqa: E402
from rapport.customers.models import AccountContact  # noqa: E402
from rapport.identity import policy  # noqa: E402
from rapport.identity.models import Action, Department, Role, Team, User  # noqa: E402
from rapport.identity.services import organisation as org_services  # noqa: E402
from rapport.identity.services import users as user_services  # noqa: E402
from rapport.service import services as service_services  # noqa: E402
from rapport.service import sla  # noqa: E402
from rapport.service.models import (  # noqa: E402
    OPEN_STATUSES,
    AgentProfile,
    Article,
    ArticleCategory,
    ArticleVersion,
    AutoAssign,
    QueueSettings,
    SlaPolicy,
    Ticket,
)
from rapport.web import demo, demo_service  # noqa: E402

PAGE = 50
OPEN = ("new", "open", "pending")
ARTICLE = Article.security_type
SEARCH_LIMIT = 10
QUERIES = (
    ("Chinese", "发票"),
    ("Chinese phrase", "密码重置"),
    ("pinyin", "fapiao"),
    ("pinyin", "denglu"),
)
SECOND_DEPARTMENT = ("service-centre-2", "客户服务二部")
WEEKLY = dict.fromkeys(("mon", "tue", "wed", "thu", "fri"), "09:00-12:00, 13:30-18:00")
PRIORITIES = (("low", 20), ("normal", 55), ("high", 18), ("urgent", 7))
KINDS = (("question", 40), ("incident", 30), ("request", 25), ("complaint", 5))
CHANNELS = ("agent", "email", "phone", "chat", "web_form", "api")


# --- setup ------------------------------------------------------------------------------------


def build_people(teams: int, per_team: int) -> dict:
    users = demo.build_organisation()
    manager = users["service_manager"]
    centre = Department.objects.get(code="service-centre")
    second = Department.objects.filter(code=SECOND_DEPARTMENT[0]).first()
    if second is None:
        second = org_services.department_create(
            actor=None, name=SECOND_DEPARTMENT[1], code=SECOND_DEPARTMENT[0], parent=centre.parent
        )
    role = Role.objects.get(code="service_agent")
    queues: list[tuple[Team, list[User]]] = []
    for number in range(1, teams + 1):
        department = centre if number <= (teams + 1) // 2 else second
        agents = [
            user_services.user_create(
                actor=None,
                username=f"agent{number:02d}{position:02d}",
                email=f"agent{number:02d}{position:02d}@{demo.DEMO_EMAIL_DOMAIN}",
                display_name=f"客服{number:02d}-{position:02d}",
                department=department,
                roles=[role],
                title="客服专员",
            )
            for position in range(1, per_team + 1)
        ]
        team = org_services.team_create(
            actor=None, name=f"客服队列 {number:02d}", department=department, members=agents
        )
        queues.append((team, agents))
    service_services.calendar_create(
        actor=manager, name="客服工作日", name_en="Service hours", weekly_hours=WEEKLY
    )
    categories = demo_service.ensure_categories(actor=manager)
    demo_service.ensure_sla_policies(actor=manager)
    return {"users": users, "queues": queues, "categories": list(categories.values())}


def weighted(rng: random.Random, pairs) -> str:
    return rng.choices([value for value, _ in pairs], [weight for _, weight in pairs])[0]


class Clocks:
    """Due and warning times as `sla.apply` computes them (policy by priority, the policy's
    calendar), for the open tickets."""

    def __init__(self) -> None:
        self.policies = {}
        for policy_row in SlaPolicy.objects.filter(is_active=True).order_by("position", "id"):
            for priority in policy_row.priorities or [p for p, _ in PRIORITIES]:
                self.policies.setdefault(priority, policy_row)
        self.schedules = {p.pk: sla._schedule(p) for p in set(self.policies.values())}

    def times(self, priority: str, created: datetime, paused: bool) -> dict:
        policy_row = self.policies[priority]
        schedule = self.schedules[policy_row.pk]
        share = min(max(policy_row.warn_percent, 1), 100) / 100
        first = policy_row.first_response_minutes * 60
        budget = policy_row.resolution_minutes * 60
        return {
            "sla_policy_id": policy_row.pk,
            "first_response_due_at": sla._add(schedule, created, first),
            "first_response_warn_at": sla._add(schedule, created, first * share),
            "resolution_due_at": None if paused else sla._add(schedule, created, budget),
            "resolution_warn_at": None if paused else sla._add(schedule, created, budget * share),
        }


def ticket_rows(total: int, open_count: int, people: dict, links, now: datetime, seed: int = 8):
    """Yield the tickets' rows ({attname: value}) in id (= time) order."""
    rng = random.Random(seed)
    clocks = Clocks()
    categories = [category.pk for category in people["categories"]]
    queues = [(team.pk, [agent.pk for agent in agents]) for team, agents in people["queues"]]
    policy_ids = {p: clocks.policies[p].pk for p, _ in PRIORITIES}
    subjects = [subject for subject, *_ in demo_service.TICKETS]
    start = now - timedelta(days=730)
    step = (now - start - timedelta(minutes=5)) / total
    window = min(total, 2 * open_count)
    left_open = open_count
    for number in range(total):
        created = start + step * number + timedelta(seconds=rng.random() * step.total_seconds())
        team_id, agents = queues[rng.randrange(len(queues))]
        account_id, contact_id = links[rng.randrange(len(links))]
        priority = weighted(rng, PRIORITIES)
        position = number - (total - window)
        remaining = total - number
        is_open = (
            left_open > 0
            and position >= 0
            and (remaining <= left_open or rng.random() < (position + 1) / window)
        )
        row = {
            "subject": subjects[number % len(subjects)],
            "description": "客户来电反映问题，已记录。",
            "kind": weighted(rng, KINDS),
            "priority": priority,
            "channel": CHANNELS[rng.randrange(len(CHANNELS))],
            "category_id": categories[rng.randrange(len(categories))],
            "account_id": account_id,
            "contact_id": contact_id,
            "team_id": team_id,
            "language": "en" if rng.random() < 0.15 else "zh-hans",
            "created_at": created,
        }
        if is_open:
            left_open -= 1
            roll = rng.random()
            status = "new" if roll < 0.2 else "open" if roll < 0.75 else "pending"
            assignee = None if status == "new" else agents[rng.randrange(len(agents))]
            answered = status == "pending" or (status == "open" and rng.random() < 0.7)
            first_response_at = (
                min(now, created + timedelta(minutes=rng.randint(5, 600))) if answered else None
            )
            paused_at = (
                min(now, (first_response_at or created) + timedelta(minutes=rng.randint(1, 60)))
                if status == "pending"
                else None
            )
            clock = clocks.times(priority, created, paused_at is not None)
            row.update(clock)
            fr_due, fr_warn = clock["first_response_due_at"], clock["first_response_warn_at"]
            res_due, res_warn = clock["resolution_due_at"], clock["resolution_warn_at"]
            reached = first_response_at or now  # the sweep marked what was due before this
            row.update(
                status=status,
                assignee_id=assignee,
                created_by_id=assignee,
                first_response_at=first_response_at,
                sla_paused_at=paused_at,
                last_activity_at=paused_at or first_response_at or created,
                updated_at=paused_at or first_response_at or created,
                first_response_breached=fr_due is not None and fr_due <= reached,
                first_response_warned=fr_warn is not None and fr_warn <= reached,
                resolution_breached=res_due is not None and res_due <= now,
                resolution_warned=res_warn is not None and res_warn <= now,
            )
        else:
            assignee = agents[rng.randrange(len(agents))]
            first_response_at = created + timedelta(minutes=rng.randint(5, 900))
            resolved_at = first_response_at + timedelta(minutes=rng.randint(10, 7 * 24 * 60))
            closed = now - resolved_at > timedelta(days=30)
            closed_at = resolved_at + timedelta(days=3) if closed else None
            policy_row = clocks.policies[priority]
            # plausible values: the targets in wall time, stretched for nights and weekends
            first_due = created + timedelta(minutes=policy_row.first_response_minutes * 3)
            res_due = created + timedelta(minutes=policy_row.resolution_minutes * 3)
            fr_missed = rng.random() < 0.08
            res_missed = rng.random() < 0.10
            row.update(
                status="closed" if closed else "resolved",
                assignee_id=assignee,
                created_by_id=assignee,
                first_response_at=first_response_at,
                resolved_at=resolved_at,
                closed_at=closed_at,
                last_activity_at=closed_at or resolved_at,
                updated_at=closed_at or resolved_at,
                sla_policy_id=policy_ids[priority],
                first_response_due_at=first_due,
                first_response_warn_at=created + (first_due - created) * 0.8,
                resolution_due_at=res_due,
                resolution_warn_at=created + (res_due - created) * 0.8,
                first_response_breached=fr_missed,
                first_response_warned=fr_missed or rng.random() < 0.1,
                resolution_breached=res_missed,
                resolution_warned=res_missed or rng.random() < 0.1,
            )
        yield row


def insert_tickets(total: int, open_count: int, people: dict, batch: int) -> dict:
    links = list(AccountContact.objects.values_list("account_id", "contact_id").order_by("id"))
    now = timezone.now().replace(microsecond=0)
    started = time.monotonic()
    rows: list[dict] = []
    made = 0
    for row in ticket_rows(total, open_count, people, links, now):
        rows.append(row)
        if len(rows) >= batch:
            with transaction.atomic():
                made += insert_rows(Ticket, rows)
            rows = []
            if made % (batch * 20) == 0:
                elapsed = time.monotonic() - started
                print(f"  {made:,} tickets, {elapsed:.0f} s ({made / elapsed:,.0f}/s)", flush=True)
    with transaction.atomic():
        made += insert_rows(Ticket, rows)
    inserted = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)" if connection.vendor == "postgresql" else "ANALYZE")
    finished = time.monotonic()
    return {
        "tickets": made,
        "insert_s": inserted - started,
        "tickets_per_s": made / (inserted - started),
        "vacuum_analyze_s": finished - inserted,
        "generated_at": now.isoformat(),
    }


TOPICS = (
    ("发票", "Invoices"),
    ("登录", "Sign-in"),
    ("密码重置", "Password reset"),
    ("报表导出", "Report export"),
    ("数据迁移", "Data migration"),
    ("付款", "Payments"),
    ("短信通知", "SMS notifications"),
    ("权限设置", "Permissions"),
    ("接口调用", "API calls"),
    ("合同续签", "Contract renewal"),
    ("账号绑定", "Account linking"),
    ("退款", "Refunds"),
)
ASPECTS = (
    ("常见问题", "FAQ"),
    ("操作指南", "how-to"),
    ("故障排查", "troubleshooting"),
    ("无法使用怎么办", "when it does not work"),
    ("设置方法", "settings"),
    ("注意事项", "things to know"),
)
PLACES = ("网页端", "手机端", "微信小程序", "企业版", "标准版", "海外版", "")


def build_articles(count: int, author: User, batch: int = 2000) -> dict:
    """Published bilingual articles with their published version, indexed in bulk."""
    started = time.monotonic()
    rng = random.Random(20)
    categories = ArticleCategory.objects.bulk_create(
        [ArticleCategory(name=zh, name_en=en, position=i) for i, (zh, en) in enumerate(TOPICS[:6])]
    )
    now = timezone.now()
    made = 0
    for first in range(0, count, batch):
        articles, versions = [], []
        for number in range(first, min(count, first + batch)):
            topic, topic_en = TOPICS[rng.randrange(len(TOPICS))]
            aspect, aspect_en = ASPECTS[rng.randrange(len(ASPECTS))]
            place = PLACES[rng.randrange(len(PLACES))]
            other, _ = TOPICS[rng.randrange(len(TOPICS))]
            title = f"{place}{topic}{aspect}（{number + 1}）"
            title_en = f"{topic_en}: {aspect_en} ({number + 1})"
            body = (
                f"本文介绍{place or '系统'}中{topic}相关的{aspect}。如果{other}也遇到问题，"
                f"请先确认账号权限，再按步骤操作：打开设置页面，找到{topic}一栏，保存后刷新。"
            )
            body_en = f"How {topic_en.lower()} works ({aspect_en}); check permissions first."
            articles.append(
                Article(
                    kind="case" if number % 5 == 0 else "faq",
                    visibility="public" if number % 3 else "internal",
                    status="published",
                    category=categories[rng.randrange(len(categories))],
                    title=title,
                    title_en=title_en,
                    author=author,
                    published_at=now,
                )
            )
            versions.append((title, title_en, body, body_en))
        with transaction.atomic():
            Article.objects.bulk_create(articles)
            made_versions = ArticleVersion.objects.bulk_create(
                [
                    ArticleVersion(
                        article=article,
                        number=1,
                        title=title,
                        title_en=title_en,
                        body=body,
                        body_en=body_en,
                        status="published",
                        author=author,
                        published_at=now,
                    )
                    for article, (title, title_en, body, body_en) in zip(
                        articles, versions, strict=True
                    )
                ]
            )
            for article, version in zip(articles, made_versions, strict=True):
                article.published_version = version
            Article.objects.bulk_update(articles, ["published_version"], batch_size=1000)
            search.index_records({ARTICLE: articles})
        made += len(articles)
    with connection.cursor() as cursor:
        for table in ("service_article", "service_articleversion", "core_searchdocument"):
            cursor.execute(f"ANALYZE {table}")
    search_statistics.refresh([ARTICLE])  # as the bulk demo does after a load
    elapsed = time.monotonic() - started
    return {"articles": made, "articles_s": elapsed}


def build(args) -> dict:
    built: dict = {}
    started = time.monotonic()
    call_command("migrate", verbosity=0, interactive=False)
    built["migrate_s"] = time.monotonic() - started
    started = time.monotonic()
    people = build_people(args.teams, args.agents)
    built["people_s"] = time.monotonic() - started
    started = time.monotonic()
    data = demo.DemoData(2026, first_serial=demo.next_serial())
    owners = [people["users"][u.username] for u in demo.DEMO_USERS if u.owns_accounts]
    made = demo.bulk_generate(
        owners=demo.owners_of(owners),
        accounts=args.accounts,
        contacts=args.accounts * 2,
        interactions=0,
        data=data,
        batch_size=5000,
        index=False,
    )
    built["customers"] = made
    built["customers_s"] = time.monotonic() - started
    print(
        f"setup: migrate {built['migrate_s']:.1f} s, people {built['people_s']:.1f} s, "
        f"customers {built['customers_s']:.1f} s",
        flush=True,
    )
    built.update(insert_tickets(args.tickets, args.open, people, args.batch))
    print(
        f"tickets: {built['tickets']:,} in {built['insert_s']:.1f} s "
        f"({built['tickets_per_s']:,.0f} rows/s); VACUUM (ANALYZE) {built['vacuum_analyze_s']:.1f} s",
        flush=True,
    )
    built.update(build_articles(args.articles, people["users"]["service_manager"]))
    print(f"articles: {built['articles']:,} indexed in {built['articles_s']:.1f} s", flush=True)
    return built


# --- the actors --------------------------------------------------------------------------------


def the_agent() -> User:
    agent = User.objects.select_related("department").get(username="agent0101")
    assert policy.best_scope(agent, Ticket.security_type, "view") == "team"
    return agent


def the_manager() -> User:
    manager = User.objects.select_related("department").get(username="service_manager")
    assert policy.best_scope(manager, Ticket.security_type, "view") == "department"
    return manager


# --- 1. the ticket list -----------------------------------------------------------------------

FACTORY = RequestFactory()


def list_queryset(user: User, view: str):
    """`ticket_views.ticket_list`'s queryset for a view (no status or text filter)."""
    tickets = Ticket.objects.restrict(user, Action.VIEW).select_related(
        "account", "contact", "team", "assignee"
    )
    if view == "mine":
        tickets = tickets.filter(assignee=user, status__in=OPEN_STATUSES)
    elif view == "queue":
        teams = list(user.teams.values_list("pk", flat=True)) + list(
            user.led_teams.values_list("pk", flat=True)
        )
        tickets = tickets.filter(team__in=teams, assignee__isnull=True, status__in=OPEN_STATUSES)
    return tickets


def orm_list(user: User, view: str, cursor: str | None = None):
    params = {"view": view, **({"cursor": cursor} if cursor else {})}
    request = FACTORY.get("/service/tickets/", params)
    request.user = user
    page = cursor_page(request, list_queryset(user, view), ordering=["-id"], page_size=PAGE)
    return page


def page_ids(page) -> list[int]:
    return [ticket.pk for ticket in page.items]


def next_cursor(page) -> str:
    from urllib.parse import parse_qs

    return parse_qs(page.next_url.lstrip("?"))["cursor"][0]


def agent_restriction(agent: User) -> tuple[str, list]:
    """Team scope with the ticket's queue (policy._scope_q): own, the teams' members' (and
    leads'), and the teams' queues."""
    teams = sorted(policy._team_ids(agent))
    marks = ", ".join(["%s"] * len(teams))
    sql = f"""(t.assignee_id = %s
        OR t.assignee_id IN (
            SELECT m.user_id FROM identity_team_members m WHERE m.team_id IN ({marks})
            UNION SELECT tm.lead_id FROM identity_team tm WHERE tm.id IN ({marks}))
        OR t.team_id IN ({marks}))"""
    return sql, [agent.pk, *teams, *teams, *teams]


LIST_SELECT = """SELECT t.*, a.*, c.*, tm.*, u.* FROM service_ticket t
    LEFT JOIN customers_account a ON a.id = t.account_id
    LEFT JOIN customers_contact c ON c.id = t.contact_id
    LEFT JOIN identity_team tm ON tm.id = t.team_id
    LEFT JOIN identity_user u ON u.id = t.assignee_id"""


def raw_list(agent: User, view: str, before: int | None = None) -> list[tuple]:
    restriction, params = agent_restriction(agent)
    if view == "mine":
        where = "t.assignee_id = %s AND t.status IN ('new', 'open', 'pending')"
        params = [*params, agent.pk]
    else:
        teams = sorted(policy._team_ids(agent))
        where = (
            f"t.team_id IN ({', '.join(['%s'] * len(teams))}) AND t.assignee_id IS NULL "
            "AND t.status IN ('new', 'open', 'pending')"
        )
        params = [*params, *teams]
    if before is not None:
        where += " AND t.id < %s"
        params.append(before)
    with connection.cursor() as cursor:
        cursor.execute(
            f"{LIST_SELECT} WHERE {restriction} AND {where} ORDER BY t.id DESC LIMIT {PAGE + 1}",
            params,
        )
        return cursor.fetchall()


def list_cases(agent: User) -> list:
    cases = []
    for view, label in (("mine", "mine"), ("queue", "my queues")):
        first = orm_list(agent, view)
        assert first.items and first.next_url, f"{view}: fewer than two pages"
        token = next_cursor(first)
        last = first.items[-1].pk
        second = orm_list(agent, view, token)
        checks = (
            (page_ids(first), [row[0] for row in raw_list(agent, view)][:PAGE]),
            (page_ids(second), [row[0] for row in raw_list(agent, view, last)][:PAGE]),
        )
        for orm_ids, raw_ids in checks:
            assert orm_ids == raw_ids, f"{view}: ORM and SQL disagree"
        cases += [
            (
                f"queue '{label}', page 1",
                lambda view=view: orm_list(agent, view).items,
                lambda view=view: raw_list(agent, view),
            ),
            (
                f"queue '{label}', page 2 (keyset)",
                lambda view=view, token=token: orm_list(agent, view, token).items,
                lambda view=view, last=last: raw_list(agent, view, last),
            ),
        ]
    return cases


# --- 2. the SLA board -------------------------------------------------------------------------


def orm_board(user: User) -> dict:
    """The reads of `ticket_views.ticket_board` (the view's code without the rendering)."""
    tickets = Ticket.objects.restrict(user, Action.VIEW).filter(status__in=OPEN_STATUSES)
    missed = Q(first_response_breached=True, first_response_at__isnull=True) | Q(
        resolution_breached=True, sla_paused_at__isnull=True
    )
    soon = (
        Q(first_response_warned=True, first_response_at__isnull=True)
        | Q(resolution_warned=True, sla_paused_at__isnull=True)
    ) & ~missed
    counts = {
        "open": Count("id"),
        "urgent": Count("id", filter=Q(priority__in=["urgent", "high"])),
        "soon": Count("id", filter=soon),
        "missed": Count("id", filter=missed),
        "waiting": Count("id", filter=Q(sla_paused_at__isnull=False) | Q(status="pending")),
    }
    people = list(
        tickets.filter(assignee__isnull=False)
        .values("assignee")
        .annotate(**counts)
        .order_by("-missed", "-soon", "-open")
    )
    names = {
        person.pk: str(person)
        for person in User.objects.filter(pk__in=[row["assignee"] for row in people])
    }
    profiles = {
        profile.user_id: profile
        for profile in AgentProfile.objects.filter(user_id__in=[row["assignee"] for row in people])
    }
    for row in people:
        row["name"] = names.get(row["assignee"], "")
        row["available"] = row["assignee"] not in profiles or profiles[row["assignee"]].available
    queues = list(
        tickets.filter(assignee__isnull=True)
        .values("team", "team__name")
        .annotate(**counts)
        .order_by("-missed", "-soon", "-open")
    )
    assigning = set(
        QueueSettings.objects.filter(team__in=[row["team"] for row in queues if row["team"]])
        .exclude(auto_assign=AutoAssign.OFF)
        .values_list("team_id", flat=True)
    )
    for row in queues:
        row["can_hand_out"] = row["team"] in assigning
    # as the view does since the 2M-ticket run: every open ticket is someone's or a queue's
    totals = {key: sum(row[key] for row in people + queues) for key in counts}
    return {"people": people, "queues": queues, "totals": totals}


BOARD_COUNTS = """count(*) AS open,
    count(*) FILTER (WHERE t.priority IN ('urgent', 'high')) AS urgent,
    count(*) FILTER (WHERE ((t.first_response_warned AND t.first_response_at IS NULL)
                            OR (t.resolution_warned AND t.sla_paused_at IS NULL))
                       AND NOT ((t.first_response_breached AND t.first_response_at IS NULL)
                                OR (t.resolution_breached AND t.sla_paused_at IS NULL))) AS soon,
    count(*) FILTER (WHERE (t.first_response_breached AND t.first_response_at IS NULL)
                        OR (t.resolution_breached AND t.sla_paused_at IS NULL)) AS missed,
    count(*) FILTER (WHERE t.sla_paused_at IS NOT NULL OR t.status = 'pending') AS waiting"""


def manager_restriction(manager: User) -> tuple[str, list]:
    path = manager.department.path + "%"
    sql = """(t.assignee_id = %s
        OR t.assignee_id IN (SELECT u.id FROM identity_user u
            JOIN identity_department d ON d.id = u.department_id WHERE d.path LIKE %s)
        OR t.team_id IN (SELECT tm.id FROM identity_team tm
            JOIN identity_department d ON d.id = tm.department_id WHERE d.path LIKE %s))"""
    return sql, [manager.pk, path, path]


def raw_board(manager: User) -> dict:
    restriction, params = manager_restriction(manager)
    where = f"{restriction} AND t.status IN ('new', 'open', 'pending')"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT t.assignee_id, {BOARD_COUNTS} FROM service_ticket t
                WHERE {where} AND t.assignee_id IS NOT NULL GROUP BY t.assignee_id
                ORDER BY missed DESC, soon DESC, open DESC""",
            params,
        )
        people = cursor.fetchall()
        ids = [row[0] for row in people]
        marks = ", ".join(["%s"] * len(ids)) or "NULL"
        cursor.execute(
            f"SELECT id, display_name, username FROM identity_user WHERE id IN ({marks})", ids
        )
        names = {row[0]: row[1] or row[2] for row in cursor.fetchall()}
        cursor.execute(
            f"SELECT user_id, available FROM service_agentprofile WHERE user_id IN ({marks})", ids
        )
        profiles = dict(cursor.fetchall())
        cursor.execute(
            f"""SELECT t.team_id, tm.name, {BOARD_COUNTS} FROM service_ticket t
                LEFT JOIN identity_team tm ON tm.id = t.team_id
                WHERE {where} AND t.assignee_id IS NULL GROUP BY t.team_id, tm.name
                ORDER BY missed DESC, soon DESC, open DESC""",
            params,
        )
        queues = cursor.fetchall()
        teams = [row[0] for row in queues if row[0]]
        cursor.execute(
            f"SELECT team_id FROM service_queuesettings WHERE auto_assign <> %s "
            f"AND team_id IN ({', '.join(['%s'] * len(teams)) or 'NULL'})",
            [AutoAssign.OFF, *teams],
        )
        assigning = {row[0] for row in cursor.fetchall()}
    totals = tuple(
        sum(row[index] for row in people) + sum(row[index + 1] for row in queues)
        for index in range(1, 6)
    )
    return {
        "people": [(*row, names.get(row[0], ""), profiles.get(row[0], True)) for row in people],
        "queues": [(*row, row[0] in assigning) for row in queues],
        "totals": totals,
    }


def check_board(manager: User) -> int:
    orm, raw = orm_board(manager), raw_board(manager)
    keys = ("open", "urgent", "soon", "missed", "waiting")
    orm_people = sorted((r["assignee"], *(r[k] for k in keys)) for r in orm["people"])
    raw_people = sorted(tuple(row[:6]) for row in raw["people"])
    assert orm_people == raw_people, "board per agent: ORM and SQL disagree"
    orm_queues = sorted((r["team"], *(r[k] for k in keys)) for r in orm["queues"])
    raw_queues = sorted((row[0], *row[2:7]) for row in raw["queues"])
    assert orm_queues == raw_queues, "board per queue: ORM and SQL disagree"
    assert tuple(orm["totals"][k] for k in keys) == tuple(raw["totals"]), "board totals disagree"
    return orm["totals"]["open"]


# --- 3. the SLA sweep -------------------------------------------------------------------------

DUE_SQL = """
SELECT id, 'first_response_breach' FROM service_ticket
 WHERE status IN ('new', 'open', 'pending') AND first_response_at IS NULL
   AND NOT first_response_breached AND first_response_due_at <= %(now)s
UNION ALL
SELECT id, 'first_response_warning' FROM service_ticket
 WHERE status IN ('new', 'open', 'pending') AND first_response_at IS NULL
   AND NOT first_response_warned AND first_response_warn_at <= %(now)s
   AND NOT (NOT first_response_breached AND first_response_due_at IS NOT NULL
            AND first_response_due_at <= %(now)s)
UNION ALL
SELECT id, 'resolution_breach' FROM service_ticket
 WHERE status IN ('new', 'open', 'pending') AND sla_paused_at IS NULL
   AND NOT resolution_breached AND resolution_due_at <= %(now)s
UNION ALL
SELECT id, 'resolution_warning' FROM service_ticket
 WHERE status IN ('new', 'open', 'pending') AND sla_paused_at IS NULL
   AND NOT resolution_warned AND resolution_warn_at <= %(now)s
   AND NOT (NOT resolution_breached AND resolution_due_at IS NOT NULL
            AND resolution_due_at <= %(now)s)"""

MOMENTS_SQL = """
SELECT m FROM (
  SELECT first_response_due_at AS m FROM service_ticket WHERE status IN ('new', 'open', 'pending')
     AND first_response_at IS NULL AND NOT first_response_breached
  UNION ALL
  SELECT first_response_warn_at FROM service_ticket WHERE status IN ('new', 'open', 'pending')
     AND first_response_at IS NULL AND NOT first_response_warned
  UNION ALL
  SELECT resolution_due_at FROM service_ticket WHERE status IN ('new', 'open', 'pending')
     AND sla_paused_at IS NULL AND NOT resolution_breached
  UNION ALL
  SELECT resolution_warn_at FROM service_ticket WHERE status IN ('new', 'open', 'pending')
     AND sla_paused_at IS NULL AND NOT resolution_warned
) moments WHERE m IS NOT NULL ORDER BY m"""


def reset_clocks(generated_at: datetime) -> int:
    """The open tickets' flags as generated (what earlier sweeps marked, unmarked), and the
    sweeps' notifications gone (their idempotency keys would make the repeats cheaper)."""
    value = connection.ops.adapt_datetimefield_value(generated_at)
    with connection.cursor() as cursor:
        cursor.execute(
            """UPDATE service_ticket SET
                   first_response_warned = COALESCE(first_response_warn_at <= %(g)s, FALSE),
                   first_response_breached = COALESCE(first_response_due_at <= %(g)s, FALSE)
               WHERE status IN ('new', 'open', 'pending') AND first_response_at IS NULL""",
            {"g": value},
        )
        changed = cursor.rowcount
        cursor.execute(
            """UPDATE service_ticket SET
                   resolution_warned = COALESCE(resolution_warn_at <= %(g)s, FALSE),
                   resolution_breached = COALESCE(resolution_due_at <= %(g)s, FALSE)
               WHERE status IN ('new', 'open', 'pending') AND sla_paused_at IS NULL""",
            {"g": value},
        )
        changed += cursor.rowcount
        cursor.execute(
            "DELETE FROM core_notification WHERE kind IN ('ticket.sla_warning', "
            "'ticket.sla_breached')"
        )
        analyze = "VACUUM (ANALYZE)" if connection.vendor == "postgresql" else "ANALYZE"
        cursor.execute(f"{analyze} service_ticket")
    return changed


def raw_due(now: datetime) -> list[tuple]:
    value = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        cursor.execute(DUE_SQL, {"now": value})
        return cursor.fetchall()


def _aware(moment) -> datetime:
    if isinstance(moment, str):  # SQLite
        moment = datetime.fromisoformat(moment)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)  # SQLite: UTC


def sweep_moments(due: int, runs: int) -> tuple[datetime, list[datetime]]:
    """The earliest pending moment, and `now` for each sweep: the moment by which `due` more warnings/breaches fall due, and
    always a later one than the previous run's. Business calendars make ties: every ticket
    that came in overnight has the same due moment after the morning's start, so a run can
    find more than `due`."""
    with connection.cursor() as cursor:
        cursor.execute(MOMENTS_SQL)
        moments = [_aware(row[0]) for row in cursor.fetchall()]
    chosen: list[datetime] = []
    position = 0
    for _run in range(runs):
        position += due
        while chosen and position < len(moments) and moments[position - 1] <= chosen[-1]:
            position += 1
        if position > len(moments):
            raise SystemExit(
                f"only {len(moments):,} warnings/breaches pending: lower --due/--sweeps"
            )
        chosen.append(moments[position - 1])
    return moments[0], chosen


def sweep_case(due: int, runs: int, warmup_sql: int, iterations_sql: int) -> list:
    """Rows for the results: the sweep with nothing due (what every minute's run costs at
    least), and the sweep with about `due` warnings/breaches per run, each beside the raw
    SQL finding the due rows."""
    earliest, moments = sweep_moments(due, runs + 1)
    first = moments[0]
    idle = earliest - timedelta(seconds=1)  # everything due before it was swept
    assert raw_due(idle) == [], "due rows before the first moment"
    idle_timing = measure(lambda: sla.sweep(now=idle), iterations=3, warmup=1)
    idle_sql = measure(lambda: raw_due(idle), iterations=iterations_sql, warmup=warmup_sql)
    print(f"  SLA sweep, nothing due: p50 {idle_timing.p50_ms:.0f} ms", flush=True)
    found = raw_due(first)
    raw_timing = measure(lambda: raw_due(first), iterations=iterations_sql, warmup=warmup_sql)
    counts = sla.sweep(now=first)  # untimed: the check (and the warm-up)
    expected: dict[str, int] = {}
    for _pk, check in found:
        expected[check] = expected.get(check, 0) + 1
    assert {k: v for k, v in counts.items() if v} == expected, (counts, expected)
    assert raw_due(first) == [], "the sweep left due rows behind"
    print(f"  sweep check: {sum(counts.values()):,} marked at {first.isoformat()}", flush=True)
    remaining = iter(moments[1:])
    marked: list[int] = []

    def one_sweep() -> None:
        marked.append(sum(sla.sweep(now=next(remaining)).values()))

    sweep_timing = measure(one_sweep, iterations=runs, warmup=0)
    mean = sum(marked) / len(marked)
    print(
        f"  SLA sweep: marked per run {marked}; p50 {sweep_timing.p50_ms:.0f} ms, "
        f"{sweep_timing.p50_ms / mean:.2f} ms per marked ticket",
        flush=True,
    )
    return [
        ("SLA sweep, nothing due (SQL: find them)", idle_timing, idle_sql),
        (
            f"SLA sweep, {min(marked):,}–{max(marked):,} due (SQL: find {len(found):,})",
            sweep_timing,
            raw_timing,
        ),
    ], marked


# --- 4. knowledge-base search -----------------------------------------------------------------


def orm_kb(agent: User, typed: str) -> list[int]:
    results = search.search(agent, typed, types=[ARTICLE], limit=SEARCH_LIMIT)
    return [hit.id for hit in results.groups[0].hits] if results.groups else []


def raw_kb(agent: User, expression: str) -> list[tuple]:
    restriction = "(r.status IN ('published', 'archived') OR r.author_id = %s)"
    if connection.vendor == "postgresql":
        sql = f"""
            SELECT * FROM ((
                SELECT r.* FROM core_searchdocument d JOIN service_article r ON r.id = d.object_id
                WHERE d.object_type = %s AND d.title_vector @@ %s::tsquery AND {restriction}
                ORDER BY length(d.title), d.object_id DESC LIMIT {SEARCH_LIMIT + 1}
            ) UNION ALL (
                SELECT r.* FROM core_searchdocument d JOIN service_article r ON r.id = d.object_id
                WHERE d.object_type = %s AND d.search_vector @@ %s::tsquery
                  AND NOT d.title_vector @@ %s::tsquery AND {restriction}
                ORDER BY d.object_id DESC LIMIT {SEARCH_LIMIT + 1}
            )) matches LIMIT {SEARCH_LIMIT + 1}"""
        params = [ARTICLE, expression, agent.pk, ARTICLE, expression, expression, agent.pk]
    else:
        sql = f"""
            SELECT r.* FROM core_search_fts
            JOIN core_searchdocument d ON d.id = core_search_fts.rowid
            JOIN service_article r ON r.id = d.object_id
            WHERE core_search_fts MATCH %s AND d.object_type = %s AND {restriction}
            ORDER BY bm25(core_search_fts), d.object_id DESC LIMIT {SEARCH_LIMIT + 1}"""
        params = [expression, ARTICLE, agent.pk]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def kb_cases(agent: User) -> list:
    search_text.warm_up()
    cases = []
    for what, typed in QUERIES:
        expression = search_index.match_expression(search.parse(typed))
        found = orm_kb(agent, typed)
        assert found, f"{typed}: no article found"
        assert found == [row[0] for row in raw_kb(agent, expression)][:SEARCH_LIMIT], (
            f"{typed}: search and SQL disagree"
        )
        cases.append(
            (
                f"KB search {typed} ({what})",
                lambda typed=typed: orm_kb(agent, typed),
                lambda expression=expression: raw_kb(agent, expression),
            )
        )
    return cases


# --- main ---------------------------------------------------------------------------------------


def main() -> None:
    args = ARGS
    vendor = connection.vendor
    version = database_version()
    built = {} if args.existing else build(args)
    agent, manager = the_agent(), the_manager()
    total = Ticket.objects.count()
    open_total = Ticket.objects.filter(status__in=OPEN_STATUSES).count()
    agent_open = Ticket.objects.filter(assignee=agent, status__in=OPEN_STATUSES).count()
    print(
        f"== {vendor} {version}: {total:,} tickets, {open_total:,} open; {agent.username} "
        f"has {agent_open:,} open; {Article.objects.count():,} articles ==",
        flush=True,
    )
    groups = set((args.only or "list,board,kb,sweep").split(","))
    cases = list_cases(agent) if "list" in groups else []
    if "board" in groups:
        board_open = check_board(manager)
        cases.append(
            (
                f"SLA board ({board_open:,} open tickets visible)",
                lambda: orm_board(manager),
                lambda: raw_board(manager),
            )
        )
    if "kb" in groups:
        cases += kb_cases(agent)
    results = measure_cases(cases, iterations=args.iterations, warmup=args.warmup)
    marked: list[int] = []
    if "sweep" in groups:
        if args.reset_clocks:
            reset = reset_clocks(datetime.fromisoformat(args.reset_clocks))
            print(f"  clocks reset on {reset:,} rows", flush=True)
        rows, marked = sweep_case(args.due, args.sweeps, args.warmup, args.iterations)
        results += rows
    print()
    print(
        f"{vendor} {version}; {total:,} tickets ({open_total:,} open), agent {agent.username} "
        f"({agent_open:,} open, team scope), {manager.username} (department scope); "
        f"{args.iterations} timed runs after {args.warmup} warm-up ({args.sweeps} sweeps); "
        f"Python {platform.python_version()}, Django {django.get_version()}, "
        f"{os.cpu_count()} CPUs"
    )
    print()
    print(comparison_table(results))
    if marked:
        mean = sum(marked) / len(marked)
        sweep = results[-1][1]
        print(
            f"\nsweep per marked ticket: p50 {sweep.p50_ms / mean:.2f} ms "
            f"({sweep.ops_per_s * mean:,.0f}/s); marked per run: {marked}"
        )
    path = args.json or str(ROOT / "var" / "bench" / f"service-{vendor}.json")
    write_results(
        path,
        results,
        vendor=vendor,
        version=version,
        build=built,
        tickets=total,
        open=open_total,
        agent_open=agent_open,
        sweep_marked=marked,
    )
    print(f"results: {path}")


if __name__ == "__main__":
    main()
