"""Admin for delivery: per-organisation message wording, and messages as sent (read-only)."""

from django.contrib import admin

from forms_app.admin.core import user_organisations
from forms_app.delivery.messages import ALLOWED
from forms_app.models import DeliveryAttempt, MessageTemplate
from patients.admin_site import ScopedAdminMixin


@admin.register(MessageTemplate)
class MessageTemplateAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ["organisation", "purpose", "channel", "subject"]
    list_filter = ["purpose", "channel"]
    fields = ["organisation", "purpose", "channel", "subject", "body"]

    def scope(self, request, queryset):
        return queryset.filter(organisation__in=user_organisations(request.user))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "organisation":
            kwargs["queryset"] = user_organisations(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        form.base_fields["body"].help_text = "Placeholders: " + "; ".join(
            f"{purpose}: " + ", ".join(f"(({name}))" for name in sorted(names))
            for purpose, names in ALLOWED.items())
        return form


@admin.register(DeliveryAttempt)
class DeliveryAttemptAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "purpose", "channel", "status", "tries", "last_error",
                    "backend"]
    list_filter = ["status", "purpose", "channel"]
    fields = ["link", "purpose", "channel", "sequence", "status", "backend", "provider_id",
              "tries", "last_error", "requested_by", "created_at", "sent_at", "delivered_at",
              "failed_at"]
    readonly_fields = fields

    def scope(self, request, queryset):
        return queryset.filter(pk__in=DeliveryAttempt.objects.visible_to(request.user))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
