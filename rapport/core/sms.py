"""Text messages (SMS): one sender for everything that texts people — automation rules,
satisfaction surveys.

The backend is named by the `RAPPORT_SMS_BACKEND` setting: `LogSMSBackend` (the default: logs
each message and keeps it in `LogSMSBackend.sent`, for development and tests) or
`ConsoleSMSBackend`; a provider's backend implements `send(to, text) -> str` (an id).
Whoever sends checks consent first (`customers.querysets.contactable`).
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from typing import ClassVar

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)

DEFAULT_SMS_BACKEND = "rapport.core.sms.LogSMSBackend"


@dataclass(frozen=True)
class SMS:
    to: str
    text: str


class LogSMSBackend:
    """Logs each message and keeps it (`sent`): nothing leaves the machine."""

    sent: ClassVar[list[SMS]] = []

    keep: ClassVar[int] = 1000  # the latest messages only

    def send(self, to: str, text: str) -> str:
        self.sent.append(SMS(to=to, text=text))
        del self.sent[: -self.keep]
        logger.info("SMS to %s: %s", to, text)
        return f"log-{len(self.sent)}"


class ConsoleSMSBackend:
    """Writes each message to standard output."""

    def send(self, to: str, text: str) -> str:
        sys.stdout.write(f"SMS to {to}:\n{text}\n{'-' * 40}\n")
        sys.stdout.flush()
        return "console"


def sms_backend():
    path = getattr(settings, "RAPPORT_SMS_BACKEND", "") or DEFAULT_SMS_BACKEND
    return import_string(path)()
