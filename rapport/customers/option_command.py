"""`rapport tier …` and `rapport stage …`: the configured tiers and lifecycle stages, thin over
`rapport.customers.services.options` (one base, two commands)."""

from __future__ import annotations

from django.core.management.base import CommandError
from django.db.models import Count
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rapport.core.commands import CliCommand, ServiceCall, format_table
from rapport.identity.commands import add_actor_argument, resolve_actor

from .models import Account, AccountOption, OptionColour
from .services import options as option_services


class OptionCommand(CliCommand):
    field = ""  # "tier" or "lifecycle_stage"

    def add_arguments(self, parser):
        commands = parser.add_subparsers(
            dest="subcommand", required=True, metavar="{list,add,update,move,retire,restore}"
        )
        listing = commands.add_parser("list", help=gettext_lazy("List them in order."))
        add_actor_argument(listing)

        add = commands.add_parser("add", help=gettext_lazy("Add one (at the end)."))
        add.add_argument("code", help=gettext_lazy("Its code: letters, digits, - and _."))
        add.add_argument("--label", required=True, help=gettext_lazy("The label (Chinese)."))
        self._shared_options(add)
        add_actor_argument(add)

        update = commands.add_parser(
            "update", help=gettext_lazy("Relabel, recolour or make default.")
        )
        update.add_argument("code", help=gettext_lazy("Its code."))
        update.add_argument("--label", help=gettext_lazy("The label (Chinese)."))
        update.add_argument("--position", type=int, help=gettext_lazy("Its position number."))
        self._shared_options(update)
        add_actor_argument(update)

        move = commands.add_parser("move", help=gettext_lazy("Move one place up or down."))
        move.add_argument("code", help=gettext_lazy("Its code."))
        move.add_argument("direction", choices=["up", "down"])
        add_actor_argument(move)

        for name, text in (
            ("retire", gettext_lazy("Stop offering it (accounts keep it).")),
            ("restore", gettext_lazy("Offer a retired one again.")),
        ):
            sub = commands.add_parser(name, help=text)
            sub.add_argument("code", help=gettext_lazy("Its code."))
            add_actor_argument(sub)

    def _shared_options(self, parser) -> None:
        parser.add_argument("--label-en", help=gettext_lazy("English label."))
        parser.add_argument(
            "--colour",
            help=gettext_lazy("Colour, one of: %(colours)s.")
            % {"colours": ", ".join(OptionColour.values)},
        )
        parser.add_argument(
            "--default",
            action="store_true",
            help=gettext_lazy("Make it the default for new accounts."),
        )

    def handle(self, *args, **options):
        actor = resolve_actor(options["acting_as"])
        getattr(self, f"do_{options['subcommand']}")(actor, options)

    def _get(self, code: str) -> AccountOption:
        option = AccountOption.objects.filter(field=self.field, code=code).first()
        if option is None:
            raise CommandError(_("code: There is none with the code “%(code)s”.") % {"code": code})
        return option

    def _changes(self, options) -> dict:
        values = {}
        for name in ("label", "label_en", "colour", "position"):
            if options.get(name) is not None:
                values[name] = options[name]
        if options.get("default"):
            values["is_default"] = True
        return values

    def do_list(self, actor, options) -> None:
        usage = dict(
            Account.objects.values(self.field).annotate(n=Count("id")).values_list(self.field, "n")
        )
        rows = [
            [
                option.code,
                option.label,
                option.label_en,
                option.colour,
                option.position,
                _("yes") if option.is_default else "",
                _("yes") if option.is_active else _("no"),
                usage.get(option.code, 0),
            ]
            for option in AccountOption.objects.filter(field=self.field).order_by("position", "id")
        ]
        headers = [
            _("code"),
            _("label"),
            _("English label"),
            _("colour"),
            _("position"),
            _("default"),
            _("active"),
            _("accounts"),
        ]
        self.stdout.write(format_table(headers, rows))

    def do_add(self, actor, options) -> None:
        with ServiceCall(actor):
            option = option_services.option_create(
                actor=actor, field=self.field, code=options["code"], **self._changes(options)
            )
        self.stdout.write(
            _("Added “%(label)s” (%(code)s).")
            % {"label": option.display_label, "code": option.code}
        )

    def do_update(self, actor, options) -> None:
        option = self._get(options["code"])
        with ServiceCall(actor):
            option_services.option_update(actor=actor, option=option, **self._changes(options))
        self.stdout.write(_("Saved."))

    def do_move(self, actor, options) -> None:
        option = self._get(options["code"])
        with ServiceCall(actor):
            option = option_services.option_move(
                actor=actor, option=option, offset=-1 if options["direction"] == "up" else 1
            )
        self.stdout.write(_("Saved."))

    def do_retire(self, actor, options) -> None:
        option = self._get(options["code"])
        with ServiceCall(actor):
            option_services.option_deactivate(actor=actor, option=option)
        self.stdout.write(
            _("“%(label)s” is retired: no longer offered; accounts that have it keep it.")
            % {"label": option.display_label}
        )

    def do_restore(self, actor, options) -> None:
        option = self._get(options["code"])
        with ServiceCall(actor):
            option_services.option_reactivate(actor=actor, option=option)
        self.stdout.write(_("“%(label)s” is offered again.") % {"label": option.display_label})
