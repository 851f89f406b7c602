"""Demo knowledge base for the `small` demo: two-level categories, bilingual FAQ articles
(public ones on the help page, internal ones for staff), a case drawn from a solved demo
ticket, one article waiting for review and one published article with a new draft — every
one through `rapport.service.services.knowledge`, as the service team would have written
them (each audited). The articles answer the demo tickets, so the ticket page suggests
them."""

from __future__ import annotations

from django.db import transaction

from rapport.identity.models import User
from rapport.service.models import Article, ArticleCategory, Ticket, TicketStatus
from rapport.service.services import knowledge

CATEGORIES = (
    ("账户与登录", "Accounts and sign-in", (("密码", "Passwords"), ("用户管理", "Users"))),
    ("账单与发票", "Billing and invoices", (("发票", "Invoices"), ("付款", "Payments"))),
    ("数据与报表", "Data and reports", ()),
)
# (category path, kind, visibility, title, title_en, body, body_en)
ARTICLES = (
    (
        ("账户与登录", "密码"),
        "faq",
        "public",
        "忘记密码或收不到重置邮件怎么办？",
        "Forgot your password, or the reset e-mail never arrives?",
        "在登录页点击“忘记密码”，输入注册邮箱后，系统会发送一封重置邮件，链接 30 分钟内有效。\n\n"
        "如果几分钟内没有收到：\n1. 查看垃圾邮件文件夹；\n2. 确认邮箱地址没有输错；\n"
        "3. 请贵公司的 IT 把 noreply@rapport.example 加入白名单。\n\n仍然收不到时，请联系客服，我们会人工核实身份后为您重置。",
        "On the sign-in page choose “Forgot password”, enter the e-mail address you signed up "
        "with, and we send a reset link that works for 30 minutes.\n\n"
        "If nothing arrives within a few minutes:\n1. look in the spam folder;\n"
        "2. check the address for typos;\n3. ask your IT team to allow noreply@rapport.example."
        "\n\nStill nothing? Contact us and we reset it after checking who you are.",
    ),
    (
        ("账户与登录",),
        "faq",
        "public",
        "登录时一直转圈、进不去系统",
        "Sign-in keeps spinning and never finishes",
        "这通常是浏览器缓存或插件导致的。请先清除浏览器缓存和 Cookie，关闭广告拦截插件后重试；"
        "也可以用无痕窗口登录确认。\n\n如果公司网络使用代理，请确认 *.rapport.example 没有被拦截。",
        "This is usually the browser's cache or an extension. Clear the cache and cookies, "
        "turn off ad blockers and try again, or sign in from a private window.\n\n"
        "If your company uses a proxy, make sure *.rapport.example is not blocked.",
    ),
    (
        ("账户与登录", "用户管理"),
        "faq",
        "public",
        "如何邀请同事、添加用户？",
        "How do I invite colleagues and add users?",
        "管理员进入“管理 › 用户”，点击“新建用户”，填写姓名、邮箱并选择角色即可。"
        "新用户会收到激活邮件。\n\n企业版用户数不限；标准版最多 50 个用户。",
        "An administrator opens Manage › Users, chooses “New user”, fills in the name and "
        "e-mail and picks a role. The new user receives an activation e-mail.\n\n"
        "The enterprise edition has no user limit; the standard edition allows 50.",
    ),
    (
        ("账单与发票", "发票"),
        "faq",
        "public",
        "发票抬头开错了，如何重新开具？",
        "The invoice has the wrong company name: how is it reissued?",
        "请在工单中提供正确的公司全称、税号以及原发票号码。我们会作废原发票并在 3 个工作日内重新开具，"
        "电子发票会发送到您的联系邮箱。\n\n如需英文发票，请在工单中注明。",
        "Send us, in a ticket, the company's full name, its tax number and the original "
        "invoice number. We void the original and reissue it within 3 working days; "
        "e-invoices go to your contact e-mail.\n\nSay so in the ticket if you need the "
        "invoice in English.",
    ),
    (
        ("账单与发票", "付款"),
        "faq",
        "internal",
        "对公转账未到账的核查步骤（内部）",
        "Checking a bank transfer that has not arrived (internal)",
        "1. 向客户索取转账回单（付款账户、金额、日期）；\n2. 在财务系统按金额和日期查询入账；\n"
        "3. 跨行转账最长 2 个工作日到账，周末顺延；\n4. 超过 3 个工作日仍未入账，转财务组核查并告知客户预计时间。",
        "1. Ask the customer for the transfer slip (account, amount, date);\n"
        "2. look the payment up in the finance system by amount and date;\n"
        "3. transfers between banks take up to 2 working days;\n"
        "4. after 3 working days pass it to the finance team and tell the customer when to expect an answer.",
    ),
    (
        ("数据与报表",),
        "faq",
        "public",
        "报表导出很慢怎么办？",
        "Exporting a report is slow",
        "一次导出超过一万行时，系统会在后台生成文件，完成后在通知中提供下载链接，无需停留在页面上。\n\n"
        "缩小日期范围或只选择需要的列，可以明显加快导出。",
        "Exports over ten thousand rows are built in the background; a notification brings "
        "the download link when the file is ready — you need not keep the page open.\n\n"
        "A narrower date range, or only the columns you need, makes it much faster.",
    ),
    (
        ("数据与报表",),
        "faq",
        "internal",
        "旧系统客户数据迁移方案（内部）",
        "Moving customer data from an old system (internal)",
        "10 万条以内的数据：让客户按模板整理 Excel，通过“导入”功能分批导入，先导入 100 条试跑。\n\n"
        "更大的数据量或需要保留历史记录时，转交实施团队评估，报价另议。",
        "Up to 100,000 records: the customer fills in the Excel template and imports it in "
        "batches, 100 records first as a trial.\n\nLarger volumes, or history to keep, go to "
        "the implementation team for an estimate.",
    ),
)


def ensure_categories(*, actor: User) -> dict[tuple[str, ...], ArticleCategory]:
    found: dict[tuple[str, ...], ArticleCategory] = {}
    for position, (name, name_en, children) in enumerate(CATEGORIES):
        root = ArticleCategory.objects.filter(name=name, parent=None).first()
        if root is None:
            root = knowledge.article_category_create(
                actor=actor, name=name, name_en=name_en, position=position
            )
        found[(name,)] = root
        for child_position, (child, child_en) in enumerate(children):
            sub = ArticleCategory.objects.filter(name=child, parent=root).first()
            if sub is None:
                sub = knowledge.article_category_create(
                    actor=actor, name=child, name_en=child_en, parent=root, position=child_position
                )
            found[(name, child)] = sub
    return found


def generate_articles(*, users: dict[str, User]) -> int:
    """The demo knowledge base (once: nothing is added when articles exist); returns how
    many articles were made."""
    agent, manager = users.get("service_agent"), users.get("service_manager")
    if agent is None or manager is None or Article.objects.exists():
        return 0
    made = 0
    with transaction.atomic():
        categories = ensure_categories(actor=manager)
        for path, kind, visibility, title, title_en, body, body_en in ARTICLES:
            article = knowledge.article_create(
                actor=agent,
                title=title,
                title_en=title_en,
                body=body,
                body_en=body_en,
                kind=kind,
                visibility=visibility,
                category=categories[path],
            )
            knowledge.article_submit(actor=agent, article=article)
            knowledge.article_publish(actor=manager, article=article)
            made += 1
        # a published article being improved: a new draft waits beside the live version
        improved = Article.objects.get(title=ARTICLES[5][3])
        knowledge.article_update(
            actor=manager,
            article=improved,
            body=ARTICLES[5][5] + "\n\n超过十万行时，建议按月份分多次导出。",
        )
        # one waiting for review, written by the agent
        waiting = knowledge.article_create(
            actor=agent,
            title="如何修改公司名称？",
            title_en="How do I change the company name?",
            body="管理员在“设置 › 公司信息”中修改公司名称，修改后新的发票将使用新名称。",
            body_en="An administrator changes it under Settings › Company; new invoices use it.",
            visibility="public",
            category=categories[("账户与登录",)],
        )
        knowledge.article_submit(actor=agent, article=waiting)
        made += 1
        # the case library: a solved demo ticket worth reusing
        solved = (
            Ticket.objects.restrict(agent, "view")
            .filter(status__in=[TicketStatus.RESOLVED, TicketStatus.CLOSED])
            .order_by("id")
            .first()
        )
        if solved is not None:
            values = knowledge.case_values_from_ticket(actor=agent, ticket=solved)
            case = knowledge.article_create(
                actor=agent, **values, category=categories[("账单与发票",)]
            )
            knowledge.article_publish(actor=manager, article=case)
            made += 1
    return made
