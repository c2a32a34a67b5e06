"""Settings for the 一件事 portal, all read from the environment.

Every variable is listed, with its default, in the configuration table of README.md. With
nothing set the portal runs on embedded defaults (SQLite and kombu's filesystem broker) so
that it starts on a bare machine that has only Python.
"""

import datetime
import os
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from departments.signing import DOCUMENTED_SIMULATOR_SECRET

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("PORTAL_VAR_DIR", BASE_DIR / "var"))
# The portal's own writable folder (SQLite file, file broker, beat schedule, uploads): made here
# so that every process — web, worker, beat — finds it on a fresh clone, whatever the database.
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return default if value in (None, "") else int(value)


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return default if value in (None, "") else float(value)


def env_list(name: str, default: str) -> list[str]:
    return [part.strip() for part in os.environ.get(name, default).split(",") if part.strip()]


DEBUG = env_bool("DEBUG")
# Left empty outside DEBUG when unset: Django then refuses, the moment it is needed, to sign
# anything (sessions, CSRF), while commands that sign nothing (migrations) still run.
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY and DEBUG:
    SECRET_KEY = "insecure-development-key-only-for-debug-mode"  # noqa: S105

# --- Personal data at rest -----------------------------------------------------------------
#: Fernet keys for personal data stored encrypted (privacy.crypto): the first encrypts, all
#: decrypt, so a key is rotated by putting a new one first and running `manage.py reencrypt`.
FIELD_ENCRYPTION_KEYS = env_list("FIELD_ENCRYPTION_KEYS", "")
#: Key of the keyed hash by which an encrypted value (a resident ID number) is looked up.
LOOKUP_HASH_KEY = os.environ.get("LOOKUP_HASH_KEY", "")
if DEBUG:
    # Development only (make run): fixed keys, so the demo's data survives a restart.
    FIELD_ENCRYPTION_KEYS = FIELD_ENCRYPTION_KEYS or [
        "ZGV2ZWxvcG1lbnQtb25seS1maWVsZC1rZXktMDAwMDA="
    ]
    LOOKUP_HASH_KEY = LOOKUP_HASH_KEY or "development-only-lookup-hash-key"  # noqa: S105
elif not (FIELD_ENCRYPTION_KEYS and LOOKUP_HASH_KEY):
    raise ImproperlyConfigured(
        "With DEBUG off, set FIELD_ENCRYPTION_KEYS (Fernet keys, comma-separated) and "
        "LOOKUP_HASH_KEY (a long random string): personal data is stored encrypted."
    )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "privacy",
    "csp",
    "accounts",
    "departments",
    "bundles",
    "applications",
    "notifications",
    "feedback",
    "workdays",
    "workbench",
    "supervision",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Before anything reads the session, the query or a form: NUL, lone surrogates and
    # undecodable bytes are a 400 here (see portal/middleware.py).
    "portal.middleware.RefuseUnstorableInput",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "accounts.second_factor.SecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last: it turns a login refused for too many failures into the lockout answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "notifications.context_processors.unread",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'portal.sqlite3'}",
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The worker and the web process share the file: each transaction takes the write lock
    # when it begins and waits for it, rather than failing when a read turns into a write.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    )
elif env_bool("DATABASE_POOL"):
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = True
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Covering indexes (INCLUDE) speed PostgreSQL up; SQLite, for the demo, simply ignores them.
SILENCED_SYSTEM_CHECKS = ["models.W040"]

AUTH_USER_MODEL = "accounts.User"
# django-axes counts failed logins, web and API alike, by account *and* address: a stranger
# elsewhere cannot lock a clerk out, and the answer is the same whether the account exists.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
#: Failed logins in a row (per account and address) that lock, and for how long.
LOGIN_MAX_FAILURES = env_int("LOGIN_MAX_FAILURES", 5)
LOGIN_LOCK_MINUTES = env_int("LOGIN_LOCK_MINUTES", 15)
AXES_FAILURE_LIMIT = LOGIN_MAX_FAILURES
AXES_COOLOFF_TIME = datetime.timedelta(minutes=LOGIN_LOCK_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "accounts.views.locked_out"
AXES_VERBOSE = False
#: Behind a reverse proxy, how many proxies set X-Forwarded-For (0: use the peer address).
AXES_IPWARE_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0) or None
AXES_IPWARE_META_PRECEDENCE_ORDER = (
    ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"] if AXES_IPWARE_PROXY_COUNT else ["REMOTE_ADDR"]
)
#: API tokens (django-rest-knox): stored as hashes, expiring after this many hours.
API_TOKEN_HOURS = env_float("API_TOKEN_HOURS", 12.0)
REST_KNOX = {
    "TOKEN_TTL": datetime.timedelta(hours=API_TOKEN_HOURS),
    "AUTH_HEADER_PREFIX": "Token",
}
#: Two-factor sign-in (TOTP): always for administrators, and for staff who turn it on.
OTP_TOTP_ISSUER = os.environ.get("OTP_ISSUER", "一件事平台")
#: The department whose window clerks check business licences and authorisations (市场监管).
ENTERPRISE_REGISTRY_DEPARTMENT = os.environ.get(
    "ENTERPRISE_REGISTRY_DEPARTMENT", "market_regulation"
)
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

# --- Language and time ----------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- Static files and uploads ---------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
# Uploads live outside the web root and are served only through views that check access.
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "uploads"))
#: An Idempotency-Key whose request left no answer after this long belongs to a process that
#: died mid-request (gunicorn kills a worker after 30 s): a retry with it is served afresh.
IDEMPOTENCY_ABANDONED_SECONDS = env_int("IDEMPOTENCY_ABANDONED_SECONDS", 120)
UPLOAD_MAX_BYTES = env_int("UPLOAD_MAX_BYTES", 10 * 1024 * 1024)
# Form fields and JSON bodies (not files): the largest form is a few kilobytes; parsing a
# body this size takes a small part of a second, a body of megabytes would not.
DATA_UPLOAD_MAX_MEMORY_SIZE = 256 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# --- API ------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "knox.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Bounded: nesting, numbers, text that cannot be stored, size (see portal/parsers.py).
    "DEFAULT_PARSER_CLASSES": [
        "portal.parsers.JSONParser",
        "portal.parsers.FormParser",
        "portal.parsers.MultiPartParser",
    ],
    # Whose address a rate limit counts: the peer's, unless proxies are trusted to set
    # X-Forwarded-For (the same count django-axes uses).
    "NUM_PROXIES": AXES_IPWARE_PROXY_COUNT or 0,
    "DEFAULT_PAGINATION_CLASS": "portal.api.Pagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "portal.api.exception_handler",
}
#: Requests per period for actions worth flooding (per account, or per address when signed
#: out): "scope=N/period,…" with period s, m, h or d.
RATE_LIMITS = {
    "register": "10/h",  # registrations and SMS codes, per address
    "login": "30/m",  # sign-in attempts per address (django-axes locks per account)
    "applications": "60/h",  # new applications per applicant
    "uploads": "300/h",  # uploaded materials per applicant
    "reports": "20/h",  # ratings and 办不成事 reports per applicant
    "sms": "5/h",  # one-time codes texted to one mobile number
} | dict(part.split("=", 1) for part in env_list("RATE_LIMITS", "") if "=" in part)
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
        if (CACHE_URL := os.environ.get("CACHE_URL", ""))
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}
SPECTACULAR_SETTINGS = {
    "TITLE": "一件事 Portal API",
    "DESCRIPTION": "Apply once for a life event; the portal fans the application out to "
    "every department that has a part in it.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # No badge from validator.swagger.io: the docs page loads nothing from outside hosts.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Both models have a "status" with its own choices: each gets a name of its own.
    "ENUM_NAME_OVERRIDES": {
        "ApplicationStatusEnum": "applications.models.ApplicationStatus",
        "SubTaskStatusEnum": "applications.models.SubTaskStatus",
    },
    # How the API's paths take ids and codes (the converters of portal/ids.py).
    "PATH_CONVERTER_OVERRIDES": {
        "id": {"type": "integer", "minimum": 1, "maximum": 999_999_999_999_999_999},
        "code": {"type": "string", "pattern": "^[a-z0-9_]{1,64}$"},
    },
}

# --- Celery ---------------------------------------------------------------------------------
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or "filesystem://"
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    for _folder in (_broker_dir, VAR_DIR / "broker-control"):
        _folder.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "control_folder": str(VAR_DIR / "broker-control"),
        "store_processed": False,
    }
elif CELERY_BROKER_URL.startswith("redis://"):
    # kombu's Redis transport with a fault mended that would end a worker when Redis restarts
    # (portal/broker.py). Only plain redis://: rediss:// and sentinel:// keep kombu's own.
    CELERY_BROKER_TRANSPORT = "portal.broker:Transport"
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = False
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "poll-open-cases": {
        "task": "applications.tasks.poll_open_cases",
        "schedule": env_float("POLL_INTERVAL_SECONDS", 30.0),
    },
    "reconcile": {
        "task": "applications.tasks.reconcile",
        "schedule": env_float("RECONCILE_INTERVAL_SECONDS", 60.0),
    },
    "refresh-dashboards": {
        "task": "supervision.tasks.refresh_dashboards",
        "schedule": env_float("DASHBOARD_SNAPSHOT_SECONDS", 300.0) * 0.8,
    },
    "warn-due-soon": {
        "task": "workbench.tasks.warn_due_soon",
        "schedule": crontab(hour=8, minute=0),
    },
}

# --- The engine and departments -------------------------------------------------------------
#: How often dispatch to a department system is tried before the sub-task becomes `failed`.
DISPATCH_MAX_ATTEMPTS = env_int("DISPATCH_MAX_ATTEMPTS", 6)
#: First back-off delay; each later one doubles, with jitter.
DISPATCH_RETRY_BASE_SECONDS = env_float("DISPATCH_RETRY_BASE_SECONDS", 2.0)
DISPATCH_RETRY_MAX_SECONDS = env_float("DISPATCH_RETRY_MAX_SECONDS", 300.0)
DEPARTMENT_HTTP_TIMEOUT = env_float("DEPARTMENT_HTTP_TIMEOUT", 5.0)
#: Work untouched for this long is taken as lost by the reconciler and nudged again.
RECONCILE_STALE_SECONDS = env_float("RECONCILE_STALE_SECONDS", 120.0)
#: Where department systems reach us; callback URLs are built on it.
PORTAL_BASE_URL = os.environ.get("PORTAL_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
#: Dashboard figures are served from a snapshot at most this old (a beat job refreshes them).
DASHBOARD_SNAPSHOT_SECONDS = env_float("DASHBOARD_SNAPSHOT_SECONDS", 300.0)
#: A worker counts as alive while its heartbeat is younger than this.
WORKER_HEARTBEAT_SECONDS = env_float("WORKER_HEARTBEAT_SECONDS", 10.0)

# --- Notifications --------------------------------------------------------------------------
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "yijianshi@localhost")
#: Classes that send e-mail and SMS (notifications.senders); a province plugs its SMS gateway in.
EMAIL_SENDER = os.environ.get("EMAIL_SENDER", "notifications.senders.EmailSender")
SMS_SENDER = os.environ.get("SMS_SENDER", "notifications.senders.LogSender")
#: For SMS_SENDER = notifications.senders.HttpGatewaySender: where to POST a text message, and
#: the bearer token the gateway expects.
SMS_GATEWAY_URL = os.environ.get("SMS_GATEWAY_URL", "")
SMS_GATEWAY_TOKEN = os.environ.get("SMS_GATEWAY_TOKEN", "")
NOTIFICATION_MAX_ATTEMPTS = env_int("NOTIFICATION_MAX_ATTEMPTS", 5)

#: A TrueType font with Chinese glyphs, embedded in PDFs (receipts, electronic certificates).
PDF_FONT_PATH = os.environ.get("PDF_FONT_PATH", "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

# --- Browser security ----------------------------------------------------------------------
# Nothing inline, on any page we serve (our templates, the admin, Swagger UI): scripts and
# styles come from our own static files only, so an injected <script> or style attribute is
# inert. The charts and bundle diagrams are SVG drawn with presentation attributes and classes.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        # data: for our favicon placeholder and the icons inside Swagger UI's stylesheet.
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    },
}
# Django's defaults, stated: no framing (as frame-ancestors says), no MIME sniffing, and no
# Referer sent to other sites (our paths hold application numbers).
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
    #: Plain HTTP is answered with a redirect to HTTPS — except /healthz, which a load
    #: balancer or orchestrator may probe over HTTP inside the network.
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    #: Browsers remember to use HTTPS only for this long (0 turns HSTS off).
    SECURE_HSTS_SECONDS = env_int("HSTS_SECONDS", 365 * 24 * 60 * 60)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("HSTS_PRELOAD", False)
    if not SECURE_HSTS_PRELOAD:
        # Asking browsers to preload the domain (hstspreload.org) binds every subdomain to
        # HTTPS for months and is hard to undo: the domain's owner decides, not a default.
        SILENCED_SYSTEM_CHECKS.append("security.W021")
#: Behind a reverse proxy that ends TLS, the header it sets to say the request came over
#: HTTPS, e.g. "X-Forwarded-Proto: https". Only set this if the proxy always sets (and
#: overwrites) that header; otherwise a client could claim HTTPS.
if os.environ.get("SECURE_PROXY_SSL_HEADER"):
    _header, _, _value = (p.strip() for p in os.environ["SECURE_PROXY_SSL_HEADER"].partition(":"))
    if not _header or not _value:
        raise ImproperlyConfigured(
            "SECURE_PROXY_SSL_HEADER must read 'Header-Name: value', "
            "e.g. 'X-Forwarded-Proto: https'."
        )
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + _header.upper().replace("-", "_"), _value)
SESSION_COOKIE_AGE = 30 * 60
SESSION_SAVE_EVERY_REQUEST = True
#: A caller presenting "Authorization: Bearer <this>" to /healthz sees each check's details
#: (as signed-in staff do); empty: no token gives details.
HEALTHZ_TOKEN = os.environ.get("HEALTHZ_TOKEN", "")

#: The department simulator: where catalogue departments of kind `http` point by default.
DEPARTMENT_SIMULATOR_URL = os.environ.get(
    "DEPARTMENT_SIMULATOR_URL", "http://127.0.0.1:8765"
).rstrip("/")
#: Its master secret: each simulated department's own secret is drawn from it and the
#: department's code (departments.signing.department_secret). The documented default, which
#: anyone can read, is for DEBUG (the demo) only.
DEPARTMENT_SIMULATOR_SECRET = os.environ.get("DEPARTMENT_SIMULATOR_SECRET", "")
if DEBUG and not DEPARTMENT_SIMULATOR_SECRET:
    DEPARTMENT_SIMULATOR_SECRET = DOCUMENTED_SIMULATOR_SECRET
if not DEBUG and DEPARTMENT_SIMULATOR_SECRET in ("", DOCUMENTED_SIMULATOR_SECRET):
    raise ImproperlyConfigured(
        "DEPARTMENT_SIMULATOR_SECRET is unset or still the documented default "
        f"{DOCUMENTED_SIMULATOR_SECRET!r}: with DEBUG off, set the environment variable "
        "DEPARTMENT_SIMULATOR_SECRET to a long random value, e.g. the output of "
        "`python -c 'import secrets; print(secrets.token_hex(32))'`."
    )
