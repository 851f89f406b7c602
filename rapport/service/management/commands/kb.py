"""`rapport kb list|show|search|create|edit|submit|publish|reject|archive|restore`: the
knowledge base from the shell, as a user (`--as`), through the same services and
restrictions as the pages and the API."""

from __future__ import annotations

import sys

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rapport.core.commands import CliCommand, format_table
from rapport.core.errors import PermissionDenied
from rapport.identity.commands import add_actor_argument, resolve_actor
from rapport.identity.models import Action

from ... import knowledge_search
from ...models import Article, ArticleCategory, ArticleKind, ArticleStatus, ArticleVisibility
from ...services import knowledge

SUBCOMMANDS = (
    "list",
    "show",
    "search",
    "create",
    "edit",
    "submit",
    "publish",
    "reject",
    "archive",
    "restore",
)


def _refusal(error: ValidationError) -> CommandError:
    lines = []
    for name, messages in getattr(error, "message_dict", {"": error.messages}).items():
        lines.extend(f"{name}: {message}" if name else message for message in messages)
    return CommandError("\n".join(lines))


def _text(value: str | None) -> str | None:
    """`-` reads the text from standard input (a long article body)."""
    if value == "-":
        return sys.stdin.read()
    return value


class Command(CliCommand):
    help = gettext_lazy(
        "Knowledge base: list, show, search, write, and move articles through review."
    )

    def add_arguments(self, parser):
        commands = parser.add_subparsers(
            dest="subcommand", required=True, metavar="{" + ",".join(SUBCOMMANDS) + "}"
        )
        listing = commands.add_parser("list", help=gettext_lazy("Articles you may read."))
        listing.add_argument("--status", choices=ArticleStatus.values)
        listing.add_argument("--kind", choices=ArticleKind.values)
        listing.add_argument(
            "--review", action="store_true", help=gettext_lazy("Only those waiting for review.")
        )
        listing.add_argument("--limit", type=int, default=50)
        add_actor_argument(listing)
        show = commands.add_parser("show", help=gettext_lazy("An article and its versions."))
        show.add_argument("article", type=int)
        show.add_argument("--version", type=int, help=gettext_lazy("Default: the live one."))
        add_actor_argument(show)
        find = commands.add_parser("search", help=gettext_lazy("Search articles (中文, pinyin)."))
        find.add_argument("text")
        find.add_argument("--limit", type=int, default=20)
        add_actor_argument(find)
        for name, text in (
            ("create", gettext_lazy("A new article (a draft).")),
            ("edit", gettext_lazy("Change an article (a published one gets a new draft).")),
        ):
            sub = commands.add_parser(name, help=text)
            if name == "edit":
                sub.add_argument("article", type=int)
            sub.add_argument("--title")
            sub.add_argument("--title-en", dest="title_en")
            sub.add_argument("--body", help=gettext_lazy("The text; - reads standard input."))
            sub.add_argument("--body-en", dest="body_en")
            sub.add_argument("--kind", choices=ArticleKind.values)
            sub.add_argument("--visibility", choices=ArticleVisibility.values)
            sub.add_argument("--category", type=int, help=gettext_lazy("Category id."))
            if name == "create":
                sub.add_argument(
                    "--ticket", type=int, help=gettext_lazy("A solved ticket: makes a case.")
                )
            add_actor_argument(sub)
        for name, text in (
            ("submit", gettext_lazy("Send the draft for review.")),
            ("publish", gettext_lazy("Publish the pending version.")),
            ("archive", gettext_lazy("Archive an article.")),
            ("restore", gettext_lazy("Bring an archived article back.")),
        ):
            sub = commands.add_parser(name, help=text)
            sub.add_argument("article", type=int)
            add_actor_argument(sub)
        reject = commands.add_parser("reject", help=gettext_lazy("Send back with a note."))
        reject.add_argument("article", type=int)
        reject.add_argument("note")
        add_actor_argument(reject)

    def handle(self, *args, **options):
        actor = resolve_actor(options["acting_as"])
        try:
            getattr(self, "do_" + options["subcommand"])(actor, options)
        except ValidationError as error:
            raise _refusal(error) from None
        except PermissionDenied as error:
            raise CommandError(str(error.message)) from None

    def _article(self, actor, pk: int) -> Article:
        article = (
            Article.objects.restrict(actor, Action.VIEW)
            .select_related("category", "author", "published_version", "pending_version")
            .filter(pk=pk)
            .first()
        )
        if article is None:
            raise CommandError(_("article: No article #%(id)s you may read.") % {"id": pk})
        return article

    def _rows(self, articles) -> None:
        rows = [
            [
                article.pk,
                article.display_title,
                article.get_kind_display(),
                article.get_status_display()
                + (f" (+v{article.pending_version.number})" if article.pending_version else ""),
                article.get_visibility_display(),
                f"{article.helpful_count}/{article.unhelpful_count}",
            ]
            for article in articles
        ]
        headers = [_("id"), _("title"), _("type"), _("status"), _("visibility"), _("helpful")]
        self.stdout.write(format_table(headers, rows))

    def do_list(self, actor, options) -> None:
        articles = Article.objects.restrict(actor, Action.VIEW).select_related("pending_version")
        if options["status"]:
            articles = articles.filter(status=options["status"])
        else:
            articles = articles.exclude(status=ArticleStatus.ARCHIVED)
        if options["kind"]:
            articles = articles.filter(kind=options["kind"])
        if options["review"]:
            articles = articles.filter(pending_version__status="review")
        self._rows(articles.order_by("-id")[: max(1, options["limit"])])

    def do_search(self, actor, options) -> None:
        readable = Article.objects.restrict(actor, Action.VIEW)
        ids = knowledge_search.ranked(readable, options["text"], limit=max(1, options["limit"]))
        by_id = {a.pk: a for a in readable.select_related("pending_version").filter(pk__in=ids)}
        self._rows([by_id[pk] for pk in ids if pk in by_id])

    def do_show(self, actor, options) -> None:
        article = self._article(actor, options["article"])
        versions = list(article.versions.select_related("author").order_by("-number"))
        shown = article.published_version or article.pending_version
        if options["version"]:
            shown = next((v for v in versions if v.number == options["version"]), None)
            if shown is None:
                raise CommandError(_("version: No version %(n)s.") % {"n": options["version"]})
        self.stdout.write(f"#{article.pk} {shown.title if shown else article.title}")
        if shown and shown.title_en:
            self.stdout.write(shown.title_en)
        self.stdout.write(
            f"{article.get_kind_display()} · {article.get_status_display()} · "
            f"{article.get_visibility_display()} · {article.category or '—'}"
        )
        if shown:
            self.stdout.write("")
            self.stdout.write(shown.body)
            if shown.body_en:
                self.stdout.write("")
                self.stdout.write(shown.body_en)
        self.stdout.write("")
        for version in versions:
            self.stdout.write(
                f"v{version.number} {version.get_status_display()} · {version.author} · "
                f"{version.updated_at:%Y-%m-%d %H:%M}"
                + (f" · {version.review_note}" if version.review_note else "")
            )

    def _values(self, actor, options) -> dict:
        values = {}
        for name in ("title", "title_en", "body", "body_en", "kind", "visibility"):
            if options.get(name) is not None:
                values[name] = _text(options[name])
        if options.get("category") is not None:
            category = ArticleCategory.objects.filter(pk=options["category"]).first()
            if category is None:
                raise CommandError(
                    _("category: No category #%(id)s.") % {"id": options["category"]}
                )
            values["category"] = category
        return values

    def do_create(self, actor, options) -> None:
        values = self._values(actor, options)
        if options.get("ticket"):
            from ...models import Ticket

            ticket = (
                Ticket.objects.restrict(actor, Action.VIEW).filter(pk=options["ticket"]).first()
            )
            if ticket is None:
                raise CommandError(
                    _("ticket: No ticket #%(id)s you may see.") % {"id": options["ticket"]}
                )
            values = {**knowledge.case_values_from_ticket(actor=actor, ticket=ticket), **values}
        values.setdefault("title", "")
        values.setdefault("body", "")
        article = knowledge.article_create(actor=actor, **values)
        self.stdout.write(_("Article #%(id)s created (a draft).") % {"id": article.pk})

    def do_edit(self, actor, options) -> None:
        article = self._article(actor, options["article"])
        knowledge.article_update(actor=actor, article=article, **self._values(actor, options))
        article.refresh_from_db()
        pending = article.pending_version
        self.stdout.write(
            _("Saved: version %(n)s is a draft.") % {"n": pending.number}
            if pending
            else _("Saved.")
        )

    def _step(self, actor, options, service, done, **values) -> None:
        article = self._article(actor, options["article"])
        service(actor=actor, article=article, **values)
        self.stdout.write(str(done))

    def do_submit(self, actor, options) -> None:
        self._step(actor, options, knowledge.article_submit, _("Sent for review."))

    def do_publish(self, actor, options) -> None:
        self._step(actor, options, knowledge.article_publish, _("Published."))

    def do_reject(self, actor, options) -> None:
        self._step(
            actor,
            options,
            knowledge.article_reject,
            _("Sent back to the author."),
            note=options["note"],
        )

    def do_archive(self, actor, options) -> None:
        self._step(actor, options, knowledge.article_archive, _("Archived."))

    def do_restore(self, actor, options) -> None:
        self._step(actor, options, knowledge.article_archive, _("Restored."), archived=False)
