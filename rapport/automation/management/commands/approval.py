"""`rapport approval list|show|submit|approve|reject|delegate|processes`: approvals from the
console, thin over `rapport.automation.approvals` (the same rules as the web and the API)."""

from __future__ import annotations

from datetime import date

from django.core.management.base import CommandError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rapport.automation import approval_selectors as selectors
from rapport.automation import approvals, registry
from rapport.automation.models import ApprovalProcess, ApprovalState, ApprovalTask
from rapport.core.commands import CliCommand, ServiceCall, format_table
from rapport.core.errors import NotFound
from rapport.identity import policy
from rapport.identity.commands import add_actor_argument, get_user, resolve_actor
from rapport.identity.models import Action


def _when(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


def _day(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(
            _("%(field)s: “%(value)s” is not a date (YYYY-MM-DD).")
            % {"field": field, "value": text}
        ) from None


class Command(CliCommand):
    help = gettext_lazy(
        "Approvals: list and show requests, submit a record, approve or reject a task, "
        "delegate while away, list processes."
    )

    def add_arguments(self, parser):
        commands = parser.add_subparsers(
            dest="subcommand",
            required=True,
            metavar="{list,show,submit,approve,reject,delegate,processes}",
        )
        listing = commands.add_parser(
            "list", help=gettext_lazy("Requests you may see, newest first.")
        )
        listing.add_argument(
            "--state", choices=ApprovalState.values, help=gettext_lazy("Only in this state.")
        )
        listing.add_argument(
            "--mine",
            action="store_true",
            help=gettext_lazy("Only the tasks waiting for you (my approvals)."),
        )
        listing.add_argument("--limit", type=int, default=50, help=gettext_lazy("At most N rows."))
        add_actor_argument(listing)

        show = commands.add_parser("show", help=gettext_lazy("One request with its tasks."))
        show.add_argument("request", type=int, help=gettext_lazy("The request's id."))
        add_actor_argument(show)

        submit = commands.add_parser("submit", help=gettext_lazy("Submit a record for approval."))
        submit.add_argument("type", help=gettext_lazy("The record type, e.g. customers.account."))
        submit.add_argument("id", type=int, help=gettext_lazy("The record's id."))
        submit.add_argument(
            "--process",
            type=int,
            help=gettext_lazy("The process (default: the first that applies)."),
        )
        submit.add_argument("--comment", default="", help=gettext_lazy("A comment."))
        add_actor_argument(submit)

        for name, text in (
            ("approve", gettext_lazy("Approve a task.")),
            ("reject", gettext_lazy("Reject a task (say why with --comment).")),
        ):
            decide = commands.add_parser(name, help=text)
            decide.add_argument("task", type=int, help=gettext_lazy("The task's id."))
            decide.add_argument("--comment", default="", help=gettext_lazy("A comment."))
            add_actor_argument(decide)

        delegate = commands.add_parser(
            "delegate", help=gettext_lazy("Let someone decide your approvals while you are away.")
        )
        delegate.add_argument("delegate", help=gettext_lazy("Their username."))
        delegate.add_argument(
            "--from", dest="starts_on", required=True, help=gettext_lazy("First day, YYYY-MM-DD.")
        )
        delegate.add_argument(
            "--until", dest="ends_on", required=True, help=gettext_lazy("Last day, YYYY-MM-DD.")
        )
        delegate.add_argument("--reason", default="", help=gettext_lazy("Why (shown to them)."))
        add_actor_argument(delegate)

        processes = commands.add_parser("processes", help=gettext_lazy("List the processes."))
        add_actor_argument(processes)

    def handle(self, *args, **options):
        actor = resolve_actor(options["acting_as"])
        getattr(self, f"do_{options['subcommand']}")(actor, options)

    def do_list(self, actor, options) -> None:
        if options["mine"]:
            tasks = selectors.pending_tasks_for(actor)[: options["limit"]]
            rows = [
                [
                    task.pk,
                    task.request_id,
                    task.request.title,
                    task.step_name,
                    task.request.submitted_by,
                    task.delegated_from or "",
                    _when(task.due_at),
                ]
                for task in tasks
            ]
            headers = [
                _("task"),
                _("request"),
                _("title"),
                _("step"),
                _("submitted by"),
                _("for"),
                _("due"),
            ]
            self.stdout.write(format_table(headers, rows))
            return
        requests = selectors.requests_visible_to(actor)
        if options["state"]:
            requests = requests.filter(state=options["state"])
        rows = [
            [
                request.pk,
                request.process.display_name,
                request.title,
                request.get_state_display(),
                request.current_number or "",
                request.submitted_by,
                _when(request.submitted_at),
            ]
            for request in requests[: options["limit"]]
        ]
        headers = [
            _("id"),
            _("process"),
            _("title"),
            _("state"),
            _("step"),
            _("submitted by"),
            _("submitted at"),
        ]
        self.stdout.write(format_table(headers, rows))

    def do_show(self, actor, options) -> None:
        request = (
            selectors.requests_visible_to(actor)
            .prefetch_related(selectors.tasks_prefetch())
            .filter(pk=options["request"])
            .first()
        )
        if request is None:
            raise CommandError(
                _("request: There is no request %(id)s.") % {"id": options["request"]}
            )
        self.stdout.write(
            _("%(title)s — %(process)s (%(state)s), submitted by %(user)s at %(at)s")
            % {
                "title": request.title,
                "process": request.process.display_name,
                "state": request.get_state_display(),
                "user": request.submitted_by,
                "at": _when(request.submitted_at),
            }
        )
        if request.comment:
            self.stdout.write(_("Comment: %(comment)s") % {"comment": request.comment})
        rows = [
            [
                task.pk,
                task.step_number,
                task.step_name,
                task.approver,
                task.delegated_from or "",
                task.get_state_display(),
                task.decided_by or "",
                task.comment,
                _when(task.decided_at),
            ]
            for task in request.tasks.all()
        ]
        headers = [
            _("task"),
            _("step"),
            _("name"),
            _("approver"),
            _("for"),
            _("state"),
            _("decided by"),
            _("comment"),
            _("decided at"),
        ]
        self.stdout.write(format_table(headers, rows))

    def do_submit(self, actor, options) -> None:
        automatable = registry.get(options["type"])
        if automatable is None:
            raise CommandError(
                _("type: “%(type)s” is not a record type approvals can be asked for.")
                % {"type": options["type"]}
            )
        with ServiceCall(actor):
            try:
                record = policy.get_for(actor, Action.VIEW, automatable.model, options["id"])
            except NotFound:
                raise CommandError(
                    _("id: There is no record %(id)s.") % {"id": options["id"]}
                ) from None
            process = None
            if options.get("process") is not None:
                process = ApprovalProcess.objects.filter(pk=options["process"]).first()
                if process is None:
                    raise CommandError(
                        _("process: There is no process %(id)s.") % {"id": options["process"]}
                    )
            request = approvals.approval_submit(
                actor=actor,
                object_type=options["type"],
                record=record,
                process=process,
                comment=options["comment"],
            )
        self.stdout.write(
            _("Submitted for approval as request %(id)s (%(process)s).")
            % {"id": request.pk, "process": request.process.display_name}
        )

    def _decide(self, actor, options, approve: bool) -> None:
        task = ApprovalTask.objects.filter(
            pk=options["task"], request__in=selectors.requests_visible_to(actor)
        ).first()
        if task is None:
            raise CommandError(_("task: There is no task %(id)s.") % {"id": options["task"]})
        with ServiceCall(actor):
            request = approvals.approval_decide(
                actor=actor, task=task, approve=approve, comment=options["comment"], via="cli"
            )
        self.stdout.write(
            _("Decided. The request is now: %(state)s.") % {"state": request.get_state_display()}
        )

    def do_approve(self, actor, options) -> None:
        self._decide(actor, options, True)

    def do_reject(self, actor, options) -> None:
        self._decide(actor, options, False)

    def do_delegate(self, actor, options) -> None:
        delegate = get_user(options["delegate"], "delegate")
        with ServiceCall(actor):
            delegation = approvals.delegation_set(
                actor=actor,
                delegate=delegate,
                starts_on=_day(options["starts_on"], "from"),
                ends_on=_day(options["ends_on"], "until"),
                reason=options["reason"],
            )
        self.stdout.write(
            _("From %(start)s to %(end)s, %(delegate)s decides your approvals.")
            % {"start": delegation.starts_on, "end": delegation.ends_on, "delegate": delegate}
        )

    def do_processes(self, actor, options) -> None:
        if not selectors.can_manage(actor):
            raise CommandError(
                _("as: %(username)s: %(message)s")
                % {
                    "username": actor.username,
                    "message": _("You do not have permission to do this."),
                }
            )
        rows = [
            [
                process.pk,
                process.display_name,
                process.object_type,
                process.version,
                _("yes") if process.is_active else _("no"),
                _("yes") if process.lock_record else _("no"),
                " → ".join(f"{step.number}. {step.display_name}" for step in process.steps.all()),
            ]
            for process in ApprovalProcess.objects.prefetch_related("steps").order_by(
                "object_type", "position", "id"
            )
        ]
        headers = [
            _("id"),
            _("name"),
            _("record type"),
            _("version"),
            _("active"),
            _("locks"),
            _("steps"),
        ]
        self.stdout.write(format_table(headers, rows))
