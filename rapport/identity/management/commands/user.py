"""`rapport user create|list|deactivate|offboard|unlock|set-roles`: thin over identity services.

Writes act as `--as USERNAME`, by default the first active superuser or administrator. The
services check that user's permissions and record the audit events.
"""

from __future__ import annotations

import sys

from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from rapport.core.commands import CliCommand, ServiceCall, format_table
from rapport.identity import services
from rapport.identity.commands import (
    add_actor_argument,
    default_actor,
    get_roles,
    get_user,
    resolve_actor,
)
from rapport.identity.models import Department, User

# --- the command ----------------------------------------------------------------------------


class Command(CliCommand):
    help = gettext_lazy("Manage users: create, list, deactivate, offboard, unlock, set roles.")
    leave_locale_alone = True

    def add_arguments(self, parser):
        commands = parser.add_subparsers(
            dest="subcommand",
            required=True,
            metavar="{create,list,deactivate,offboard,unlock,set-roles}",
        )

        create = commands.add_parser(
            "create",
            help=gettext_lazy("Create an active user."),
            description=str(
                gettext_lazy(
                    "Create an active user. Without a password the user sets one by the reset link."
                )
            ),
        )
        create.add_argument("username", help=gettext_lazy("Login name."))
        create.add_argument("--email", default="", help=gettext_lazy("E-mail address."))
        create.add_argument(
            "--name", dest="display_name", default="", help=gettext_lazy("Display name.")
        )
        create.add_argument(
            "--department", metavar="CODE", help=gettext_lazy("Code of the user's department.")
        )
        create.add_argument(
            "--role",
            dest="roles",
            metavar="CODE",
            action="append",
            default=[],
            help=gettext_lazy("Code of a role to give; repeat for several."),
        )
        create.add_argument("--title", default="", help=gettext_lazy("Job title."))
        create.add_argument(
            "--language", help=gettext_lazy("Language of the user interface (zh-hans or en).")
        )
        passwords = create.add_mutually_exclusive_group()
        passwords.add_argument(
            "--password",
            help=gettext_lazy("Initial password (visible in the shell history; prefer stdin)."),
        )
        passwords.add_argument(
            "--password-stdin",
            action="store_true",
            help=gettext_lazy("Read the initial password from standard input."),
        )
        create.add_argument(
            "--superuser",
            action="store_true",
            help=gettext_lazy(
                "Make the user a superuser. On an empty installation this creates the first "
                "administrator without anyone to act as."
            ),
        )
        add_actor_argument(create)

        listing = commands.add_parser("list", help=gettext_lazy("List users as a table."))
        listing.add_argument(
            "--role", metavar="CODE", help=gettext_lazy("Only users with this role.")
        )
        listing.add_argument(
            "--inactive",
            action="store_true",
            help=gettext_lazy("Include deactivated users."),
        )
        add_actor_argument(listing)

        deactivate = commands.add_parser(
            "deactivate",
            help=gettext_lazy("Deactivate a user: end their sessions and revoke their tokens."),
        )
        deactivate.add_argument("username", help=gettext_lazy("Login name."))
        deactivate.add_argument(
            "--reason", default="", help=gettext_lazy("Why, for the audit trail.")
        )
        add_actor_argument(deactivate)

        offboard = commands.add_parser(
            "offboard",
            help=gettext_lazy("Deactivate a user and hand every record they own to a colleague."),
        )
        offboard.add_argument("username", help=gettext_lazy("Login name of the person leaving."))
        offboard.add_argument(
            "--to",
            dest="successor",
            required=True,
            metavar="USERNAME",
            help=gettext_lazy("Login name of the colleague who receives the records."),
        )
        offboard.add_argument(
            "--reason", default="", help=gettext_lazy("Why, for the audit trail.")
        )
        add_actor_argument(offboard)

        unlock = commands.add_parser(
            "unlock", help=gettext_lazy("Lift the lockout after repeated failed logins.")
        )
        unlock.add_argument("username", help=gettext_lazy("Login name."))
        add_actor_argument(unlock)

        set_roles = commands.add_parser(
            "set-roles",
            help=gettext_lazy("Replace a user's roles (give no role to remove them all)."),
        )
        set_roles.add_argument("username", help=gettext_lazy("Login name."))
        set_roles.add_argument("roles", nargs="*", metavar="ROLE", help=gettext_lazy("Role codes."))
        add_actor_argument(set_roles)

    def handle(self, *args, **options):
        handler = {
            "create": self.create,
            "list": self.list_users,
            "deactivate": self.deactivate,
            "offboard": self.offboard,
            "unlock": self.unlock,
            "set-roles": self.set_roles,
        }[options["subcommand"]]
        handler(options)

    # subcommands

    def create(self, options) -> None:
        if options["acting_as"] or not options["superuser"]:
            actor = resolve_actor(options["acting_as"])
        else:
            actor = default_actor()  # None: bootstrapping the first administrator
        password = options["password"]
        if options["password_stdin"]:
            password = sys.stdin.readline().rstrip("\r\n")
            if not password:
                raise CommandError(_("password: No password was given on standard input."))
        department = None
        if options["department"]:
            department = Department.objects.filter(code=options["department"]).first()
            if department is None:
                raise CommandError(
                    _("department: No department with the code “%(code)s”.")
                    % {"code": options["department"]}
                )
        roles = get_roles(options["roles"])
        extra = {"language": options["language"]} if options["language"] else {}
        with ServiceCall(actor):
            user = services.user_create(
                actor=actor,
                username=options["username"],
                email=options["email"],
                password=password or None,
                display_name=options["display_name"],
                department=department,
                roles=roles,
                title=options["title"],
                is_superuser=options["superuser"],
                **extra,
            )
        self.stdout.write(
            _("Created user %(username)s (#%(id)d).") % {"username": user.username, "id": user.pk}
        )
        if not password:
            self.stdout.write(
                _("The user has no password yet; they set one with the password reset link.")
            )

    def list_users(self, options) -> None:
        actor = resolve_actor(options["acting_as"])
        users = User.objects.restrict(actor, "view").select_related("department")
        if not options["inactive"]:
            users = users.filter(is_active=True)
        if options["role"]:
            get_roles([options["role"]], field="role")
            users = users.filter(roles__code=options["role"])
        users = users.prefetch_related("roles").order_by("username").distinct()
        rows = [
            (
                user.username,
                user.display_name,
                user.email,
                user.department or "",
                ", ".join(sorted(role.code for role in user.roles.all())),
                _("yes") if user.is_superuser else "",
                _("active") if user.is_active else _("deactivated"),
            )
            for user in users
        ]
        self.stdout.write(
            format_table(
                [
                    _("Username"),
                    _("Name"),
                    _("E-mail"),
                    _("Department"),
                    _("Roles"),
                    _("Superuser"),
                    _("Status"),
                ],
                rows,
            )
        )
        self.stdout.write(ngettext("%(n)d user.", "%(n)d users.", len(rows)) % {"n": len(rows)})

    def deactivate(self, options) -> None:
        actor = resolve_actor(options["acting_as"])
        user = get_user(options["username"])
        if not user.is_active:
            raise CommandError(
                _("username: The user “%(username)s” is already deactivated.")
                % {"username": user.username}
            )
        with ServiceCall(actor):
            services.user_deactivate(actor=actor, user=user, reason=options["reason"])
        self.stdout.write(_("Deactivated %(username)s.") % {"username": user.username})

    def offboard(self, options) -> None:
        actor = resolve_actor(options["acting_as"])
        user = get_user(options["username"])
        successor = get_user(options["successor"], field="to")
        with ServiceCall(actor):
            moved = services.user_offboard(
                actor=actor, user=user, successor=successor, reason=options["reason"]
            )
        self.stdout.write(
            _("Offboarded %(username)s; records handed to %(successor)s.")
            % {"username": user.username, "successor": successor.username}
        )
        if moved:
            self.stdout.write(format_table([_("Records"), _("Moved")], sorted(moved.items())))

    def unlock(self, options) -> None:
        actor = resolve_actor(options["acting_as"])
        user = get_user(options["username"])
        with ServiceCall(actor):
            services.user_unlock(actor=actor, user=user)
        self.stdout.write(_("Unlocked %(username)s.") % {"username": user.username})

    def set_roles(self, options) -> None:
        actor = resolve_actor(options["acting_as"])
        user = get_user(options["username"])
        roles = get_roles(options["roles"])
        with ServiceCall(actor):
            services.user_set_roles(actor=actor, user=user, roles=roles)
        self.stdout.write(
            _("Roles of %(username)s: %(roles)s")
            % {
                "username": user.username,
                "roles": ", ".join(role.code for role in roles) or _("none"),
            }
        )
