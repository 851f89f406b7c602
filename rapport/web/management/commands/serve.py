"""`rapport serve`: the web server and the embedded background worker + scheduler."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rapport.core.commands import CliCommand


class Command(CliCommand):
    help = gettext_lazy(
        "Serve Rapport: web server plus embedded worker and scheduler (no other service)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--bind", default="127.0.0.1:8000", help=gettext_lazy("Address to listen on.")
        )
        parser.add_argument(
            "--workers", type=int, default=2, help=gettext_lazy("Web worker processes.")
        )
        parser.add_argument(
            "--no-worker",
            action="store_true",
            help=gettext_lazy("Do not start the embedded background worker."),
        )

    def handle(self, *args, **options):
        bin_dir = os.path.dirname(sys.executable)
        processes: list[subprocess.Popen] = []
        if not options["no_worker"]:
            processes.append(
                subprocess.Popen(  # noqa: S603  (our own executables)
                    [
                        os.path.join(bin_dir, "celery"),
                        "-A",
                        "rapport",
                        "worker",
                        "--beat",
                        "--pool=solo",
                        "--loglevel=warning",
                        "--schedule",
                        str(settings.VAR_DIR / "celerybeat-schedule"),
                    ]
                )
            )
        processes.append(
            subprocess.Popen(  # noqa: S603  (our own executables)
                [
                    os.path.join(bin_dir, "gunicorn"),
                    "rapport.wsgi",
                    "--bind",
                    options["bind"],
                    "--workers",
                    str(options["workers"]),
                    "--access-logfile",
                    "-",
                ]
            )
        )
        self.stdout.write(
            _("Rapport is running at http://%(bind)s (Ctrl+C to stop)") % {"bind": options["bind"]}
        )

        def stop(*_args):
            for process in processes:
                if process.poll() is None:
                    process.terminate()

        signal.signal(signal.SIGTERM, stop)
        try:
            while all(process.poll() is None for process in processes):
                time.sleep(1)
        except KeyboardInterrupt:
            pass
        finally:
            stop()
            for process in processes:
                process.wait(timeout=20)
