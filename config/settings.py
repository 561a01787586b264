"""One settings module, configured from the environment.

With no environment set, the platform runs embedded: SQLite, tasks executed in-process,
DEBUG on. In production (DJANGO_ENV=production) it refuses to start unless the settings
that keep patient data safe are given.
"""

import ipaddress
import logging
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config import logs

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
    "django_otp_webauthn",  # passkeys as a second factor (access: see "Staff access")
    "axes",                 # staff login lockout
    "csp",                  # Content-Security-Policy header
    "django_structlog",     # request ids in logs, carried into Celery tasks
    "formtools",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "drf_standardized_errors",
    "patients",
    "forms_app",
]

MIDDLEWARE = [
    # /healthz, /readyz and /metrics, answered before host checks and https redirects.
    "config.probes.ProbeMiddleware",
    # First: a request that loses its database connection is run again where that is
    # safe, else answered "try again in a moment" (patients/outage.py).
    "patients.outage.DatabaseRetryMiddleware",
    # Request counts and latency by view and status, for Prometheus (config/metrics.py).
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # django-otp's OTPMiddleware, with a verified staff session's user and device
    # remembered for STAFF_CHECK_CACHE_SECONDS (patients/staff_check.py).
    "patients.staff_check.StaffCheckMiddleware",
    # Binds a request id (and the staff user's id) to every log line of the request.
    "django_structlog.middlewares.RequestMiddleware",
    "patients.middleware.StaffSessionMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "patients.middleware.NoStoreMiddleware",
    "config.errors.DomainErrorMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
    # Last, as django-axes asks: it turns a lockout into its response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    # The patient pages: Jinja2 with nhsuk-frontend-jinja, templates in jinja2/ (found
    # first, by the same names a Django template would have). Admin and staff pages stay
    # Django templates in templates/ (docs/adr/0012-jinja2-for-patient-pages.md).
    {
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [BASE_DIR / "jinja2"],
        "APP_DIRS": False,
        "OPTIONS": {
            "environment": "config.jinja2.environment",
            "context_processors": [
                "django.template.context_processors.i18n",
                "django.contrib.messages.context_processors.messages",
                "forms_app.context_processors.service",
                "forms_app.context_processors.patient_session",
                "config.jinja2.csrf_once",
            ],
        },
    },
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
                "forms_app.context_processors.patient_session",
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
# Set where migrations run (migrate.env, as the owning role): the role the web, worker
# and beat connect as, granted what each new table needs after every migrate and never
# more than SELECT and INSERT on the audit trail (patients/db_roles.py).
DATABASE_RUNTIME_ROLE = env("DATABASE_RUNTIME_ROLE", "")

# Sessions live in the database (never in a cookie), so the web tier keeps no state;
# this backend keeps them through a database restart (patients/sessions.py).
SESSION_ENGINE = "patients.sessions"
# A request or session save that loses its connection waits this long for the database
# before its one retry; a request that cannot be retried answers 503 with this
# Retry-After (patients/outage.py).
DATABASE_RETRY_WAIT_SECONDS = float(env("DATABASE_RETRY_WAIT_SECONDS", "3"))
DATABASE_OUTAGE_RETRY_AFTER_SECONDS = int(env("DATABASE_OUTAGE_RETRY_AFTER_SECONDS", "5"))
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# SESSION_COOKIE_AGE: with the staff session limits below.

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account:login"
# Where staff land after signing in (with no ?next=): the staff home.
LOGIN_REDIRECT_URL = "staff:home"

LANGUAGE_CODE = "en-gb"
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
# Autorefresh looks the file system up on every request (about 10 ms here): the
# benchmarks turn it off to measure what production serves.
WHITENOISE_AUTOREFRESH = env_bool("WHITENOISE_AUTOREFRESH", not PRODUCTION)

# Uploads are form definitions at most; anything bigger is refused before it is parsed.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# --- Patient links -----------------------------------------------------------
LINK_DEFAULT_DAYS = int(env("LINK_DEFAULT_DAYS", "14"))
LINK_MAX_FAILED_CHECKS = int(env("LINK_MAX_FAILED_CHECKS", "5"))
# Too many wrong dates of birth pause a link: LINK_LOCK_FIRST_MINUTES the first time,
# twice as long each time after, never more than LINK_LOCK_MINUTES; the patient is told
# how many tries are left, and the clinic can unlock it (issue 14, LOW 5).
LINK_LOCK_MINUTES = int(env("LINK_LOCK_MINUTES", "30"))
LINK_LOCK_FIRST_MINUTES = int(env("LINK_LOCK_FIRST_MINUTES", "2"))

# --- Patient pages (issue 4) --------------------------------------------------
# Idle time before a patient's session ends (answers are saved per page, so nothing is
# lost), and how long before that the page warns (static/js/session-timeout.js).
PATIENT_SESSION_SECONDS = int(env("PATIENT_SESSION_SECONDS", str(30 * 60)))
PATIENT_SESSION_WARNING_SECONDS = int(env("PATIENT_SESSION_WARNING_SECONDS", str(2 * 60)))
# Patient pages in English and Welsh (locale/cy); forms may carry their own translations.
LANGUAGES = [("en-gb", "English"), ("cy", "Cymraeg")]  # each named in its own language

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
# Every periodic task, in one place; beat runs exactly once per deployment. Each
# sweeper is the recovery bound for work whose task was lost (broker down, worker
# killed): the record of the work is in the database, the sweeper publishes it again.
CELERY_BEAT_SCHEDULE = {
    # Submitted forms whose filing task was lost, and filed ones whose PDF was.
    "sweep-unfiled-submissions": {
        "task": "forms_app.tasks.sweep_unfiled_submissions",
        "schedule": float(env("FILING_SWEEP_INTERVAL_SECONDS", "120")),
    },
    # Staff are emailed about forms still unfiled after FILING_ALERT_AFTER_MINUTES.
    "alert-unfiled-submissions": {
        "task": "forms_app.filing.tasks.alert_unfiled_submissions",
        "schedule": float(env("FILING_ALERT_INTERVAL_SECONDS", "600")),
    },
    # Teams whose urgent-flag email was lost (broker down) are emailed by this.
    "notify-unnotified-worklist-tasks": {
        "task": "forms_app.filing.tasks.sweep_unnotified_worklist_tasks",
        "schedule": 30.0,
    },
    # Clinic lists queued without starting (forms_app.clinic_lists.requeue_stalled).
    "sweep-queued-clinic-lists": {
        "task": "forms_app.delivery.tasks.sweep_queued_clinic_lists", "schedule": 60.0},
    "send-due-reminders": {"task": "forms_app.delivery.tasks.send_due_reminders",
                           "schedule": 900.0},
    "mark-closed-links": {"task": "forms_app.delivery.tasks.mark_closed_links",
                          "schedule": 3600.0},
    "send-pending-messages": {"task": "forms_app.delivery.tasks.send_pending_messages",
                              "schedule": 300.0},
    "poll-delivery-statuses": {"task": "forms_app.delivery.tasks.poll_delivery_statuses",
                               "schedule": 600.0},
    # API Idempotency-Keys older than API_IDEMPOTENCY_KEY_HOURS are forgotten.
    "purge-api-idempotency-keys": {"task": "forms_app.tasks.purge_idempotency_keys",
                                   "schedule": 3600.0},
    # Answers and drafts past RETENTION_DAYS_AFTER_FILING / RETENTION_DRAFT_DAYS.
    "apply-retention": {"task": "forms_app.tasks.apply_retention_task",
                        "schedule": 6 * 60 * 60.0},
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
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "patient-forms@example.nhs.uk")
# Console with no environment (so `make run` never tries SMTP on localhost:25); SMTP
# (EMAIL_HOST...) in production.
EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
                    if not PRODUCTION else "django.core.mail.backends.smtp.EmailBackend")
# TEST ONLY: a directory of marker files at which filing pauses (forms_app.filing.hooks),
# so fault tests can kill a worker mid-filing. Refused in production.
FILING_TEST_HOOK_DIR = env("FILING_TEST_HOOK_DIR")
if PRODUCTION and FILING_TEST_HOOK_DIR:
    raise ImproperlyConfigured("FILING_TEST_HOOK_DIR is for tests and refused in production")

# --- Delivery, clinic pages and reminders (issue 5) ----------------------------------
# Where text messages and emails go: console (prints them; the embedded default),
# django (email only: Django's EMAIL_BACKEND, SMTP in production) or notify (GOV.UK Notify).
DELIVERY_SMS_BACKEND = env("DELIVERY_SMS_BACKEND", "console")
DELIVERY_EMAIL_BACKEND = env("DELIVERY_EMAIL_BACKEND", "console")
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = int(env("EMAIL_PORT", "25"))
EMAIL_HOST_USER = env("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = int(env("EMAIL_TIMEOUT", "10"))
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
# A list queued this long without starting lost its task (broker down): beat publishes
# it again (forms_app.clinic_lists.requeue_stalled).
CLINIC_LIST_SWEEP_AFTER_MINUTES = float(env("CLINIC_LIST_SWEEP_AFTER_MINUTES", "2"))
# --- Cache -------------------------------------------------------------------
# One cache shared by every web process: API throttle counts, login lockouts and rate
# limits must agree across processes. Redis in production (REDIS_CACHE_URL); this
# process's memory in the single-process embedded run. Its own Redis database, never
# the broker's: clearing a cache must not drop queued tasks.
REDIS_CACHE_URL = env("REDIS_CACHE_URL") or env("REDIS_URL")
if REDIS_CACHE_URL:
    # Falls back to process memory while Redis is unreachable (patients/cache.py); the
    # timeouts bound a Redis host that hangs rather than refuses.
    REDIS_CACHE_TIMEOUT_SECONDS = float(env("REDIS_CACHE_TIMEOUT_SECONDS", "0.5"))
    CACHES = {"default": {"BACKEND": "patients.cache.ResilientRedisCache",
                          "LOCATION": REDIS_CACHE_URL, "KEY_PREFIX": "pf",
                          "OPTIONS": {"socket_connect_timeout": REDIS_CACHE_TIMEOUT_SECONDS,
                                      "socket_timeout": REDIS_CACHE_TIMEOUT_SECONDS}}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
if PRODUCTION and not REDIS_CACHE_URL:
    raise ImproperlyConfigured(
        "Production needs a shared cache for throttles, login lockouts and rate limits: "
        "set REDIS_CACHE_URL")

# --- Filing in batches (forms_app.filing.batch) -------------------------------------
# Submissions filed per transaction by a filing task, and how long one task goes on
# taking batches before handing over to a successor (well inside its time limit).
# 200, not 50: the commit, the claim and each INSERT are paid once per batch, and real
# workers filed a 5,000 backlog at 323-366/s with 200 against 167-254/s with 50 (bench/
# filing_only.py, sizes alternated in one run); a batch still holds its locks for
# under a second.
FILING_BATCH_SIZE = int(env("FILING_BATCH_SIZE", "200"))
FILING_BATCH_SECONDS = float(env("FILING_BATCH_SECONDS", "20"))
# Wake-ups of the filing workers allowed to wait in the queue at once (about the
# number of worker processes): a backlog is a few messages, not one per submission.
# Needs the shared cache; with a per-process cache every submit publishes one.
FILING_WAKE_DEDUP = env("FILING_WAKE_DEDUP", "1" if REDIS_CACHE_URL else "0") == "1"
FILING_WAKE_SLOTS = int(env("FILING_WAKE_SLOTS", "2"))
FILING_WAKE_TTL_SECONDS = int(env("FILING_WAKE_TTL_SECONDS", "30"))
# The PDF rendering after filing has a queue of its own, "documents": it is the slowest
# part of filing (about 20 ms a form against about 3 ms for the filing itself), and on
# the filing queue every batch's rendering task is queued in front of the next filing
# wake-up, so a backlog was filed at the speed of its PDFs. Production runs a worker
# for each queue (deploy/systemd: patient-forms-worker -Q celery, and
# patient-forms-documents -Q documents, niced); a worker started without -Q (development,
# tests, a single small host) consumes both, since both are declared here.
FILING_DOCUMENTS_QUEUE = env("FILING_DOCUMENTS_QUEUE", "documents")
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_QUEUES = {name: {"exchange": name, "routing_key": name}
                      for name in dict.fromkeys(["celery", FILING_DOCUMENTS_QUEUE])}
CELERY_TASK_ROUTES = {
    "forms_app.filing.tasks.attach_documents_task": {"queue": FILING_DOCUMENTS_QUEUE},
}

# --- REST API (forms_app.api) -----------------------------------------------------
REST_FRAMEWORK = {
    # Only API client tokens: staff sessions do not reach the API.
    "DEFAULT_AUTHENTICATION_CLASSES": ["forms_app.api.authentication.ApiClientAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["forms_app.api.authentication.IsApiClient"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["forms_app.api.parsers.LimitedJSONParser"],
    "DEFAULT_THROTTLE_CLASSES": ["forms_app.api.throttling.ApiClientRateThrottle",
                                 "forms_app.api.throttling.ApiAnonRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "api_client": env("API_THROTTLE_RATE", "1200/minute"),
        "api_anon": env("API_ANON_THROTTLE_RATE", "60/minute"),
    },
    # One JSON error shape with field names: {"type", "errors": [{code, detail, attr}]}.
    # Domain errors (patients.errors.DomainError) are mapped in config/errors.py, through
    # DRF_STANDARDIZED_ERRORS' EXCEPTION_HANDLER_CLASS below.
    "EXCEPTION_HANDLER": "drf_standardized_errors.handler.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_standardized_errors.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Patient forms API",
    "DESCRIPTION": "Issue form links to patients and read their submissions, for the "
                   "EHR and other systems. Every call is scoped to the care team of "
                   "the calling client's token.",
    "VERSION": "1.0.0",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI from the drf-spectacular-sidecar package: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # drf-standardized-errors' error enums, named once (its documented setup).
    "ENUM_NAME_OVERRIDES": {
        name: f"drf_standardized_errors.openapi_serializers.{name}.choices"
        for name in ["ValidationErrorEnum", "ClientErrorEnum", "ServerErrorEnum",
                     "ErrorCode401Enum", "ErrorCode403Enum", "ErrorCode404Enum",
                     "ErrorCode405Enum", "ErrorCode406Enum", "ErrorCode415Enum",
                     "ErrorCode429Enum", "ErrorCode500Enum"]
    },
    "POSTPROCESSING_HOOKS": ["drf_standardized_errors.openapi_hooks.postprocess_schema_enums"],
}
# How long a link creation's Idempotency-Key is remembered (a retry within this window
# returns the same link); a beat task forgets older keys.
API_IDEMPOTENCY_KEY_HOURS = int(env("API_IDEMPOTENCY_KEY_HOURS", str(7 * 24)))
DRF_STANDARDIZED_ERRORS = {
    # One documented shape for every 400 (body fields, query parameters, headers,
    # unparseable JSON) rather than per-field code lists that custom checks outgrow.
    "ERROR_SCHEMAS": {"400": "forms_app.api.serializers.ValidationErrorResponseSerializer"},
    "EXCEPTION_HANDLER_CLASS": "config.errors.DomainExceptionHandler",
}
# --- Whiteboards ----------------------------------------------------------------
# A board refreshes every WHITEBOARD_REFRESH_SECONDS and shares a built board between
# screens for WHITEBOARD_CACHE_SECONDS: the two together bound how long a change takes
# to show (15 seconds).
WHITEBOARD_REFRESH_SECONDS = int(env("WHITEBOARD_REFRESH_SECONDS", "12"))
WHITEBOARD_CACHE_SECONDS = int(env("WHITEBOARD_CACHE_SECONDS", "3"))
# In the last this-many seconds of a shared board's cache time, one process builds it
# again after answering from it, so no screen's request waits for a build while polls
# keep coming (forms_app/whiteboard/sharing.py); the bound above is unchanged.
WHITEBOARD_REFRESH_AHEAD_SECONDS = float(env("WHITEBOARD_REFRESH_AHEAD_SECONDS", "1"))
WHITEBOARD_MAX_ROWS = int(env("WHITEBOARD_MAX_ROWS", "1000"))

# --- Benchmarks ----------------------------------------------------------------
# BENCH=1 mounts the baseline views of bench/ (a bare view, a primary-key lookup) under
# /bench/. Never in production: those pages are unauthenticated.
BENCH = env_bool("BENCH", False)
if BENCH and PRODUCTION:
    raise ImproperlyConfigured("BENCH must not be set in production")

# --- Security ------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
# same-origin, not no-referrer: under no-referrer Chromium sends "Origin: null" with
# every form POST, which Django's CSRF origin check (rightly) refuses, so no patient
# could send a page. same-origin still sends nothing, not even the origin, to other sites.
SECURE_REFERRER_POLICY = "same-origin"
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
# LOG_FORMAT: json (one JSON object a line, with the request id that follows a
# submission into its worker task; production's default) or plain (development's).
# Both formats redact every line (config/logs.py).
LOG_FORMAT = env("LOG_FORMAT", "json" if PRODUCTION else "plain")
if LOG_FORMAT not in {"plain", "json"}:
    raise ImproperlyConfigured("LOG_FORMAT is plain or json")
logs.configure_structlog(LOG_FORMAT)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": logs.formatter("plain"), "json": logs.formatter("json")},
    # Link tokens are rewritten out of request paths (patients/log_filters.py).
    "filters": {"redact_link_tokens": {"()": "patients.log_filters.RedactLinkTokens"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT,
                             "filters": ["redact_link_tokens"]}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {
        # Django logs the full request line of a 4xx/5xx, which for a patient link
        # would include the token: the filter on these loggers redacts it at source.
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False,
                           "filters": ["redact_link_tokens"]},
        "django.server": {"filters": ["redact_link_tokens"]},
        # django-axes logs every login at INFO with the username and IP: keep warnings.
        "axes": {"level": "WARNING"},
        # A failing readiness check is logged once by config.health, not with a
        # traceback per check per probe.
        "health_check": {"level": "ERROR"},
        # django-structlog writes request_finished for every request: the access log
        # in JSON, with the request id (request_started is at DEBUG, below).
        "django_structlog": {"level": "INFO"},
        # Celery's "Task ... succeeded in 0.1s: <return value>": django-structlog's
        # task_succeeded says the same without the task's return value.
        "celery.app.trace": {"level": "WARNING"},
    },
}
# django-structlog: a request id per request, carried into the tasks it enqueues.
DJANGO_STRUCTLOG_CELERY_ENABLED = True
# One access line a request, when it ends (request_finished: the request, its status
# and id; request_failed for an exception). A second line as each request began was
# written and redacted on every request (a sixth of a whiteboard poll's CPU, with the
# first) and said nothing the last does not.
DJANGO_STRUCTLOG_STATUS_START_LOG_LEVEL = logging.DEBUG
# The client's address comes from REMOTE_ADDR or the proxy's header
# (RATELIMIT_IP_META_KEY) in the audit trail; django-structlog's own guess trusts any
# X-Forwarded-For a client sends, so it stays out of the logs.
DJANGO_STRUCTLOG_IP_LOGGING_ENABLED = False
# A request id sent by the client is not trusted either: ours are made here.
DJANGO_STRUCTLOG_TRUST_UPSTREAM_REQUEST_ID = False

# --- Staff access (issue 7: two factors, sessions, lockout, CSP) -----------------------
# Every staff page needs a password and a verified second factor (patients/access.py).
# Staff sessions end after this long idle, and after this long in any case.
STAFF_SESSION_IDLE_SECONDS = int(env("STAFF_SESSION_IDLE_SECONDS", str(30 * 60)))
STAFF_SESSION_MAX_SECONDS = int(env("STAFF_SESSION_MAX_SECONDS", str(10 * 60 * 60)))
# How long a verified staff session's user and second-factor device are answered from
# the cache (patients/staff_check.py; docs/adr/0017): changes made in the platform apply
# at the next request, anything that bypasses it within this time. 0 turns it off.
STAFF_CHECK_CACHE_SECONDS = int(env("STAFF_CHECK_CACHE_SECONDS", "30"))
if not 0 <= STAFF_CHECK_CACHE_SECONDS <= 60:
    raise ImproperlyConfigured("STAFF_CHECK_CACHE_SECONDS must be between 0 and 60: a "
                               "revoked user or device must not be honoured for longer.")
# No session cookie outlives the longest staff session.
SESSION_COOKIE_AGE = min(int(env("SESSION_COOKIE_AGE", str(60 * 60 * 8))),
                         STAFF_SESSION_MAX_SECONDS)
CSRF_COOKIE_HTTPONLY = True  # no page script reads it; forms carry the token
OTP_TOTP_ISSUER = env("OTP_TOTP_ISSUER", SERVICE_NAME)
# Passkeys are a second factor only: a password comes first.
OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN = False
OTP_WEBAUTHN_RP_ID = env("OTP_WEBAUTHN_RP_ID", ALLOWED_HOSTS[0])
OTP_WEBAUTHN_RP_NAME = SERVICE_NAME
# Passkeys need https (or http://localhost while developing).
OTP_WEBAUTHN_ALLOWED_ORIGINS = env_list(
    "OTP_WEBAUTHN_ALLOWED_ORIGINS",
    SITE_URL if SITE_URL.startswith("https://") else "http://localhost:8000")

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses locked-out logins before checking
    "django.contrib.auth.backends.ModelBackend",
]

# django-axes: lock a username from an IP after repeated failures, counted in the
# database (not the cache): a cache outage must neither lock staff out nor open the door
# to unlimited guessing (docs/adr/0014-staff-sign-in-without-the-cache.md).
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
# Logins are audited in the platform's own trail (patients/signals.py); axes' access log
# would be a second, never-pruned copy.
AXES_DISABLE_ACCESS_LOG = True
AXES_FAILURE_LIMIT = int(env("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = float(env("AXES_COOLOFF_HOURS", "0.5"))  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "patients/account/locked_out.html"
AXES_VERBOSE = False
AXES_SENSITIVE_PARAMETERS = ["password", "otp_token", "code"]

# Rate limits per IP on the patient link and identity check (django-ratelimit).
RATELIMIT_LINK_OPEN = env("RATELIMIT_LINK_OPEN", "30/m")
RATELIMIT_IDENTITY_CHECK = env("RATELIMIT_IDENTITY_CHECK", "20/m")
# The client's address, one rule for audit, rate limits and axes (patients/client_ip.py).
# Behind a proxy, REMOTE_ADDR is the proxy: give the header the proxy sets (e.g.
# HTTP_X_FORWARDED_FOR) and how many proxies of ours append to it.
CLIENT_IP_META_KEY = env("CLIENT_IP_META_KEY") or env("RATELIMIT_IP_META_KEY", "REMOTE_ADDR")
CLIENT_IP_TRUSTED_PROXIES = int(env("CLIENT_IP_TRUSTED_PROXIES", "1"))
RATELIMIT_IP_META_KEY = "patients.client_ip.ratelimit_ip"
AXES_CLIENT_IP_CALLABLE = "patients.client_ip.client_ip"

# A strict Content-Security-Policy (django-csp): scripts, styles, images and fonts only
# from this origin, no inline script or style, no framing, forms post only here.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'none'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "manifest-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    },
}

# --- Retention (issue 7) ----------------------------------------------------------------
# Defaults for forms without their own policy (forms_app.RetentionPolicy): answers are
# deleted from this platform this many days after filing (the record keeps its copy), and
# unfinished drafts this many days after their link expired or was revoked.
RETENTION_DAYS_AFTER_FILING = int(env("RETENTION_DAYS_AFTER_FILING", "90"))
RETENTION_DRAFT_DAYS = int(env("RETENTION_DRAFT_DAYS", "0"))

# --- Operations: health, metrics, logs (issue 15; docs/deployment.md) -------------------
# Each readiness check (database, migrations, encryption canary, cache, broker) gives up
# after this long, so a probe every few seconds cannot pile up behind a dead host.
READINESS_TIMEOUT_SECONDS = float(env("READINESS_TIMEOUT_SECONDS", "2"))
# The probes are answered before SecurityMiddleware (config/probes.py); this keeps them
# unredirected should that order ever change.
SECURE_REDIRECT_EXEMPT = [r"^(healthz|readyz|metrics)/?$"]
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # libpq gives up connecting after this many seconds (default: wait for ever), so a
    # database host that drops packets fails a request or a probe instead of hanging it.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", int(env("DATABASE_CONNECT_TIMEOUT", "5")))

# Who may read /metrics (config/metrics.py): the TCP peer's address in one of these
# networks, or a request with "Authorization: Bearer $METRICS_TOKEN". Never the load
# balancer's address: everyone behind it would be let in.
METRICS_ALLOWED_IPS = env_list("METRICS_ALLOWED_IPS", "127.0.0.1/32,::1/128")
try:
    METRICS_ALLOWED_NETWORKS = [ipaddress.ip_network(n, strict=False)
                                for n in METRICS_ALLOWED_IPS]
except ValueError as exc:
    raise ImproperlyConfigured(f"METRICS_ALLOWED_IPS: {exc}") from exc
METRICS_TOKEN = env("METRICS_TOKEN", "")
# A Celery worker serves its own metrics (task counts and durations, filing and
# delivery counters) on this port, guarded the same way; unset: no exporter.
CELERY_METRICS_PORT = int(env("CELERY_METRICS_PORT", "0")) or None
CELERY_METRICS_ADDRESS = env("CELERY_METRICS_ADDRESS", "127.0.0.1")
