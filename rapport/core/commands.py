"""Shared pieces of the `rapport` management commands: base class, tables, error mapping."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.translation import gettext as _

from rapport.core.errors import DomainError, PermissionDenied


def display_width(text: str) -> int:
    """Terminal columns: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def format_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table that lines up with Chinese text too."""
    cells = [[str(value) for value in headers]] + [
        ["" if value is None else str(value) for value in row] for row in rows
    ]
    widths = [max(display_width(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: list[str]) -> str:
        return "  ".join(
            value + " " * (width - display_width(value))
            for value, width in zip(row, widths, strict=True)
        ).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(cells[0]), rule, *(line(row) for row in cells[1:])])


def service_error_message(error: Exception) -> str:
    """One line per problem, each naming its field: "username: The username … is already taken."."""
    if isinstance(error, ValidationError):
        if hasattr(error, "error_dict"):
            return "\n".join(
                f"{field}: {message}"
                for field, errors in error.error_dict.items()
                for item in errors
                for message in item.messages
            )
        return "\n".join(error.messages)
    if isinstance(error, DomainError):
        return f"{error.field}: {error.message}" if error.field else str(error.message)
    return str(error)


class ServiceCall:
    """`with ServiceCall(actor):` turns service errors into a CommandError; nothing is stored."""

    def __init__(self, actor=None) -> None:
        self.actor = actor

    def __enter__(self):
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        return self

    def __exit__(self, exc_type, exc, tb):
        self._atomic.__exit__(exc_type, exc, tb)
        if isinstance(exc, PermissionDenied) and self.actor is not None:
            raise CommandError(
                _("as: %(username)s: %(message)s")
                % {"username": self.actor.username, "message": exc.message}
            ) from exc
        if isinstance(exc, (ValidationError, DomainError)):
            raise CommandError(service_error_message(exc)) from exc
        return False


class CliCommand(BaseCommand):
    """Base of the `rapport` commands: `rapport.cli` chooses the language before they run."""

    leave_locale_alone = True

    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        # argparse wraps the description with a regex, which needs a real string.
        if parser.description is not None:
            parser.description = str(parser.description)
        return parser
