from django.contrib import admin

from forms_app.admin.core import FormChangeAuditMixin
from forms_app.models import Form, RetentionPolicy
from patients.admin_site import ScopedAdminMixin


@admin.register(RetentionPolicy)
class RetentionPolicyAdmin(FormChangeAuditMixin, ScopedAdminMixin, admin.ModelAdmin):
    """Retention is part of a form's design: changes are audited as form changes."""

    list_display = ["form", "days_after_filing", "draft_days"]
    search_fields = ["form__title"]

    def scope(self, request, queryset):
        return queryset.filter(form__in=Form.objects.visible_to(request.user))
