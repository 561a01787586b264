"""API clients in the admin: created through the service, the token shown once."""

from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache

from forms_app.api import services as api_services
from forms_app.models import ApiClient
from patients.admin_site import ScopedAdminMixin
from patients.models import CareTeam


@admin.register(ApiClient)
class ApiClientAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "care_team", "registers_patients", "token_prefix", "is_active",
                    "created_at"]
    search_fields = ["name"]
    readonly_fields = ["token_prefix", "is_active", "created_at", "created_by"]
    actions = ["rotate_token", "deactivate"]

    def scope(self, request, queryset):
        return queryset.select_related("care_team__organisation", "user").filter(
            care_team__in=CareTeam.objects.of_user(request.user))

    def get_readonly_fields(self, request, obj=None):
        # A client's team is fixed: a client for another team is a new client.
        if obj is not None:
            return [*self.readonly_fields, "care_team"]
        return self.readonly_fields

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["name", "care_team", "registers_patients"]
        return ["name", "care_team", "registers_patients", "token_prefix", "is_active",
                "created_at", "created_by"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "care_team" and not request.user.is_superuser:
            kwargs["queryset"] = CareTeam.objects.of_user(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_delete_permission(self, request, obj=None):
        # Audit events and links name the client's user: deactivate instead.
        return False

    @admin.display(boolean=True, description="active")
    def is_active(self, obj):
        return obj.user.is_active

    def save_model(self, request, obj, form, change):
        if change:
            obj.save(update_fields=["name", "registers_patients"])
            return
        client, token = api_services.create_api_client(
            name=obj.name, care_team=obj.care_team, by=request.user,
            registers_patients=obj.registers_patients)
        # The admin goes on with `obj` (history, redirect): make it the saved client.
        for field in ApiClient._meta.concrete_fields:
            setattr(obj, field.attname, getattr(client, field.attname))
        obj._state = client._state
        request._api_client_token = token

    def response_add(self, request, obj, post_url_continue=None):
        token = getattr(request, "_api_client_token", None)
        if token is None:
            return super().response_add(request, obj, post_url_continue)
        return self._show_token(request, obj, token)

    @method_decorator(never_cache)
    def _show_token(self, request, client, token):
        context = {**self.admin_site.each_context(request), "opts": self.model._meta,
                   "client": client, "token": token, "title": "API client token"}
        return TemplateResponse(request, "admin/forms_app/apiclient/token.html", context)

    @admin.action(description="Issue a new token (the old one stops working)")
    def rotate_token(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Choose one client at a time.", messages.ERROR)
            return None
        client = queryset.get()
        token = api_services.rotate_api_client_token(client=client, by=request.user)
        return self._show_token(request, client, token)

    @admin.action(description="Deactivate (the client is refused from now on)")
    def deactivate(self, request, queryset):
        for client in queryset:
            api_services.deactivate_api_client(client=client, by=request.user)
        self.message_user(request, f"Deactivated {queryset.count()} client(s).")
