"""`rapport opportunity list|create|move|won|lost`: opportunities from the shell, as a user
(`--as`), through the same services and restrictions as the pages and the API. A move that
the stage refuses names every missing field; give them with --amount, --close-date,
--next-step (and --reason for lost)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rapport.core.commands import CliCommand, format_table
from rapport.core.errors import PermissionDenied
from rapport.customers.models import Account
from rapport.identity.commands import add_actor_argument, get_user, resolve_actor
from rapport.identity.models import Action

from ... import opportunity_selectors as selectors
from ...models import LostReason, Opportunity, OpportunityStatus, Pipeline, Stage
from ...services import pipeline as pipeline_services


def _refusal(error: ValidationError) -> CommandError:
    lines = []
    for name, messages in getattr(error, "message_dict", {"": error.messages}).items():
        lines.extend(f"{name}: {message}" if name else message for message in messages)
    return CommandError("\n".join(lines))


def _values_arguments(parser) -> None:
    parser.add_argument("--amount", help=gettext_lazy("Amount, e.g. 120000.00"))
    parser.add_argument("--close-date", dest="close_date", help="YYYY-MM-DD")
    parser.add_argument("--next-step", dest="next_step")


def _values(options) -> dict:
    values = {}
    if options.get("amount") is not None:
        values["amount"] = options["amount"]
    if options.get("close_date") is not None:
        values["expected_close_date"] = options["close_date"]
    if options.get("next_step") is not None:
        values["next_step"] = options["next_step"]
    return values


class Command(CliCommand):
    help = gettext_lazy("Opportunities: list, create, move to a stage, mark won or lost.")

    def add_arguments(self, parser):
        commands = parser.add_subparsers(
            dest="subcommand", required=True, metavar="{list,create,move,won,lost}"
        )
        listing = commands.add_parser("list", help=gettext_lazy("Opportunities you may see."))
        listing.add_argument("--mine", action="store_true", help=gettext_lazy("Only yours."))
        listing.add_argument("--status", choices=OpportunityStatus.values)
        listing.add_argument("--pipeline", type=int)
        listing.add_argument("--q", default="", help=gettext_lazy("Name or account."))
        listing.add_argument("--limit", type=int, default=50)
        add_actor_argument(listing)
        create = commands.add_parser("create", help=gettext_lazy("A new opportunity."))
        create.add_argument("name")
        create.add_argument("--account", type=int, required=True)
        create.add_argument("--pipeline", type=int)
        create.add_argument("--stage", help=gettext_lazy("Stage number or name."))
        create.add_argument("--owner", help=gettext_lazy("Username (default: you)."))
        _values_arguments(create)
        add_actor_argument(create)
        move = commands.add_parser("move", help=gettext_lazy("Move to another stage."))
        move.add_argument("opportunity", type=int)
        move.add_argument("stage", help=gettext_lazy("Stage number or name."))
        move.add_argument("--reason", help=gettext_lazy("Lost reason (number or name)."))
        move.add_argument("--note", default="")
        _values_arguments(move)
        add_actor_argument(move)
        won = commands.add_parser("won", help=gettext_lazy("Mark won."))
        won.add_argument("opportunity", type=int)
        _values_arguments(won)
        add_actor_argument(won)
        lost = commands.add_parser("lost", help=gettext_lazy("Mark lost."))
        lost.add_argument("opportunity", type=int)
        lost.add_argument("--reason", required=True, help=gettext_lazy("Number or name."))
        lost.add_argument("--note", default="")
        add_actor_argument(lost)

    def handle(self, *args, **options):
        actor = resolve_actor(options["acting_as"])
        try:
            getattr(self, "do_" + options["subcommand"])(actor, options)
        except ValidationError as error:
            raise _refusal(error) from None
        except PermissionDenied as error:
            raise CommandError(str(error.message)) from None

    def _opportunity(self, actor, pk: int) -> Opportunity:
        found = (
            Opportunity.objects.restrict(actor, Action.VIEW)
            .select_related("pipeline", "stage")
            .filter(pk=pk)
            .first()
        )
        if found is None:
            raise CommandError(_("opportunity: No opportunity #%(id)s.") % {"id": pk})
        return found

    def _stage(self, pipeline: Pipeline, text: str) -> Stage:
        stages = pipeline.stages.filter(is_active=True)
        found = (
            stages.filter(pk=int(text)).first()
            if str(text).isdigit()
            else stages.filter(Q(name=text) | Q(name_en__iexact=text)).first()
        )
        if found is None:
            raise CommandError(
                _("stage: No stage “%(stage)s” in %(pipeline)s.")
                % {"stage": text, "pipeline": pipeline.display_name}
            )
        return found

    def _reason(self, text: str) -> LostReason:
        reasons = LostReason.objects.filter(is_active=True)
        found = (
            reasons.filter(pk=int(text)).first()
            if str(text).isdigit()
            else reasons.filter(Q(name=text) | Q(name_en__iexact=text)).first()
        )
        if found is None:
            raise CommandError(_("reason: No lost reason “%(reason)s”.") % {"reason": text})
        return found

    def do_list(self, actor, options):
        params = {"q": options["q"]}
        if options["status"]:
            params["status"] = options["status"]
        if options["pipeline"]:
            params["pipeline"] = options["pipeline"]
        if options["mine"]:
            params["owner"] = "me"
        rows = selectors.filtered(actor, params).order_by("-id")[: max(1, options["limit"])]
        self.stdout.write(
            format_table(
                [_("Number"), _("Name"), _("Account"), _("Stage"), _("Amount"), _("Owner")],
                [
                    (
                        row.pk,
                        row.name,
                        row.account.name,
                        row.stage.display_name,
                        f"{row.currency} {row.amount}",
                        row.owner,
                    )
                    for row in rows
                ],
            )
        )

    def do_create(self, actor, options):
        account = Account.objects.restrict(actor, Action.VIEW).filter(pk=options["account"]).first()
        if account is None:
            raise CommandError(_("account: No account #%(id)s.") % {"id": options["account"]})
        pipeline = None
        if options["pipeline"]:
            pipeline = Pipeline.objects.filter(pk=options["pipeline"]).first()
            if pipeline is None:
                raise CommandError(
                    _("pipeline: No pipeline #%(id)s.") % {"id": options["pipeline"]}
                )
        stage = None
        if options["stage"]:
            stage = self._stage(pipeline or pipeline_services.default_pipeline(), options["stage"])
        owner = get_user(options["owner"], "owner") if options["owner"] else None
        values = _values(options)
        created = pipeline_services.opportunity_create(
            actor=actor,
            account=account,
            name=options["name"],
            pipeline=pipeline,
            stage=stage,
            owner=owner,
            **values,
        )
        self.stdout.write(
            _("Opportunity #%(id)s created in “%(stage)s”.")
            % {"id": created.pk, "stage": created.stage.display_name}
        )

    def _move(self, actor, opportunity, stage, options, reason=None):
        moved = pipeline_services.opportunity_move(
            actor=actor,
            opportunity=opportunity,
            stage=stage,
            lost_reason=reason,
            lost_note=options.get("note") or "",
            values=_values(options),
        )
        self.stdout.write(
            _("Opportunity #%(id)s is in “%(stage)s” (%(status)s).")
            % {
                "id": moved.pk,
                "stage": moved.stage.display_name,
                "status": moved.get_status_display(),
            }
        )

    def do_move(self, actor, options):
        opportunity = self._opportunity(actor, options["opportunity"])
        stage = self._stage(opportunity.pipeline, options["stage"])
        reason = self._reason(options["reason"]) if options.get("reason") else None
        self._move(actor, opportunity, stage, options, reason)

    def do_won(self, actor, options):
        opportunity = self._opportunity(actor, options["opportunity"])
        stage = opportunity.pipeline.stages.filter(is_won=True, is_active=True).first()
        self._move(actor, opportunity, stage, options)

    def do_lost(self, actor, options):
        opportunity = self._opportunity(actor, options["opportunity"])
        stage = opportunity.pipeline.stages.filter(is_lost=True, is_active=True).first()
        self._move(actor, opportunity, stage, options, self._reason(options["reason"]))
