from django.core import checks
from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from rapport.core.commands import CliCommand


class Command(CliCommand):
    help = gettext_lazy("Report unsafe settings (debug, secret key, HTTPS, database, broker).")

    def handle(self, *args, **options):
        problems = checks.run_checks(include_deployment_checks=True, tags=[checks.Tags.security])
        errors = [p for p in problems if p.level >= checks.ERROR]
        for problem in problems:
            label = _("ERROR") if problem.level >= checks.ERROR else _("WARNING")
            line = f"{label} {problem.id}: {problem.msg}"
            if problem.hint:
                line += f"\n    {problem.hint}"
            self.stdout.write(line)
        if errors:
            raise CommandError(
                ngettext("%(n)d unsafe setting found.", "%(n)d unsafe settings found.", len(errors))
                % {"n": len(errors)}
            )
        self.stdout.write(
            _("No unsafe settings found.")
            if not problems
            else _("No errors; see the warnings above.")
        )
