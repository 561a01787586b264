from django.contrib import admin

from patients.models import AuditEvent, CareTeam, Organisation, Patient, RecordEntry
from patients.services import record_audit


class ReadOnlyAdminMixin:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "ods_code"]
    search_fields = ["name", "ods_code"]


@admin.register(CareTeam)
class CareTeamAdmin(admin.ModelAdmin):
    list_display = ["name", "organisation"]
    list_filter = ["organisation"]
    search_fields = ["name"]
    filter_horizontal = ["members"]

    def get_queryset(self, request):
        qs = super().get_queryset(request).select_related("organisation")
        return qs if request.user.is_superuser else qs.of_user(request.user)


@admin.register(Patient)
class PatientAdmin(admin.ModelAdmin):
    list_display = ["__str__", "nhs_number", "date_of_birth", "organisation"]
    search_fields = ["nhs_number", "hospital_number", "family_name", "given_name"]
    filter_horizontal = ["care_teams"]

    def get_queryset(self, request):
        return Patient.objects.visible_to(request.user).select_related("organisation")


@admin.register(RecordEntry)
class RecordEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["patient", "resource_type", "filed_at", "source_kind"]
    fields = ["patient", "resource_type", "source_kind", "source_id", "filed_at", "summary",
              "resource"]
    readonly_fields = fields

    def get_queryset(self, request):
        return RecordEntry.objects.visible_to(request.user).select_related("patient")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        entry = self.get_object(request, object_id)
        if entry is not None and request.method == "GET":
            record_audit(by=request.user, action=AuditEvent.Action.RECORD_VIEWED,
                         patient=entry.patient, obj=entry,
                         ip_address=request.META.get("REMOTE_ADDR"))
        return super().change_view(request, object_id, form_url, extra_context)


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["at", "actor_label", "action", "patient", "object_kind", "ip_address"]
    list_filter = ["action"]
    date_hierarchy = "at"

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        return qs.filter(organisation__care_teams__in=CareTeam.objects.of_user(request.user)
                         ).distinct()
