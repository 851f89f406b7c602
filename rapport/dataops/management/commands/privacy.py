"""`rapport privacy request|find|export|anonymize|retention`: data-subject requests and
retention policies from the shell — thin over `rapport.dataops.privacy` and
`privacy_retention`.

    rapport privacy request create --kind access --phone 13812345678 [--name 张三] …
    rapport privacy request list [--overdue] | show ID | complete ID [--note …] | reject ID --reason …
    rapport privacy find ID [--confirm CONTACT …] [--confirm-all] [--not CONTACT …]
    rapport privacy export ID [--output FILE]
    rapport privacy anonymize ID --yes
    rapport privacy retention list | set CLASS [--days N] [--action A] [--enable|--disable] | run
"""

from __future__ import annotations

import shutil
from pathlib import Path

from django.core.management.base import CommandError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rapport.core.commands import CliCommand, ServiceCall, format_table
from rapport.core.errors import NotFound, PermissionDenied
from rapport.identity.commands import add_actor_argument, get_user, resolve_actor

from ... import privacy, privacy_retention
from ...models import (
    MatchState,
    RetentionClass,
    RetentionPolicy,
    SubjectRequestKind,
    SubjectRequestStatus,
)


class Command(CliCommand):
    help = gettext_lazy(
        "Data-subject requests (record, find the person, export, anonymize) and retention."
    )

    def add_arguments(self, parser):
        commands = parser.add_subparsers(
            dest="subcommand",
            required=True,
            metavar="{request,find,export,anonymize,retention}",
        )
        request = commands.add_parser("request", help=gettext_lazy("Record and track requests."))
        requests = request.add_subparsers(
            dest="request_command", required=True, metavar="{create,list,show,complete,reject}"
        )
        create = requests.add_parser("create", help=gettext_lazy("Record a request."))
        create.add_argument("--kind", choices=SubjectRequestKind.values, required=True)
        create.add_argument("--name", default="", help=gettext_lazy("The person's name."))
        create.add_argument("--phone", default="")
        create.add_argument("--email", default="")
        create.add_argument("--id-number", dest="id_number", default="")
        create.add_argument("--details", default="")
        create.add_argument("--received", help=gettext_lazy("When it came in (ISO 8601)."))
        create.add_argument("--due", help=gettext_lazy("Deadline (default: 15 days later)."))
        create.add_argument("--assignee", metavar="USERNAME")
        add_actor_argument(create)
        listing = requests.add_parser("list", help=gettext_lazy("Requests, by deadline."))
        listing.add_argument("--overdue", action="store_true")
        listing.add_argument("--all", action="store_true", help=gettext_lazy("Closed ones too."))
        add_actor_argument(listing)
        show = requests.add_parser("show", help=gettext_lazy("One request and its matches."))
        show.add_argument("id", type=int)
        add_actor_argument(show)
        complete = requests.add_parser("complete", help=gettext_lazy("Close it as done."))
        complete.add_argument("id", type=int)
        complete.add_argument("--note", default="")
        add_actor_argument(complete)
        reject = requests.add_parser("reject", help=gettext_lazy("Close it as refused."))
        reject.add_argument("id", type=int)
        reject.add_argument("--reason", required=True)
        add_actor_argument(reject)

        find = commands.add_parser(
            "find", help=gettext_lazy("Look for the person; confirm who they are.")
        )
        find.add_argument("id", type=int)
        find.add_argument("--confirm", type=int, nargs="+", default=[], metavar="CONTACT")
        find.add_argument("--confirm-all", action="store_true")
        find.add_argument(
            "--not", dest="reject", type=int, nargs="+", default=[], metavar="CONTACT"
        )
        add_actor_argument(find)

        export = commands.add_parser(
            "export", help=gettext_lazy("Write the access bundle (zip: JSON + HTML).")
        )
        export.add_argument("id", type=int)
        export.add_argument("--output", metavar="FILE", help=gettext_lazy("Copy it here."))
        add_actor_argument(export)

        anonymize = commands.add_parser(
            "anonymize",
            help=gettext_lazy("Anonymize the confirmed contacts of an erasure request."),
        )
        anonymize.add_argument("id", type=int)
        anonymize.add_argument(
            "--yes", action="store_true", help=gettext_lazy("Yes: this cannot be undone.")
        )
        add_actor_argument(anonymize)

        retention = commands.add_parser("retention", help=gettext_lazy("Retention policies."))
        policies = retention.add_subparsers(
            dest="retention_command", required=True, metavar="{list,set,run}"
        )
        add_actor_argument(
            policies.add_parser(
                "list", help=gettext_lazy("Policies and what each would touch now.")
            )
        )
        change = policies.add_parser("set", help=gettext_lazy("Change a policy."))
        change.add_argument("data_class", choices=RetentionClass.values)
        change.add_argument("--days", type=int)
        change.add_argument("--action")
        switch = change.add_mutually_exclusive_group()
        switch.add_argument("--enable", action="store_true")
        switch.add_argument("--disable", action="store_true")
        add_actor_argument(change)
        add_actor_argument(
            policies.add_parser("run", help=gettext_lazy("Apply the enabled policies now."))
        )

    def handle(self, *args, **options):
        actor = resolve_actor(options["acting_as"])
        name = options["subcommand"]
        if name == "request":
            name = f"request_{options['request_command']}"
        elif name == "retention":
            name = f"retention_{options['retention_command']}"
        getattr(self, "do_" + name)(actor, options)

    def _request(self, actor, pk: int):
        try:
            return privacy.get_request(actor, pk)
        except (NotFound, PermissionDenied):
            raise CommandError(_("id: No data-subject request #%(id)s.") % {"id": pk}) from None

    def _show_matches(self, request) -> None:
        matches = list(request.matches.select_related("contact").order_by("id"))
        if not matches:
            self.stdout.write(_("No contact matches this person."))
            return
        related = privacy.related_counts([m.contact_id for m in matches])
        rows = [
            [
                m.contact_id,
                m.contact.name,
                ", ".join(privacy.reason_texts(m.reasons)),
                m.get_state_display(),
                related[m.contact_id]["interactions"] + related[m.contact_id]["tasks"],
                related[m.contact_id]["consents"],
            ]
            for m in matches
        ]
        headers = [
            _("contact"),
            _("name"),
            _("found by"),
            _("state"),
            _("interactions"),
            _("consents"),
        ]
        self.stdout.write(format_table(headers, rows))

    # --- requests ---

    def do_request_create(self, actor, options) -> None:
        assignee = get_user(options["assignee"], "assignee") if options["assignee"] else None
        with ServiceCall(actor):
            request = privacy.request_create(
                actor=actor,
                kind=options["kind"],
                subject_name=options["name"],
                subject_phone=options["phone"],
                subject_email=options["email"],
                subject_id_number=options["id_number"],
                details=options["details"],
                received_at=options["received"],
                due_at=options["due"],
                assignee=assignee,
            )
        self.stdout.write(
            _("Request #%(id)s recorded; due %(due)s.")
            % {
                "id": request.pk,
                "due": timezone.localtime(request.due_at).strftime("%Y-%m-%d %H:%M"),
            }
        )
        self._show_matches(request)

    def do_request_list(self, actor, options) -> None:
        requests = privacy.requests_for(actor).order_by("due_at", "id")
        if not options["all"]:
            requests = requests.filter(
                status__in=[SubjectRequestStatus.RECEIVED, SubjectRequestStatus.IN_PROGRESS]
            )
        now = timezone.now()
        if options["overdue"]:
            requests = requests.filter(due_at__lt=now)
        rows = [
            [
                r.pk,
                r.get_kind_display(),
                r.subject_name,
                timezone.localtime(r.due_at).strftime("%Y-%m-%d"),
                _("overdue") if r.is_overdue(now) else "",
                r.get_status_display(),
                r.assignee or "",
                f"{r.confirmed_count}/{r.match_count}",
            ]
            for r in requests[:200]
        ]
        headers = [
            _("id"),
            _("kind"),
            _("name"),
            _("deadline"),
            "",
            _("status"),
            _("assignee"),
            _("matches"),
        ]
        self.stdout.write(format_table(headers, rows))

    def do_request_show(self, actor, options) -> None:
        request = self._request(actor, options["id"])
        for label, value in (
            (_("kind"), request.get_kind_display()),
            (_("status"), request.get_status_display()),
            (_("name"), request.subject_name),
            (_("phone"), request.subject_phone),
            (_("e-mail"), request.subject_email),
            (_("ID number"), request.subject_id_number),
            (_("received"), timezone.localtime(request.received_at).strftime("%Y-%m-%d %H:%M")),
            (_("deadline"), timezone.localtime(request.due_at).strftime("%Y-%m-%d %H:%M")),
            (_("assignee"), request.assignee or ""),
            (_("outcome"), request.outcome_note),
        ):
            self.stdout.write(f"{label}: {value}")
        self._show_matches(request)

    def do_request_complete(self, actor, options) -> None:
        request = self._request(actor, options["id"])
        with ServiceCall(actor):
            privacy.request_complete(actor=actor, request=request, outcome_note=options["note"])
        self.stdout.write(_("Request #%(id)s completed.") % {"id": request.pk})

    def do_request_reject(self, actor, options) -> None:
        request = self._request(actor, options["id"])
        with ServiceCall(actor):
            privacy.request_reject(actor=actor, request=request, reason=options["reason"])
        self.stdout.write(_("Request #%(id)s rejected.") % {"id": request.pk})

    # --- find, export, anonymize ---

    def do_find(self, actor, options) -> None:
        request = self._request(actor, options["id"])
        with ServiceCall(actor):
            found = privacy.request_find(actor=actor, request=request)
            confirm = list(options["confirm"])
            if options["confirm_all"]:
                confirm += [m.contact_id for m in found if m.state == MatchState.SUGGESTED]
            if confirm:
                privacy.match_decide(
                    actor=actor, request=request, contacts=confirm, state=MatchState.CONFIRMED
                )
            if options["reject"]:
                privacy.match_decide(
                    actor=actor,
                    request=request,
                    contacts=options["reject"],
                    state=MatchState.REJECTED,
                )
        self._show_matches(request)

    def do_export(self, actor, options) -> None:
        request = self._request(actor, options["id"])
        with ServiceCall(actor):
            job = privacy.bundle_start(actor=actor, request=request)
        job = privacy.bundle_execute(job)
        request.refresh_from_db()
        with ServiceCall(actor):
            path = privacy.bundle_file(actor=actor, request=request)
        if options["output"]:
            target = Path(options["output"])
            shutil.copyfile(path, target)
            path = target
        self.stdout.write(
            _("Bundle written: %(file)s (%(contacts)d contacts).")
            % {"file": path, "contacts": (job.result or {}).get("contacts", 0)}
        )

    def do_anonymize(self, actor, options) -> None:
        request = self._request(actor, options["id"])
        if not options["yes"]:
            raise CommandError(_("yes: Anonymizing cannot be undone; say --yes."))
        with ServiceCall(actor):
            erasure = privacy.request_erase(actor=actor, request=request)
        if erasure.anonymized:
            self.stdout.write(
                _("%(n)d contacts anonymized: %(ids)s.")
                % {"n": len(erasure.anonymized), "ids": ", ".join(map(str, erasure.anonymized))}
            )
            for name, count in erasure.counts.items():
                self.stdout.write(f"  {name}: {count}")
        else:
            self.stdout.write(_("These contacts were anonymized already; nothing changed."))

    # --- retention ---

    def _require_retention(self, actor) -> None:
        if not privacy_retention.can_manage(actor):
            raise CommandError(
                _("as: %(username)s: You do not have permission to do this.")
                % {"username": actor.username}
            )

    def do_retention_list(self, actor, options) -> None:
        self._require_retention(actor)
        rows = [
            [
                p.data_class,
                p.days,
                p.get_action_display(),
                _("yes") if p.enabled else _("no"),
                count,
                timezone.localtime(p.last_run_at).strftime("%Y-%m-%d %H:%M")
                if p.last_run_at
                else "",
            ]
            for p, count in privacy_retention.preview()
        ]
        headers = [_("data class"), _("days"), _("then"), _("enabled"), _("due now"), _("last run")]
        self.stdout.write(format_table(headers, rows))

    def do_retention_set(self, actor, options) -> None:
        policy = RetentionPolicy.objects.filter(data_class=options["data_class"]).first()
        if policy is None:
            raise CommandError(_("data_class: No such policy."))
        enabled = True if options["enable"] else False if options["disable"] else None
        with ServiceCall(actor):
            privacy_retention.policy_update(
                actor=actor,
                policy=policy,
                days=options["days"],
                action=options["action"],
                enabled=enabled,
            )
        self.stdout.write(
            _("%(policy)s: %(days)d days, then %(action)s; %(state)s.")
            % {
                "policy": policy,
                "days": policy.days,
                "action": policy.get_action_display(),
                "state": _("enabled") if policy.enabled else _("disabled"),
            }
        )

    def do_retention_run(self, actor, options) -> None:
        self._require_retention(actor)
        with ServiceCall(actor):
            job = privacy_retention.retention_start(actor=actor)
        job = privacy_retention.retention_run(job)
        for label, count in privacy_retention.counts_shown(job):
            self.stdout.write(f"{label}: {count}")
        self.stdout.write(_("Retention run finished (job %(id)s).") % {"id": job.pk})
