"""`rapport check`: unsafe settings, reported like `manage.py check --deploy`."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register


@register(Tags.security, deploy=True)
def rapport_security(app_configs=None, **kwargs):
    problems = []
    if settings.DEBUG:
        problems.append(
            Error(
                "RAPPORT_DEBUG is on.", hint="Unset RAPPORT_DEBUG in production.", id="rapport.E001"
            )
        )
    if settings.SECRET_KEY == settings.INSECURE_DEFAULT_SECRET or len(settings.SECRET_KEY) < 40:
        problems.append(
            Error(
                "RAPPORT_SECRET_KEY is the development default or too short.",
                hint="Set RAPPORT_SECRET_KEY to 50+ random characters.",
                id="rapport.E002",
            )
        )
    if not settings.HTTPS:
        problems.append(
            Warning(
                "HTTPS settings are off (secure cookies, HSTS, redirect).",
                hint="Serve behind TLS and set RAPPORT_HTTPS=1.",
                id="rapport.W001",
            )
        )
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        problems.append(
            Warning(
                "The database is SQLite.",
                hint="For more than a few users, set RAPPORT_DATABASE_URL to PostgreSQL.",
                id="rapport.W002",
            )
        )
    if not settings.REDIS_URL:
        problems.append(
            Warning(
                "No Redis: the broker uses local files and the cache is per process.",
                hint="Set RAPPORT_REDIS_URL for production.",
                id="rapport.W003",
            )
        )
    if not settings.RAPPORT_FIELD_KEYS.strip():
        problems.append(
            Warning(
                "RAPPORT_FIELD_KEYS is not set: personal data is encrypted with a key derived "
                "from RAPPORT_SECRET_KEY.",
                hint="Set RAPPORT_FIELD_KEYS to “id:key” from “rapport keys generate”, then run "
                "“rapport keys rotate”.",
                id="rapport.W004",
            )
        )
    else:
        from django.core.exceptions import ImproperlyConfigured

        from .crypto import key_ring

        try:
            key_ring()
        except ImproperlyConfigured as error:
            problems.append(Error(str(error), id="rapport.E004"))
    if "*" in settings.ALLOWED_HOSTS:
        problems.append(Error("RAPPORT_ALLOWED_HOSTS contains '*'.", id="rapport.E003"))
    return problems
