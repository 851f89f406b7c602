"""`rapport interaction list|log` and tasks (`rapport interaction tasks|task|done|reopen`):
the timeline and the to-do list from the terminal, through the same services as the pages."""

from __future__ import annotations

from django.core.management.base import CommandError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rapport.core.commands import CliCommand, ServiceCall, format_table
from rapport.core.errors import DomainError
from rapport.customers import services
from rapport.customers.models import (
    Account,
    Contact,
    Direction,
    Interaction,
    InteractionKind,
    Outcome,
    Priority,
)
from rapport.customers.querysets import interactions_for, open_tasks, timeline
from rapport.identity import policy
from rapport.identity.commands import add_actor_argument, get_user, resolve_actor
from rapport.identity.models import Action

LOGGED = [k.value for k in InteractionKind if k != InteractionKind.TASK]


def _when(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


class Command(CliCommand):
    help = gettext_lazy(
        "Interactions and tasks: list a customer's timeline, log a call or a note, list, add, "
        "complete and reopen tasks."
    )

    def add_arguments(self, parser):
        commands = parser.add_subparsers(
            dest="subcommand", required=True, metavar="{list,log,tasks,task,done,reopen}"
        )
        listing = commands.add_parser(
            "list", help=gettext_lazy("The timeline of an account or a contact, newest first.")
        )
        self._customer_arguments(listing)
        listing.add_argument(
            "--limit", type=int, default=20, help=gettext_lazy("At most this many rows (1–1000).")
        )
        add_actor_argument(listing)

        log = commands.add_parser("log", help=gettext_lazy("Log a call, e-mail, meeting, visit …"))
        log.add_argument("kind", choices=LOGGED, help=gettext_lazy("What kind of interaction."))
        self._customer_arguments(log)
        log.add_argument(
            "--subject", default="", help=gettext_lazy("Subject (default: the kind and who).")
        )
        log.add_argument(
            "--when",
            default=None,
            help=gettext_lazy("When it happened (default now), e.g. 2026-12-01T14:30."),
        )
        log.add_argument("--direction", choices=Direction.values, default="")
        log.add_argument("--outcome", choices=Outcome.values, default="")
        log.add_argument("--minutes", default=None, help=gettext_lazy("Duration in minutes."))
        log.add_argument("--notes", default="", help=gettext_lazy("Notes."))
        log.add_argument("--next-step", default="", help=gettext_lazy("The next step."))
        log.add_argument(
            "--follow-up",
            default=None,
            help=gettext_lazy("Also add a task for the next step, due then."),
        )
        add_actor_argument(log)

        tasks = commands.add_parser("tasks", help=gettext_lazy("Your open tasks by due date."))
        tasks.add_argument(
            "--overdue", action="store_true", help=gettext_lazy("Only overdue ones.")
        )
        tasks.add_argument(
            "--limit", type=int, default=50, help=gettext_lazy("At most this many rows (1–1000).")
        )
        add_actor_argument(tasks)

        task = commands.add_parser("task", help=gettext_lazy("Add a task about a customer."))
        task.add_argument("subject", help=gettext_lazy("What is to be done."))
        self._customer_arguments(task)
        task.add_argument(
            "--due", default=None, help=gettext_lazy("Due time, e.g. 2026-12-01T17:00.")
        )
        task.add_argument("--assignee", default=None, help=gettext_lazy("Username (default: you)."))
        task.add_argument("--priority", choices=Priority.values, default=Priority.NORMAL)
        task.add_argument("--remind", default=None, help=gettext_lazy("Reminder time."))
        add_actor_argument(task)

        for name, text in (
            ("done", gettext_lazy("Mark a task done.")),
            ("reopen", gettext_lazy("Open a done task again.")),
        ):
            sub = commands.add_parser(name, help=text)
            sub.add_argument("id", type=int, help=gettext_lazy("Task id."))
            add_actor_argument(sub)

    @staticmethod
    def _customer_arguments(parser) -> None:
        parser.add_argument("--account", type=int, help=gettext_lazy("Account id."))
        parser.add_argument("--contact", type=int, help=gettext_lazy("Contact id."))

    def handle(self, *args, **options):
        actor = resolve_actor(options["acting_as"])
        getattr(self, f"do_{options['subcommand']}")(actor, options)

    def _customers(self, actor, options) -> tuple[Account | None, Contact | None]:
        account = contact = None
        try:
            if options.get("account"):
                account = policy.get_for(actor, Action.VIEW, Account, options["account"])
        except DomainError as error:
            raise CommandError(f"account: {error.message}") from error
        try:
            if options.get("contact"):
                contact = policy.get_for(actor, Action.VIEW, Contact, options["contact"])
        except DomainError as error:
            raise CommandError(f"contact: {error.message}") from error
        return account, contact

    @staticmethod
    def _limit(options) -> int:
        if not 1 <= options["limit"] <= 1000:
            raise CommandError(_("limit: Choose between 1 and 1000 rows."))
        return options["limit"]

    def do_list(self, actor, options) -> None:
        limit = self._limit(options)
        account, contact = self._customers(actor, options)
        if account is None and contact is None:
            raise CommandError(_("account: Give --account or --contact."))
        rows = interactions_for(actor)
        rows = rows.filter(account=account) if account else rows.filter(contact=contact)
        table = [
            [
                item.pk,
                _when(item.occurred_at),
                item.get_kind_display(),
                item.subject,
                item.get_outcome_display() if item.outcome else "",
                item.owner,
            ]
            for item in timeline(rows).order_by("-occurred_at", "-id")[:limit]
        ]
        headers = ["id", _("When"), _("Type"), _("Subject"), _("Outcome"), _("Owner")]
        self.stdout.write(format_table(headers, table))

    def do_log(self, actor, options) -> None:
        account, contact = self._customers(actor, options)
        values = {
            "kind": options["kind"],
            "account": account,
            "contact": contact,
            "subject": options["subject"],
            "direction": options["direction"],
            "outcome": options["outcome"],
            "duration_minutes": options["minutes"],
            "body": options["notes"],
            "next_step": options["next_step"],
        }
        if options["when"]:
            values["occurred_at"] = options["when"]
        with ServiceCall(actor):
            logged = services.interaction_log(
                actor=actor, follow_up_due=options["follow_up"], **values
            )
        self.stdout.write(
            _("Logged %(id)d: %(subject)s") % {"id": logged.pk, "subject": logged.subject}
        )

    def do_tasks(self, actor, options) -> None:
        limit = self._limit(options)
        tasks = open_tasks(interactions_for(actor, Interaction.objects.assigned_to(actor)))
        if options["overdue"]:
            tasks = tasks.filter(due_at__lt=timezone.now())
        now = timezone.now()
        table = [
            [
                task.pk,
                _when(task.due_at),
                _("Overdue") if task.is_overdue(now) else "",
                task.subject,
                task.account.name
                if task.account_id
                else (task.contact.name if task.contact_id else ""),
                task.get_priority_display(),
            ]
            for task in tasks[:limit]
        ]
        headers = ["id", _("Due"), "", _("Task"), _("Customer"), _("Priority")]
        self.stdout.write(format_table(headers, table))

    def do_task(self, actor, options) -> None:
        account, contact = self._customers(actor, options)
        assignee = get_user(options["assignee"], "assignee") if options["assignee"] else actor
        with ServiceCall(actor):
            task = services.task_create(
                actor=actor,
                subject=options["subject"],
                account=account,
                contact=contact,
                due_at=options["due"],
                assignee=assignee,
                priority=options["priority"],
                remind_at=options["remind"],
            )
        self.stdout.write(
            _("Added task %(id)d: %(subject)s") % {"id": task.pk, "subject": task.subject}
        )

    def _task(self, actor, pk: int) -> Interaction:
        try:
            return policy.get_for(actor, Action.CHANGE, Interaction, pk)
        except DomainError as error:
            raise CommandError(f"id: {error.message}") from error

    def do_done(self, actor, options) -> None:
        task = self._task(actor, options["id"])
        with ServiceCall(actor):
            services.task_complete(actor=actor, task=task)
        self.stdout.write(_("“%(subject)s” is done.") % {"subject": task.subject})

    def do_reopen(self, actor, options) -> None:
        task = self._task(actor, options["id"])
        with ServiceCall(actor):
            services.task_reopen(actor=actor, task=task)
        self.stdout.write(_("“%(subject)s” is open again.") % {"subject": task.subject})
