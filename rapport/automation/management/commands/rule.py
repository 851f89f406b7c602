"""`rapport rule list|show|enable|disable|move|dry-run|runs`: automation rules from the shell,
thin over `rapport.automation.services` (designing a rule's trigger, condition and actions
is the web designer's or the API's job)."""

from __future__ import annotations

import json

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rapport.automation import services
from rapport.automation.forms import action_label, condition_text
from rapport.automation.models import Rule, RuleRun, RunState
from rapport.automation.views import action_summaries, trigger_summary
from rapport.core import filterlang
from rapport.core.commands import CliCommand, ServiceCall, format_table
from rapport.core.errors import NotFound
from rapport.identity import policy
from rapport.identity.commands import add_actor_argument, resolve_actor
from rapport.identity.models import Action


class Command(CliCommand):
    help = gettext_lazy(
        "Automation rules: list, show, turn on or off, reorder, test against a record, runs."
    )

    def add_arguments(self, parser):
        commands = parser.add_subparsers(
            dest="subcommand",
            required=True,
            metavar="{list,show,enable,disable,move,dry-run,runs}",
        )
        listing = commands.add_parser("list", help=gettext_lazy("List the rules in order."))
        listing.add_argument("--type", help=gettext_lazy("Only this record type."))
        add_actor_argument(listing)

        show = commands.add_parser("show", help=gettext_lazy("Show one rule."))
        show.add_argument("rule", type=int, help=gettext_lazy("The rule's number (id)."))
        show.add_argument("--json", action="store_true", help=gettext_lazy("As JSON."))
        add_actor_argument(show)

        for name, text in (
            ("enable", gettext_lazy("Turn a rule on.")),
            ("disable", gettext_lazy("Turn a rule off.")),
        ):
            sub = commands.add_parser(name, help=text)
            sub.add_argument("rule", type=int, help=gettext_lazy("The rule's number (id)."))
            add_actor_argument(sub)

        move = commands.add_parser("move", help=gettext_lazy("Move a rule one place up or down."))
        move.add_argument("rule", type=int, help=gettext_lazy("The rule's number (id)."))
        move.add_argument("direction", choices=["up", "down"])
        add_actor_argument(move)

        dry = commands.add_parser(
            "dry-run",
            help=gettext_lazy("What the rule would do to one record, changing nothing."),
        )
        dry.add_argument("rule", type=int, help=gettext_lazy("The rule's number (id)."))
        dry.add_argument("record", type=int, help=gettext_lazy("The record's number (id)."))
        add_actor_argument(dry)

        runs = commands.add_parser("runs", help=gettext_lazy("The latest runs."))
        runs.add_argument("--rule", type=int, help=gettext_lazy("Only this rule's runs."))
        runs.add_argument(
            "--type", help=gettext_lazy("Only runs on this record type (with --record).")
        )
        runs.add_argument("--record", type=int, help=gettext_lazy("Only this record's runs."))
        runs.add_argument(
            "--state",
            choices=RunState.values,
            help=gettext_lazy("Only runs in this state."),
        )
        runs.add_argument(
            "--limit", type=int, default=50, help=gettext_lazy("How many (default 50).")
        )
        add_actor_argument(runs)

    def handle(self, *args, **options):
        actor = resolve_actor(options["acting_as"])
        getattr(self, "do_" + options["subcommand"].replace("-", "_"))(actor, options)

    # reading needs the same grant as the pages and the API
    def _require(self, actor) -> None:
        if not policy.has_grant(actor, Rule.security_type, Action.MANAGE):
            raise CommandError(
                _("as: %(username)s: You do not have permission to do this.")
                % {"username": actor.username}
            )

    def _summary(self, actor, rule: Rule) -> str:
        """The trigger as the designer says it, with the fields' labels."""
        cache = self.__dict__.setdefault("_fields", {})
        if rule.object_type not in cache:
            try:
                cache[rule.object_type] = filterlang.fields_for(actor, rule.object_type)
            except ValidationError:
                cache[rule.object_type] = {}
        return trigger_summary(rule, cache[rule.object_type])

    def _get(self, rule_id: int) -> Rule:
        rule = Rule.objects.filter(pk=rule_id, retired_at__isnull=True).first()
        if rule is None:
            raise CommandError(_("rule: There is no rule %(id)s.") % {"id": rule_id})
        return rule

    def do_list(self, actor, options) -> None:
        self._require(actor)
        rules = Rule.objects.filter(retired_at__isnull=True).order_by(
            "object_type", "position", "id"
        )
        if options.get("type"):
            rules = rules.filter(object_type=options["type"])
        rows = [
            [
                rule.pk,
                rule.object_type,
                rule.position,
                rule.display_name,
                self._summary(actor, rule),
                _("on") if rule.is_active else _("off"),
                rule.version,
            ]
            for rule in rules
        ]
        headers = [
            _("id"),
            _("record type"),
            _("position"),
            _("name"),
            _("when"),
            _("state"),
            _("version"),
        ]
        self.stdout.write(format_table(headers, rows))

    def do_show(self, actor, options) -> None:
        self._require(actor)
        rule = self._get(options["rule"])
        if options.get("json"):
            snapshot = {
                "id": rule.pk,
                **{name: getattr(rule, name) for name in services.RULE_FIELDS},
                "version": rule.version,
            }
            self.stdout.write(json.dumps(snapshot, ensure_ascii=False, indent=2))
            return
        lines = [
            f"{rule.pk}  {rule.display_name}",
            f"{_('names')}: {rule.name} / {rule.name_en or '—'}",
            f"{_('record type')}: {rule.object_type}",
            f"{_('state')}: {_('on') if rule.is_active else _('off')}",
            f"{_('version')}: {rule.version}   {_('position')}: {rule.position}",
            f"{_('when')}: {self._summary(actor, rule)}",
            f"{_('condition')}: {condition_text(rule.condition) or _('every record')}",
            f"{_('actions')}:",
        ]
        self._summary(actor, rule)  # loads the field labels
        summaries = action_summaries(rule, self.__dict__["_fields"][rule.object_type])
        for number, text in enumerate(summaries, start=1):
            lines.append(f"  {number}. {text}")
        self.stdout.write("\n".join(lines))

    def do_enable(self, actor, options) -> None:
        rule = self._get(options["rule"])
        with ServiceCall(actor):
            services.rule_activate(actor=actor, rule=rule)
        self.stdout.write(_("“%(name)s” is on.") % {"name": rule.display_name})

    def do_disable(self, actor, options) -> None:
        rule = self._get(options["rule"])
        with ServiceCall(actor):
            services.rule_deactivate(actor=actor, rule=rule)
        self.stdout.write(_("“%(name)s” is off.") % {"name": rule.display_name})

    def do_move(self, actor, options) -> None:
        rule = self._get(options["rule"])
        with ServiceCall(actor):
            rule = services.rule_move(
                actor=actor, rule=rule, offset=-1 if options["direction"] == "up" else 1
            )
        self.stdout.write(_("Saved."))

    def do_dry_run(self, actor, options) -> None:
        rule = self._get(options["rule"])
        with ServiceCall(actor):
            try:
                run = services.rule_dry_run(actor=actor, rule=rule, record_id=options["record"])
            except NotFound as error:
                raise CommandError(
                    _("record: There is no record %(id)s of this type that you can see.")
                    % {"id": options["record"]}
                ) from error
        holds = (run.trigger_detail or {}).get("condition")
        lines = [
            _("Condition holds: the rule would run.")
            if holds
            else _("Condition does not hold: the rule would not run."),
        ]
        for number, outcome in enumerate(run.results or [], start=1):
            changes = json.dumps(outcome.get("changes") or {}, ensure_ascii=False)
            lines.append(f"  {number}. {action_label(str(outcome.get('type', '')))} {changes}")
        if run.error:
            lines.append(_("Error: %(error)s") % {"error": run.error})
        lines.append(_("Nothing was changed (dry run %(id)s).") % {"id": run.pk})
        self.stdout.write("\n".join(lines))

    def do_runs(self, actor, options) -> None:
        self._require(actor)
        runs = RuleRun.objects.select_related("rule").order_by("-id")
        if options.get("rule"):
            runs = runs.filter(rule_id=options["rule"])
        if options.get("type"):
            runs = runs.filter(object_type=options["type"])
        if options.get("record"):
            runs = runs.filter(object_id=options["record"])
        if options.get("state"):
            runs = runs.filter(state=options["state"])
        limit = max(1, min(1000, options.get("limit") or 50))
        rows = [
            [
                run.pk,
                run.created_at.strftime("%Y-%m-%d %H:%M"),
                run.rule.display_name,
                f"{run.object_type}:{run.object_id}",
                run.get_state_display(),
                run.error[:80],
            ]
            for run in runs[:limit]
        ]
        headers = [_("id"), _("when"), _("rule"), _("record"), _("state"), _("error")]
        self.stdout.write(format_table(headers, rows))
