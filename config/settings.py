"""One settings module, configured from the environment.

With no environment set, the platform runs embedded: SQLite, tasks executed in-process,
DEBUG on. In production (DJANGO_ENV=production) it refuses to start unless the settings
that keep patient data safe are given.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name, default=None):
    value = os.environ.get(name, "")
    return value if value != "" else default


def env_bool(name, default=False):
    value = env(name)
    if value is None:
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def env_list(name, default=""):
    return [part.strip() for part in env(name, default).split(",") if part.strip()]


PRODUCTION = env("DJANGO_ENV", "development") == "production"
DEBUG = env_bool("DJANGO_DEBUG", default=not PRODUCTION)

if PRODUCTION:
    missing = [n for n in ("SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "FIELD_ENCRYPTION_KEYS")
               if not env(n)]
    if missing:
        raise ImproperlyConfigured(
            "Production mode needs these environment variables: " + ", ".join(missing)
        )
    if DEBUG:
        raise ImproperlyConfigured("DJANGO_DEBUG must be off in production")

# The development key only ever signs development sessions.
SECRET_KEY = env("SECRET_KEY", "dev-only-insecure-key-do-not-use-in-production-" + "x" * 20)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

# Keys for encrypting answers and records at rest: comma-separated Fernet keys, newest first.
# Older keys still decrypt, so a key can be rotated without downtime.
FIELD_ENCRYPTION_KEYS = env_list(
    "FIELD_ENCRYPTION_KEYS",
    # Development only: a fixed key so the embedded database survives restarts.
    "ZGV2ZWxvcG1lbnQtb25seS1rZXktbm90LWZvci11c2U=",
)

# The public address of the service, used to build patient links in messages.
SITE_URL = env("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
TRUST_NAME = env("TRUST_NAME", "Demo Teaching Hospitals NHS Foundation Trust")
SERVICE_NAME = env("SERVICE_NAME", "Patient forms")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_static",
    "django_otp.plugins.otp_totp",
    "formtools",
    "patients",
    "forms_app",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
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
                "forms_app.context_processors.service",
            ],
        },
    },
]

DATABASE_URL = env("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL,
            # Reuse connections across requests, and check them before use so a
            # database restart costs one reconnect rather than a 500.
            conn_max_age=int(env("CONN_MAX_AGE", "600")),
            conn_health_checks=True,
        )
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env("SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
            "OPTIONS": {"timeout": 20},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Sessions live in the database (never in a cookie), so the web tier keeps no state.
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = int(env("SESSION_COOKIE_AGE", str(60 * 60 * 8)))

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"

LANGUAGE_CODE = "en-gb"
LANGUAGES = [("en-gb", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# Outside production, serve straight from the source folders (no collectstatic needed).
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = not PRODUCTION

# Uploads are form definitions at most; anything bigger is refused before it is parsed.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# --- Patient links -----------------------------------------------------------
LINK_DEFAULT_DAYS = int(env("LINK_DEFAULT_DAYS", "14"))
LINK_MAX_FAILED_CHECKS = int(env("LINK_MAX_FAILED_CHECKS", "5"))
LINK_LOCK_MINUTES = int(env("LINK_LOCK_MINUTES", "30"))

# --- Celery --------------------------------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL")
# Without a broker, tasks run in-process: the embedded run shows the whole flow.
CELERY_TASK_ALWAYS_EAGER = CELERY_BROKER_URL is None
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
# A task is acknowledged only after it ran, and re-queued if its worker dies:
# filing is idempotent, so running twice is safe while running never is not.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Hard limit below Redis' visibility timeout, so a slow task is killed before Redis
# hands the same message to a second worker.
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": int(env("CELERY_VISIBILITY_TIMEOUT", "3600")),
    "confirm_publish": True,  # RabbitMQ: publish returns only once the broker has it
    # Connecting to the broker (the first publish of a process, or after an outage):
    # one quick retry, so a broker that is down costs the patient's submit ~1 s.
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 0.5,
    # Redis: bound each connect and each socket read/write, so a broker host that
    # drops packets (rather than refusing) cannot hang a web request either.
    "socket_connect_timeout": 2,
    "socket_timeout": 5,
}
# A broker that is down must not hang the patient's submit: fail the publish quickly
# and let the sweeper re-enqueue.
CELERY_BROKER_CONNECTION_TIMEOUT = 3
CELERY_TASK_PUBLISH_RETRY = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1, "interval_start": 0, "interval_step": 0.5, "interval_max": 0.5,
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE = {
    "sweep-unfiled-submissions": {
        "task": "forms_app.tasks.sweep_unfiled_submissions",
        "schedule": float(env("FILING_SWEEP_INTERVAL_SECONDS", "120")),
    },
}
# Minutes a submitted form may wait before the sweeper enqueues it again.
FILING_SWEEP_AFTER_MINUTES = float(env("FILING_SWEEP_AFTER_MINUTES", "5"))

# --- Filing: destinations, retries, alerts, escalation ---------------------------
# Workers keep their database connection between tasks (health-checked before use)
# instead of Celery's default of closing it around every task, which costs a
# reconnect per task (about 750 -> 200 inserts/s on two cores). Celery's Django fixup
# then recycles a connection only every 2 x this many tasks; our own task_prerun
# handler (config/celery.py) drops unusable or expired connections before each task,
# which is what lets a worker survive a database restart.
CELERY_DB_REUSE_MAX = int(env("CELERY_DB_REUSE_MAX", "1000"))
# A task whose broker connection is lost is cancelled and redelivered rather than left
# running with an ack that can never reach the broker.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True

# Where a submission is filed: "internal" (the platform's record) and/or "fhir"
# (an external FHIR server's QuestionnaireResponse endpoint).
FILING_DESTINATIONS = env_list("FILING_DESTINATIONS", "internal")
FHIR_SERVER_BASE_URL = (env("FHIR_SERVER_BASE_URL") or "").rstrip("/")
FHIR_SERVER_USERNAME = env("FHIR_SERVER_USERNAME", "")
FHIR_SERVER_PASSWORD = env("FHIR_SERVER_PASSWORD", "")
FHIR_SERVER_TOKEN = env("FHIR_SERVER_TOKEN", "")
FHIR_SERVER_TIMEOUT_SECONDS = float(env("FHIR_SERVER_TIMEOUT_SECONDS", "10"))
# The business identifier system of a submission in the QuestionnaireResponse.
FHIR_SUBMISSION_IDENTIFIER_SYSTEM = env(
    "FHIR_SUBMISSION_IDENTIFIER_SYSTEM", f"{SITE_URL}/fhir/submission")
_unknown = set(FILING_DESTINATIONS) - {"internal", "fhir"}
if _unknown or not FILING_DESTINATIONS:
    raise ImproperlyConfigured("FILING_DESTINATIONS takes 'internal' and/or 'fhir'")
if "fhir" in FILING_DESTINATIONS and not FHIR_SERVER_BASE_URL:
    raise ImproperlyConfigured("FILING_DESTINATIONS includes fhir: set FHIR_SERVER_BASE_URL")

# Retries of a failed filing: backoff base (doubling, capped) and number of retries.
FILING_RETRY_BACKOFF_SECONDS = float(env("FILING_RETRY_BACKOFF_SECONDS", "5"))
FILING_MAX_RETRIES = int(env("FILING_MAX_RETRIES", "5"))
# Staff are alerted (error log and email to ADMINS) while any submission has been
# waiting longer than this to be filed.
FILING_ALERT_AFTER_MINUTES = float(env("FILING_ALERT_AFTER_MINUTES", "30"))
ADMINS = [("Patient forms support", a) for a in env_list("ADMINS_EMAILS")]
SERVER_EMAIL = env("SERVER_EMAIL", "patient-forms@localhost")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", SERVER_EMAIL)
EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
                    if not PRODUCTION else "django.core.mail.backends.smtp.EmailBackend")
CELERY_BEAT_SCHEDULE |= {
    "alert-unfiled-submissions": {
        "task": "forms_app.filing.tasks.alert_unfiled_submissions",
        "schedule": float(env("FILING_ALERT_INTERVAL_SECONDS", "600")),
    },
    # Teams whose urgent-flag email was lost (broker down) are emailed by this.
    "notify-unnotified-worklist-tasks": {
        "task": "forms_app.filing.tasks.sweep_unnotified_worklist_tasks",
        "schedule": 30.0,
    },
}
# TEST ONLY: a directory of marker files at which filing pauses (forms_app.filing.hooks),
# so fault tests can kill a worker mid-filing. Refused in production.
FILING_TEST_HOOK_DIR = env("FILING_TEST_HOOK_DIR")
if PRODUCTION and FILING_TEST_HOOK_DIR:
    raise ImproperlyConfigured("FILING_TEST_HOOK_DIR is for tests and refused in production")

# --- Security ------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "no-referrer"
X_FRAME_OPTIONS = "DENY"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = 63072000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# --- Logging -------------------------------------------------------------------
# Logs carry ids and states only; patient data and tokens are never logged.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {
        # Django logs the full request line of a 4xx/5xx, which for a patient link
        # would include the token; our own middleware-free views log ids instead.
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
    },
}
