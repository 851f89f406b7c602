"""The `rapport` console script: thin over Django management commands.

    rapport serve | demo | user … | role … | audit verify | check | <any manage.py command>

The language of messages and --help follows RAPPORT_LANGUAGE, else LANG (zh_CN → Chinese).
"""

from __future__ import annotations

import os
import sys

# `rapport check` is the security self-check; Django's own stays reachable as `rapport djangocheck`.
ALIASES = {"check": "securitycheck", "djangocheck": "check"}


def cli_language() -> str:
    raw = (
        os.environ.get("RAPPORT_LANGUAGE")
        or os.environ.get("LC_ALL")
        or os.environ.get("LANG")
        or ""
    )
    return "zh-hans" if raw.lower().startswith("zh") else "en"


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")
    import django

    django.setup()
    from django.core.management import execute_from_command_line
    from django.utils import translation

    translation.activate(cli_language())
    if len(argv) > 1:
        argv[1] = ALIASES.get(argv[1], argv[1])
    argv[0] = "rapport"
    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
