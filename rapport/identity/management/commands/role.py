"""`rapport role list|show|grant|fields|field-rule|create`: roles, their grant matrix and their
field rules (on standard and custom fields), thin over services."""

from __future__ import annotations

from django.core.management.base import CommandError
from django.db.models import Count
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rapport.core.commands import CliCommand, ServiceCall, format_table
from rapport.identity import policy, services
from rapport.identity.builtin import ALL_ACTIONS
from rapport.identity.commands import add_actor_argument, resolve_actor
from rapport.identity.forms import split_values
from rapport.identity.models import Action, FieldRule, Grant, Role, Scope

NO_SCOPE = "none"


def get_role(code: str) -> Role:
    role = Role.objects.filter(code=code).first()
    if role is None:
        raise CommandError(_("role: Unknown role “%(code)s”.") % {"code": code})
    return role


def parse_where(clauses: list[str]) -> dict[str, list[str]]:
    """["province=广东省,上海市", "tier="] -> {"province": ["广东省", "上海市"], "tier": []}."""
    changes: dict[str, list[str]] = {}
    for clause in clauses:
        field, sep, values = clause.partition("=")
        if not sep or not field.strip():
            raise CommandError(
                _("conditions: Write --where as FIELD=VALUE1,VALUE2, not “%(clause)s”.")
                % {"clause": clause}
            )
        changes[field.strip()] = split_values(values)
    return changes


def format_conditions(conditions: dict) -> str:
    """{"province": ["广东省", "上海市"]} -> "province=广东省,上海市" (the --where syntax)."""
    clauses = []
    for field, values in sorted(conditions.items()):  # jsonb does not keep key order
        listed = values if isinstance(values, list) else [values]
        clauses.append(f"{field}={','.join(str(value) for value in listed)}")
    return "  ".join(clauses)


class Command(CliCommand):
    help = gettext_lazy(
        "Manage roles, their grants and field rules: list, show, grant, fields, field-rule, create."
    )
    leave_locale_alone = True

    def add_arguments(self, parser):
        commands = parser.add_subparsers(
            dest="subcommand", required=True, metavar="{list,show,grant,fields,field-rule,create}"
        )

        listing = commands.add_parser("list", help=gettext_lazy("List roles as a table."))
        add_actor_argument(listing)

        show = commands.add_parser(
            "show", help=gettext_lazy("Show a role's grant matrix and field rules.")
        )
        show.add_argument("code", help=gettext_lazy("Role code."))
        add_actor_argument(show)

        grant = commands.add_parser(
            "grant",
            help=gettext_lazy("Set the scope of one grant of a role, or remove it with “none”."),
        )
        grant.add_argument("code", help=gettext_lazy("Role code."))
        grant.add_argument("object_type", help=gettext_lazy("Object type, e.g. customers.account."))
        grant.add_argument(
            "action",
            help=gettext_lazy("Action: %(actions)s.") % {"actions": ", ".join(ALL_ACTIONS)},
        )
        grant.add_argument(
            "scope",
            help=gettext_lazy("Scope: own, team, department, all, or none to remove the grant."),
        )
        grant.add_argument(
            "--where",
            action="append",
            default=[],
            metavar="FIELD=V1,V2",
            help=gettext_lazy(
                "Narrow the grant to records whose FIELD has one of these values (repeatable); "
                "FIELD= removes that condition. Without --where the grant keeps its conditions."
            ),
        )
        add_actor_argument(grant)

        fields = commands.add_parser(
            "fields",
            help=gettext_lazy(
                "List the fields a field rule can name: standard fields and custom fields (cf.KEY)."
            ),
        )
        fields.add_argument("object_type", nargs="?", help=gettext_lazy("Only this object type."))
        add_actor_argument(fields)

        field_rule = commands.add_parser(
            "field-rule",
            help=gettext_lazy(
                "Make a field hidden, masked or read-only for a role's members, or remove the "
                "rule with “none”."
            ),
        )
        field_rule.add_argument("code", help=gettext_lazy("Role code."))
        field_rule.add_argument(
            "object_type", help=gettext_lazy("Object type, e.g. customers.account.")
        )
        field_rule.add_argument(
            "field", help=gettext_lazy("Field, e.g. phone, or cf.KEY for a custom field.")
        )
        field_rule.add_argument(
            "rule", help=gettext_lazy("Rule: hidden, masked, readonly, or none to remove it.")
        )
        add_actor_argument(field_rule)

        create = commands.add_parser("create", help=gettext_lazy("Create a role."))
        create.add_argument("code", help=gettext_lazy("Role code: letters, digits, - and _."))
        create.add_argument("name", help=gettext_lazy("Role name."))
        create.add_argument("--description", default="", help=gettext_lazy("Description."))
        create.add_argument(
            "--require-mfa",
            action="store_true",
            help=gettext_lazy("Users with this role must use two-factor authentication."),
        )
        add_actor_argument(create)

    def handle(self, *args, **options):
        actor = resolve_actor(options["acting_as"])
        # Reading roles and grants is itself a permission.
        if options["subcommand"] in ("list", "show", "fields") and not policy.has_grant(
            actor, "identity.role", Action.VIEW
        ):
            raise CommandError(
                _("as: %(username)s may not view roles.") % {"username": actor.username}
            )
        {
            "list": self.list_roles,
            "show": self.show,
            "grant": self.grant,
            "fields": self.fields,
            "field-rule": self.field_rule,
            "create": self.create,
        }[options["subcommand"]](actor, options)

    def list_roles(self, actor, options) -> None:
        roles = Role.objects.annotate(
            user_count=Count("users", distinct=True), grant_count=Count("grants", distinct=True)
        ).order_by("code")
        rows = [
            (
                role.code,
                str(role),
                _("yes") if role.is_builtin else "",
                _("yes") if role.require_mfa else "",
                role.grant_count,
                role.user_count,
            )
            for role in roles
        ]
        self.stdout.write(
            format_table(
                [_("Code"), _("Name"), _("Built-in"), _("MFA"), _("Grants"), _("Users")], rows
            )
        )

    def show(self, actor, options) -> None:
        role = get_role(options["code"])
        grants = {(grant.object_type, grant.action): grant for grant in role.grants.all()}
        registry = policy.registry()
        object_types = sorted(set(registry) | {object_type for object_type, _a in grants})
        rows = []
        for object_type in object_types:
            allowed = registry.get(object_type, {}).get("actions", ALL_ACTIONS)
            row = [object_type]
            for action in ALL_ACTIONS:
                grant = grants.get((object_type, action))
                if grant is not None:
                    row.append(grant.scope + ("*" if grant.conditions else ""))
                else:
                    row.append("-" if action in allowed else "")
            rows.append(row)
        self.stdout.write(f"{role.code} — {role}")
        if role.description:
            self.stdout.write(role.description)
        if role.require_mfa:
            self.stdout.write(_("Two-factor authentication is required."))
        self.stdout.write(format_table([_("Object type"), *ALL_ACTIONS], rows))
        conditioned = sorted(
            (grant for grant in grants.values() if grant.conditions),
            key=lambda grant: (grant.object_type, grant.action),
        )
        if conditioned:
            self.stdout.write("")
            self.stdout.write(_("* Conditions:"))
            self.stdout.write(
                format_table(
                    [_("Object type"), _("Action"), _("Scope"), _("Conditions")],
                    [
                        (
                            grant.object_type,
                            grant.action,
                            grant.scope,
                            format_conditions(grant.conditions),
                        )
                        for grant in conditioned
                    ],
                )
            )
        field_rules = list(role.field_rules.order_by("object_type", "field"))
        if field_rules:
            labels = {
                (object_type, field["field"]): field["label"]
                for object_type in {rule.object_type for rule in field_rules}
                for field in policy.rule_fields(object_type)
            }
            self.stdout.write("")
            self.stdout.write(
                format_table(
                    [_("Object type"), _("Field"), _("Label"), _("Rule")],
                    [
                        (
                            rule.object_type,
                            rule.field,
                            labels.get((rule.object_type, rule.field), ""),
                            rule.get_rule_display(),
                        )
                        for rule in field_rules
                    ],
                )
            )

    def fields(self, actor, options) -> None:
        registry = policy.registry()
        wanted = options["object_type"]
        if wanted and wanted not in registry:
            raise CommandError(_("object_type: Unknown object type “%(type)s”.") % {"type": wanted})
        rows = [
            (
                object_type,
                field["field"],
                field["label_zh"],
                field["label_en"],
                _("custom") if field["custom"] else "",
            )
            for object_type in registry
            if not wanted or object_type == wanted
            for field in policy.rule_fields(object_type)
        ]
        self.stdout.write(
            format_table(
                [_("Object type"), _("Field"), _("Chinese label"), _("English label"), ""], rows
            )
        )

    def field_rule(self, actor, options) -> None:
        role = get_role(options["code"])
        rule = options["rule"].lower()
        object_type, field = options["object_type"], options["field"]
        with ServiceCall(actor):
            services.field_rule_set(
                actor=actor,
                role=role,
                object_type=object_type,
                field=field,
                rule=None if rule == NO_SCOPE else rule,
            )
        if rule == NO_SCOPE:
            self.stdout.write(
                _("%(role)s: no rule on %(type)s %(field)s.")
                % {"role": role.code, "type": object_type, "field": field}
            )
        else:
            self.stdout.write(
                _("%(role)s: %(type)s %(field)s is %(rule)s.")
                % {
                    "role": role.code,
                    "type": object_type,
                    "field": field,
                    "rule": FieldRule.Rule(rule).label,
                }
            )

    def grant(self, actor, options) -> None:
        role = get_role(options["code"])
        scope = options["scope"].lower()
        changes = parse_where(options["where"])
        if changes and scope == NO_SCOPE:
            raise CommandError(
                _("conditions: A removed grant has no conditions; give a scope to use --where.")
            )
        existing = Grant.objects.filter(
            role=role, object_type=options["object_type"], action=options["action"]
        ).first()
        # Without --where the grant keeps the conditions it has; each --where replaces one field.
        conditions = dict(existing.conditions or {}) if existing else {}
        for field, values in changes.items():
            if values:
                conditions[field] = values
            else:
                conditions.pop(field, None)
        with ServiceCall(actor):
            services.grant_set(
                actor=actor,
                role=role,
                object_type=options["object_type"],
                action=options["action"],
                scope=None if scope == NO_SCOPE else scope,
                conditions=None if scope == NO_SCOPE else conditions,
            )
        if scope == NO_SCOPE:
            self.stdout.write(
                _("%(role)s may no longer %(action)s %(type)s.")
                % {"role": role.code, "action": options["action"], "type": options["object_type"]}
            )
        else:
            self.stdout.write(
                _("%(role)s may %(action)s %(type)s (scope: %(scope)s).")
                % {
                    "role": role.code,
                    "action": options["action"],
                    "type": options["object_type"],
                    "scope": Scope(scope).label if scope in Scope.values else scope,
                }
            )
            if conditions:
                self.stdout.write(
                    _("Conditions: %(conditions)s") % {"conditions": format_conditions(conditions)}
                )

    def create(self, actor, options) -> None:
        with ServiceCall(actor):
            role = services.role_create(
                actor=actor,
                code=options["code"],
                name=options["name"],
                description=options["description"],
                require_mfa=options["require_mfa"],
            )
        self.stdout.write(_("Created role %(code)s.") % {"code": role.code})
