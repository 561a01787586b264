"""Logins, failed logins and logouts go to the audit trail; a logout or a deactivation
ends every session of the user."""

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import post_save
from django.dispatch import receiver

from patients.client_ip import client_ip
from patients.models import AuditEvent, StaffSession
from patients.services import end_user_sessions, record_audit, user_organisation


@receiver(user_logged_in, dispatch_uid="patients.audit_login")
def on_login(sender, request, user, **kwargs):
    if request is not None and request.session.session_key:
        StaffSession.objects.update_or_create(session_key=request.session.session_key,
                                              defaults={"user": user})
    record_audit(by=user, action=AuditEvent.Action.LOGIN, organisation=user_organisation(user),
                 obj=user, ip_address=client_ip(request))


@receiver(user_login_failed, dispatch_uid="patients.audit_login_failed")
def on_login_failed(sender, credentials, request=None, **kwargs):
    # Only the username tried: Django has already masked the password.
    username = str(credentials.get("username", ""))[:150]
    record_audit(by="anonymous", action=AuditEvent.Action.LOGIN_FAILED,
                 ip_address=client_ip(request), detail={"username": username})


@receiver(user_logged_out, dispatch_uid="patients.end_sessions_on_logout")
def on_logout(sender, request, user, **kwargs):
    if user is None:
        return
    record_audit(by=user, action=AuditEvent.Action.LOGOUT, organisation=user_organisation(user),
                 obj=user, ip_address=client_ip(request))
    end_user_sessions(user=user, by=user, reason="logout", ip_address=client_ip(request))


@receiver(post_save, sender=get_user_model(), dispatch_uid="patients.end_sessions_inactive")
def on_user_saved(sender, instance, created, update_fields=None, **kwargs):
    if created or instance.is_active:
        return
    if update_fields is not None and "is_active" not in update_fields:
        return
    if StaffSession.objects.filter(user=instance).exists():
        end_user_sessions(user=instance, by="system", reason="deactivated")
