import csv

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db import models
from django.http import StreamingHttpResponse
from django.utils.html import format_html

from patients import services
from patients.admin_site import ScopedAdminMixin, restrict_to_platform
from patients.client_ip import client_ip
from patients.models import AuditEvent, CareTeam, Organisation, Patient, RecordEntry
from patients.nhs_number import format_nhs_number
from patients.records import readable_summary, reader_url
from patients.services import record_audit


def administered(user):
    return Organisation.objects.administered_by(user)


class ReadOnlyAdminMixin:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Organisation)
class OrganisationAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "ods_code"]
    search_fields = ["name", "ods_code"]
    filter_horizontal = ["administrators"]

    def scope(self, request, queryset):
        return queryset.filter(pk__in=Organisation.objects.of_user(request.user).values("pk"))

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        if obj is not None and not administered(request.user).filter(pk=obj.pk).exists():
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False  # organisations hold records: never deleted from the admin


@admin.register(CareTeam)
class CareTeamAdmin(ScopedAdminMixin, admin.ModelAdmin):
    """Members see their own teams; organisation administrators manage all of theirs."""

    list_display = ["name", "organisation"]
    # RelatedOnly: the filter lists the organisations in scope, not every one installed.
    list_filter = [("organisation", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name"]
    filter_horizontal = ["members"]

    def scope(self, request, queryset):
        user = request.user
        return queryset.filter(
            models.Q(pk__in=CareTeam.objects.of_user(user).values("pk"))
            | models.Q(organisation__in=administered(user))
        ).select_related("organisation").distinct()

    def _administers(self, request, obj):
        if obj is None:
            return administered(request.user).exists()
        return administered(request.user).filter(pk=obj.organisation_id).exists()

    def has_add_permission(self, request):
        return self._administers(request, None) and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None):
        return self._administers(request, obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._administers(request, obj) and super().has_delete_permission(request, obj)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "organisation":
            kwargs["queryset"] = administered(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Patient)
class PatientAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ["__str__", "nhs_number_display", "date_of_birth", "organisation"]
    search_fields = ["nhs_number", "hospital_number", "family_name", "given_name"]
    filter_horizontal = ["care_teams"]

    @admin.display(description="NHS number", ordering="nhs_number")
    def nhs_number_display(self, obj):
        return format_nhs_number(obj.nhs_number)

    def scope(self, request, queryset):
        return queryset.filter(
            pk__in=Patient.objects.visible_to(request.user).values("pk")
        ).select_related("organisation")

    def has_delete_permission(self, request, obj=None):
        return False  # a patient's record is kept; retention deletes answers, not people

    def save_related(self, request, form, formsets, change):
        # The form offers only the user's own teams; keep the patient's other teams,
        # which this user must neither see nor remove.
        hidden = []
        if change:
            hidden = list(form.instance.care_teams.exclude(
                pk__in=CareTeam.objects.of_user(request.user)))
        super().save_related(request, form, formsets, change)
        if hidden:
            form.instance.care_teams.add(*hidden)


@admin.register(RecordEntry)
class RecordEntryAdmin(ScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["patient", "resource_type", "filed_at", "source_kind"]
    fields = ["patient", "resource_type", "source_kind", "source_id", "filed_at",
              "scores_and_flags", "readable"]
    readonly_fields = fields

    @admin.display(description="scores and flags")
    def scores_and_flags(self, obj):
        return readable_summary(obj.summary)

    @admin.display(description="answers and PDF")
    def readable(self, obj):
        url = reader_url(obj)
        if url is None:
            return "No readable view for this kind of entry."
        return format_html('<a href="{}">Read the answers and download the PDF</a>', url)

    def scope(self, request, queryset):
        return queryset.filter(
            pk__in=RecordEntry.objects.visible_to(request.user).values("pk")
        ).select_related("patient")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        entry = self.get_object(request, object_id)
        if entry is not None and request.method == "GET":
            record_audit(by=request.user, action=AuditEvent.Action.RECORD_VIEWED,
                         patient=entry.patient, obj=entry, ip_address=client_ip(request))
        return super().change_view(request, object_id, form_url, extra_context)


class _Echo:
    def write(self, value):
        return value


@admin.register(AuditEvent)
class AuditEventAdmin(ScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Organisation administrators search and export their organisation's trail.

    The patient is shown by id, not name: reading the trail is not a way to read who
    the patients are.
    """

    list_display = ["at", "actor_label", "action", "patient_id", "object_kind", "object_id",
                    "ip_address"]
    list_filter = ["action", ("organisation", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["actor_label", "=object_id", "=patient__id", "=ip_address"]
    date_hierarchy = "at"
    actions = ["export_csv"]
    fields = ["at", "actor_label", "action", "organisation", "patient_id", "object_kind",
              "object_id", "ip_address", "detail"]
    readonly_fields = fields

    def scope(self, request, queryset):
        user = request.user
        queryset = queryset.filter(organisation__in=administered(user))
        if user.is_superuser:
            # Installation-wide events (a failed login with an unknown username).
            queryset = queryset.model.objects.filter(
                models.Q(pk__in=queryset.values("pk")) | models.Q(organisation__isnull=True))
        return queryset

    @admin.action(description="Export selected events as CSV")
    def export_csv(self, request, queryset):
        columns = ["at", "actor_label", "action", "organisation_id", "patient_id",
                   "object_kind", "object_id", "ip_address", "detail"]
        rows = list(queryset.order_by("at").values_list(*columns))
        record_audit(by=request.user, action=AuditEvent.Action.AUDIT_EXPORTED,
                     organisation=services.user_organisation(request.user),
                     ip_address=client_ip(request), detail={"rows": len(rows)})
        writer = csv.writer(_Echo())

        def lines():
            yield writer.writerow(columns)
            for row in rows:
                yield writer.writerow(["" if v is None else v for v in row])

        response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="audit.csv"'
        return response


User = get_user_model()
admin.site.unregister(User)


@admin.register(User)
class StaffUserAdmin(ScopedAdminMixin, UserAdmin):
    """Superusers manage every account; organisation administrators the accounts of
    their organisations (and accounts not yet in any team, so they can add them)."""

    actions = ["reset_second_factor"]

    def scope(self, request, queryset):
        user = request.user
        if user.is_superuser:
            return queryset
        orgs = administered(user)
        visible = models.Q(pk=user.pk)
        if orgs.exists():
            visible |= (models.Q(care_teams__organisation__in=orgs)
                        | models.Q(administered_organisations__in=orgs)
                        | models.Q(care_teams__isnull=True,
                                   administered_organisations__isnull=True,
                                   is_superuser=False))
        return queryset.filter(visible).distinct()

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            # Only a platform superuser makes superusers or grants raw permissions.
            readonly += ["is_superuser", "user_permissions", "groups"]
        return readonly

    @admin.action(description="Reset second-factor devices (they enrol again at next login)")
    def reset_second_factor(self, request, queryset):
        for target in queryset:
            services.reset_second_factor_devices(user=target, by=request.user,
                                                 ip_address=client_ip(request))
        self.message_user(request, f"Reset the second factor of {queryset.count()} user(s).",
                          messages.SUCCESS)


# django-otp devices, django-otp-webauthn credentials, axes lockouts and auth groups are
# installation-wide: platform superusers only (resets go through the user action above).
restrict_to_platform(admin.site, {"otp_static", "otp_totp", "django_otp_webauthn", "axes",
                                  "auth"})
