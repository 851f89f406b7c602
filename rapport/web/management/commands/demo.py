"""`rapport demo --size small|medium|large [--if-empty]`: bilingual demo data.

The bulk sizes run as a resumable job (`rapport.web.demo_bulk`): the same command after an
interruption continues from the last committed batch, and after it finished adds nothing.
"""

from __future__ import annotations

import time

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rapport.core.commands import CliCommand, format_table, service_error_message
from rapport.core.errors import DomainError
from rapport.core.models import Job
from rapport.customers.models import Account
from rapport.web import demo, demo_bulk, demo_history, demo_knowledge, demo_service, demo_surveys

# size -> (accounts, contacts, interactions, extra sales reps)
SIZES = {
    "small": (300, 600, 300, 0),
    "medium": (20_000, 50_000, 150_000, 40),
    "large": (1_000_000, 3_000_000, 10_000_000, 200),
}


class Command(CliCommand):
    help = gettext_lazy(
        "Create demo data: departments, one login per built-in role, teams, accounts and "
        "contacts in Chinese and English, with 18 months of calls, e-mails, meetings, visits, "
        "WeChat chats and notes, tasks, contact roles and consents. The small size goes "
        "through the services, so every record is checked and audited; medium (20,000 "
        "accounts, 50,000 contacts, 150,000 interactions) and large (1,000,000 accounts, "
        "3,000,000 contacts, 10,000,000 interactions) insert in bulk as a resumable job and "
        "bypass per-record audit, recording one summary audit event instead: run the same "
        "command again after an interruption and it continues where it stopped. Every demo "
        "login's password is Rapport-Demo-2026."
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
            "--interactions",
            type=int,
            help=gettext_lazy(
                "Number of interactions (tasks included) instead of the size's default."
            ),
        )
        parser.add_argument(
            "--seed", type=int, help=gettext_lazy("Random seed, for repeatable data.")
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=5000,
            help=gettext_lazy(
                "Accounts per committed batch of a bulk size (with their contacts and "
                "interactions; default: 5000)."
            ),
        )

    def handle(self, *args, **options):
        self.verbosity = options["verbosity"]
        if options["if_empty"] and Account.objects.exists():
            self.stdout.write(_("Accounts already exist; no demo data was added."))
            self._print_logins()
            return
        size = options["size"]
        accounts, contacts, interactions, extra_reps = SIZES[size]
        if options["accounts"] is not None:
            # Keep the size's ratios to accounts unless --contacts / --interactions say otherwise.
            contacts = options["accounts"] * contacts // accounts
            interactions = options["accounts"] * interactions // accounts
            accounts = options["accounts"]
        if options["contacts"] is not None:
            contacts = options["contacts"]
        if options["interactions"] is not None:
            interactions = options["interactions"]
        if accounts < 0 or contacts < 0 or interactions < 0:
            raise CommandError(_("accounts: The numbers of records cannot be negative."))
        if contacts and not accounts:
            raise CommandError(_("contacts: Contacts need at least one account."))
        if interactions and not accounts:
            raise CommandError(_("interactions: Interactions need at least one account."))
        started = time.monotonic()
        try:
            users = demo.build_organisation()
            owners = [users[u.username] for u in demo.DEMO_USERS if u.owns_accounts]
            owners = [owner for owner in owners if owner.is_active]
            if not owners:
                raise CommandError(_("owner: No active demo user can own the demo records."))
            if size == "small":
                made = self._small(users, owners, accounts, contacts, interactions, options["seed"])
            else:
                made = self._bulk(
                    size, owners, accounts, contacts, interactions, extra_reps, options
                )
        except (ValidationError, DomainError) as error:
            raise CommandError(service_error_message(error)) from error
        if made is not None:
            elapsed = time.monotonic() - started
            self.stdout.write(
                _(
                    "Created %(accounts)d accounts, %(contacts)d contacts and %(interactions)d "
                    "interactions (%(tasks)d of them tasks) in %(seconds).1f s."
                )
                % {
                    "accounts": made.get("accounts", 0),
                    "contacts": made.get("contacts", 0),
                    "interactions": made.get("interactions", 0),
                    "tasks": made.get("tasks", 0),
                    "seconds": elapsed,
                }
            )
        self._print_logins()

    def _small(self, users, owners, accounts, contacts, interactions, seed) -> dict:
        data = demo.DemoData(seed, first_serial=demo.next_serial())
        made = demo.generate_with_services(
            owners=owners, accounts=accounts, contacts=contacts, data=data, progress=self._progress
        )
        tags = demo.build_tags(admin=users["admin"])
        demo.tag_demo_records(owners=owners, tags=tags, data=data)
        history = demo_history.generate_history_with_services(
            owners=owners, interactions=interactions, rng=data.rng
        )
        tickets = demo_service.generate_tickets(
            users=users, count=max(10, accounts // 10), rng=data.rng
        )
        from rapport.web import demo_complaints  # causes, products, stages for the report

        demo_complaints.generate_complaints(users=users, count=accounts // 20, rng=data.rng)
        demo_surveys.generate_surveys(users=users, rng=data.rng)
        demo_knowledge.generate_articles(users=users)
        from rapport.web import demo_sales  # catalogue, leads, deals, quotes, orders, targets

        sales = demo_sales.generate_sales(users=users, rng=data.rng, accounts=accounts)
        # interaction_log counts the logged ones; tasks are counted apart, as in bulk
        return {
            **made,
            **history,
            "interactions": history["interactions"] + history["tasks"],
            "tickets": tickets,
            **sales,
        }

    def _bulk(self, size, owners, accounts, contacts, interactions, extra_reps, options):
        key = {
            "size": size,
            "accounts": accounts,
            "contacts": contacts,
            "interactions": interactions,
            "seed": options["seed"],
        }
        job = demo_bulk.find_job(key)
        if job is not None and job.state == Job.State.SUCCEEDED:
            self.stdout.write(
                _(
                    "This demo data was generated already (job #%(job)d, finished %(finished)s): "
                    "nothing was added. Give other numbers or another --seed for more."
                )
                % {"job": job.pk, "finished": f"{job.finished_at:%Y-%m-%d %H:%M}"}
            )
            return None
        if job is None:
            job = demo_bulk.create_job(
                key=key,
                owners=owners,
                extra_reps=extra_reps,
                accounts=accounts,
                contacts=contacts,
                interactions=interactions,
                seed=options["seed"],
                batch_size=max(1, options["batch_size"]),
            )
        else:
            plan = demo_bulk.Plan.of(job)
            self.stdout.write(
                _(
                    "Resuming demo job #%(job)d at batch %(batch)d of %(batches)d "
                    "(%(percent)d%% done)."
                )
                % {
                    "job": job.pk,
                    "batch": int(job.checkpoint.get("batch", 0)) + 1,
                    "batches": plan.batches,
                    "percent": job.percent,
                }
            )
        try:
            made = demo_bulk.run_job(job, progress=self._bulk_progress)
        except demo_bulk.DemoJobConflict as error:
            raise CommandError(
                _("Another run is generating this demo data (job #%(job)d); let it finish.")
                % {"job": job.pk}
            ) from error
        except BaseException as error:  # Ctrl-C included: the job resumes from its checkpoint
            demo_bulk.fail_job(job, error)
            self.stderr.write(
                _(
                    "Stopped at batch %(batch)d; the batches before it are saved. Run the same "
                    "command again to continue."
                )
                % {"batch": int(job.checkpoint.get("batch", 0)) + 1}
            )
            raise
        return made

    def _progress(self, accounts_done: int, contacts_done: int, accounts_total: int) -> None:
        if self.verbosity >= 2:
            self.stdout.write(
                _("%(done)d of %(total)d accounts, %(contacts)d contacts")
                % {"done": accounts_done, "total": accounts_total, "contacts": contacts_done}
            )

    def _bulk_progress(self, job, plan, batches_done: int, rate: float) -> None:
        if self.verbosity < 1:
            return
        left = plan.records - plan.records_before(batches_done)
        self.stdout.write(
            _(
                "Batch %(batch)d of %(batches)d (%(percent)d%%): %(records)s records, "
                "%(rate)s records/s, about %(minutes)d min left"
            )
            % {
                "batch": batches_done,
                "batches": plan.batches,
                "percent": job.percent,
                "records": f"{plan.records_before(batches_done):,}",
                "rate": f"{rate:,.0f}",
                "minutes": round(left / rate / 60) if rate else 0,
            }
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
