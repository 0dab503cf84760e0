"""civportal settings.

Everything comes from the environment, with safe development defaults: with
nothing set the portal runs on SQLite (WAL) and a Celery broker that needs no
server (kombu's filesystem transport). Set ``DATABASE_URL`` and
``CELERY_BROKER_URL`` for PostgreSQL and Redis. Every variable is listed in
README.md.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("CIVPORTAL_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEV_SECRET_KEY = "dev-insecure-civportal-secret-key-change-me"
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", DEV_SECRET_KEY)
DEBUG = env_bool("DJANGO_DEBUG", True)

if not DEBUG and SECRET_KEY == DEV_SECRET_KEY:
    raise ImproperlyConfigured(
        "DJANGO_DEBUG=0 (production) refuses to start with the development secret key: "
        "set DJANGO_SECRET_KEY to a long random value."
    )
if not DEBUG and len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be at least 50 characters in production.")

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "treebeard",
    "axes",
    "csp",
    "simple_history",
    # Our apps; dependencies point one way:
    # campaigns <- notifications <- notices <- volunteers <- inspections <- scores <- dashboards;
    # open311 uses inspections.
    "civportal",
    "campaigns",
    "notifications",
    "notices",
    "volunteers",
    "inspections",
    "materials",
    "surveys",
    "rounds",
    "scores",
    "open311",
    "dashboards",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "civportal.middleware.ChineseByDefaultMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "civportal.middleware.RejectNulBytesMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "notifications.middleware.LeanApiUserMiddleware",  # API users read without the bell's unread count
    "civportal.pwa.OutboxUserMiddleware",  # drafts from a phone's outbox go out only as their writer
    "campaigns.middleware.ScopeMiddleware",  # request.scope: the user's roles and unit paths, read once
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # After a password reset: every page leads to the password change until it is done.
    "campaigns.accounts.middleware.ForcePasswordChangeMiddleware",
    # AxesMiddleware must be last: it turns a lockout into the lockout response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "civportal.urls"
WSGI_APPLICATION = "civportal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "civportal.context_processors.portal",
                "civportal.context_processors.navigation",
                "campaigns.context_processors.roles",
                "notifications.context_processors.inbox",
                "dashboards.context_processors.dashboard",
            ],
        },
    },
]
# Django's form renderer, with its input and select widgets written in Python (the same bytes; a list
# page's filter form cost 15–35 ms through the widget templates): civportal/widget_renderer.py.
FORM_RENDERER = "civportal.widget_renderer.FastWidgetRenderer"

# --- database -------------------------------------------------------------
SQLITE_PATH = os.environ.get("SQLITE_PATH", str(BASE_DIR / "db.sqlite3"))
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL, conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")), conn_health_checks=True
        )
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": SQLITE_PATH,
            "OPTIONS": {
                # WAL lets web, worker and beat read while one of them writes;
                # IMMEDIATE transactions avoid "database is locked" on upgrade.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;",
                "transaction_mode": "IMMEDIATE",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- auth -----------------------------------------------------------------
AUTH_USER_MODEL = "campaigns.User"
AUTHENTICATION_BACKENDS = [
    # Axes first: it refuses a locked-out username+address before any password check.
    "axes.backends.AxesStandaloneBackend",
    # Passwords, plus permissions derived from the user's unit roles (campaigns.backends.RoleBackend),
    # plus the bell's unread count loaded with the user (no extra query per page).
    "notifications.backends.RoleInboxBackend",
]
PASSWORD_MIN_LENGTH = int(os.environ.get("PASSWORD_MIN_LENGTH", "10"))
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": PASSWORD_MIN_LENGTH},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# "Forgot password" e-mails per address and per client address per hour (0 = no limit).
PASSWORD_RESET_PER_HOUR = int(os.environ.get("PASSWORD_RESET_PER_HOUR", "3"))
PASSWORD_RESET_TIMEOUT = int(os.environ.get("PASSWORD_RESET_TIMEOUT", str(24 * 3600)))
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Lockout: 5 failures per username + address, 15 minutes (TARGETS S2).
AXES_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("LOGIN_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "civportal.auth.lockout_response"
AXES_IPWARE_PROXY_COUNT = int(os.environ.get("PROXY_COUNT", "0")) or None
AXES_VERBOSE = False

# Sessions live in the database: a broker or cache outage logs nobody out.
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_AGE = int(os.environ.get("SESSION_COOKIE_AGE", str(60 * 60 * 12)))

# The cache holds API rate-limit counters (and nothing that must survive a
# restart); which one is chosen below, under "shared cache".
CACHE_URL = os.environ.get("CACHE_URL", "")
if not CACHE_URL.startswith(("redis://", "rediss://", "unix://")) and CACHE_URL not in ("", "locmem://", "db://"):
    raise ImproperlyConfigured("CACHE_URL must be empty, locmem://, db:// or a redis:// URL.")

# --- i18n -----------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- static and media -----------------------------------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "staticfiles"))
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
MEDIA_URL = "/media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 12 * 1024 * 1024
MAX_IMPORT_BYTES = int(os.environ.get("MAX_IMPORT_BYTES", str(20 * 1024 * 1024)))
# Largest evidence file a unit may upload for a materials call.
MATERIAL_MAX_BYTES = int(os.environ.get("MATERIAL_MAX_BYTES", str(20 * 1024 * 1024)))
# Survey answers accepted per minute from one address on the public page (0: no limit).
SURVEY_RATE_PER_MINUTE = int(os.environ.get("SURVEY_RATE_PER_MINUTE", "30"))

# --- email ----------------------------------------------------------------
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend" if DEBUG else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "civportal@localhost")
# For EMAIL_BACKEND=django.core.mail.backends.filebased.EmailBackend (tests with a real worker, demos).
EMAIL_FILE_PATH = os.environ.get("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))

# --- security -------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
if not DEBUG:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    if env_bool("BEHIND_TLS_PROXY", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Healthchecks come from load balancers over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

MAP_TILE_URL = os.environ.get("MAP_TILE_URL", "")
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:", "blob:"] + ([MAP_TILE_URL.split("/{")[0]] if MAP_TILE_URL else []),
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}

# Errors answered outside an app's views (unknown URL, NUL bytes, too large) in
# the format of the app that owns the path prefix (civportal.errors.prefix_error).
PATH_ERROR_RESPONDERS = {"/open311/": "open311.formats.path_error"}

# --- REST API -------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: an unauthenticated call gets 401 with a WWW-Authenticate header.
        "rest_framework.authentication.TokenAuthentication",
        # Keys of external systems (API clients): "Authorization: Api-Key <key>".
        "campaigns.api.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Fairness between clients: per API key, per user, per address for anonymous calls.
    "DEFAULT_THROTTLE_CLASSES": ["campaigns.api.throttling.ClientRateThrottle"],
    "DEFAULT_PERMISSION_CLASSES": ["civportal.api.permissions.RolePermissions"],
    "DEFAULT_FILTER_BACKENDS": [
        "civportal.api.filters.StrictFilterBackend",  # unknown query parameters answer 400
        "rest_framework.filters.OrderingFilter",
    ],
    # Lone surrogates and NUL in a JSON body answer 400 (civportal/api/parsers.py); rendering never fails on them.
    "DEFAULT_PARSER_CLASSES": [
        "civportal.api.parsers.StrictJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_RENDERER_CLASSES": [
        "civportal.api.parsers.SafeJSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PAGINATION_CLASS": "civportal.api.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "civportal.api.exceptions.exception_handler",
    "DEFAULT_VERSIONING_CLASS": None,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
# Requests per minute per API key or user (0 turns rate limiting off); anonymous calls per address.
API_RATE_PER_MINUTE = int(os.environ.get("API_RATE_PER_MINUTE", "600"))
API_ANON_RATE_PER_MINUTE = int(os.environ.get("API_ANON_RATE_PER_MINUTE", "60"))
# Sign-in attempts per minute per client address, any username (token route and login page; 0 = off).
LOGIN_RATE_PER_MINUTE = int(os.environ.get("LOGIN_RATE_PER_MINUTE", "20"))
# Open311 GeoReport v2 (/open311/v2/, docs/integrating.md): the jurisdiction_id it answers to
# (default: the host of SITE_URL), whether service requests may be read without a key, and how
# far (metres) a reported position may lie from an evaluation point to be filed at that point.
OPEN311_JURISDICTION_ID = os.environ.get("OPEN311_JURISDICTION_ID", "") or (urlsplit(SITE_URL).hostname or "localhost")
OPEN311_PUBLIC_READ = os.environ.get("OPEN311_PUBLIC_READ", "0") == "1"
OPEN311_POINT_RADIUS_M = int(os.environ.get("OPEN311_POINT_RADIUS_M", "300"))
# Public announcement (公示, docs/scores.md): /public/ pages, Atom feed and JSON of the months the office
# announced, readable without login. Off by default: every /public/ URL answers 404.
PUBLIC_ANNOUNCEMENTS = os.environ.get("PUBLIC_ANNOUNCEMENTS", "0") == "1"
SPECTACULAR_SETTINGS = {
    "TITLE": "civportal API",
    "DESCRIPTION": "REST API of the civilized-city campaign portal (units, roles, plans, inspections, "
    "rectification, scores, volunteers). External systems authenticate with `Authorization: Api-Key <key>` "
    "(keys are created by supervisors); people with `Authorization: Token <token>` (from /api/v1/auth/token/) "
    "or a session. Every error answers `{\"code\", \"detail\", \"errors\"}`; see docs/integrating.md.",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "civportal.api.schema.add_error_responses",
    ],
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # Several models have a "kind"/"status" field with different choices; name each enum.
    "ENUM_NAME_OVERRIDES": {
        "UnitKindEnum": "campaigns.models.Unit.Kind",
        "ProgressReportKindEnum": "campaigns.models.ProgressReport.Kind",
        "CampaignStatusEnum": "campaigns.models.Campaign.Status",
        "IndicatorSystemStatusEnum": "campaigns.models.IndicatorSystem.Status",
        "WorkItemStatusEnum": "campaigns.models.WorkItem.Status",
        "InspectionKindEnum": "inspections.models.Inspection.Kind",
        "InspectionStatusEnum": "inspections.models.Inspection.Status",
        "FindingStatusEnum": "inspections.models.Finding.Status",
        "FindingSourceEnum": "inspections.models.Finding.Source",
        "SeverityEnum": "inspections.models.Severity",
        "TaskStatusEnum": "inspections.models.RectificationTask.Status",
        "SupervisionEnum": "inspections.models.RectificationTask.Supervision",
        "TaskActionEnum": "inspections.models.TaskEvent.Action",
        "ExtensionRequestStatusEnum": "inspections.models.ExtensionRequest.Status",
        "SubmissionOutcomeEnum": "inspections.models.Submission.Outcome",
        "ListFlagEnum": "scores.models.ListFlag",
        "GradeEnum": "scores.models.Grade",
        "AdjustmentKindEnum": "scores.models.ScoreAdjustment.Kind",
        "NotificationEventEnum": "notifications.models.Event",
        "DeliveryStatusEnum": "notifications.models.DeliveryStatus",
        "OpenClosedEnum": "materials.models.MaterialCall.Status",  # also surveys.models.SurveyWave.Status
        "MaterialSubmissionStatusEnum": "materials.models.MaterialSubmission.Status",
        "MaterialStateEnum": "materials.models.MaterialSubmission.State",
        "ApiClientStateEnum": ["active", "revoked", "expired", "disabled"],
        "MaterialEventKindEnum": "materials.models.MaterialEvent.Kind",
        "QuestionKindEnum": "surveys.models.Question.Kind",
        "QuestionRateEnum": "surveys.models.Question.Rate",
        "NoticeKindEnum": "notices.models.Notice.Kind",
        "NoticeStatusEnum": "notices.models.Notice.Status",
        "ImportJobKindEnum": "campaigns.models.ImportJob.Kind",
        "ImportJobStatusEnum": "campaigns.models.ImportJob.Status",
        "PointDrawModeEnum": "rounds.models.PointDraw.Mode",
        "ScheduleFrequencyEnum": "rounds.models.InspectionSchedule.Frequency",
    },
}

# --- Celery ---------------------------------------------------------------
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
BROKER_DIR = VAR_DIR / "celery"
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "control_folder": str(BROKER_DIR / "control"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "store_processed": False,
    }
else:
    # Retry backoff of our tasks stays well below this (STYLE: Celery).
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # One bound for refused and hung (accepting but silent) brokers alike: 2 s per connect or command.
        "visibility_timeout": 3600, "socket_connect_timeout": 2, "socket_timeout": 2,
        # Bounded connection attempts when publishing (ensure_connection reads these).
        "max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2,
    }
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Workers reconnect to a lost broker forever (Celery's default gives up after 100
# attempts, about 45 minutes, and the worker exits) — tests/notifications/test_broker_drops.py.
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
# A task running when the broker drops finishes; its acknowledgement is lost, so
# the message comes back after the visibility timeout and finds its work claimed
# (reminders, imports and deliveries are idempotent). Cancelling it instead
# (Celery 6's default) would abandon a long import half-way.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
# Publishing from a web request gives up fast when the broker is unreachable
# (TARGETS R2): a connect timeout of 2 s and one quick retry (transport options
# above and this policy), then the caller logs and moves on
# (notifications.queueing); the sweeper and the next scan catch up. Workers keep
# reconnecting forever (CELERY_BROKER_CONNECTION_MAX_RETRIES above).
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_ENABLE_UTC = True
CELERY_TASK_ALWAYS_EAGER = False
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# The schedule lives here, in Asia/Shanghai; exactly one beat process runs it.
CELERY_BEAT_SCHEDULE = {
    # Proves worker and beat are alive; cheap and idempotent.
    "heartbeat": {
        "task": "civportal.heartbeat",
        "schedule": crontab(minute="*/5"),
        "options": {"expires": 240},
    },
    # The previous month's civility index drafts, once the month is over (Asia/Shanghai);
    # supervisors review and publish them. Expires before the next day's office hours.
    "scores-previous-month": {
        "task": "scores.compute_previous_month",
        "schedule": crontab(minute=0, hour=2, day_of_month=1),
        "options": {"expires": 6 * 3600},
    },
    # Rectification tasks: due soon (80%), overdue, 督办 (+1 working day), 挂牌督办 (+5).
    # The scan is state-based, so a missed run (broker down) is caught up by the next one.
    "task-reminders": {
        "task": "inspections.scan_task_reminders",
        "schedule": crontab(minute=f"*/{int(os.environ.get('REMINDER_SCAN_MINUTES', '5'))}"),
        "options": {"expires": 240},
    },
    # 回头看: every active re-check rule draws its re-check visits once a day (inspections/rechecks.py).
    "recheck-rules": {
        "task": "inspections.run_recheck_rules",
        "schedule": crontab(minute=30, hour=6),
        "options": {"expires": 6 * 3600},
    },
    # Work items of the campaign ledger: due soon and overdue (deadlines are dates).
    "workitem-reminders": {
        "task": "notifications.scan_workitem_reminders",
        "schedule": crontab(minute="7,37"),
        "options": {"expires": 1500},
    },
    # Materials calls: owed answers due soon and overdue (the office hears of overdue ones).
    "material-call-reminders": {
        "task": "materials.scan_call_reminders",
        "schedule": crontab(minute="17,47"),
        "options": {"expires": 1500},
    },
    # Emails and webhook deliveries left pending (broker outage, lost retry message).
    "sweep-pending-deliveries": {
        "task": "notifications.sweep_pending",
        "schedule": crontab(minute="*"),
        "options": {"expires": 50},
    },
    # Inspection schedules: due occurrences become inspections (once each, by constraint) and remind
    # their inspectors; state-based, so a missed run is caught up while the round still runs.
    "inspection-schedules": {
        "task": "rounds.scan_schedules",
        "schedule": crontab(minute="3,18,33,48"),
        "options": {"expires": 600},
    },
    # Volunteers signed up for an activity tomorrow, once per sign-up.
    "volunteer-activity-reminders": {
        "task": "volunteers.send_activity_reminders",
        "schedule": crontab(hour="9,18", minute=0),
        "options": {"expires": 3000},
    },
}

# --- notifications (docs/notifications.md) --------------------------------
WEBHOOK_TIMEOUT = int(os.environ.get("WEBHOOK_TIMEOUT", "10"))
# Deliver to loopback/private addresses (a receiver on the office LAN)? Off in production by default.
WEBHOOK_ALLOW_PRIVATE_ADDRESSES = env_bool("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", DEBUG)
WEBHOOK_MAX_ATTEMPTS = int(os.environ.get("WEBHOOK_MAX_ATTEMPTS", "6"))
WEBHOOK_DISABLE_AFTER = int(os.environ.get("WEBHOOK_DISABLE_AFTER", "10"))
NOTIFY_EMAIL_MAX_ATTEMPTS = int(os.environ.get("NOTIFY_EMAIL_MAX_ATTEMPTS", "5"))
# Retries wait 30 s, 60 s, 120 s … capped here (and at half the broker's visibility timeout).
NOTIFY_RETRY_BASE_DELAY = 30
NOTIFY_RETRY_MAX_DELAY = 900
BROKER_FAILURE_BACKOFF = int(os.environ.get("BROKER_FAILURE_BACKOFF", "30"))  # seconds without publishing after a failure

# --- logging --------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
    },
}

PORTAL_NAME = _("Civilized City Campaign Portal")

# --- offline field capture (docs/offline.md) --------------------------------
# Pages the service worker keeps on the phone as soon as it is installed (URL
# names); any other page marked @offline_page is kept once it has been opened.
OFFLINE_PRECACHE_PAGES = ["inspections:finding_record"]

# --- planning -------------------------------------------------------------
# Spreadsheets larger than this import in the background (Celery) with a progress page.
INLINE_IMPORT_BYTES = int(os.environ.get("INLINE_IMPORT_BYTES", str(200 * 1024)))
MAP_TILE_ATTRIBUTION = os.environ.get("MAP_TILE_ATTRIBUTION", "")
# Front-end libraries come from npm (package.json: Leaflet, its marker clusters,
# ECharts) and are served from our own static files as static/vendor/<name>/.
for _prefix, _dist in (("leaflet", "leaflet/dist"), ("markercluster", "leaflet.markercluster/dist"),
                       ("echarts", "echarts/dist")):
    if (BASE_DIR / "node_modules" / _dist).is_dir():
        STATICFILES_DIRS.append((f"vendor/{_prefix}", BASE_DIR / "node_modules" / _dist))

# --- object storage (docs/operations.md) ------------------------------------
# Every stored file (evidence photos and thumbnails, progress attachments,
# import spreadsheets) goes to a private S3-compatible bucket (MinIO, Ceph,
# OSS, COS, S3) when AWS_STORAGE_BUCKET_NAME is set, so any web node or worker
# reads what another wrote and nothing lives in a container layer. Files are
# still served only by the scope-checked views, which stream them; a signed
# URL (AWS_QUERYSTRING_EXPIRE seconds) is only ever made for code that asks.
# Empty: local folders (MEDIA_ROOT, PRIVATE_MEDIA_ROOT), the embedded default.
AWS_STORAGE_BUCKET_NAME = os.environ.get("AWS_STORAGE_BUCKET_NAME", "")
if AWS_STORAGE_BUCKET_NAME:
    _s3_options = {
        "bucket_name": AWS_STORAGE_BUCKET_NAME,
        "endpoint_url": os.environ.get("AWS_S3_ENDPOINT_URL") or None,
        "region_name": os.environ.get("AWS_S3_REGION_NAME", "us-east-1"),
        "access_key": os.environ.get("AWS_ACCESS_KEY_ID") or None,
        "secret_key": os.environ.get("AWS_SECRET_ACCESS_KEY") or None,
        "addressing_style": os.environ.get("AWS_S3_ADDRESSING_STYLE", "path"),
        "signature_version": "s3v4",
        "default_acl": None,  # bucket policy decides: private
        "querystring_auth": True,
        "querystring_expire": int(os.environ.get("AWS_QUERYSTRING_EXPIRE", "300")),
        "file_overwrite": False,  # a second upload of the same name gets a new name, never replaces evidence
        "object_parameters": {"CacheControl": "private, max-age=0"},
    }
    STORAGES["default"] = {"BACKEND": "storages.backends.s3.S3Storage",
                           "OPTIONS": {**_s3_options, "location": "media"}}
    STORAGES["photos"] = {"BACKEND": "storages.backends.s3.S3Storage",
                          "OPTIONS": {**_s3_options, "location": "private"}}

# --- shared cache (docs/operations.md) --------------------------------------
# Rate-limit counters must be shared by every web process, or "600 per minute"
# means 600 per gunicorn worker. CACHE_URL wins; otherwise a Redis broker is
# reused (its URL, our key prefix); otherwise the embedded default is the
# database cache (table civportal_cache, created by migrate's post_migrate
# hook), shared by all processes of bin/run. Sessions stay in the database.
if not CACHE_URL and CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    CACHE_URL = CELERY_BROKER_URL
if CACHE_URL.startswith(("redis://", "rediss://", "unix://")):
    CACHES = {
        "default": {
            # Django's, with its client object reused (civportal/cache.py).
            "BACKEND": "civportal.cache.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "civportal"),
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
    # Sessions read through the shared cache, written through to the database (one query
    # less per request; a cache error falls back to the database, so nobody is logged out).
    # Not with a per-process or database cache: no gain there.
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
elif CACHE_URL == "locmem://":  # one process only (tests, a single worker)
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
else:  # "" or db://
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "civportal_cache",
            "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "civportal"),
        }
    }

# --- list response cache (docs/performance.md, "Response cache") -------------------
# API finding and task lists answer repeated requests from the cache above, keyed by the
# caller's memberships and the query, invalidated by every committed write to the tables
# they read. Seconds an entry may live (it bounds staleness only if an invalidation is
# lost); 0 turns it off. On by default in production with a shared cache (Redis or the
# database); never by default with the per-process cache, which other workers' writes
# could not invalidate.
_list_cache_default = "0" if DEBUG or CACHE_URL == "locmem://" else "60"
try:
    LIST_CACHE_SECONDS = max(0, int(os.environ.get("LIST_CACHE_SECONDS") or _list_cache_default))
except ValueError:
    raise ImproperlyConfigured("LIST_CACHE_SECONDS must be a whole number of seconds (0 = off).") from None
LIST_CACHE_ALIAS = "default"
# Parts of pages that only change with a write to their tables (the filter forms' option lists:
# campaigns, categories) are kept in the same cache under the same per-table generations
# (civportal/listcache.py, ``remembered``), so an edit shows at once; seconds an entry may live,
# 0 = off. On by default where the list cache would be, whether or not the list cache is on.
try:
    LIST_MEMO_SECONDS = max(0, int(os.environ.get("LIST_MEMO_SECONDS")
                                   or ("0" if _list_cache_default == "0" else "3600")))
except ValueError:
    raise ImproperlyConfigured("LIST_MEMO_SECONDS must be a whole number of seconds (0 = off).") from None

# The session's user and memberships from the same cache (campaigns/usercache.py): one round trip
# instead of two queries per request, valid only while no user, membership or unit was written
# since (generations, as the list cache). Seconds an entry may live (it bounds staleness only if
# an invalidation is lost); 0 turns it off. On by default in production with Redis only: never
# with the per-process cache, which other workers' writes could not reach, nor with the database
# cache, where the round trip is itself a query.
_user_cache_default = "60" if not DEBUG and CACHE_URL.startswith(("redis://", "rediss://", "unix://")) else "0"
try:
    USER_CACHE_SECONDS = max(0, int(os.environ.get("USER_CACHE_SECONDS") or _user_cache_default))
except ValueError:
    raise ImproperlyConfigured("USER_CACHE_SECONDS must be a whole number of seconds (0 = off).") from None
LIST_CACHE_SCOPE_KEY = "campaigns.scope.cache_key"  # user -> everything the scope filter reads, as a string
LIST_CACHE_RETRY_SECONDS = 5  # after a cache error, lists skip the cache this long (per process)

# --- highly available beat (docs/operations.md) -----------------------------
# With a Redis broker, beat keeps its schedule and a lock in Redis
# (celery-redbeat): run two beats, exactly one holds the lock and schedules;
# when it dies the other takes the lock within BEAT_LOCK_TIMEOUT seconds plus
# one loop. The embedded default (filesystem broker) keeps the simple beat.
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")) and env_bool("BEAT_REDIS_LOCK", True):
    CELERY_BEAT_SCHEDULER = "redbeat.RedBeatScheduler"
    CELERY_REDBEAT_REDIS_URL = os.environ.get("REDBEAT_REDIS_URL", CELERY_BROKER_URL)
    CELERY_REDBEAT_KEY_PREFIX = f"redbeat:{os.environ.get('CACHE_KEY_PREFIX', 'civportal')}:"
    CELERY_REDBEAT_LOCK_TIMEOUT = int(os.environ.get("BEAT_LOCK_TIMEOUT", "60"))
    CELERY_BEAT_MAX_LOOP_INTERVAL = max(1, CELERY_REDBEAT_LOCK_TIMEOUT // 5)
# One Redis may serve several portals (or a test): each names its own queue.
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_QUEUE", "celery")
# For tests and demos only: scan for due reminders every N seconds instead of minutes.
if os.environ.get("REMINDER_SCAN_SECONDS"):
    CELERY_BEAT_SCHEDULE["task-reminders"]["schedule"] = timedelta(seconds=int(os.environ["REMINDER_SCAN_SECONDS"]))

# --- read replicas and connection pooling (docs/operations.md) ----------------
# DATABASE_REPLICA_URLS: one or more streaming replicas of DATABASE_URL. Reads
# of GET requests go there (civportal.db_router); writes, transactions and the
# writer's next REPLICA_PIN_SECONDS stay on the primary; a replica that does
# not answer or lags more than REPLICA_MAX_LAG_SECONDS is skipped.
DATABASE_REPLICAS: list[str] = []
for _n, _url in enumerate(env_list("DATABASE_REPLICA_URLS")):
    _alias = f"replica{_n + 1}"
    DATABASES[_alias] = dj_database_url.parse(
        _url, conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")), conn_health_checks=True)
    DATABASES[_alias].setdefault("OPTIONS", {})["connect_timeout"] = 2
    DATABASES[_alias]["TEST"] = {"MIRROR": "default"}
    DATABASE_REPLICAS.append(_alias)
REPLICA_MAX_LAG_SECONDS = float(os.environ.get("REPLICA_MAX_LAG_SECONDS", "10"))
REPLICA_PIN_SECONDS = int(os.environ.get("REPLICA_PIN_SECONDS", "15"))
REPLICA_CHECK_SECONDS = float(os.environ.get("REPLICA_CHECK_SECONDS", "5"))
if DATABASE_REPLICAS:
    DATABASE_ROUTERS = ["civportal.db_router.ReplicaRouter"]
    MIDDLEWARE.insert(0, "civportal.db_router.ReplicaRoutingMiddleware")
# Behind PgBouncer in transaction mode a cursor cannot outlive its transaction.
if env_bool("DB_DISABLE_SERVER_SIDE_CURSORS", False):
    for _db in DATABASES.values():
        _db["DISABLE_SERVER_SIDE_CURSORS"] = True

# --- observability (docs/operations.md) -------------------------------------
# Request id on every request, response and log line; JSON log lines in
# production (LOG_FORMAT=plain to opt out); /metrics for loopback, a bearer
# METRICS_TOKEN or staff users.
MIDDLEWARE.insert(0, "civportal.observability.RequestObservabilityMiddleware")
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
LOG_FORMAT = os.environ.get("LOG_FORMAT", "plain" if DEBUG else "json")
LOGGING.setdefault("filters", {})["request_id"] = {"()": "civportal.observability.RequestIdFilter"}
LOGGING["formatters"]["json"] = {"()": "civportal.observability.JsonFormatter"}
LOGGING["handlers"]["console"]["filters"] = ["request_id"]
if LOG_FORMAT == "json":
    LOGGING["handlers"]["console"]["formatter"] = "json"
    CELERY_WORKER_HIJACK_ROOT_LOGGER = False  # workers log through the same JSON handler
