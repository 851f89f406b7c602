"""`rapport complaint list|show|update|report`: complaints from the shell, as a user
(`--as`), through the same services and restrictions as the pages and the API. A complaint
is named by its ticket's id or number."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rapport.core.commands import CliCommand, format_table
from rapport.core.errors import PermissionDenied
from rapport.identity import policy
from rapport.identity.commands import add_actor_argument, get_user, resolve_actor
from rapport.identity.models import Action

from ... import complaint_report
from ...models import Complaint, ComplaintCause, ComplaintStage, Ticket
from ...services import complaints as complaint_services


def _refusal(error: ValidationError) -> CommandError:
    lines = []
    for name, messages in getattr(error, "message_dict", {"": error.messages}).items():
        lines.extend(f"{name}: {message}" if name else message for message in messages)
    return CommandError("\n".join(lines))


class Command(CliCommand):
    help = gettext_lazy(
        "Complaints: list, show, update (fields and stage), and the report by cause and product."
    )

    def add_arguments(self, parser):
        commands = parser.add_subparsers(
            dest="subcommand", required=True, metavar="{list,show,update,report}"
        )
        listing = commands.add_parser("list", help=gettext_lazy("Complaints you may see."))
        listing.add_argument("--stage", choices=ComplaintStage.values)
        listing.add_argument("--cause", help=gettext_lazy("Root cause (id or name)."))
        listing.add_argument(
            "--overdue", action="store_true", help=gettext_lazy("Only overdue corrective actions.")
        )
        listing.add_argument("--limit", type=int, default=50)
        add_actor_argument(listing)
        show = commands.add_parser("show", help=gettext_lazy("A complaint."))
        show.add_argument("ticket", help=gettext_lazy("The ticket's number (#12) or id."))
        add_actor_argument(show)
        update = commands.add_parser(
            "update", help=gettext_lazy("Change a complaint and/or move its stage.")
        )
        update.add_argument("ticket", help=gettext_lazy("The ticket's number (#12) or id."))
        update.add_argument("--stage", help=", ".join(ComplaintStage.values))
        update.add_argument("--product")
        update.add_argument("--cause", help=gettext_lazy("Root cause (id or name); - for none."))
        update.add_argument("--findings")
        update.add_argument("--corrective-action")
        update.add_argument("--owner", help=gettext_lazy("Username; - for nobody."))
        update.add_argument("--due", help=gettext_lazy("YYYY-MM-DD; - for none."))
        update.add_argument("--confirmation", help=gettext_lazy("How the customer confirmed."))
        add_actor_argument(update)
        report = commands.add_parser(
            "report", help=gettext_lazy("Complaints by root cause and product per month.")
        )
        report.add_argument(
            "--months",
            type=int,
            choices=complaint_report.PERIODS,
            default=complaint_report.DEFAULT_MONTHS,
        )
        report.add_argument("--cause", help=gettext_lazy("Root cause (id or name)."))
        report.add_argument("--product")
        report.add_argument("--stage", choices=ComplaintStage.values)
        add_actor_argument(report)

    def handle(self, *args, **options):
        actor = resolve_actor(options["acting_as"])
        try:
            getattr(self, "do_" + options["subcommand"])(actor, options)
        except ValidationError as error:
            raise _refusal(error) from None
        except PermissionDenied as error:
            raise CommandError(str(error.message)) from None

    def _require_view(self, actor) -> None:
        if not policy.has_grant(actor, Ticket.security_type, Action.VIEW):
            raise PermissionDenied(_("You may not do this to this ticket."))

    def _complaint(self, actor, reference: str, action: str = Action.VIEW) -> Complaint:
        complaints = complaint_report.visible(actor, action).select_related(
            "ticket", "cause", "action_owner"
        )
        found = None
        reference = reference.strip().lstrip("#")  # the ticket's number is #<id>
        if reference.isdigit() and len(reference) < 12:
            found = complaints.filter(ticket_id=int(reference)).first()
        if found is None:
            raise CommandError(
                _("ticket: No complaint ticket “%(ref)s” you may see.") % {"ref": reference}
            )
        return found

    def _cause(self, reference: str | None, field: str = "cause") -> ComplaintCause | None:
        if reference in (None, "", "-"):
            return None
        cause = None
        if reference.isdigit() and len(reference) < 12:
            cause = ComplaintCause.objects.filter(pk=int(reference)).first()
        cause = (
            cause
            or ComplaintCause.objects.filter(name=reference).first()
            or ComplaintCause.objects.filter(name_en__iexact=reference).first()
        )
        if cause is None:
            raise CommandError(
                _("%(field)s: No root cause “%(ref)s”.") % {"field": field, "ref": reference}
            )
        return cause

    def do_list(self, actor, options) -> None:
        self._require_view(actor)
        complaints = complaint_report.visible(actor).select_related(
            "ticket", "cause", "action_owner"
        )
        if options["stage"]:
            complaints = complaints.filter(stage=options["stage"])
        if options["cause"]:
            complaints = complaints.filter(cause=self._cause(options["cause"]))
        if options["overdue"]:
            complaints = complaints.filter(action_due__lt=timezone.localdate()).exclude(
                stage=ComplaintStage.CONFIRMED
            )
        limit = max(1, min(options["limit"], 1000))
        rows = [
            [
                complaint.ticket.number,
                complaint.ticket.subject,
                complaint.get_stage_display(),
                complaint.product,
                complaint.cause.display_name if complaint.cause else "",
                str(complaint.action_owner) if complaint.action_owner else "",
                complaint.action_due.isoformat() if complaint.action_due else "",
            ]
            for complaint in complaints.order_by("-id")[:limit]
        ]
        headers = [
            _("ticket"),
            _("subject"),
            _("stage"),
            _("product or service"),
            _("root cause"),
            _("action owner"),
            _("action due"),
        ]
        self.stdout.write(format_table(headers, rows))

    def do_show(self, actor, options) -> None:
        complaint = self._complaint(actor, options["ticket"])
        ticket = complaint.ticket
        self.stdout.write(f"{ticket.number} {ticket.subject}")
        lines = [
            (_("stage"), complaint.get_stage_display()),
            (_("next"), ", ".join(complaint_services.complaint_next_stages(complaint)) or "—"),
            (_("product or service"), complaint.product or "—"),
            (_("root cause"), complaint.cause.display_name if complaint.cause else "—"),
            (_("findings"), complaint.findings or "—"),
            (_("corrective action"), complaint.corrective_action or "—"),
            (_("action owner"), str(complaint.action_owner) if complaint.action_owner else "—"),
            (_("action due"), complaint.action_due.isoformat() if complaint.action_due else "—"),
        ]
        if complaint.resolved_at:
            lines.append((_("resolved"), f"{timezone.localtime(complaint.resolved_at):%Y-%m-%d}"))
        if complaint.confirmed_at:
            lines.append(
                (
                    _("confirmed"),
                    f"{timezone.localtime(complaint.confirmed_at):%Y-%m-%d} "
                    f"{complaint.confirmation_note}",
                )
            )
        for label, value in lines:
            self.stdout.write(f"{label}: {value}")

    def do_update(self, actor, options) -> None:
        complaint = self._complaint(actor, options["ticket"])
        values: dict = {}
        for option, field in (
            ("stage", "stage"),
            ("product", "product"),
            ("findings", "findings"),
            ("corrective_action", "corrective_action"),
            ("confirmation", "confirmation_note"),
        ):
            if options[option] is not None:
                values[field] = options[option]
        if options["cause"] is not None:
            values["cause"] = self._cause(options["cause"])
        if options["owner"] is not None:
            values["action_owner"] = (
                None if options["owner"] == "-" else get_user(options["owner"], "owner")
            )
        if options["due"] is not None:
            if options["due"] == "-":
                values["action_due"] = None
            else:
                try:
                    values["action_due"] = date.fromisoformat(options["due"])
                except ValueError:
                    raise CommandError(_("due: Enter a date as YYYY-MM-DD.")) from None
        if not values:
            raise CommandError(_("Give at least one thing to change."))
        complaint = complaint_services.complaint_update(actor=actor, complaint=complaint, **values)
        self.stdout.write(
            _("Complaint %(number)s saved: %(stage)s.")
            % {"number": complaint.ticket.number, "stage": complaint.get_stage_display()}
        )

    def do_report(self, actor, options) -> None:
        self._require_view(actor)
        cause = self._cause(options["cause"]) if options["cause"] else None
        filters = complaint_report.Filters(
            months=options["months"],
            cause=str(cause.pk) if cause else "",
            product=options["product"] or "",
            stage=options["stage"] or "",
        )
        figures = complaint_report.report(actor, filters)
        months = [f"{month:%Y-%m}" for month in figures["months"]]
        for title, rows, empty in (
            (_("By root cause"), figures["by_cause"], complaint_report.no_cause_label()),
            (
                _("By product or service"),
                figures["by_product"],
                complaint_report.no_product_label(),
            ),
        ):
            self.stdout.write(title)
            table = [[row["name"] or empty, *row["months"], row["total"]] for row in rows]
            table.append([_("all"), *figures["month_totals"], figures["total"]])
            self.stdout.write(format_table(["", *months, _("total")], table))
            self.stdout.write("")
        self.stdout.write(_("By stage"))
        self.stdout.write(
            format_table(
                [_("stage"), _("complaints")],
                [[row["label"], row["count"]] for row in figures["by_stage"]],
            )
        )
        self.stdout.write("")
        self.stdout.write(_("Corrective actions overdue: %(n)d") % {"n": figures["overdue_count"]})
        if figures["overdue"]:
            self.stdout.write(
                format_table(
                    [_("ticket"), _("action owner"), _("action due"), _("days late")],
                    [
                        [row["number"], row["owner"], row["action_due"], row["days_late"]]
                        for row in figures["overdue"]
                    ],
                )
            )
