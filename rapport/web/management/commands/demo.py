"""`rapport demo --size small|medium|large [--if-empty]`: bilingual demo data."""

from __future__ import annotations

import time

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rapport.core import trail
from rapport.core.commands import CliCommand, format_table, service_error_message
from rapport.core.errors import DomainError
from rapport.customers.models import Account
from rapport.web import demo

# size -> (accounts, contacts, extra sales reps)
SIZES = {
    "small": (300, 600, 0),
    "medium": (20_000, 50_000, 40),
    "large": (1_000_000, 3_000_000, 200),
}


class Command(CliCommand):
    help = gettext_lazy(
        "Create demo data: departments, one login per built-in role, teams, accounts and "
        "contacts in Chinese and English. The small size goes through the services, so every "
        "record is checked and audited; medium (20,000 accounts, 50,000 contacts) and large "
        "(1,000,000 accounts, 3,000,000 contacts) insert in bulk and bypass per-record audit, "
        "recording one summary audit event instead. Every demo login's password is "
        "Rapport-Demo-2026."
    )
    leave_locale_alone = True

    def add_arguments(self, parser):
        parser.add_argument(
            "--size",
            choices=sorted(SIZES),
            default="small",
            help=gettext_lazy("How much data to create (default: small)."),
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help=gettext_lazy("Do nothing if any account exists (the logins are still listed)."),
        )
        parser.add_argument(
            "--accounts",
            type=int,
            help=gettext_lazy("Number of accounts instead of the size's default."),
        )
        parser.add_argument(
            "--contacts",
            type=int,
            help=gettext_lazy("Number of contacts instead of the size's default."),
        )
        parser.add_argument(
            "--seed", type=int, help=gettext_lazy("Random seed, for repeatable data.")
        )

    def handle(self, *args, **options):
        self.verbosity = options["verbosity"]
        if options["if_empty"] and Account.objects.exists():
            self.stdout.write(_("Accounts already exist; no demo data was added."))
            self._print_logins()
            return
        size = options["size"]
        accounts, contacts, extra_reps = SIZES[size]
        if options["accounts"] is not None:
            # Keep the size's ratio of contacts to accounts unless --contacts says otherwise.
            contacts = options["accounts"] * contacts // accounts
            accounts = options["accounts"]
        if options["contacts"] is not None:
            contacts = options["contacts"]
        if accounts < 0 or contacts < 0:
            raise CommandError(_("accounts: The numbers of records cannot be negative."))
        if contacts and not accounts:
            raise CommandError(_("contacts: Contacts need at least one account."))
        started = time.monotonic()
        data = demo.DemoData(options["seed"], first_serial=demo.next_serial())
        try:
            users = demo.build_organisation()
            owners = [users[u.username] for u in demo.DEMO_USERS if u.owns_accounts]
            owners = [owner for owner in owners if owner.is_active]
            if not owners:
                raise CommandError(_("owner: No active demo user can own the demo records."))
            if size == "small":
                made = demo.generate_with_services(
                    owners=owners,
                    accounts=accounts,
                    contacts=contacts,
                    data=data,
                    progress=self._progress,
                )
                tags = demo.build_tags(admin=users["admin"])
                demo.tag_demo_records(owners=owners, tags=tags, data=data)
            else:
                owners += demo.add_sales_reps(extra_reps, generator=data)
                made = demo.bulk_generate(
                    owners=demo.owners_of(owners),
                    accounts=accounts,
                    contacts=contacts,
                    data=data,
                    progress=self._progress,
                )
                trail.record(
                    actor=None,
                    action="demo.generate",
                    object_type="customers.account",
                    object_repr=f"{made['accounts']}",
                    extra={"size": size, "counts": made, "audited_per_record": False},
                )
        except (ValidationError, DomainError) as error:
            raise CommandError(service_error_message(error)) from error
        elapsed = time.monotonic() - started
        self.stdout.write(
            _("Created %(accounts)d accounts and %(contacts)d contacts in %(seconds).1f s.")
            % {"accounts": made["accounts"], "contacts": made["contacts"], "seconds": elapsed}
        )
        self._print_logins()

    def _progress(self, accounts_done: int, contacts_done: int, accounts_total: int) -> None:
        bulk_step = accounts_done % 50_000 == 0 or accounts_done == accounts_total
        if self.verbosity >= 2 or (self.verbosity >= 1 and accounts_total >= 10_000 and bulk_step):
            self.stdout.write(
                _("%(done)d of %(total)d accounts, %(contacts)d contacts")
                % {"done": accounts_done, "total": accounts_total, "contacts": contacts_done}
            )

    def _print_logins(self) -> None:
        rows = [
            (username, name, role, department, demo.DEMO_PASSWORD)
            for username, name, role, department in demo.demo_logins()
        ]
        if not rows:
            return
        self.stdout.write("")
        self.stdout.write(
            _("Demo logins (every password is %(password)s):") % {"password": demo.DEMO_PASSWORD}
        )
        self.stdout.write(
            format_table(
                [_("Username"), _("Name"), _("Role"), _("Department"), _("Password")], rows
            )
        )
