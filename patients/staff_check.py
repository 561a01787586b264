"""The per-request staff check (user and second-factor device), answered from the cache.

Every staff request used to load the session's user and its OTP device from PostgreSQL:
two queries and about half the CPU of a whiteboard poll, when a screen polls every few
seconds all day. Here OTPMiddleware's answer for a verified staff session is kept in the
shared cache for STAFF_CHECK_CACHE_SECONDS (30 s) and a request reads it back with one
MGET: the entry for (user, device), and the user's staff-check generation.

Exactly as strict as the database, within a documented bound
(docs/adr/0017-staff-check-from-the-cache.md):
- only a session that passed the full check (active, is_staff, the session's password
  hash verified by Django, a confirmed device of that user) is remembered; anything else
  takes the full path every time;
- the entry is used only by a session holding the same user, device and password hash
  it was made for;
- saving or deleting the user or any of their devices (deactivation, password change,
  device removal or reset, in the admin or through a service) bumps the user's
  generation once the transaction commits, so the next request takes the full path;
- whatever bypasses model signals (an UPDATE in SQL, a Redis outage during which each
  web process falls back to its own memory) takes effect when the entry expires:
  STAFF_CHECK_CACHE_SECONDS after the check it remembers, at most 60 s (settings).
Logging out or ending a user's sessions deletes the session rows, which are still read
from the database on every request: that applies at once, whatever the cache holds.
"""

import copy
import time

from django.apps import apps
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.utils.functional import LazyObject
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.middleware import OTPMiddleware
from django_otp.models import Device

# Per-request caches that must not travel between requests (permissions are computed
# again from the database by whichever request asks).
_REQUEST_ONLY = ("otp_device", "is_verified", "_perm_cache", "_user_perm_cache",
                 "_group_perm_cache")


# Cache keys a staff view is about to read, fetched in the staff check's own round trip
# (one MGET instead of two on a whiteboard poll). Registered by the app that owns the
# view: patients never imports forms_app.
_prefetchers = []


def register_prefetch(prefetcher) -> None:
    """prefetcher(request, user_id) -> the cache keys this request's view will read, or
    None. Called on every request of a signed-in staff session, before the view: it
    must cost next to nothing for the requests it does not concern (a path match)."""
    if prefetcher not in _prefetchers:
        _prefetchers.append(prefetcher)


def prefetched(request, keys) -> dict | None:
    """The values the staff check read for `keys` in this request (a missing key absent,
    as get_many gives it), or None if it did not read them all: read them yourself."""
    fetched = getattr(request, "_staff_check_prefetched", None)
    if fetched is None or not fetched[0].issuperset(keys):
        return None
    return {key: fetched[1][key] for key in keys if key in fetched[1]}


def _prefetch_keys(request, user_id) -> list:
    return [key for prefetcher in _prefetchers
            for key in (prefetcher(request, user_id) or ())]


def _entry_key(user_id, device_id) -> str:
    return f"staff-check:{user_id}:{device_id}"


def _generation_key(user_id) -> str:
    return f"staff-check:generation:{user_id}"


def staff_check_changed(user_id) -> None:
    """Forget every remembered check of this user, now and once the change is committed.

    Again after the commit, so that a request between the change and the commit cannot
    read the old row and keep it under the new generation. A fresh value, not incr():
    nothing to race on, and it survives the key's eviction (a missing generation is 0,
    which no remembered entry carries)."""
    def bump():
        cache.set(_generation_key(user_id), time.time_ns(),
                  settings.STAFF_CHECK_CACHE_SECONDS * 2)

    # Now as well: a request that reads the old row before the commit remembers it
    # under this generation, and the bump on commit forgets it again.
    bump()
    transaction.on_commit(bump)


def _session_ids(request):
    """(user id, device id, password hash) of a session signed in with a second factor,
    or None (a patient, an anonymous visitor, a sign-in half way)."""
    session = getattr(request, "session", None)
    if session is None or not settings.STAFF_CHECK_CACHE_SECONDS:
        return None
    user_id, device_id = session.get(SESSION_KEY), session.get(DEVICE_ID_SESSION_KEY)
    if not user_id or not device_id:
        return None
    if session.get(BACKEND_SESSION_KEY) not in settings.AUTHENTICATION_BACKENDS:
        return None
    return str(user_id), str(device_id), session.get(HASH_SESSION_KEY) or ""


def _unwrap(user):
    # OTPMiddleware has set attributes on AuthenticationMiddleware's lazy user, so it is
    # loaded by now.
    return user._wrapped if isinstance(user, LazyObject) else user


class StaffCheckMiddleware(OTPMiddleware):
    """django-otp's middleware, with a verified staff session's answer remembered.

    In MIDDLEWARE in place of django_otp.middleware.OTPMiddleware, after
    AuthenticationMiddleware (whose lazy user is loaded only on a cache miss)."""

    def _verify_user_sync(self, request, user):
        ids = _session_ids(request)
        if ids is None:
            return super()._verify_user_sync(request, user)
        user_id, device_id, session_hash = ids
        entry_key, generation_key = _entry_key(user_id, device_id), _generation_key(user_id)
        extra = _prefetch_keys(request, user_id)
        found = cache.get_many([entry_key, generation_key, *extra])
        if extra:
            request._staff_check_prefetched = (frozenset(extra), found)
        generation = found.get(generation_key, 0)
        entry = found.get(entry_key)
        if entry is not None:
            remembered_generation, remembered_hash, cached_user, device = entry
            if remembered_generation == generation and remembered_hash == session_hash:
                self._init_user_fields(cached_user)
                cached_user.otp_device = device
                return cached_user
        verified = super()._verify_user_sync(request, user)
        self._remember(request, entry_key, generation, verified)
        return verified

    @staticmethod
    def _remember(request, entry_key, generation, user):
        device = getattr(user, "otp_device", None)
        if not (device is not None and user.is_authenticated and user.is_active
                and user.is_staff):
            return
        real = copy.copy(_unwrap(user))
        for name in _REQUEST_ONLY:
            real.__dict__.pop(name, None)
        real, device = _without_secrets(real), _without_secrets(device)
        # The hash as it stands after Django's check (it may have been rotated onto the
        # current SECRET_KEY), so the next request of this session matches it.
        session_hash = request.session.get(HASH_SESSION_KEY) or ""
        cache.set(entry_key, (generation, session_hash, real, device),
                  settings.STAFF_CHECK_CACHE_SECONDS)


def _without_secrets(instance):
    """A copy of a user or device that holds none of its secrets, for the shared cache.

    A user loses its password hash; a device keeps only the fields every django-otp
    device has (id, user, name, confirmed) and loses the rest (a TOTP key, counters,
    throttling, whatever a device type adds). The missing fields are deferred: Django
    loads them from the database if a request asks (a password change, an OTP
    challenge), so the cache never holds a secret that only the database should."""
    if instance is None:
        return None
    if isinstance(instance, Device):
        kept = {field.attname for field in Device._meta.fields} | {"id"}
    else:
        kept = {field.attname for field in instance._meta.concrete_fields} - {"password"}
    copied = copy.copy(instance)
    for field in instance._meta.concrete_fields:
        if field.attname not in kept:
            copied.__dict__.pop(field.attname, None)
    return copied


def _user_saved_or_deleted(sender, instance, **kwargs):
    staff_check_changed(instance.pk)


def _device_saved_or_deleted(sender, instance, **kwargs):
    if instance.user_id is not None:
        staff_check_changed(instance.user_id)


def connect_signals() -> None:
    """Every save or delete of a user or of any kind of second-factor device (TOTP,
    backup codes, passkeys) forgets that user's remembered checks. From AppConfig.ready,
    once every model is loaded."""
    user_model = apps.get_model(settings.AUTH_USER_MODEL)
    for signal in (post_save, post_delete):
        signal.connect(_user_saved_or_deleted, sender=user_model,
                       dispatch_uid=f"patients.staff_check.user.{signal is post_save}")
        for model in apps.get_models():
            if issubclass(model, Device):
                signal.connect(_device_saved_or_deleted, sender=model,
                               dispatch_uid=f"patients.staff_check.{model._meta.label}."
                                            f"{signal is post_save}")
