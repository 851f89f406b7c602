"""Rapport settings. Configuration comes from the environment only (DESIGN.md §4)."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("RAPPORT_VAR_DIR", BASE_DIR / "var"))
# The test suite runs in parallel workers (pytest-xdist): each keeps its own files (media,
# backups, broker, search caches) and, below, its own Redis database, so that one worker
# clearing its cache or folders never touches another's. A program a test starts with its
# own RAPPORT_VAR_DIR keeps exactly that folder.
TEST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
if TEST_WORKER and "RAPPORT_VAR_DIR" not in os.environ:
    VAR_DIR = VAR_DIR / f"test-{TEST_WORKER}"
VAR_DIR.mkdir(parents=True, exist_ok=True)

# A development-only default; `rapport check` flags it, and it is refused when DEBUG is off.
INSECURE_DEFAULT_SECRET = "rapport-insecure-development-key-change-me"  # noqa: S105


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw not in (None, "") else default


DEBUG = env_bool("RAPPORT_DEBUG", False)
SECRET_KEY = os.environ.get("RAPPORT_SECRET_KEY", INSECURE_DEFAULT_SECRET)
# Key of the blind index (phones and e-mails in the search index); default: from SECRET_KEY.
RAPPORT_BLIND_INDEX_KEY = os.environ.get("RAPPORT_BLIND_INDEX_KEY", "")
# Backups (rapport backup / the nightly job): where they are written and how many are kept.
BACKUP_ROOT = Path(os.environ.get("RAPPORT_BACKUP_DIR", VAR_DIR / "backups"))
BACKUP_KEEP = env_int("RAPPORT_BACKUP_KEEP", 14)
# Store traditional Chinese as simplified on every write (rapport.core.normalize).
NORMALIZE_TRADITIONAL = env_bool("RAPPORT_NORMALIZE_T2S", False)
# Key ring of the fields encrypted at rest: "id:base64key,…", the first encrypts (see
# rapport.core.crypto). Unset: a development key derived from SECRET_KEY.
RAPPORT_FIELD_KEYS = os.environ.get("RAPPORT_FIELD_KEYS", "")
ALLOWED_HOSTS = [
    host.strip()
    for host in os.environ.get("RAPPORT_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")
    if host.strip()
]
CSRF_TRUSTED_ORIGINS = [
    origin.strip()
    for origin in os.environ.get("RAPPORT_CSRF_TRUSTED_ORIGINS", "").split(",")
    if origin.strip()
]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "django_filters",
    "django_celery_beat",
    "django_htmx",
    # Rapport's apps come before allauth so their template overrides win.
    "rapport.core",
    "rapport.identity",
    "rapport.audit",
    "rapport.customers",
    "rapport.service",
    "rapport.sales",
    "rapport.automation",
    "rapport.dataops",
    "rapport.web",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.usersessions",
    "axes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "rapport.core.middleware.UserLocaleMiddleware",
    "rapport.core.middleware.UserTimezoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "rapport.identity.middleware.SessionPolicyMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "allauth.usersessions.middleware.UserSessionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "rapport.core.middleware.RequestContextMiddleware",
    "rapport.identity.middleware.RequireMfaMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "rapport.urls"
WSGI_APPLICATION = "rapport.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "rapport.web.context_processors.navigation",
            ],
        },
    }
]

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = os.environ.get("RAPPORT_DATABASE_URL", f"sqlite:///{VAR_DIR / 'rapport.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets readers run beside the single writer; IMMEDIATE avoids upgrade deadlocks.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=10000;",
        "transaction_mode": "IMMEDIATE",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache, broker --------------------------------------------------------------------------
REDIS_URL = os.environ.get("RAPPORT_REDIS_URL", "")
if REDIS_URL and TEST_WORKER.removeprefix("gw").isdigit():
    from urllib.parse import urlsplit as _urlsplit

    # worker gwN uses database (configured + N + 1), at most 15 (Redis has 16 by default)
    _redis = _urlsplit(REDIS_URL)
    _base = int(_redis.path.strip("/") or 0)
    _index = _base + int(TEST_WORKER.removeprefix("gw")) + 1
    if _index > 15:
        raise RuntimeError("Too many test workers for Redis' 16 databases: use -n 4 or fewer.")
    REDIS_URL = _redis._replace(path=f"/{_index}").geturl()
# Where people reach Rapport: links in e-mails (reminders, approvals) start with it.
SITE_URL = os.environ.get("RAPPORT_SITE_URL", "http://127.0.0.1:8000").rstrip("/")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
    CELERY_BROKER_URL = REDIS_URL
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    # The embedded default needs no service: a broker on local files.
    CELERY_BROKER_URL = "filesystem://"
    _broker_dir = VAR_DIR / "broker"
    (_broker_dir / "out").mkdir(parents=True, exist_ok=True)
    (_broker_dir / "processed").mkdir(parents=True, exist_ok=True)
    (_broker_dir / "control").mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "out"),
        "data_folder_out": str(_broker_dir / "out"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
CELERY_TASK_ALWAYS_EAGER = env_bool("RAPPORT_TASKS_EAGER", False)
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "Asia/Shanghai"

# --- Authentication -------------------------------------------------------------------------
AUTH_USER_MODEL = "identity.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": env_int("RAPPORT_PASSWORD_MIN_LENGTH", 10)},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {
        "NAME": "rapport.identity.passwords.PasswordHistoryValidator",
        "OPTIONS": {"remember": env_int("RAPPORT_PASSWORD_HISTORY", 5)},
    },
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "web:home"
ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_SIGNUP_FIELDS = ["username*", "email*", "password1*", "password2*"]
ACCOUNT_ADAPTER = "rapport.identity.adapters.AccountAdapter"
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_RATE_LIMITS = False  # lockout is django-axes' job, with administrator unlock
ACCOUNT_USER_DISPLAY = "rapport.identity.models.user_display"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Rapport CRM"
USERSESSIONS_TRACK_ACTIVITY = True

AXES_FAILURE_LIMIT = env_int("RAPPORT_LOCKOUT_FAILURES", 5)
AXES_COOLOFF_TIME = None  # locked until an administrator unlocks
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_USERNAME_CALLABLE = "rapport.identity.backends.axes_username"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "rapport.identity.views.lockout_response"
AXES_VERBOSE = False
AXES_ENABLE_ACCESS_FAILURE_LOG = False

# Sessions: idle timeout (cookie age refreshed on each request) and an absolute limit.
SESSION_IDLE_MINUTES = env_int("RAPPORT_SESSION_IDLE_MINUTES", 30)
SESSION_ABSOLUTE_HOURS = env_int("RAPPORT_SESSION_ABSOLUTE_HOURS", 12)
SESSION_COOKIE_AGE = SESSION_IDLE_MINUTES * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
HTTPS = env_bool("RAPPORT_HTTPS", False)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS
SECURE_HSTS_SECONDS = 31536000 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None

API_TOKEN_DEFAULT_DAYS = env_int("RAPPORT_API_TOKEN_DAYS", 90)

# --- Internationalization -------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "Asia/Shanghai"
DEFAULT_USER_TIMEZONE = "Asia/Shanghai"

# --- Static and media -----------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise serves from here after collectstatic
MEDIA_ROOT = Path(os.environ.get("RAPPORT_MEDIA_ROOT", VAR_DIR / "media"))
MEDIA_URL = "/media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = True
# S3-compatible object storage for attachments (and backups) in production; unset: files
# under RAPPORT_MEDIA_ROOT. Files are never served from a public URL, only through views
# that check who may see them.
if os.environ.get("RAPPORT_S3_BUCKET"):
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": os.environ["RAPPORT_S3_BUCKET"],
            "endpoint_url": os.environ.get("RAPPORT_S3_ENDPOINT_URL") or None,
            "region_name": os.environ.get("RAPPORT_S3_REGION") or None,
            "access_key": os.environ.get("RAPPORT_S3_ACCESS_KEY") or None,
            "secret_key": os.environ.get("RAPPORT_S3_SECRET_KEY") or None,
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
# Attachments: size limit and the kinds of file people may attach.
ATTACHMENT_MAX_BYTES = int(os.environ.get("RAPPORT_ATTACHMENT_MAX_MB", "20")) * 1024 * 1024

EMAIL_BACKEND = os.environ.get(
    "RAPPORT_EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend"
)
EMAIL_FILE_PATH = VAR_DIR / "mail"
DEFAULT_FROM_EMAIL = os.environ.get("RAPPORT_FROM_EMAIL", "rapport@localhost")

# The service mailbox (`rapport.service.mail`): customers write to it and replies come from
# it. Incoming mail arrives through the raw-message endpoint or is fetched over IMAP every
# minute when RAPPORT_SERVICE_IMAP_HOST is set.
SERVICE_MAILBOX = os.environ.get("RAPPORT_SERVICE_MAILBOX", DEFAULT_FROM_EMAIL)
SERVICE_INBOX_TEAM = os.environ.get("RAPPORT_SERVICE_INBOX_TEAM", "")  # a team's name
SERVICE_IMAP = {
    "host": os.environ.get("RAPPORT_SERVICE_IMAP_HOST", ""),
    "port": int(os.environ.get("RAPPORT_SERVICE_IMAP_PORT", "993")),
    "ssl": env_bool("RAPPORT_SERVICE_IMAP_SSL", True),
    "user": os.environ.get("RAPPORT_SERVICE_IMAP_USER", ""),
    "password": os.environ.get("RAPPORT_SERVICE_IMAP_PASSWORD", ""),
    "folder": os.environ.get("RAPPORT_SERVICE_IMAP_FOLDER", "INBOX"),
}
# a whole e-mail larger than this is refused (its attachments are held to
# ATTACHMENT_MAX_BYTES each and dropped with a note when larger)
SERVICE_MAIL_MAX_BYTES = int(os.environ.get("RAPPORT_SERVICE_MAIL_MAX_MB", "80")) * 1024 * 1024
# SMS (rules, surveys; rapport.core.sms): LogSMSBackend logs and keeps them (nothing leaves the machine),
# ConsoleSMSBackend prints them; a provider's backend has send(to, text) -> id.
RAPPORT_SMS_BACKEND = os.environ.get("RAPPORT_SMS_BACKEND", "rapport.core.sms.LogSMSBackend")

# --- API ------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rapport.identity.api_auth.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Deny by default: every endpoint must declare what it allows.
    "DEFAULT_PERMISSION_CLASSES": ["rapport.core.api_permissions.DenyAll"],
    "DEFAULT_PAGINATION_CLASS": "rapport.core.api.CursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "rapport.core.api.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Rapport CRM API",
    "DESCRIPTION": _("REST API of Rapport CRM. Errors share one body: see the Error schema."),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "COMPONENT_SPLIT_REQUEST": True,
    # record ids in paths (rapport.identity.api.base.RecordId)
    "PATH_CONVERTER_OVERRIDES": {
        "recordid": {"type": "integer", "minimum": 0, "maximum": 999_999_999_999_999_999}
    },
    # Same-named fields with different choice sets get their own enum names.
    "ENUM_NAME_OVERRIDES": {
        "TagColourEnum": "rapport.core.tags.models.Colour",
        "LeadStatusEnum": "rapport.sales.models.LeadStatus",
        "LeadSourceEnum": "rapport.sales.models.LeadSource",
        "LeadRatingEnum": "rapport.sales.models.LeadRating",
        "OpportunityStatusEnum": "rapport.sales.models.OpportunityStatus",
        "ForecastCategoryEnum": "rapport.sales.models.ForecastCategory",
        "QuoteStatusEnum": "rapport.sales.models.QuoteStatus",
        "OrderStatusEnum": "rapport.sales.models.OrderStatus",
        "InvoiceStatusEnum": "rapport.sales.models.InvoiceStatus",
        "InvoiceKindEnum": "rapport.sales.models.InvoiceKind",
        "ContractStatusEnum": "rapport.sales.models.ContractStatus",
        "PaymentMethodEnum": "rapport.sales.models.PaymentMethod",
        "StockMovementKindEnum": "rapport.sales.models.MovementKind",
        "TicketPriorityEnum": "rapport.service.models.TicketPriority",
        "InteractionPriorityEnum": "rapport.customers.models.Priority",
        "TicketStatusEnum": "rapport.service.models.TicketStatus",
        "TicketKindEnum": "rapport.service.models.TicketKind",
        "TicketChannelEnum": "rapport.service.models.TicketChannel",
        "TicketMessageKindEnum": "rapport.service.models.MessageKind",
        "OptionColourEnum": "rapport.customers.models.OptionColour",
        "InteractionDirectionEnum": "rapport.customers.models.Direction",
        "MergeTypeEnum": "rapport.customers.merge_api.MERGE_TYPES",
        "CustomFieldTypeEnum": "rapport.core.customfields.models.FieldType",
        "SubjectRequestKindEnum": "rapport.dataops.models.SubjectRequestKind",
        "SubjectRequestChannelEnum": "rapport.dataops.models.SubjectRequestChannel",
        "SubjectRequestStatusEnum": "rapport.dataops.models.SubjectRequestStatus",
        "SubjectMatchStateEnum": "rapport.dataops.models.MatchState",
        "ConsentChannelEnum": "rapport.customers.models.ConsentChannel",
        "ConsentStatusEnum": "rapport.customers.models.ConsentStatus",
        "InteractionKindEnum": "rapport.customers.models.InteractionKind",
    },
}

AUDIT_RETENTION_DAYS = env_int("RAPPORT_AUDIT_RETENTION_DAYS", 3 * 365)
# Data-subject requests: days to answer (PIPL practice: 15), and how many days before the
# deadline the assignee is reminded.
SUBJECT_REQUEST_DAYS = env_int("RAPPORT_SUBJECT_REQUEST_DAYS", 15)
SUBJECT_REQUEST_REMIND_DAYS = env_int("RAPPORT_SUBJECT_REQUEST_REMIND_DAYS", 3)
WORKING_HOURS = (
    env_int("RAPPORT_WORKDAY_START_HOUR", 8),
    env_int("RAPPORT_WORKDAY_END_HOUR", 20),
)
JOB_STALE_AFTER = timedelta(minutes=10)
TRUST_X_FORWARDED_FOR = env_bool("RAPPORT_TRUST_X_FORWARDED_FOR", False)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("RAPPORT_LOG_LEVEL", "WARNING")},
}
# Lockout is per account (administrator unlock), as the security policy asks; the failed-login
# behaviour rule covers attacks spread over many accounts from one address.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
