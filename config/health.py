"""Liveness (/healthz) and readiness (/readyz) for load balancers and supervisors.

/healthz answers as long as the process serves requests: it touches nothing else, so a
restart is only asked for when the process itself is wedged. /readyz answers 200 only
when this process can do its work: the database answers and holds every migration this
code knows, the shared cache and the broker answer, and the configured keys decrypt the
encryption canary. Otherwise 503, naming each failing check. Bodies carry check names
and short error classes only: no patient data, no URLs, no credentials.

The checks are django-health-check's (4.x) where it has one that fits, and small
subclasses of its HealthCheck where it does not. Each has a short timeout of its own
(READINESS_TIMEOUT_SECONDS) so a black-holed host cannot hold a probe for long, and the
migration check, the only costly one, runs only until it first succeeds in a process.
"""

import asyncio
import dataclasses
import datetime
import logging
from typing import ClassVar

from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpResponseNotAllowed, JsonResponse
from django.utils.cache import add_never_cache_headers
from health_check.base import HealthCheck
from health_check.checks import Cache
from health_check.contrib.redis import Redis
from health_check.exceptions import ServiceUnavailable
from redis.asyncio import Redis as AsyncRedis

logger = logging.getLogger(__name__)


def _timeout() -> datetime.timedelta:
    return datetime.timedelta(seconds=settings.READINESS_TIMEOUT_SECONDS)


class _OnRequestThread(HealthCheck):
    """A check that uses Django's database connection runs on the request's own thread
    (thread_sensitive), so it reuses that thread's persistent connection instead of
    opening one per probe in an executor thread that nobody closes."""

    async def run(self):
        await sync_to_async(self.check, thread_sensitive=True)()

    def check(self):  # pragma: no cover - every subclass defines it
        raise NotImplementedError


@dataclasses.dataclass
class DatabaseCheck(_OnRequestThread):
    name: ClassVar[str] = "database"

    def check(self):
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                row = cursor.fetchone()
        except DatabaseError as exc:
            raise ServiceUnavailable(type(exc).__name__) from exc
        if row != (1,):
            raise ServiceUnavailable("unexpected answer to SELECT 1")


# Set once this process has seen every migration applied. A database does not lose
# migrations while a release runs, so re-reading the migration graph (tens of
# milliseconds) on every probe would buy nothing.
_migrated = False


def unapplied_migrations() -> list[str]:
    """Migrations this code has that the database has not applied, as app.name."""
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{migration.app_label}.{migration.name}" for migration, _ in plan]


@dataclasses.dataclass
class MigrationsCheck(_OnRequestThread):
    name: ClassVar[str] = "migrations"

    def check(self):
        global _migrated
        if _migrated:
            return
        try:
            missing = unapplied_migrations()
        except DatabaseError as exc:
            raise ServiceUnavailable(type(exc).__name__) from exc
        if missing:
            # Names of migrations are code, not data: they tell the operator what to run.
            raise ServiceUnavailable(f"{len(missing)} unapplied, first {missing[0]}")
        _migrated = True


@dataclasses.dataclass
class EncryptionCheck(_OnRequestThread):
    """The configured FIELD_ENCRYPTION_KEYS decrypt the canary (patients.EncryptionCanary)
    to its known value: a process with the wrong keys would fail every patient page."""

    name: ClassVar[str] = "encryption"

    def check(self):
        from patients.crypto import DecryptionError
        from patients.models import EncryptionCanary

        try:
            canary = EncryptionCanary.objects.filter(pk=1).first()
        except DecryptionError as exc:
            raise ServiceUnavailable("the keys cannot decrypt the canary") from exc
        except DatabaseError as exc:
            raise ServiceUnavailable(type(exc).__name__) from exc
        if canary is None:
            raise ServiceUnavailable("no canary stored (run migrate)")
        if canary.value != EncryptionCanary.VALUE:
            raise ServiceUnavailable("the canary decrypts to the wrong value")


def _redis_factory(url):
    def factory():
        seconds = settings.READINESS_TIMEOUT_SECONDS
        return AsyncRedis.from_url(url, socket_timeout=seconds,
                                   socket_connect_timeout=seconds)
    return factory


@dataclasses.dataclass(repr=False)
class CacheRedisCheck(Redis):
    """The shared cache's Redis answers PING (its own client, with short timeouts, so
    the probe is bounded whatever the cache's own connection settings are)."""

    name: ClassVar[str] = "cache"


@dataclasses.dataclass
class LocalCacheCheck(Cache):
    """Without a shared cache (the embedded run): the process's own cache works."""

    name: ClassVar[str] = "cache"


@dataclasses.dataclass(repr=False)
class BrokerRedisCheck(Redis):
    name: ClassVar[str] = "broker"


@dataclasses.dataclass
class BrokerKombuCheck(HealthCheck):
    """Any other broker (RabbitMQ): connect through Celery's own connection settings."""

    name: ClassVar[str] = "broker"

    def run(self):
        from config.celery import app

        try:
            with app.connection_for_write(url=settings.CELERY_BROKER_URL) as conn:
                conn.ensure_connection(max_retries=0,
                                       timeout=settings.READINESS_TIMEOUT_SECONDS)
        except Exception as exc:  # kombu raises many kinds; each means unreachable
            raise ServiceUnavailable(type(exc).__name__) from exc


def readiness_checks() -> list[HealthCheck]:
    """The checks for this configuration, read from settings at each probe (tests
    override settings; production reads the same values every time)."""
    checks = [DatabaseCheck(), MigrationsCheck(), EncryptionCheck()]
    if settings.REDIS_CACHE_URL:
        checks.append(CacheRedisCheck(client_factory=_redis_factory(settings.REDIS_CACHE_URL)))
    else:
        checks.append(LocalCacheCheck(key_prefix="pf-readyz"))
    broker = settings.CELERY_BROKER_URL
    if broker and broker.startswith(("redis://", "rediss://", "unix://")):
        checks.append(BrokerRedisCheck(client_factory=_redis_factory(broker)))
    elif broker:
        checks.append(BrokerKombuCheck())
    # No broker: tasks run in-process (the embedded run), so there is nothing to reach.
    for check in checks:
        if "timeout" not in {f.name for f in dataclasses.fields(check)}:
            check.timeout = _timeout()
    return checks


async def _results(checks):
    return await asyncio.gather(*(check.get_result() for check in checks))


def _only_get(view):
    def wrapper(request):
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET", "HEAD"])
        response = view(request)
        add_never_cache_headers(response)
        return response
    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


@_only_get
def healthz(request):
    """Liveness: the process answers."""
    return JsonResponse({"status": "ok"})


@_only_get
def readyz(request):
    """Readiness: 200 with every check "ok", or 503 naming the failing checks."""
    results = async_to_sync(_results)(readiness_checks())
    checks = {r.check.name: ("ok" if r.error is None else str(r.error)) for r in results}
    failing = [r.check.name for r in results if r.error is not None]
    body = {"status": "unavailable" if failing else "ok", "checks": checks}
    if not failing:
        return JsonResponse(body)
    body["failing"] = failing
    response = JsonResponse(body, status=503)
    # One line per failing probe, rather than django.request's error and
    # django-health-check's traceback per check (settings.LOGGING quietens it).
    logger.warning("Not ready: %s", ", ".join(f"{n} ({checks[n]})" for n in failing))
    response._has_been_logged = True
    return response
