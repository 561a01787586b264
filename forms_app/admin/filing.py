"""Admin of the worklist (scoped to the user's care teams, read-only but for acknowledging)."""

from django.contrib import admin, messages

from forms_app.filing import services
from forms_app.models import WorklistTask
from patients.admin_site import ScopedAdminMixin


@admin.register(WorklistTask)
class WorklistTaskAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ["submission", "patient", "care_team", "created_at", "notified_at",
                    "acknowledged_at", "acknowledged_by"]
    list_filter = [("acknowledged_at", admin.EmptyFieldListFilter)]
    fields = ["submission", "patient", "care_team", "flags", "created_at", "notified_at",
              "acknowledged_at", "acknowledged_by"]
    readonly_fields = fields
    actions = ["acknowledge"]

    def scope(self, request, queryset):
        return queryset.filter(pk__in=WorklistTask.objects.visible_to(request.user)
                               ).select_related("submission", "patient", "care_team",
                                                "acknowledged_by")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description="Acknowledge selected tasks", permissions=["view"])
    def acknowledge(self, request, queryset):
        done = 0
        for task in queryset.filter(acknowledged_at__isnull=True):
            try:
                services.acknowledge_task(task_id=task.pk, by=request.user)
            except services.FilingServiceError as exc:
                self.message_user(request, str(exc), level=messages.WARNING)
            else:
                done += 1
        self.message_user(request, f"Acknowledged {done} task(s).")
