from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from forms_app import services
from forms_app.admin_forms import IssueLinkForm, PublishForm
from forms_app.models import AnswerOption, Form, FormVersion, Item, Link, Submission
from forms_app.selectors import compiled_version
from patients.models import AuditEvent, CareTeam, Organisation
from patients.services import record_audit


def user_organisations(user):
    return Organisation.objects.filter(care_teams__in=CareTeam.objects.of_user(user)).distinct()


class ItemInline(admin.TabularInline):
    model = Item
    fields = ["position", "parent", "link_id", "text", "type", "required", "help_text"]
    extra = 1
    show_change_link = True  # answer options are edited on the item's own page

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "parent":
            form_id = request.resolver_match.kwargs.get("object_id")
            kwargs["queryset"] = Item.objects.filter(form_id=form_id, type=Item.Type.GROUP)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class FormVersionInline(admin.TabularInline):
    model = FormVersion
    fields = ["number", "published_at", "published_by", "change_note", "retired_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Form)
class FormAdmin(admin.ModelAdmin):
    list_display = ["title", "organisation", "latest_version_number", "updated_at"]
    search_fields = ["title"]
    inlines = [ItemInline, FormVersionInline]
    change_form_template = "admin/forms_app/form/change_form.html"

    def get_queryset(self, request):
        return Form.objects.visible_to(request.user).select_related("organisation")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "organisation":
            kwargs["queryset"] = user_organisations(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description="latest version")
    def latest_version_number(self, obj):
        version = obj.latest_version
        return version.number if version else "not published"

    def get_urls(self):
        return [
            path("<uuid:form_id>/publish/", self.admin_site.admin_view(self.publish_view),
                 name="forms_app_form_publish"),
            *super().get_urls(),
        ]

    def publish_view(self, request, form_id):
        form = get_object_or_404(self.get_queryset(request), pk=form_id)
        if not self.has_change_permission(request, form):
            raise PermissionDenied
        publish_form = PublishForm(request.POST if request.method == "POST" else None)
        problems = []
        if request.method == "POST" and publish_form.is_valid():
            try:
                version = services.publish_form(
                    form=form, by=request.user,
                    change_note=publish_form.cleaned_data["change_note"])
            except ValidationError as exc:
                problems = exc.messages
            else:
                self.message_user(request, f"Published version {version.number}.",
                                  messages.SUCCESS)
                return redirect("admin:forms_app_form_change", form.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts, "original": form, "form": publish_form,
            "problems": problems, "title": f"Publish {form.title}",
        }
        return TemplateResponse(request, "admin/forms_app/form/publish.html", context,
                                status=400 if problems else 200)


class AnswerOptionInline(admin.TabularInline):
    model = AnswerOption
    fields = ["position", "code", "display", "score", "system"]
    extra = 2


@admin.register(Item)
class ItemAdmin(admin.ModelAdmin):
    list_display = ["link_id", "text", "type", "form"]
    inlines = [AnswerOptionInline]
    search_fields = ["link_id", "text"]

    def get_queryset(self, request):
        return Item.objects.filter(form__in=Form.objects.visible_to(request.user))

    def has_module_permission(self, request):
        return False  # reached from a form's page, not the index

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "form":
            kwargs["queryset"] = Form.objects.visible_to(request.user)
        if db_field.name == "parent":
            item_id = request.resolver_match.kwargs.get("object_id")
            form_ids = Item.objects.filter(pk=item_id).values("form_id")
            kwargs["queryset"] = Item.objects.filter(form_id__in=form_ids, type=Item.Type.GROUP)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(FormVersion)
class FormVersionAdmin(admin.ModelAdmin):
    list_display = ["__str__", "form", "number", "published_at", "is_live", "issue_link"]
    fields = ["form", "number", "title", "change_note", "published_at", "published_by",
              "retired_at", "definition"]
    readonly_fields = fields

    def get_queryset(self, request):
        return FormVersion.objects.filter(
            form__in=Form.objects.visible_to(request.user)).select_related("form")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="")
    def issue_link(self, obj):
        if not obj.is_live:
            return "retired"
        url = reverse("admin:forms_app_formversion_issue_link", args=[obj.pk])
        return format_html('<a href="{}">Issue a link</a>', url)

    def get_urls(self):
        return [
            path("<uuid:version_id>/issue-link/",
                 self.admin_site.admin_view(self.issue_link_view),
                 name="forms_app_formversion_issue_link"),
            *super().get_urls(),
        ]

    def issue_link_view(self, request, version_id):
        version = get_object_or_404(self.get_queryset(request), pk=version_id)
        form = IssueLinkForm(request.POST if request.method == "POST" else None,
                             user=request.user, version=version)
        issued = None
        if request.method == "POST" and form.is_valid():
            try:
                issued = services.issue_link(
                    version=version, patient=form.cleaned_data["patient"],
                    care_team=form.cleaned_data["care_team"], by=request.user,
                    channel=form.cleaned_data["channel"], expires_at=form.expires_at())
            except services.ServiceError as exc:
                form.add_error(None, str(exc))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts, "original": version, "form": form, "issued": issued,
            "title": f"Issue a link to {version}",
        }
        response = TemplateResponse(request, "admin/forms_app/formversion/issue_link.html",
                                    context, status=400 if form.errors else 200)
        # The link is shown once: never cache the page that holds it.
        response["Cache-Control"] = "no-store"
        return response


@admin.register(Link)
class LinkAdmin(admin.ModelAdmin):
    list_display = ["__str__", "patient", "care_team", "channel", "issued_at", "expires_at",
                    "revoked_at"]
    list_filter = ["channel"]
    fields = ["version", "patient", "care_team", "channel", "issued_by", "issued_at",
              "expires_at", "revoked_at", "first_opened_at", "failed_checks", "locked_until"]
    readonly_fields = fields
    actions = ["revoke"]

    def get_queryset(self, request):
        return Link.objects.visible_to(request.user).select_related(
            "version", "patient", "care_team")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Revoke selected links")
    def revoke(self, request, queryset):
        for link in queryset:
            services.revoke_link(link=link, by=request.user)
        self.message_user(request, f"Revoked {queryset.count()} link(s).")


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin):
    list_display = ["reference", "form_title", "patient", "state", "submitted_at", "filed_at",
                    "filing_attempts", "last_error"]
    list_filter = ["state"]
    search_fields = ["reference"]
    fields = ["reference", "link", "state", "started_at", "submitted_at", "filed_at",
              "filing_attempts", "last_error", "evaluation"]
    readonly_fields = fields
    actions = ["file_again"]
    change_form_template = "admin/forms_app/submission/change_form.html"

    def get_queryset(self, request):
        return Submission.objects.visible_to(request.user).select_related(
            "link__version", "link__patient")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="form")
    def form_title(self, obj):
        return obj.link.version.title

    @admin.display(description="patient")
    def patient(self, obj):
        return obj.link.patient

    @admin.action(description="File selected submissions again")
    def file_again(self, request, queryset):
        from forms_app.filing.services import FilingServiceError
        from forms_app.filing.services import file_again as file_again_service

        queued = 0
        for submission in queryset.filter(
                state__in=[Submission.State.SUBMITTED, Submission.State.FAILED]):
            try:
                file_again_service(submission_id=submission.pk, by=request.user)
            except FilingServiceError as exc:
                self.message_user(request, str(exc), level=messages.WARNING)
            else:
                queued += 1
        self.message_user(request, f"Queued {queued} submission(s) for filing.")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        submission = self.get_object(request, object_id)
        extra_context = extra_context or {}
        if submission is not None and submission.answers is not None:
            compiled = compiled_version(submission.link.version)
            extra_context["summary"] = compiled.summary(submission.answers)
            if request.method == "GET":
                record_audit(by=request.user, action=AuditEvent.Action.ANSWERS_VIEWED,
                             patient=submission.link.patient, obj=submission,
                             ip_address=request.META.get("REMOTE_ADDR"))
        return super().change_view(request, object_id, form_url, extra_context)
