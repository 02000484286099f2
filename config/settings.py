"""Settings for the complaint portal: one module, configured from the environment.

Every variable read here is listed in README.md with its default. A fresh checkout
with DEBUG=true runs on SQLite, local files and Kombu's filesystem broker under
var/; production points the same code at PostgreSQL, Redis and S3.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}") from exc


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return list(default or [])
    return [item.strip() for item in raw.split(",") if item.strip()]


# --- Django core ---------------------------------------------------------------

DEBUG = env_bool("DEBUG", False)

# Runtime data of the embedded default (SQLite, broker folders, files, mail).
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    # Only for local development; never used when DEBUG is off.
    SECRET_KEY = "insecure-development-key-only-for-debug-runs-do-not-deploy-0123456789"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "crispy_forms",
    "crispy_bootstrap5",
    # Only anymail's inbound webhooks are used (complaints.webhooks); sending stays on EMAIL_BACKEND.
    "anymail",
    # The second factor (accounts.second_factor): TOTP authenticators and recovery codes.
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "accounts",
    "complaints",
    "escalation",
    "evidence",
    "staff",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy (CONTENT_SECURITY_POLICY below) and Permissions-Policy headers.
    "csp.middleware.CSPMiddleware",
    "config.middleware.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    # A view that finds the database unavailable answers 503 (config.views.database_unavailable).
    "config.middleware.DatabaseUnavailableMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): the second factor this session passed (django-otp) ...
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # A view that raised common.ratelimit.Refused answers 429.
    "common.ratelimit.RefusedMiddleware",
    # Staff sessions end after STAFF_SESSION_IDLE_MINUTES without a request.
    "accounts.sessions.StaffIdleTimeoutMiddleware",
    # ... which staff, and anyone who set one up, must pass before any other page opens.
    "accounts.middleware.SecondFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.roles",
                "evidence.context_processors.limits",
            ],
            # |when, |day and |duration in every template, e-mails included: the one way to show a time.
            "builtins": ["common.times"],
            # Forms with crispy-bootstrap5's markup, written in Python (common.bootstrap); {% route %},
            # {% url %} with each route reversed once per process (common.urls).
            "libraries": {"bootstrap_forms": "common.bootstrap", "routes": "common.urls"},
        },
    },
]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Database --------------------------------------------------------------------

# SQLite under var/ unless DATABASE_URL names another database (PostgreSQL in production).
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL, conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60), conn_health_checks=True
        )
    }
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # Server-side binding lets psycopg prepare the statements every request repeats
        # (intake's inserts): less parsing and planning in PostgreSQL. Turn it off behind
        # a transaction-pooling PgBouncer. https://docs.djangoproject.com/en/5.2/ref/databases/#server-side-parameters-binding
        DATABASES["default"].setdefault("OPTIONS", {})["server_side_binding"] = env_bool(
            "DATABASE_SERVER_SIDE_BINDING", True
        )
else:
    # A fresh checkout must run as it is: make the folder the database lives in.
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "portal.sqlite3",
            # WAL lets the web server, worker and beat read while one of them writes;
            # IMMEDIATE takes the write lock at BEGIN so concurrent writers wait, not fail.
            "OPTIONS": {
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    }

# --- Accounts and sessions ---------------------------------------------------------

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["accounts.backends.EmailOrUsernameBackend"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Password-reset links stay valid for one day.
PASSWORD_RESET_TIMEOUT = 60 * 60 * 24

# The second factor (accounts.second_factor): every staff role and admin enrols a TOTP
# authenticator; complainants may. The name authenticator apps list the portal under.
OTP_TOTP_ISSUER = env_str("OTP_TOTP_ISSUER", "Complaint portal")
# "Remember this browser" after a code: days the browser skips the code (0: never offered).
OTP_REMEMBER_DAYS = env_int("OTP_REMEMBER_DAYS", 7)
if not 0 <= OTP_REMEMBER_DAYS <= 30:
    raise ImproperlyConfigured("OTP_REMEMBER_DAYS must be a whole number of days from 0 to 30.")
# Secrets and recovery codes never appear in the admin: an administrator resets a second
# factor by deleting the person's devices there, and the person enrols again.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

# --- Security ----------------------------------------------------------------------

# Secure by default; a DEBUG run on http://127.0.0.1 turns the HTTPS-only flags off.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_AGE = 60 * 60 * 24 * 365
SESSION_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# Pages load only the portal's own files: no inline script or style, no plugins, no framing.
# Evidence previews (<img> of the download view) redirect to a signed S3 link in production,
# so that origin is allowed for images and media too. django-csp 4 format:
# https://django-csp.readthedocs.io/en/latest/configuration.html
_evidence_origins: list[str] = []
if env_str("EVIDENCE_STORAGE", "local") == "s3":
    from urllib.parse import urlsplit

    _bucket = env_str("AWS_STORAGE_BUCKET_NAME")
    _endpoint = urlsplit(env_str("AWS_S3_ENDPOINT_URL"))
    if _endpoint.netloc:
        # Path-style (endpoint/bucket/key) or virtual-hosted (bucket.endpoint/key) links.
        _evidence_origins = [
            f"{_endpoint.scheme}://{_endpoint.netloc}",
            f"{_endpoint.scheme}://{_bucket}.{_endpoint.netloc}",
        ]
    else:
        _region = env_str("AWS_S3_REGION_NAME")
        _evidence_origins = [f"https://{_bucket}.s3.amazonaws.com"]
        if _region:
            _evidence_origins.append(f"https://{_bucket}.s3.{_region}.amazonaws.com")
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", *_evidence_origins],
        "media-src": ["'self'", *_evidence_origins],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
# Browser features no page of the portal uses, switched off for every page (config.middleware).
PERMISSIONS_POLICY = {
    feature: []
    for feature in (
        "accelerometer",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "publickey-credentials-get",
        "screen-wake-lock",
        "serial",
        "usb",
        "xr-spatial-tracking",
    )
}
# Behind a TLS-terminating proxy: USE_X_FORWARDED_PROTO=true trusts its X-Forwarded-Proto.
if env_bool("USE_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Languages and time -----------------------------------------------------------

LANGUAGE_CODE = env_str("LANGUAGE_CODE", "vi")
LANGUAGES = [("vi", _("Vietnamese")), ("en", _("English"))]
if LANGUAGE_CODE not in dict(LANGUAGES):
    raise ImproperlyConfigured(f"LANGUAGE_CODE must be one of {', '.join(dict(LANGUAGES))}.")
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "Asia/Ho_Chi_Minh")
# One date and one date-and-time format per language (common.times shows every time with them).
FORMAT_MODULE_PATH = ["config.formats"]
USE_I18N = True
USE_TZ = True

# --- Static files and storage ------------------------------------------------------

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "static")))
STATICFILES_DIRS = [BASE_DIR / "static"]
# With DEBUG on, WhiteNoise serves straight from the source folders (no collectstatic).
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

# Evidence is private: it lives outside every publicly served folder and is only ever
# handed out by a permission-checked view.
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "files")))
EVIDENCE_STORAGE = env_str("EVIDENCE_STORAGE", "local")

if EVIDENCE_STORAGE == "local":
    _default_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": MEDIA_ROOT, "base_url": None},
    }
elif EVIDENCE_STORAGE == "s3":
    _missing = [name for name in ("AWS_STORAGE_BUCKET_NAME",) if not env_str(name)]
    if bool(env_str("AWS_ACCESS_KEY_ID")) != bool(env_str("AWS_SECRET_ACCESS_KEY")):
        _missing.append("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (both or neither)")
    if _missing:
        raise ImproperlyConfigured("EVIDENCE_STORAGE=s3 needs " + ", ".join(_missing) + ".")
    # https://django-storages.readthedocs.io/en/latest/backends/amazon-S3.html
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env_str("AWS_STORAGE_BUCKET_NAME"),
            "access_key": env_str("AWS_ACCESS_KEY_ID") or None,
            "secret_key": env_str("AWS_SECRET_ACCESS_KEY") or None,
            "region_name": env_str("AWS_S3_REGION_NAME") or None,
            "endpoint_url": env_str("AWS_S3_ENDPOINT_URL") or None,
            "default_acl": "private",
            "querystring_auth": True,
            "querystring_expire": env_int("AWS_QUERYSTRING_EXPIRE", 300),
            # SigV4 links carry their lifetime (X-Amz-Expires) and work in every region.
            "signature_version": "s3v4",
            "file_overwrite": False,
        },
    }
else:
    raise ImproperlyConfigured("EVIDENCE_STORAGE must be 'local' or 's3'.")

STORAGES = {
    "default": _default_storage,
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Evidence limits (bytes unless said otherwise). Every upload streams through
# evidence.uploadhandler: to a temporary file, capped while reading, hashed on the way.
EVIDENCE_MAX_BYTES = env_int("EVIDENCE_MAX_BYTES", 25 * 1024 * 1024)
EVIDENCE_MAX_VIDEO_BYTES = env_int("EVIDENCE_MAX_VIDEO_BYTES", 200 * 1024 * 1024)
EVIDENCE_MAX_FILES = env_int("EVIDENCE_MAX_FILES", 20)
EVIDENCE_MAX_TOTAL_BYTES = env_int("EVIDENCE_MAX_TOTAL_BYTES", 500 * 1024 * 1024)
# Images with more pixels are refused before they are decoded (decompression bombs).
EVIDENCE_MAX_IMAGE_PIXELS = env_int("EVIDENCE_MAX_IMAGE_PIXELS", 40_000_000)
FILE_UPLOAD_HANDLERS = ["evidence.uploadhandler.EvidenceUploadHandler"]
FILE_UPLOAD_TEMP_DIR = env_str("FILE_UPLOAD_TEMP_DIR") or None
# Signed S3 download links live this long (seconds).
EVIDENCE_URL_EXPIRY = env_int("AWS_QUERYSTRING_EXPIRE", 300)

# --- Celery ---------------------------------------------------------------------------

# Kombu's filesystem transport needs no server: the embedded default for `make run`.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
CELERY_BROKER_DIR = VAR_DIR / "broker"
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR / "queue"),
        "data_folder_out": str(CELERY_BROKER_DIR / "queue"),
        "processed_folder": str(CELERY_BROKER_DIR / "processed"),
        "control_folder": str(CELERY_BROKER_DIR / "control"),
        "store_processed": False,
    }
else:
    # A dead broker must not stall a request that nudges a task: fail fast.
    # (kombu otherwise retries a failed connection once more after 2 s, on every nudge).
    CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 2, "socket_timeout": 5, "max_retries": 0}
CELERY_BROKER_CONNECTION_TIMEOUT = 2
# Workers and beat wait for the broker for ever, at start-up and after losing it, one log
# line per attempt (config/broker.py); the waits grow by BROKER_RETRY_INTERVAL_MS up to
# BROKER_RETRY_MAX_INTERVAL_MS.
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
BROKER_RETRY_INTERVAL_MS = env_int("BROKER_RETRY_INTERVAL_MS", 2000)
BROKER_RETRY_MAX_INTERVAL_MS = env_int("BROKER_RETRY_MAX_INTERVAL_MS", 30_000)
CELERY_WORKER_CONSUMER = "config.broker:Consumer"
CELERY_BEAT_SCHEDULER = "config.broker:Scheduler"
# A task running when the connection drops finishes rather than being killed (a delivery
# run cut short would send part of its batch twice); config/broker.py mutes Celery's warning.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND") or None
CELERY_TASK_IGNORE_RESULT = CELERY_RESULT_BACKEND is None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Beat runs in UTC; each entry's task body is one service call.
NOTIFICATION_DELIVERY_INTERVAL = env_int("NOTIFICATION_DELIVERY_INTERVAL", 5)
SLA_SWEEP_INTERVAL = env_int("SLA_SWEEP_INTERVAL", 60)
# Complaints locked, decided and written per transaction by the sweep.
SLA_SWEEP_BATCH_SIZE = env_int("SLA_SWEEP_BATCH_SIZE", 500)
# Threads (each with its own database connection) a sweep with more than one batch due
# uses: one decides a batch while PostgreSQL writes another's. 1 on SQLite whatever is set.
SLA_SWEEP_THREADS = env_int("SLA_SWEEP_THREADS", 2)
# Waves (complaints.services.waves): every WAVE_CHECK_INTERVAL seconds, each category's and
# provider's complaints of the last hour against the same hour of the week in the four weeks
# before; WAVE_FACTOR times the usual and at least WAVE_MIN_COUNT is a wave, told to the managers.
WAVE_CHECK_INTERVAL = env_int("WAVE_CHECK_INTERVAL", 900)
WAVE_FACTOR = env_int("WAVE_FACTOR", 3)
WAVE_MIN_COUNT = env_int("WAVE_MIN_COUNT", 10)
if WAVE_FACTOR < 1 or WAVE_MIN_COUNT < 1 or WAVE_CHECK_INTERVAL < 1:
    raise ImproperlyConfigured("WAVE_FACTOR, WAVE_MIN_COUNT and WAVE_CHECK_INTERVAL must be at least 1.")
CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    "deliver-notifications": {
        "task": "complaints.tasks.deliver_notifications",
        "schedule": float(NOTIFICATION_DELIVERY_INTERVAL),
        "options": {"expires": float(NOTIFICATION_DELIVERY_INTERVAL)},
    },
    "sweep-sla": {
        "task": "escalation.tasks.sweep_sla",
        "schedule": float(SLA_SWEEP_INTERVAL),
        "options": {"expires": float(SLA_SWEEP_INTERVAL)},
    },
    "reap-orphaned-evidence": {
        "task": "evidence.tasks.reap_orphaned_evidence",
        "schedule": 6 * 3600.0,
        "options": {"expires": 3600.0},
    },
    "reap-staged-uploads": {
        "task": "evidence.tasks.reap_staged_uploads",
        "schedule": 3600.0,
        "options": {"expires": 3600.0},
    },
    "close-resolved-complaints": {
        "task": "complaints.tasks.close_resolved_complaints",
        "schedule": 3600.0,
        "options": {"expires": 3600.0},
    },
    # Retention: personal data of ended cases past their category's period, erased daily.
    "anonymise-expired-complaints": {
        "task": "complaints.tasks.anonymise_expired_complaints",
        "schedule": 24 * 3600.0,
        "options": {"expires": 24 * 3600.0},
    },
    "detect-waves": {
        "task": "complaints.tasks.detect_waves",
        "schedule": float(WAVE_CHECK_INTERVAL),
        "options": {"expires": float(WAVE_CHECK_INTERVAL)},
    },
    # The dashboard's tallies (complaints.tallies): what the triggers appended, folded.
    "compact-tallies": {
        "task": "complaints.tasks.compact_tallies",
        "schedule": 600.0,
        "options": {"expires": 600.0},
    },
}

# --- Inbound e-mail: the IMAP mailbox and the folder -------------------------------------

# The IMAP door (complaints.mailbox): a mailbox of the portal's own, polled on beat; each
# message is moved to the processed folder once its effects are committed.
INBOUND_IMAP_HOST = env_str("INBOUND_IMAP_HOST")
INBOUND_IMAP_SSL = env_bool("INBOUND_IMAP_SSL", True)
INBOUND_IMAP_PORT = env_int("INBOUND_IMAP_PORT", 993 if INBOUND_IMAP_SSL else 143)
INBOUND_IMAP_USER = env_str("INBOUND_IMAP_USER")
INBOUND_IMAP_PASSWORD = env_str("INBOUND_IMAP_PASSWORD")
INBOUND_IMAP_FOLDER = env_str("INBOUND_IMAP_FOLDER", "INBOX")
INBOUND_IMAP_PROCESSED_FOLDER = env_str("INBOUND_IMAP_PROCESSED_FOLDER", "Processed")
if INBOUND_IMAP_HOST and not (INBOUND_IMAP_USER and INBOUND_IMAP_PASSWORD):
    raise ImproperlyConfigured("INBOUND_IMAP_HOST needs INBOUND_IMAP_USER and INBOUND_IMAP_PASSWORD.")
# The folder door, for `make run`: drop a .eml in var/inbox/ and the worker takes it.
_inbound_folder = env_str("INBOUND_FOLDER", str(VAR_DIR / "inbox") if DEBUG else "")
INBOUND_FOLDER = Path(_inbound_folder) if _inbound_folder else None
INBOUND_POLL_INTERVAL = env_int("INBOUND_POLL_INTERVAL", 10)
if INBOUND_IMAP_HOST or INBOUND_FOLDER:
    CELERY_BEAT_SCHEDULE["poll-inbound-mail"] = {
        "task": "complaints.tasks.poll_inbound_mail",
        "schedule": float(INBOUND_POLL_INTERVAL),
        "options": {"expires": float(INBOUND_POLL_INTERVAL)},
    }

# --- Cache (rate limits) -------------------------------------------------------------------

# Redis in production (CACHE_URL=redis://...); one process's memory for a DEBUG run. Django's
# Redis backend with its clients kept and rate limits counted in one round trip (common.cache).
CACHE_URL = env_str("CACHE_URL")
if CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "common.cache.RedisCache",
            "LOCATION": CACHE_URL,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Rendered page fragments ({% cache %}: a guest's empty filing form) stay in each process's
# own memory, under keys that name what they show: nothing personal, nothing to share.
CACHES["template_fragments"] = {
    "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
    "LOCATION": "template-fragments",
}

# --- Abuse limits --------------------------------------------------------------------------

# Fixed windows counted in the cache above (common.ratelimit). Sign-in fails closed when the
# cache is down; intake and reminders fail open (a complaint is never lost).
# Failed sign-ins per username (or e-mail) from one address, and from one address across names.
LOGIN_LIMIT_PER_USER_IP = env_int("LOGIN_LIMIT_PER_USER_IP", 5)
LOGIN_LIMIT_PER_IP = env_int("LOGIN_LIMIT_PER_IP", 50)
LOGIN_LIMIT_WINDOW = env_int("LOGIN_LIMIT_WINDOW", 15 * 60)
# Failed sign-ins to one account from all addresses within the window; past it, attempts
# from browsers the account has not signed in from are slowed and privacy officers alerted.
LOGIN_LIMIT_PER_ACCOUNT = env_int("LOGIN_LIMIT_PER_ACCOUNT", 20)
LOGIN_SLOW_SECONDS = env_int("LOGIN_SLOW_SECONDS", 30)
# How long a browser stays known to an account it signed in from.
LOGIN_KNOWN_BROWSER_DAYS = env_int("LOGIN_KNOWN_BROWSER_DAYS", 90)
# The same alert to privacy officers (kind and account) at most once in this many minutes.
SECURITY_ALERT_QUIET_MINUTES = env_int("SECURITY_ALERT_QUIET_MINUTES", 60)
# Files, dossiers and exports one account may download in an hour before the privacy
# officers are alerted (they are not stopped).
BULK_DOWNLOAD_ALERT = env_int("BULK_DOWNLOAD_ALERT", 100)
# Look-ups of a complaint (reference or tracking link) that fail, per client address and window.
LOOKUP_FAILURE_LIMIT = env_int("LOOKUP_FAILURE_LIMIT", 30)
LOOKUP_FAILURE_WINDOW = env_int("LOOKUP_FAILURE_WINDOW", 3600)
# A staff member's (or the admin's) session ends after this long without a request.
STAFF_SESSION_IDLE_MINUTES = env_int("STAFF_SESSION_IDLE_MINUTES", 480)
if STAFF_SESSION_IDLE_MINUTES < 1:
    raise ImproperlyConfigured("STAFF_SESSION_IDLE_MINUTES must be at least 1.")
# Wrong second-factor codes (authenticator or recovery) per account, and per address across
# accounts, in a window (fails closed). django-otp also makes each device wait longer after
# every failure in a row (1 s, 2 s, 4 s, ...) until a right code.
OTP_LIMIT_PER_USER = env_int("OTP_LIMIT_PER_USER", 10)
OTP_LIMIT_PER_IP = env_int("OTP_LIMIT_PER_IP", 50)
OTP_LIMIT_WINDOW = env_int("OTP_LIMIT_WINDOW", 15 * 60)
# Complaints filed, and reminders sent, per address and per contact e-mail in an hour.
INTAKE_LIMIT_PER_IP = env_int("INTAKE_LIMIT_PER_IP", 20)
INTAKE_LIMIT_PER_EMAIL = env_int("INTAKE_LIMIT_PER_EMAIL", 10)
REMINDER_LIMIT_PER_IP = env_int("REMINDER_LIMIT_PER_IP", 20)
REMINDER_LIMIT_PER_EMAIL = env_int("REMINDER_LIMIT_PER_EMAIL", 10)
# Password reset e-mails, per client address and per e-mail address, each per hour (fail open).
PASSWORD_RESET_LIMIT_PER_IP = env_int("PASSWORD_RESET_LIMIT_PER_IP", 10)
PASSWORD_RESET_LIMIT_PER_EMAIL = env_int("PASSWORD_RESET_LIMIT_PER_EMAIL", 3)
# Proxies in front of the portal that append to X-Forwarded-For; 0 trusts none (REMOTE_ADDR).
RATE_LIMIT_TRUSTED_PROXIES = env_int("RATE_LIMIT_TRUSTED_PROXIES", 0)

# --- E-mail ------------------------------------------------------------------------------

_EMAIL_BACKENDS = {
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
    "console": "django.core.mail.backends.console.EmailBackend",
    "file": "django.core.mail.backends.filebased.EmailBackend",
    "locmem": "django.core.mail.backends.locmem.EmailBackend",
}
_email_backend = env_str("EMAIL_BACKEND", "file" if DEBUG else "smtp")
if _email_backend not in _EMAIL_BACKENDS:
    raise ImproperlyConfigured(f"EMAIL_BACKEND must be one of {', '.join(_EMAIL_BACKENDS)}.")
EMAIL_BACKEND = _EMAIL_BACKENDS[_email_backend]
EMAIL_FILE_PATH = VAR_DIR / "mail"
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Complaint portal <no-reply@localhost>")

# --- Personal data -----------------------------------------------------------------

# Named by the privacy notice complainants consent to when filing (complaints.consent).
PORTAL_OPERATOR_NAME = env_str("PORTAL_OPERATOR_NAME", "")
PRIVACY_CONTACT_EMAIL = env_str("PRIVACY_CONTACT_EMAIL", "")
# Years a closed complaint's personal data is kept, unless its category says otherwise.
RETENTION_DEFAULT_YEARS = env_int("RETENTION_DEFAULT_YEARS", 3)
# Working time (on the case's business calendar) within which a request about personal data
# is due: set it to what your regulator requires.
PRIVACY_REQUEST_WORKING_HOURS = env_int("PRIVACY_REQUEST_WORKING_HOURS", 72)
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# The mailbox replies to the portal's e-mails reach. Each notice about a case carries a
# Reply-To of `<local>+<token>@<domain>` (complaints.replies), whose token is 32 characters:
# RFC 5321 allows 64 in a local part, so the configured one may have 31 at most.
INBOUND_LOCAL_MAX_LENGTH = 64 - 1 - 32


def inbound_address(name: str, default: str) -> str:
    """The address in variable `name` (empty: no replies by e-mail), checked: one bare address
    whose local part holds no `+` (the token goes there) and leaves room for the token."""
    value = env_str(name, default).strip()
    if not value:
        return ""
    local, _at, _domain = value.rpartition("@")
    try:
        validate_email(value)
    except ValidationError:
        raise ImproperlyConfigured(
            f"{name} must be one e-mail address such as replies@example.org (no name, no list), "
            f"not {value!r}."
        ) from None
    if "+" in local:
        raise ImproperlyConfigured(
            f"{name} must have no '+' in the part before the @ (the portal adds +<token> there), "
            f"not {value!r}."
        )
    if len(local) > INBOUND_LOCAL_MAX_LENGTH:
        raise ImproperlyConfigured(
            f"{name}: the part before the @ may have at most {INBOUND_LOCAL_MAX_LENGTH} characters "
            f"(the portal adds +<token> there), not {len(local)}."
        )
    return value


# Empty: the e-mails ask people to write from the case page instead of replying.
INBOUND_EMAIL_ADDRESS = inbound_address("INBOUND_EMAIL_ADDRESS", "replies@localhost" if DEBUG else "")


# --- Inbound e-mail: mail providers' webhooks -------------------------------------------

# Posts of Amazon SES, Mailgun, Postmark and SendGrid under /inbound/ (complaints.webhooks),
# through django-anymail: https://anymail.dev/en/stable/inbound/
# The shared secret ("user:password") every provider puts in the URL as HTTP basic auth.
# Without it the endpoints refuse every post (503): unauthenticated mail is never taken in.
_webhook_secret = env_str("ANYMAIL_WEBHOOK_SECRET")
_webhook_user, _, _webhook_password = _webhook_secret.partition(":")
if _webhook_secret and not (_webhook_user and _webhook_password):
    raise ImproperlyConfigured("ANYMAIL_WEBHOOK_SECRET must read user:password, neither empty.")
ANYMAIL = {
    "WEBHOOK_SECRET": _webhook_secret,
    # Mailgun's HMAC key ("HTTP webhook signing key"); without it Mailgun's posts are refused.
    "MAILGUN_WEBHOOK_SIGNING_KEY": env_str("MAILGUN_WEBHOOK_SIGNING_KEY"),
    # anymail confirms an SNS subscription (only when basic auth passed) through boto3, so it
    # needs AWS credentials; off, confirm it by hand in the SNS console.
    "AMAZON_SES_AUTO_CONFIRM_SNS_SUBSCRIPTIONS": env_bool("AMAZON_SES_AUTO_CONFIRM_SNS_SUBSCRIPTIONS", True),
}
# Mailgun signs only a timestamp and a token, and (as reported) resends the same signature on
# its retries over 8 hours: older posts are refused as replays, a window covering those retries.
MAILGUN_WEBHOOK_MAX_AGE = env_int("MAILGUN_WEBHOOK_MAX_AGE", 9 * 3600)
# SNS topics whose notifications are accepted (empty: any topic that passes basic auth).
AMAZON_SES_INBOUND_TOPIC_ARNS = env_list("AMAZON_SES_INBOUND_TOPIC_ARNS")
# The pipeline every door hands a message's raw bytes to: receive_raw(raw: bytes).
INBOUND_HANDLER = "complaints.services.inbound.receive_raw"

# --- Forms ---------------------------------------------------------------------------------

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# --- Portal ----------------------------------------------------------------------------------

# The portal's public address, for links in e-mails.
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000")
# How long a guest's tracking link works; "find my complaint" sends a fresh one.
TRACKING_LINK_TTL = timedelta(days=env_int("TRACKING_LINK_TTL_DAYS", 30))
# "Find my complaint": requests allowed per IP and per e-mail address in an hour.
FIND_COMPLAINT_LIMIT = env_int("FIND_COMPLAINT_LIMIT", 5)
NOTIFICATION_MAX_ATTEMPTS = env_int("NOTIFICATION_MAX_ATTEMPTS", 8)
# Notices sent per delivery transaction, over one SMTP connection; a run takes batch after
# batch until nothing is due. A worker killed mid-batch resends at most this many.
NOTIFICATION_BATCH_SIZE = env_int("NOTIFICATION_BATCH_SIZE", 100)
# Seconds between two on-commit nudges of the outbox task (beat delivers in between).
NOTIFICATION_NUDGE_INTERVAL = 1

# Inbound e-mail (complaints.services.inbound): caps on one message, and how many messages
# one sender may have land per hour before the rest waits for review.
INBOUND_MAX_BYTES = env_int("INBOUND_MAX_BYTES", 40 * 1024 * 1024)
INBOUND_MAX_ATTACHMENTS = env_int("INBOUND_MAX_ATTACHMENTS", 10)
INBOUND_MAX_DEPTH = env_int("INBOUND_MAX_DEPTH", 8)
INBOUND_LIMIT_PER_SENDER = env_int("INBOUND_LIMIT_PER_SENDER", 20)

# Demo accounts (seeded by `manage.py seed_demo`) can only sign in while DEBUG is on.
DEMO_PASSWORD = "demo"
# The demo staff accounts' authenticator secret (base32, as an app takes it; README.md shows it).
DEMO_TOTP_SECRET = "DEMOPORTALDEMOPORTALDEMOPORTAL22"
HEALTHZ_TIMEOUT = timedelta(seconds=2)

# --- Logging ---------------------------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # Tracking-link and password-reset tokens never reach a log (common.logscrub).
    "filters": {"scrub_secrets": {"()": "common.logscrub.ScrubSecrets"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["scrub_secrets"]}
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # The development server's request lines, through the same scrubbing handler.
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
