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
    "visibility_timeout": 3600,
    "confirm_publish": True,  # RabbitMQ: publish returns only once the broker has it
    "max_retries": 3,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 2,
}
# A broker that is down must not hang the patient's submit: fail the publish quickly
# and let the sweeper re-enqueue.
CELERY_BROKER_CONNECTION_TIMEOUT = 3
CELERY_TASK_PUBLISH_RETRY = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1,
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE = {
    "sweep-unfiled-submissions": {
        "task": "forms_app.tasks.sweep_unfiled_submissions",
        "schedule": 120.0,
    },
}
# Minutes a submitted form may wait before the sweeper enqueues it again.
FILING_SWEEP_AFTER_MINUTES = int(env("FILING_SWEEP_AFTER_MINUTES", "5"))

# --- Delivery, clinic pages and reminders (issue 5) ----------------------------------
# Where text messages and emails go: console (prints them; the embedded default),
# django (email only: Django's EMAIL_BACKEND, SMTP in production) or notify (GOV.UK Notify).
DELIVERY_SMS_BACKEND = env("DELIVERY_SMS_BACKEND", "console")
DELIVERY_EMAIL_BACKEND = env("DELIVERY_EMAIL_BACKEND", "console")
EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = int(env("EMAIL_PORT", "25"))
EMAIL_HOST_USER = env("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = int(env("EMAIL_TIMEOUT", "10"))
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "patient-forms@example.nhs.uk")
# GOV.UK Notify: the key, and one SMS and one email template whose whole content is
# ((body)) (and ((subject))); the wording lives in this platform, per organisation.
NOTIFY_API_KEY = env("NOTIFY_API_KEY", "")
NOTIFY_BASE_URL = env("NOTIFY_BASE_URL", "https://api.notifications.service.gov.uk")
NOTIFY_SMS_TEMPLATE_ID = env("NOTIFY_SMS_TEMPLATE_ID", "")
NOTIFY_EMAIL_TEMPLATE_ID = env("NOTIFY_EMAIL_TEMPLATE_ID", "")
NOTIFY_TIMEOUT_SECONDS = float(env("NOTIFY_TIMEOUT_SECONDS", "10"))
# The bearer token Notify sends with its delivery receipts (set the same in Notify).
NOTIFY_CALLBACK_TOKEN = env("NOTIFY_CALLBACK_TOKEN", "")
# A failed send is retried this many times, waiting base * 2**n seconds between.
DELIVERY_MAX_RETRIES = int(env("DELIVERY_MAX_RETRIES", "5"))
DELIVERY_RETRY_BASE_SECONDS = float(env("DELIVERY_RETRY_BASE_SECONDS", "30"))
# Days after expiry during which a link may still be extended and resent.
LINK_SECRET_GRACE_DAYS = int(env("LINK_SECRET_GRACE_DAYS", "30"))
ONE_TIME_CODE_MINUTES = 10
# Clinic lists: rows above this are refused; lists issue in batches of this size.
CLINIC_LIST_MAX_ROWS = int(env("CLINIC_LIST_MAX_ROWS", "10000"))
CLINIC_LIST_BATCH = int(env("CLINIC_LIST_BATCH", "250"))
# One issuing task works through batches for this long, then queues the rest.
CLINIC_LIST_TASK_SECONDS = int(env("CLINIC_LIST_TASK_SECONDS", "60"))
CELERY_BEAT_SCHEDULE.update({
    "send-due-reminders": {"task": "forms_app.delivery.tasks.send_due_reminders",
                           "schedule": 900.0},
    "mark-closed-links": {"task": "forms_app.delivery.tasks.mark_closed_links",
                          "schedule": 3600.0},
    "send-pending-messages": {"task": "forms_app.delivery.tasks.send_pending_messages",
                              "schedule": 300.0},
    "poll-delivery-statuses": {"task": "forms_app.delivery.tasks.poll_delivery_statuses",
                               "schedule": 600.0},
})

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
