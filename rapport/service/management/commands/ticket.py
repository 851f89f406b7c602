"""`rapport ticket list|show|create|reply|note|status|assign|inbound|poll-mail`: tickets from
the shell, as a user (`--as`), through the same services and restrictions as the pages and
the API. `inbound FILE.eml …` delivers e-mails to the service mailbox (as a mail gateway
would; `-` reads one from standard input), `poll-mail` fetches the IMAP mailbox once."""

from __future__ import annotations

import sys
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from rapport.core.commands import CliCommand, format_table
from rapport.core.errors import PermissionDenied
from rapport.customers.models import Account, Contact
from rapport.identity import policy
from rapport.identity.commands import add_actor_argument, get_user, resolve_actor
from rapport.identity.models import Action, Team

from ... import mail
from ...models import OPEN_STATUSES, Ticket, TicketStatus
from ...services import merging
from ...services import tickets as ticket_services


def _refusal(error: ValidationError) -> CommandError:
    lines = []
    for name, messages in getattr(error, "message_dict", {"": error.messages}).items():
        lines.extend(f"{name}: {message}" if name else message for message in messages)
    return CommandError("\n".join(lines))


class Command(CliCommand):
    help = gettext_lazy("Tickets: list, show, create, reply, add a note, change status, assign.")

    def add_arguments(self, parser):
        commands = parser.add_subparsers(
            dest="subcommand",
            required=True,
            metavar="{list,show,create,reply,note,status,assign,merge,split,inbound,poll-mail}",
        )
        listing = commands.add_parser("list", help=gettext_lazy("Tickets you may see."))
        listing.add_argument("--mine", action="store_true", help=gettext_lazy("Only yours."))
        listing.add_argument(
            "--status", choices=TicketStatus.values, help=gettext_lazy("Default: open ones.")
        )
        listing.add_argument("--limit", type=int, default=50)
        add_actor_argument(listing)
        show = commands.add_parser("show", help=gettext_lazy("A ticket and its conversation."))
        show.add_argument("ticket", type=int)
        add_actor_argument(show)
        create = commands.add_parser("create", help=gettext_lazy("A new ticket."))
        create.add_argument("subject")
        create.add_argument("--description", default="")
        create.add_argument("--priority", default="normal")
        create.add_argument("--kind", default="question")
        create.add_argument("--account", type=int)
        create.add_argument("--contact", type=int)
        create.add_argument("--team", help=gettext_lazy("Team name (the queue)."))
        add_actor_argument(create)
        for name, text in (
            ("reply", gettext_lazy("Reply to the customer.")),
            ("note", gettext_lazy("Add an internal note.")),
        ):
            message = commands.add_parser(name, help=text)
            message.add_argument("ticket", type=int)
            message.add_argument("body")
            add_actor_argument(message)
        status = commands.add_parser("status", help=gettext_lazy("Move a ticket."))
        status.add_argument("ticket", type=int)
        status.add_argument("status", choices=TicketStatus.values)
        add_actor_argument(status)
        assign = commands.add_parser(
            "assign", help=gettext_lazy("Give a ticket to someone (or --queue-only).")
        )
        assign.add_argument("ticket", type=int)
        assign.add_argument("--to", help=gettext_lazy("Username."))
        assign.add_argument("--team", help=gettext_lazy("Team name (the queue)."))
        assign.add_argument("--queue-only", action="store_true")
        add_actor_argument(assign)
        merge = commands.add_parser(
            "merge", help=gettext_lazy("Merge a duplicate ticket into another.")
        )
        merge.add_argument("ticket", type=int)
        merge.add_argument("into", type=int)
        add_actor_argument(merge)
        split = commands.add_parser(
            "split", help=gettext_lazy("Make a new ticket of a customer's message.")
        )
        split.add_argument("ticket", type=int)
        split.add_argument("message", type=int)
        split.add_argument("--subject", default="")
        add_actor_argument(split)
        inbound = commands.add_parser(
            "inbound", help=gettext_lazy("Deliver e-mails (.eml files) to the service mailbox.")
        )
        inbound.add_argument("files", nargs="+", help=gettext_lazy("Files, or - for stdin."))
        add_actor_argument(inbound)
        poll = commands.add_parser(
            "poll-mail", help=gettext_lazy("Fetch new e-mails from the IMAP mailbox now.")
        )
        add_actor_argument(poll)

    def handle(self, *args, **options):
        actor = resolve_actor(options["acting_as"])
        try:
            getattr(self, "do_" + options["subcommand"].replace("-", "_"))(actor, options)
        except ValidationError as error:
            raise _refusal(error) from None
        except PermissionDenied as error:
            raise CommandError(str(error.message)) from None

    def _ticket(self, actor, pk: int, action: str = Action.VIEW) -> Ticket:
        ticket = Ticket.objects.restrict(actor, action).filter(pk=pk).first()
        if ticket is None:
            raise CommandError(_("ticket: No ticket #%(id)s you may see.") % {"id": pk})
        return ticket

    def _team(self, name: str | None) -> Team | None:
        if not name:
            return None
        team = Team.objects.filter(name=name).first()
        if team is None:
            raise CommandError(_("team: No team “%(name)s”.") % {"name": name})
        return team

    def do_list(self, actor, options) -> None:
        tickets = Ticket.objects.restrict(actor, Action.VIEW).select_related("account", "assignee")
        if options["mine"]:
            tickets = tickets.filter(assignee=actor)
        if options["status"]:
            tickets = tickets.filter(status=options["status"])
        else:
            tickets = tickets.filter(status__in=OPEN_STATUSES)
        rows = [
            [
                ticket.number,
                ticket.subject,
                ticket.get_status_display(),
                ticket.get_priority_display(),
                ticket.account.name if ticket.account else "",
                str(ticket.assignee) if ticket.assignee else "",
            ]
            for ticket in tickets.order_by("-id")[: max(1, options["limit"])]
        ]
        headers = [
            _("number"),
            _("subject"),
            _("status"),
            _("priority"),
            _("account"),
            _("assignee"),
        ]
        self.stdout.write(format_table(headers, rows))

    def do_show(self, actor, options) -> None:
        ticket = self._ticket(actor, options["ticket"])
        self.stdout.write(f"{ticket.number} {ticket.subject}")
        self.stdout.write(
            f"{ticket.get_status_display()} · {ticket.get_priority_display()} · "
            f"{ticket.team.name if ticket.team else '—'} · {ticket.assignee or '—'}"
        )
        if ticket.description:
            self.stdout.write(ticket.description)
        for message in ticket.messages.select_related("author"):
            self.stdout.write(
                f"[{message.created_at:%Y-%m-%d %H:%M}] {message.get_kind_display()} "
                f"{message.author or ''}: {message.body}"
            )

    def do_merge(self, actor, options) -> None:
        ticket = self._ticket(actor, options["ticket"], Action.CHANGE)
        into = self._ticket(actor, options["into"], Action.CHANGE)
        kept = merging.ticket_merge(actor=actor, ticket=ticket, into=into)
        self.stdout.write(_("Merged into %(number)s.") % {"number": kept.number})

    def do_split(self, actor, options) -> None:
        ticket = self._ticket(actor, options["ticket"], Action.CHANGE)
        message = ticket.messages.filter(pk=options["message"]).first()
        if message is None:
            raise CommandError(_("message: Choose something the customer wrote on this ticket."))
        new = merging.ticket_split(
            actor=actor, ticket=ticket, message=message, subject=options["subject"]
        )
        self.stdout.write(_("%(number)s made of the message.") % {"number": new.number})

    def do_inbound(self, actor, options) -> None:
        if not policy.has_grant(actor, Ticket.security_type, Action.ADD):
            raise CommandError(_("You may not do this to this ticket."))
        refused = 0
        for name in options["files"]:
            try:
                raw = sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()
            except OSError as error:
                raise CommandError(f"{name}: {error.strerror}") from None
            try:
                result = mail.receive(raw)
            except ValidationError as error:
                self.stderr.write(f"{name}: {' '.join(error.messages)}")
                refused += 1
                continue
            if result.ignored:
                line = _("ignored (an automatic reply or our own mail)")
            elif result.duplicate:
                line = _("already received: ticket %(number)s") % {"number": result.ticket.number}
            elif result.created:
                line = _("new ticket %(number)s") % {"number": result.ticket.number}
            else:
                line = _("added to ticket %(number)s") % {"number": result.ticket.number}
            self.stdout.write(f"{name}: {line}")
            for note in result.dropped:
                self.stdout.write(f"  {_('not kept:')} {note}")
        if refused:
            raise CommandError(
                ngettext("%(n)d e-mail refused.", "%(n)d e-mails refused.", refused)
                % {"n": refused}
            )

    def do_poll_mail(self, actor, options) -> None:
        if not policy.has_grant(actor, Ticket.security_type, Action.ADD):
            raise CommandError(_("You may not do this to this ticket."))
        counts = mail.poll_imap()
        if not counts["configured"]:
            raise CommandError(_("No IMAP mailbox is set up (RAPPORT_SERVICE_IMAP_HOST)."))
        self.stdout.write(
            _(
                "%(received)d received, %(duplicates)d already there, %(ignored)d ignored, "
                "%(refused)d refused, %(failed)d to try again."
            )
            % counts
        )

    def do_create(self, actor, options) -> None:
        account = contact = None
        if options["account"]:
            account = (
                Account.objects.restrict(actor, Action.VIEW).filter(pk=options["account"]).first()
            )
            if account is None:
                raise CommandError(
                    _("account: No account #%(id)s you may see.") % {"id": options["account"]}
                )
        if options["contact"]:
            contact = (
                Contact.objects.restrict(actor, Action.VIEW).filter(pk=options["contact"]).first()
            )
            if contact is None:
                raise CommandError(
                    _("contact: No contact #%(id)s you may see.") % {"id": options["contact"]}
                )
        ticket = ticket_services.ticket_create(
            actor=actor,
            subject=options["subject"],
            description=options["description"],
            priority=options["priority"],
            kind=options["kind"],
            account=account,
            contact=contact,
            team=self._team(options["team"]),
        )
        self.stdout.write(_("Ticket %(number)s created.") % {"number": ticket.number})

    def do_reply(self, actor, options) -> None:
        ticket = self._ticket(actor, options["ticket"])
        ticket_services.ticket_message_add(
            actor=actor, ticket=ticket, kind="reply", body=options["body"]
        )
        self.stdout.write(_("Reply added."))

    def do_note(self, actor, options) -> None:
        ticket = self._ticket(actor, options["ticket"])
        ticket_services.ticket_message_add(
            actor=actor, ticket=ticket, kind="note", body=options["body"]
        )
        self.stdout.write(_("Internal note added."))

    def do_status(self, actor, options) -> None:
        ticket = self._ticket(actor, options["ticket"])
        ticket_services.ticket_set_status(actor=actor, ticket=ticket, status=options["status"])
        self.stdout.write(_("Status changed."))

    def do_assign(self, actor, options) -> None:
        ticket = self._ticket(actor, options["ticket"])
        changes = {}
        if options["team"]:
            changes["team"] = self._team(options["team"])
        if options["queue_only"]:
            changes["assignee"] = None
        elif options["to"]:
            changes["assignee"] = get_user(options["to"], "to")
        if not changes:
            raise CommandError(_("Give --to, --team or --queue-only."))
        ticket_services.ticket_assign(actor=actor, ticket=ticket, **changes)
        self.stdout.write(_("Saved."))
