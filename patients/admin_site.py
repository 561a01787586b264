"""The admin site: verified staff only, and every ModelAdmin scoped through one method."""

from django.contrib import messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import reverse
from django_otp.admin import OTPAdminSite

from patients.access import is_verified_staff, next_step_url
from patients.encryption import ENCRYPTED_FIELDS


class StaffAdminSite(OTPAdminSite):
    """Every admin page needs a verified second factor: a password alone reaches none.

    Login goes through the staff sign-in (patients.views), which also enrols a user
    who has no second factor yet.
    """

    def has_permission(self, request):
        return is_verified_staff(request.user)

    def login(self, request, extra_context=None):
        return redirect(next_step_url(request, request.GET.get("next") or
                                      reverse("admin:index", current_app=self.name)))


def _encrypted_paths(model, query) -> list[str]:
    """The encrypted columns a query reads: the model's own and, through the relations
    it select_related()s, those of the rows it joins ("submission__answers")."""
    def walk(model, related, prefix):
        names = [prefix + f.name for f in model._meta.concrete_fields
                 if isinstance(f, ENCRYPTED_FIELDS)]
        for name, deeper in (related or {}).items():
            field = model._meta.get_field(name)
            names += walk(field.related_model, deeper, f"{prefix}{name}__")
        return names

    related = query.select_related if isinstance(query.select_related, dict) else {}
    return walk(model, related, "")


class ScopedAdminMixin:
    """The one scoping method of every admin page: `scope(request, queryset)`.

    Django's admin reads objects through `get_queryset` for the change list, search,
    actions, the change form, delete and history (via `get_object`), the autocomplete
    of a related admin and raw-id popups (the related change list). So scoping
    `get_queryset` scopes them all. Choices in foreign-key and many-to-many fields are
    scoped through the related model's registered admin, and an object outside the
    scope is a 404 (never Django's "perhaps it was deleted" redirect, which would confirm
    that an id exists). A foreign-key list filter must be
    `admin.RelatedOnlyFieldListFilter`: the plain one lists every row of the related table.

    tests/patients/test_admin_scoping.py fails for any registered admin without it.
    """

    def scope(self, request, queryset):
        raise NotImplementedError(f"{type(self).__name__} must define scope()")

    def get_queryset(self, request):
        queryset = self.scope(request, super().get_queryset(request))
        if self._is_change_list(request):
            # A list decrypts nothing it does not show (answers, resources, files):
            # the encrypted columns not in list_display, its own or of the rows it
            # joins, are not even read.
            hidden = [name for name in _encrypted_paths(self.model, queryset.query)
                      if name not in self.list_display]
            if hidden:
                queryset = queryset.defer(*hidden)
        return queryset

    def _is_change_list(self, request) -> bool:
        match = getattr(request, "resolver_match", None)
        opts = self.model._meta
        return match is not None and match.url_name == (
            f"{opts.app_label}_{opts.model_name}_changelist")

    def _related_queryset(self, db_field, request):
        related = self.admin_site._registry.get(db_field.remote_field.model)
        if related is None:
            # Not in the admin at all: offer nothing rather than everything.
            return db_field.remote_field.model._default_manager.none()
        return related.get_queryset(request)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        kwargs.setdefault("queryset", self._related_queryset(db_field, request))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        kwargs.setdefault("queryset", self._related_queryset(db_field, request))
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        raise Http404

    def response_action(self, request, queryset):
        # Django filters the selection with `pk__in`, which raises on an id that is not
        # a UUID (a forged or truncated POST): refuse it as bad input, not a 500.
        selected = request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)
        try:
            for value in selected:
                self.model._meta.pk.to_python(value)
        except ValidationError:
            self.message_user(request, "That selection is not valid; choose the items "
                                       "again.", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())
        return super().response_action(request, queryset)


class PlatformOnlyAdminMixin(ScopedAdminMixin):
    """Installation-wide records (devices, lockouts, groups): platform superusers only."""

    def scope(self, request, queryset):
        return queryset if request.user.is_superuser else queryset.none()

    def has_module_permission(self, request):
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser and super().has_change_permission(request, obj)

    def has_add_permission(self, request, *args):
        return request.user.is_superuser and super().has_add_permission(request, *args)

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser and super().has_delete_permission(request, obj)


def restrict_to_platform(site, app_labels):
    """Re-register third-party admins (django-otp, axes, auth groups) as platform-only."""
    for model, model_admin in list(site._registry.items()):
        if model._meta.app_label not in app_labels or isinstance(model_admin,
                                                                 ScopedAdminMixin):
            continue
        site.unregister(model)
        cls = type(f"Platform{type(model_admin).__name__}",
                   (PlatformOnlyAdminMixin, type(model_admin)), {})
        site.register(model, cls)

