"""Settings shared by every environment, read from the environment (django-environ).

Security-sensitive values default to the safe choice: DEBUG is off unless DJANGO_DEBUG says
otherwise, and with DEBUG off a real DJANGO_SECRET_KEY is required.
"""

import base64
import hashlib
import logging
from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from redis.backoff import NoBackoff
from redis.retry import Retry

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()

DEBUG = env.bool("DJANGO_DEBUG", default=False)

_DEV_SECRET_KEY = "dev-only-insecure-secret-key-do-not-use-in-production"  # noqa: S105
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default=_DEV_SECRET_KEY if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off.")

# Earlier secret keys, newest first, while a rotation settles: Django still accepts what they
# signed (sessions, password links), and SSO client secrets encrypted under a key derived from
# one of them stay readable until `manage.py sso_reencrypt_secrets` moves them.
SECRET_KEY_FALLBACKS = env.list("DJANGO_SECRET_KEY_FALLBACKS", default=[])

ALLOWED_HOSTS = env.list(
    "DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    # Django admin, with the site that asks staff for their second factor (accounts/admin_site.py).
    "qaportal.accounts.admin_apps.StaffAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    # Index expressions with an operator class (the People search's trigram indexes).
    "django.contrib.postgres",
    "rest_framework",
    "drf_spectacular",
    # Swagger UI's assets, served by whitenoise from this package (no CDN).
    "drf_spectacular_sidecar",
    # Sign-in lockout (AccessAttempt tables) and the Content-Security-Policy header.
    "axes",
    "csp",
    # Two-factor sign-in: django-otp's TOTP devices (recovery codes are accounts' own device).
    "django_otp",
    "django_otp.plugins.otp_totp",
    "qaportal.accounts",
    "integrations",
    "scim",
    "sso",
]

MIDDLEWARE = [
    # First: /healthz, /readyz and /metrics answer load balancers and Prometheus over plain
    # HTTP with any Host header, before the HTTPS redirect and Host validation (probes.py).
    "qaportal.probes.ProbesMiddleware",
    # X-Request-ID on every answer and log line (request_ids.py).
    "qaportal.request_ids.RequestIdMiddleware",
    # SCIM paths leave here for SCIM_MIDDLEWARE: no session, CSRF, user, messages, two-factor,
    # CSP or axes work on provisioning requests (scim_edge.py).
    "qaportal.scim_edge.ScimEdgeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Sessions of admins with two-factor must have passed it; companies that require it send
    # admins without it to set it up (accounts/middleware.py).
    "qaportal.accounts.middleware.TwoFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it turns a lockout raised during sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

# The whole chain of a SCIM request after ScimEdgeMiddleware; its views add the bearer-key
# check (scim/middleware.py) through their dispatch.
SCIM_MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "qaportal.scim_edge.ApiHeadersMiddleware",
    "django.middleware.common.CommonMiddleware",
]

# The axes backend refuses a locked-out (IP, email) pair before the password is checked;
# PasswordBackend is Django's ModelBackend that also honours "Require single sign-on";
# EntraOidcBackend finishes "Sign in with Microsoft" (sso/backends.py).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "sso.backends.PasswordBackend",
    "sso.backends.EntraOidcBackend",
]

ROOT_URLCONF = "qaportal.urls"
WSGI_APPLICATION = "qaportal.wsgi.application"

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
                "qaportal.accounts.context_processors.support",
                "qaportal.accounts.context_processors.navigation",
            ],
        },
    },
]

# The embedded default is a SQLite file under var/; production and CI set DATABASE_URL.
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'qaportal.sqlite3'}")
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and immediate transactions let the web process and the Celery worker share the file.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DJANGO_CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
# The longest one SQL statement of a web request may run, in milliseconds (0: no limit). The
# web entry points (qaportal/wsgi.py, asgi.py) default it to 5,000, so no SCIM or portal request
# holds a connection longer; Celery and management commands (migrate) keep no limit unless set.
# A connection option: PostgreSQL applies it when the connection opens, so it costs no round trip
# per request. A statement over it is cancelled and the SCIM request answered 503.
QA_DB_STATEMENT_TIMEOUT_MS = env.int("QA_DB_STATEMENT_TIMEOUT_MS", default=0)
if DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3" and QA_DB_STATEMENT_TIMEOUT_MS:
    _db_options = DATABASES["default"].setdefault("OPTIONS", {})
    _db_options["options"] = (
        f"{_db_options.get('options', '')} -c statement_timeout={QA_DB_STATEMENT_TIMEOUT_MS}"
    ).strip()

# The SCIM hot path's statements are prepared once per connection (see
# qaportal/accounts/prepared.py). Off behind a pooler that hands one client's statements to
# several server sessions (PgBouncer's transaction mode before 1.22).
QA_DB_PREPARED_STATEMENTS = env.bool("QA_DB_PREPARED_STATEMENTS", default=True)
if DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3" and QA_DB_PREPARED_STATEMENTS:
    # Only server-side binding cursors prepare, and only `preparing_cursor` makes those.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("prepare_threshold", 5)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:dashboard"
LOGOUT_REDIRECT_URL = "accounts:login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# "exports": CSV files prepared by workers (integrations/exports/). Private: not under
# STATIC_ROOT or MEDIA_ROOT, served only by the download view to the company's admins. With
# several machines, point it at storage they share (e.g. django-storages' S3 backend).
QA_EXPORT_STORAGE = {
    "BACKEND": "django.core.files.storage.FileSystemStorage",
    "OPTIONS": {"location": env.str("QA_EXPORT_DIR", default=str(VAR_DIR / "exports"))},
}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    "exports": QA_EXPORT_STORAGE,
}

# --- Security: on whenever DEBUG is off, so `check --deploy` is clean in production. ---
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = 0 if DEBUG else env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
# Subdomains and preload are on by default: turn them off (0) when another host under the
# same domain still serves plain HTTP, before the browsers' preload lists have the domain.
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG and env.bool(
    "DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True
)
SECURE_HSTS_PRELOAD = not DEBUG and env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_AGE = 60 * 60 * 12
SILENCED_SYSTEM_CHECKS: list[str] = []
if not DEBUG and not SECURE_SSL_REDIRECT:
    # Plain HTTP on localhost (benchmarks): the deploy check's W008 is an explicit choice here.
    SILENCED_SYSTEM_CHECKS.append("security.W008")
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The sort indexes INCLUDE columns for PostgreSQL's index-only scans; the embedded SQLite
    # database builds them without, which is all W040 says.
    SILENCED_SYSTEM_CHECKS.append("models.W040")

# --- Single sign-on with Microsoft Entra ID (sso/, on mozilla-django-oidc) ---
# Microsoft's sign-in host; the tests point it at a local OpenID Connect provider.
QA_SSO_AUTHORITY = env.str("QA_SSO_AUTHORITY", default="https://login.microsoftonline.com").rstrip(
    "/"
)
# Fernet keys for client secrets at rest, newest first (sso/crypto.py). Unset, they are derived
# from SECRET_KEY and SECRET_KEY_FALLBACKS so that `make run` needs no setup and a secret-key
# rotation done with fallbacks keeps the secrets readable; `check --deploy` is an error then
# (sso.E002), because a rotation without fallbacks would make them unreadable.
QA_SSO_ENCRYPTION_KEYS_FROM_ENV = bool(env.list("QA_SSO_ENCRYPTION_KEYS", default=[]))
QA_SSO_ENCRYPTION_KEYS = env.list("QA_SSO_ENCRYPTION_KEYS", default=[]) or [
    base64.urlsafe_b64encode(
        hashlib.sha256(f"qaportal.sso.client-secret:{secret_key}".encode()).digest()
    ).decode()
    for secret_key in [SECRET_KEY, *SECRET_KEY_FALLBACKS]
]
QA_SSO_HTTP_TIMEOUT = 10  # seconds, for each request to Microsoft
QA_SSO_JWKS_CACHE_SECONDS = 24 * 60 * 60
QA_SSO_JWKS_REFETCH_INTERVAL = 5 * 60  # an unknown key id refetches at most this often
QA_SSO_CLOCK_SKEW_SECONDS = 60
QA_SSO_FLOW_MAX_AGE_SECONDS = 15 * 60  # from "Sign in with Microsoft" to Entra's answer
QA_SSO_START_LIMIT = env.int("QA_SSO_START_LIMIT", default=30)  # per client IP per minute
# mozilla-django-oidc: code flow with PKCE (S256), state and nonce. sso/backends.py replaces
# its token validation and user lookup (no user is ever created).
OIDC_RP_SCOPES = "openid profile email"
OIDC_USE_PKCE = True
OIDC_PKCE_CODE_CHALLENGE_METHOD = "S256"
OIDC_USE_NONCE = True
# One sign-in under way per session: a new start replaces the previous one (whose callback is
# then refused), so a session never collects states however often it starts.
OIDC_MAX_STATES = 1
OIDC_AUTHENTICATION_CALLBACK_URL = "sso:callback"
OIDC_TIMEOUT = QA_SSO_HTTP_TIMEOUT

# Content-Security-Policy (django-csp 4.x format). The templates load static JS and CSS only
# (no inline script, style attribute or event handler), so nothing needs 'unsafe-inline'.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        # Sign in with Microsoft posts to QA Portal, which redirects to Entra: browsers apply
        # form-action to that redirect too.
        "form-action": ["'self'", QA_SSO_AUTHORITY],
        "frame-ancestors": ["'none'"],
    },
}

# Sign-in lockout (django-axes): an (IP, email) pair is locked after AXES_FAILURE_LIMIT wrong
# passwords for AXES_COOLOFF_TIME. Locking the pair, not the email alone, means an attacker
# cannot lock a real admin out from elsewhere; not the IP alone, so one office NAT is not
# locked out by one person's typos.
AXES_LOCKOUT_PARAMETERS = [["ip_address", "username"]]
AXES_FAILURE_LIMIT = env.int("QA_SIGN_IN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("QA_SIGN_IN_COOLOFF_MINUTES", default=15))
AXES_RESET_ON_SUCCESS = True
# A portal page (templates/accounts/locked_out.html), 429 with Retry-After.
AXES_LOCKOUT_CALLABLE = "qaportal.accounts.views.sign_in_locked_out"
# The sign-in form's email field is named "username" (Django's AuthenticationForm). Emails are
# compared lower-cased, so "Admin@X" and "admin@x" count as one email.
AXES_USERNAME_FORM_FIELD = "username"
AXES_USERNAME_CALLABLE = "qaportal.accounts.mixins.sign_in_email_from_credentials"
# REMOTE_ADDR, or with QA_TRUSTED_PROXY_HOPS the address our outermost proxy saw: the rest of
# X-Forwarded-For is client-controlled, and a spoofable IP would let an attacker dodge the lockout.
AXES_CLIENT_IP_CALLABLE = "qaportal.accounts.mixins.client_ip_address"
# How many reverse proxies of this deployment append to X-Forwarded-For (0: none, use
# REMOTE_ADDR). Behind one proxy, 1; otherwise every client looks like the proxy's address.
QA_TRUSTED_PROXY_HOPS = env.int("QA_TRUSTED_PROXY_HOPS", default=0)

# Generating or revoking an API key needs a password entry no older than this (and, for an
# admin with two-factor, a code entered as recently).
QA_REAUTH_MAX_AGE = timedelta(minutes=env.int("QA_REAUTH_MAX_AGE_MINUTES", default=15))
# Wrong passwords or codes on "Confirm your password" before the session is signed out. Counted
# per session and apart from the sign-in lockout, so typos there never lock anyone's sign-in.
QA_CONFIRM_FAILURE_LIMIT = env.int("QA_CONFIRM_FAILURE_LIMIT", default=5)

# Slower guessing per account, whatever the address (accounts/throttles.py): after
# QA_ACCOUNT_GUESS_LIMIT wrong passwords for one email within QA_ACCOUNT_GUESS_WINDOW, each
# further attempt waits a delay that doubles from QA_ACCOUNT_GUESS_BASE_DELAY up to
# QA_ACCOUNT_GUESS_MAX_DELAY; a browser that signed in to the account before is not delayed.
QA_ACCOUNT_GUESS_LIMIT = env.int("QA_ACCOUNT_GUESS_LIMIT", default=10)
QA_ACCOUNT_GUESS_WINDOW = timedelta(minutes=env.int("QA_ACCOUNT_GUESS_WINDOW_MINUTES", default=60))
QA_ACCOUNT_GUESS_BASE_DELAY = timedelta(seconds=2)
QA_ACCOUNT_GUESS_MAX_DELAY = timedelta(minutes=15)
# The signed cookie that marks a browser as one an account signed in from.
QA_KNOWN_DEVICE_COOKIE = "qa_known_device"
QA_KNOWN_DEVICE_MAX_AGE = timedelta(days=90)

# Two-factor (django-otp): codes are throttled per device, waiting 1, 2, 4, 8... seconds after
# successive wrong codes; a sign-in has QA_SIGN_IN_CODE_ATTEMPTS codes within
# QA_SIGN_IN_CODE_MAX_AGE of its password before the password is asked again.
OTP_TOTP_ISSUER = "QA Portal"
OTP_TOTP_THROTTLE_FACTOR = 1
QA_SIGN_IN_CODE_MAX_AGE = timedelta(minutes=5)
QA_SIGN_IN_CODE_ATTEMPTS = 5
QA_RECOVERY_CODE_COUNT = 10

# Admin invitations: a single-use link, valid this long.
QA_INVITATION_MAX_AGE = timedelta(hours=env.int("QA_INVITATION_MAX_AGE_HOURS", default=72))
# "Forgot your password?": links last an hour (Django's token also dies with the password
# change); requests are limited per address and per client IP within QA_PASSWORD_RESET_WINDOW.
PASSWORD_RESET_TIMEOUT = 60 * 60
QA_PASSWORD_RESET_LIMIT_PER_EMAIL = env.int("QA_PASSWORD_RESET_LIMIT_PER_EMAIL", default=3)
QA_PASSWORD_RESET_LIMIT_PER_IP = env.int("QA_PASSWORD_RESET_LIMIT_PER_IP", default=10)
QA_PASSWORD_RESET_WINDOW = timedelta(hours=1)
# Where an admin who is their company's only admin, or locked out, gets help.
QA_SUPPORT_EMAIL = env.str("QA_SUPPORT_EMAIL", default="support@qa.local")

# --- Celery: Redis when REDIS_URL is set, otherwise a broker that needs no server. ---
REDIS_URL = env.str("REDIS_URL", default="")
# The cache (the SSO key sets and sign-in limits) is shared by all processes through Redis
# when there is one; Django's per-process memory cache otherwise. Every use of it works without
# it, so a hung Redis must not hold a web worker: each call gives up after a quarter second
# and is not retried (redis-py retries a failed connect once by default), so the few calls of
# one request (a sign-in start, a key lookup) cost well under a second together.
QA_CACHE_REDIS_OPTIONS = {
    "socket_connect_timeout": 0.25,
    "socket_timeout": 0.25,
    "retry": Retry(NoBackoff(), 0),
}
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "qaportal",
            "OPTIONS": QA_CACHE_REDIS_OPTIONS,
        }
    }
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS: dict = {
        # Expiry tasks wait in a worker until their eta (up to the grace period). Redis hands
        # an unacknowledged message to another worker after visibility_timeout, so it must
        # outlast the longest eta, or every waiting task is duplicated each hour.
        "visibility_timeout": env.int("QA_KEY_GRACE_PERIOD", default=8 * 60 * 60) + 60 * 60,
        # A hung Redis must not hang the request that generates a key: publishing gives up
        # after a few seconds and the beat sweep records the expiry later.
        "socket_connect_timeout": 3,
        "socket_timeout": 3,
    }
else:
    # kombu's filesystem transport: one folder of message files, shared by the web process,
    # the worker and beat on one machine. qaportal/celery.py creates the folders.
    _broker_dir = VAR_DIR / "celery-broker"
    # The host part means nothing to this transport; naming one keeps kombu from warning.
    CELERY_BROKER_URL = "filesystem://localhost/"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "control_folder": str(VAR_DIR / "celery-control"),
        "processed_folder": str(VAR_DIR / "celery-processed"),
        "store_processed": False,
    }
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# The worker logs through LOGGING below (same format, JSON included), not Celery's own setup.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# A request that generates a key must not hang when the broker is down: the beat sweep
# catches any expiry task that could not be queued.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2}
CELERY_BEAT_SCHEDULE = {
    "expire-due-api-keys": {
        "task": "integrations.tasks.api_keys_expire_due",
        "schedule": 60.0,
    },
    # Grace-period emails whose on-commit task was lost, and the "expires within the hour"
    # emails: both claimed by conditional UPDATEs, so overlapping runs send each mail once.
    "send-due-api-key-notices": {
        "task": "integrations.tasks.api_key_notices_send_due",
        "schedule": 60.0,
    },
    "prune-provisioning-activity": {
        "task": "integrations.tasks.provisioning_events_prune",
        "schedule": crontab(hour=3, minute=17),
    },
    # Run export jobs whose message was lost or whose worker died; delete expired exports.
    "sweep-export-jobs": {
        "task": "integrations.exports.tasks.export_jobs_sweep",
        "schedule": 60.0,
    },
    # Sessions of sign-ins that were started and never finished, among others.
    "clear-expired-sessions": {
        "task": "sso.tasks.sessions_clear_expired",
        "schedule": crontab(hour=3, minute=47),
    },
}

# --- Email: the console by default (make run); EMAIL_URL (smtp+tls://user:pass@host:587)
# configures a real server, read by django-environ. ---
EMAIL_BACKEND = env.str(
    "DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend"
)
if env.str("EMAIL_URL", default=""):
    globals().update(env.email_url("EMAIL_URL"))
# Emails are sent by Celery tasks; a hung mail server must not hold a worker forever.
EMAIL_TIMEOUT = env.int("DJANGO_EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env.str("DJANGO_DEFAULT_FROM_EMAIL", default="QA Portal <noreply@qa.local>")

# --- QA Portal settings (read inside functions, not at import) ---
QA_KEY_GRACE_PERIOD = timedelta(seconds=env.int("QA_KEY_GRACE_PERIOD", default=8 * 60 * 60))
# How long a process trusts a key row it read (integrations/services.py, _RecentKeys): a key
# revoked anywhere is refused everywhere within this many seconds; 0 reads it every request.
QA_KEY_CACHE_SECONDS = env.float("QA_KEY_CACHE_SECONDS", default=1.0)
# How often last_used_at may be written per key: no write per request.
QA_KEY_LAST_USED_RESOLUTION = timedelta(minutes=1)
# Admins are emailed this long before an expiring key's deadline.
QA_KEY_FINAL_NOTICE_BEFORE = timedelta(hours=1)
# At most one "Entra still uses an expired/revoked key" email per key per this interval.
QA_KEY_REJECTED_USE_NOTICE_INTERVAL = timedelta(days=1)
# Publishing a task gives up after this many seconds per socket operation, so a hung broker
# never holds a web request (qaportal/enqueue.py); the beat sweeps catch up.
QA_ENQUEUE_TIMEOUT_SECONDS = env.float("QA_ENQUEUE_TIMEOUT_SECONDS", default=0.5)
# The portal's public address, for links in emails (sent by workers, outside any request).
QA_PORTAL_URL = env.str("QA_PORTAL_URL", default="http://localhost:8000").rstrip("/")
# Provisioning activity older than this is pruned nightly, in batches of this many rows.
QA_ACTIVITY_RETENTION_DAYS = env.int("QA_ACTIVITY_RETENTION_DAYS", default=90)
QA_ACTIVITY_RETENTION_BATCH_SIZE = env.int("QA_ACTIVITY_RETENTION_BATCH_SIZE", default=5000)
# CSV exports (integrations/exports/): up to this many rows one streams from the web request;
# above it a Celery job writes the file, so no export meets the web server's timeout.
QA_EXPORT_IMMEDIATE_MAX_ROWS = env.int("QA_EXPORT_IMMEDIATE_MAX_ROWS", default=10_000)
# A prepared file, and its job, is deleted this long after the job was requested or finished.
QA_EXPORT_RETENTION = timedelta(hours=env.int("QA_EXPORT_RETENTION_HOURS", default=24))
# Unfinished export jobs a company may have at once (the same export twice is one job).
QA_EXPORT_MAX_PENDING = env.int("QA_EXPORT_MAX_PENDING", default=3)
# A running job whose progress has not moved for this long is run again (its worker died).
QA_EXPORT_STALE_AFTER = timedelta(minutes=5)
# SCIM rate limits (scim/throttle.py), kept in Redis when REDIS_URL is set, else per process.
# Requests/second per API key, with bursts of twice that; 0 turns it off (load benchmarks).
# Entra needs at least 25 requests/second per tenant (docs/entra-behaviour.md).
QA_SCIM_RATE_LIMIT = env.float("QA_SCIM_RATE_LIMIT", default=50)
# Failed bearer attempts (no key, not a key, unknown key) per client IP per minute before 429;
# 0 turns it off.
QA_SCIM_AUTH_FAILURE_LIMIT = env.int("QA_SCIM_AUTH_FAILURE_LIMIT", default=20)

# --- SCIM ---
SCIM_BASE_PATH = "webhooks/ad/v1/scim"
# django-scim2's one setting QA uses: the auth check its SCIMView.dispatch wraps around every
# SCIM view (docs/architecture.md has what else QA takes from the library, and what not).
SCIM_SERVICE_PROVIDER = {"AUTH_CHECK_MIDDLEWARE": "scim.middleware.ScimBearerAuthMiddleware"}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Each list endpoint names its cursor pagination (integrations/api.py): a default class
    # here would be imported while DRF itself loads, and that module imports drf_spectacular.
    "EXCEPTION_HANDLER": "integrations.api.api_exception_handler",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "QA Portal admin API",
    "DESCRIPTION": "Automation for company admins: the Microsoft Entra ID integration, its API "
    "keys, the provisioning activity log and the provisioned users and groups. Signed-in "
    "sessions only (send the csrftoken cookie back as X-CSRFToken on POST); SCIM API keys "
    "are refused here.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # The schema describes endpoints, never data; any signed-in user may read it.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    # Deep links put a link inside each operation's toggle button (nested controls that
    # screen readers cannot reach); without them an operation is a plain button.
    "SWAGGER_UI_SETTINGS": {"deepLinking": False},
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

# --- Operations: metrics, error reports, logs ---
# The bearer token Prometheus sends to /metrics (qaportal/probes.py); unset, /metrics is 404.
QA_METRICS_TOKEN = env.str("QA_METRICS_TOKEN", default="")
if QA_METRICS_TOKEN and len(QA_METRICS_TOKEN) < 32:
    raise ImproperlyConfigured("QA_METRICS_TOKEN must be at least 32 characters long.")

# Error reports to Sentry, only when SENTRY_DSN is set (qaportal/error_reporting.py).
SENTRY_DSN = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:
    from qaportal.error_reporting import sentry_init

    sentry_init(
        dsn=SENTRY_DSN,
        environment=env.str("SENTRY_ENVIRONMENT", default="production"),
        release=env.str("SENTRY_RELEASE", default=""),
    )

# `plain` lines for people, or `json`: one JSON object per line for a log pipeline. Both carry
# the request id of qaportal/request_ids.py.
LOG_FORMAT = env.str("DJANGO_LOG_FORMAT", default="plain")
if LOG_FORMAT not in {"plain", "json"}:
    raise ImproperlyConfigured("DJANGO_LOG_FORMAT must be 'plain' or 'json'.")
if LOG_FORMAT == "json":
    # Every line a JSON object: Python's warnings go through the handler below too.
    logging.captureWarnings(True)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "qaportal.request_ids.RequestIdLogFilter"},
        "without_probes": {"()": "qaportal.probes.ProbeAccessLogFilter"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "qaportal.log_format.JsonLogFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="INFO")},
    "loggers": {
        # runserver's access lines (`make run`), in the same format, without the probes'.
        "django.server": {
            "handlers": ["console"],
            "level": "INFO",
            "filters": ["without_probes"],
            "propagate": False,
        },
    },
}
