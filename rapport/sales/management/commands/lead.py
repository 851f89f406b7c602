"""`rapport lead list|create|claim|assign|convert|return-stale`: leads from the shell, as a
user (`--as`), through the same services and restrictions as the pages and the API.
`return-stale` sends leads without follow-up back to their pools now (beat does it daily)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from rapport.core.commands import CliCommand, format_table
from rapport.core.errors import NotFound, PermissionDenied
from rapport.customers.models import Account, Contact
from rapport.identity import policy
from rapport.identity.commands import add_actor_argument, get_user, resolve_actor
from rapport.identity.models import Action

from ...lead_selectors import lead_for, leads_visible, pool_leads
from ...models.leads import OPEN_LEAD_STATUSES, LeadPool, LeadSource, LeadStatus
from ...services import leads as lead_services


def _refusal(error: ValidationError) -> CommandError:
    lines = []
    for name, messages in getattr(error, "message_dict", {"": error.messages}).items():
        lines.extend(f"{name}: {message}" if name else message for message in messages)
    return CommandError("\n".join(lines))


class Command(CliCommand):
    help = gettext_lazy("Leads: list, create, claim, assign, convert, return stale ones.")

    def add_arguments(self, parser):
        commands = parser.add_subparsers(
            dest="subcommand",
            required=True,
            metavar="{list,create,claim,assign,convert,delete,return-stale}",
        )
        listing = commands.add_parser("list", help=gettext_lazy("Leads you may see."))
        listing.add_argument("--mine", action="store_true", help=gettext_lazy("Only yours."))
        listing.add_argument(
            "--pool", action="store_true", help=gettext_lazy("Only those you may claim.")
        )
        listing.add_argument("--status", choices=LeadStatus.values)
        listing.add_argument("--limit", type=int, default=50)
        add_actor_argument(listing)
        create = commands.add_parser("create", help=gettext_lazy("A new lead."))
        create.add_argument("name")
        create.add_argument("--company", default="")
        create.add_argument("--phone", default="")
        create.add_argument("--email", default="")
        create.add_argument("--source", default=LeadSource.MANUAL, choices=LeadSource.values)
        placed = create.add_mutually_exclusive_group()
        placed.add_argument("--owner", help=gettext_lazy("Username (default: you)."))
        placed.add_argument(
            "--rules", action="store_true", help=gettext_lazy("Let the assignment rules decide.")
        )
        placed.add_argument("--to-pool", action="store_true", help=gettext_lazy("Into the pool."))
        add_actor_argument(create)
        claim = commands.add_parser("claim", help=gettext_lazy("Take a lead from the pool."))
        claim.add_argument("lead", type=int)
        add_actor_argument(claim)
        assign = commands.add_parser(
            "assign", help=gettext_lazy("Give a lead to someone (or --to-pool).")
        )
        assign.add_argument("lead", type=int)
        to = assign.add_mutually_exclusive_group(required=True)
        to.add_argument("--to", help=gettext_lazy("Username."))
        to.add_argument("--to-pool", action="store_true")
        add_actor_argument(assign)
        convert = commands.add_parser(
            "convert", help=gettext_lazy("Convert a lead to account, contact and opportunity.")
        )
        convert.add_argument("lead", type=int)
        convert.add_argument("--account", type=int, help=gettext_lazy("An existing account."))
        convert.add_argument("--contact", type=int, help=gettext_lazy("An existing contact."))
        convert.add_argument("--no-opportunity", action="store_true")
        convert.add_argument("--opportunity-name", default="")
        convert.add_argument("--amount", default=None)
        add_actor_argument(convert)
        delete = commands.add_parser(
            "delete", help=gettext_lazy("Delete a lead entered by mistake, with its follow-ups.")
        )
        delete.add_argument("lead", type=int)
        add_actor_argument(delete)
        stale = commands.add_parser(
            "return-stale",
            help=gettext_lazy("Send leads without follow-up back to their pools now."),
        )
        add_actor_argument(stale)

    def handle(self, *args, **options):
        actor = resolve_actor(options["acting_as"])
        try:
            getattr(self, "do_" + options["subcommand"].replace("-", "_"))(actor, options)
        except ValidationError as error:
            raise _refusal(error) from None
        except (PermissionDenied, NotFound) as error:
            raise CommandError(str(error.message)) from None

    def _lead(self, actor, pk: int):
        try:
            return lead_for(actor, pk)
        except NotFound:
            raise CommandError(_("lead: No lead #%(id)s you may see.") % {"id": pk}) from None

    def do_list(self, actor, options) -> None:
        leads = pool_leads(actor) if options["pool"] else leads_visible(actor)
        leads = leads.select_related("owner", "pool")
        if options["mine"]:
            leads = leads.filter(owner=actor)
        if options["status"]:
            leads = leads.filter(status=options["status"])
        else:
            leads = leads.filter(status__in=OPEN_LEAD_STATUSES)
        rows = [
            [
                str(lead.pk),
                lead.name,
                lead.company,
                lead.get_status_display(),
                str(lead.owner) if lead.owner else f"[{lead.pool or '—'}]",
            ]
            for lead in leads.order_by("-id")[: max(1, options["limit"])]
        ]
        headers = [_("id"), _("name"), _("company"), _("status"), _("owner")]
        self.stdout.write(format_table(headers, rows))

    def do_create(self, actor, options) -> None:
        placement: dict = {"owner": actor}
        if options["rules"]:
            placement = {}
        elif options["to_pool"]:
            placement = {"owner": None}
        elif options["owner"]:
            placement = {"owner": get_user(options["owner"], "owner")}
        lead = lead_services.lead_create(
            actor=actor,
            name=options["name"],
            company=options["company"],
            phone=options["phone"],
            email=options["email"],
            source=options["source"],
            **placement,
        )
        where = str(lead.owner) if lead.owner else str(lead.pool or "—")
        self.stdout.write(_("Lead #%(id)s created (%(where)s).") % {"id": lead.pk, "where": where})

    def do_delete(self, actor, options) -> None:
        lead = self._lead(actor, options["lead"])
        lead_services.lead_delete(actor=actor, lead=lead)
        self.stdout.write(_("Lead #%(id)s deleted.") % {"id": options["lead"]})

    def do_claim(self, actor, options) -> None:
        lead = lead_services.lead_claim(actor=actor, lead=self._lead(actor, options["lead"]))
        self.stdout.write(_("Lead #%(id)s is yours now.") % {"id": lead.pk})

    def do_assign(self, actor, options) -> None:
        owner = None if options["to_pool"] else get_user(options["to"], "to")
        lead = lead_services.lead_assign(
            actor=actor, lead=self._lead(actor, options["lead"]), owner=owner
        )
        self.stdout.write(
            _("Lead #%(id)s: %(owner)s.")
            % {"id": lead.pk, "owner": str(lead.owner) if lead.owner else _("the pool")}
        )

    def do_convert(self, actor, options) -> None:
        lead = self._lead(actor, options["lead"])
        account = contact = None
        if options["account"]:
            account = (
                Account.objects.restrict(actor, Action.VIEW).filter(pk=options["account"]).first()
            )
            if account is None:
                raise CommandError(_("account: Choose an account you can see."))
        if options["contact"]:
            contact = (
                Contact.objects.restrict(actor, Action.VIEW).filter(pk=options["contact"]).first()
            )
            if contact is None:
                raise CommandError(_("contact: Choose a contact you can see."))
        amount = None
        if options["amount"] is not None:
            try:
                amount = Decimal(options["amount"])
            except InvalidOperation:
                raise CommandError(_("amount: Enter an amount of zero or more.")) from None
        lead = lead_services.lead_convert(
            actor=actor,
            lead=lead,
            account=account,
            contact=contact,
            create_opportunity=not options["no_opportunity"],
            opportunity_name=options["opportunity_name"],
            amount=amount,
        )
        self.stdout.write(
            _("Lead #%(id)s converted: account #%(account)s, contact #%(contact)s.")
            % {
                "id": lead.pk,
                "account": lead.converted_account_id,
                "contact": lead.converted_contact_id,
            }
        )

    def do_return_stale(self, actor, options) -> None:
        if not actor.is_superuser and not policy.has_grant(
            actor, LeadPool.security_type, Action.MANAGE
        ):
            raise CommandError(_("You may not change lead pools or rules."))
        returned = lead_services.leads_return_stale()
        self.stdout.write(
            ngettext(
                "%(n)d lead went back to its pool.",
                "%(n)d leads went back to their pools.",
                returned,
            )
            % {"n": returned}
        )
