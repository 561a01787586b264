from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Max
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from forms_app import services
from forms_app.admin.design import (
    AnswerOptionInline,
    FlagRuleInline,
    FormPartAdminMixin,
    ItemConditionInline,
    ItemForm,
    LabelledTabularInline,
    LibraryForm,
    ScoreBandInline,
    UploadQuestionnaireForm,
    designer_context,
    draft_problems_now,
    frameable,
    item_fieldsets,
    item_score_items_queryset,
    located_problems,
    next_version_number,
    questionnaire_download,
    user_organisations,
)
from forms_app.admin_forms import IssueLinkForm, OutlineForm, PublishForm, TranslationsForm
from forms_app.design import preview as design_preview
from forms_app.design import services as design_services
from forms_app.design import translations
from forms_app.design.checks import publish_problems
from forms_app.design.export import draft_to_questionnaire, load_draft
from forms_app.design.importer import ImportRefused, parse_upload
from forms_app.engine import compile_definition
from forms_app.engine.answer_expressions import kept_expression
from forms_app.models import Form, FormVersion, Item, Link, Submission
from forms_app.selectors import compiled_version
from forms_app.views import shown_once
from patients.admin_site import ScopedAdminMixin
from patients.client_ip import client_ip
from patients.models import AuditEvent
from patients.records import readable_summary
from patients.services import record_audit


class FormChangeAuditMixin:
    """Every change to a form's design made in the admin goes to the audit trail, in the
    admin's own transaction (Django logs the change inside it)."""

    def _form_of(self, obj):
        # A Form, or anything of one (an item, its retention policy).
        return obj if isinstance(obj, Form) else obj.form

    def _audit_form_change(self, request, obj, change):
        form = self._form_of(obj)
        record_audit(by=request.user, action=AuditEvent.Action.FORM_CHANGED,
                     organisation=form.organisation, obj=obj,
                     ip_address=client_ip(request),
                     detail={"form": str(form.pk), "change": change})

    def log_addition(self, request, obj, message):
        self._audit_form_change(request, obj, "added")
        return super().log_addition(request, obj, message)

    def log_change(self, request, obj, message):
        self._audit_form_change(request, obj, "changed")
        return super().log_change(request, obj, message)

    def log_deletions(self, request, queryset):
        for obj in queryset:
            self._audit_form_change(request, obj, "deleted")
        return super().log_deletions(request, queryset)


class FormVersionInline(LabelledTabularInline):
    """The form's history: every published version, who published it, when and why."""

    model = FormVersion
    fields = ["number", "published_at", "published_by", "change_note", "retired_at",
              "version_links"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True
    verbose_name_plural = "versions (history)"

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="")
    def version_links(self, obj):
        return format_html(
            '<a href="{}">Preview</a> · <a href="{}">Export as FHIR</a>',
            reverse("admin:forms_app_formversion_preview", args=[obj.pk]),
            reverse("admin:forms_app_formversion_export", args=[obj.pk]))


def _note_status(entry: dict) -> str:
    if not entry.get("clinical"):
        return ""
    if entry.get("accepted_at"):
        return f"(changes clinical meaning; accepted by {entry.get('accepted_by')})"
    return "(changes clinical meaning: publishing waits until it is accepted)"


@admin.register(Form)
class FormAdmin(FormChangeAuditMixin, ScopedAdminMixin, admin.ModelAdmin):
    list_display = ["title", "organisation", "latest_version_number", "updated_at"]
    search_fields = ["title"]
    fields = ["organisation", "title", "description", "code_system", "code", "code_display",
              "import_report_display"]
    readonly_fields = ["import_report_display"]
    # Items are edited as an outline of pages (outline_view), not as an inline table.
    inlines = [FlagRuleInline, FormVersionInline]
    actions = ["copy_forms", "accept_import_notes"]
    change_form_template = "admin/forms_app/form/change_form.html"
    change_list_template = "admin/forms_app/form/change_list.html"

    class Media:
        css = {"all": ["css/designer.css"]}
        js = ["js/designer.js"]

    def get_inlines(self, request, obj):
        # A new form is saved first (the add page says so); its outline, flag rules and
        # history belong to the saved form.
        return self.inlines if obj is not None else []

    def response_add(self, request, obj, post_url_continue=None):
        if "_addanother" not in request.POST and "_popup" not in request.POST:
            self.message_user(request, f"Saved {obj.title}. Now add its pages and questions.",
                              messages.SUCCESS)
            return redirect("admin:forms_app_form_change", obj.pk)
        return super().response_add(request, obj, post_url_continue)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        form = self.get_object(request, object_id)
        context = dict(extra_context or {})
        if form is not None:
            context.update(designer_context(form))
        response = super().change_view(request, object_id, form_url, context)
        if form is not None:
            # The phone-width preview beside the editor is a same-origin frame.
            response._csp_replace = {"frame-src": ["'self'"]}
        return response

    def outline_view(self, request, form_id):
        """One change to the outline (move, add), then back to the form's page."""
        form = get_object_or_404(self.get_queryset(request), pk=form_id)
        if not self.has_change_permission(request, form):
            raise PermissionDenied
        if request.method != "POST":
            return redirect("admin:forms_app_form_change", form.pk)
        action = OutlineForm(request.POST, form=form)
        anchor = ""
        if not action.is_valid():
            for errors in action.errors.values():
                for error in errors:
                    self.message_user(request, error, messages.ERROR)
        else:
            try:
                anchor = self._outline_change(request, form, action.cleaned_data)
            except ValidationError as error:
                for message in error.messages:
                    self.message_user(request, message, messages.ERROR)
        url = reverse("admin:forms_app_form_change", args=[form.pk])
        return redirect(f"{url}#{anchor or 'outline'}")

    def translations_view(self, request, form_id):
        """Every patient-facing text of the form beside its translation, one language at
        a time; ``?missing=1`` shows only what is still untranslated."""
        form = get_object_or_404(self.get_queryset(request), pk=form_id)
        if not self.has_change_permission(request, form):
            raise PermissionDenied
        available = dict(translations.languages())
        language = request.GET.get("language") or next(iter(available), "")
        if language not in available:
            return self._admin_page(request, "admin/forms_app/form/translations.html", {
                "original": form, "title": f"Translations of {form.title}",
                "unknown_language": True, "progress": translations.progress(load_draft(form))},
                status=404)
        missing_only = request.GET.get("missing") == "1"
        draft = load_draft(form)
        texts = translations.texts(draft, language)
        if missing_only:
            texts = [text for text in texts if not text.translated.strip()]
        editor = TranslationsForm(request.POST if request.method == "POST" else None,
                                  texts=texts, language_name=available[language])
        if request.method == "POST" and editor.is_valid():
            changed = design_services.save_translations(
                form=form, language=language, changes=editor.changes(), by=request.user)
            self.message_user(request, f"Saved {changed} translation(s) into "
                                       f"{available[language]}.", messages.SUCCESS)
            return redirect(request.get_full_path())
        return self._admin_page(request, "admin/forms_app/form/translations.html", {
            "original": form, "title": f"Translations of {form.title}",
            "language": language, "language_name": available[language],
            "missing_only": missing_only, "editor": editor,
            "progress": translations.progress(draft),
            "plain_options": translations.untranslatable_options(draft),
        }, status=400 if editor.errors else 200)

    def _outline_change(self, request, form, data) -> str:
        action, by = data["action"], request.user
        if action in ("up", "down"):
            moved = design_services.move_item(item=data["item"], direction=action, by=by)
            if not moved:
                where = "first" if action == "up" else "last"
                self.message_user(request, f"It is already {where}.", messages.INFO)
            return f"item-{data['item'].pk}"
        if action == "move":
            item = design_services.move_to_page(item=data["item"], page=data["page"], by=by)
            return f"item-{item.pk}"
        if action == "add-question":
            item = design_services.add_question(form=form, page=data["page"],
                                                text=data["text"], item_type=data["type"],
                                                by=by)
            self.message_user(request, format_html(
                'Added "{}". <a href="{}">Set its answers and options</a>.',
                item.text[:80], reverse("admin:forms_app_item_change", args=[item.pk])),
                messages.SUCCESS)
            return f"item-{item.pk}"
        page, _question = design_services.add_page(
            form=form, title=data["title"], question_text=data["text"],
            item_type=data["type"], by=by)
        self.message_user(request, f'Added the page "{page.text[:80]}" with its first question.',
                          messages.SUCCESS)
        return f"item-{page.pk}"

    @admin.display(description="import report")
    def import_report_display(self, obj):
        if not obj.import_report:
            return "Nothing was left out." if obj.pk else "-"
        return format_html_join(
            "", "<p><strong>{}</strong> {} {}</p>",
            ((entry.get("item") or "Questionnaire", entry.get("message", ""),
              _note_status(entry)) for entry in obj.import_report))

    @admin.action(description="Accept clinical import notes (after putting them right)")
    def accept_import_notes(self, request, queryset):
        for form in queryset:
            accepted = design_services.accept_import_notes(form=form, by=request.user)
            self.message_user(request, f"{form.title}: {accepted} clinical import note(s) "
                                       "accepted.")

    @admin.action(description="Copy selected forms to start new ones")
    def copy_forms(self, request, queryset):
        for form in queryset:
            copy = design_services.copy_form(form=form, by=request.user)
            self.message_user(request, format_html(
                'Copied to <a href="{}">{}</a>.',
                reverse("admin:forms_app_form_change", args=[copy.pk]), copy.title))

    def scope(self, request, queryset):
        # The latest version number in the same query: the list shows it per form.
        return queryset.filter(
            pk__in=Form.objects.visible_to(request.user).values("pk")
        ).select_related("organisation").annotate(latest_number=Max("versions__number"))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "organisation":
            kwargs["queryset"] = user_organisations(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description="latest version", ordering="latest_number")
    def latest_version_number(self, obj):
        return obj.latest_number if obj.latest_number is not None else "not published"

    def get_urls(self):
        return [
            path("<uuid:form_id>/publish/", self.admin_site.admin_view(self.publish_view),
                 name="forms_app_form_publish"),
            path("<uuid:form_id>/preview/", self.admin_site.admin_view(self.preview_view),
                 name="forms_app_form_preview"),
            path("<uuid:form_id>/outline/", self.admin_site.admin_view(self.outline_view),
                 name="forms_app_form_outline"),
            path("<uuid:form_id>/translations/",
                 self.admin_site.admin_view(self.translations_view),
                 name="forms_app_form_translations"),
            path("import/", self.admin_site.admin_view(self.import_view),
                 name="forms_app_form_import"),
            path("library/", self.admin_site.admin_view(self.library_view),
                 name="forms_app_form_library"),
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


    def preview_view(self, request, form_id):
        """The draft as a patient would see it; nothing is saved."""
        form = get_object_or_404(self.get_queryset(request), pk=form_id)
        draft = load_draft(form)
        definition = draft_to_questionnaire(form, version_number=next_version_number(form),
                                            draft=draft)
        problems = publish_problems(form, definition, draft)
        if problems:
            context = {**self.admin_site.each_context(request), "opts": self.opts,
                       "original": form, "problems": problems,
                       "title": f"Preview {form.title}"}
            return frameable(TemplateResponse(
                request, "admin/forms_app/form/preview_problems.html", context, status=400))
        return frameable(design_preview.preview(request, key=f"draft:{form.pk}",
                                                compiled=compile_definition(definition),
                                                heading=f"Draft of {form.title}"))

    def _admin_page(self, request, template, context, status=200):
        context = {**self.admin_site.each_context(request), "opts": self.opts, **context}
        return TemplateResponse(request, template, context, status=status)

    def import_view(self, request):
        if not self.has_add_permission(request):
            raise PermissionDenied
        upload = UploadQuestionnaireForm(request.POST or None, request.FILES or None,
                                         user=request.user)
        if request.method == "POST" and upload.is_valid():
            file = upload.cleaned_data["file"]
            try:
                data = parse_upload(file.read())
            except ImportRefused as refusal:
                upload.add_error("file", str(refusal))
            else:
                imported = design_services.import_questionnaire(
                    data=data, organisation=upload.cleaned_data["organisation"],
                    by=request.user, source=file.name)
                return self._imported(request, imported)
        return self._admin_page(request, "admin/forms_app/form/import.html", {
            "form": upload, "title": "Import a FHIR Questionnaire"},
            status=400 if upload.errors else 200)

    def library_view(self, request):
        if not self.has_add_permission(request):
            raise PermissionDenied
        library = LibraryForm(request.POST or None, user=request.user)
        if request.method == "POST" and library.is_valid():
            imported = design_services.add_from_library(
                name=library.cleaned_data["name"],
                organisation=library.cleaned_data["organisation"], by=request.user)
            return self._imported(request, imported)
        return self._admin_page(request, "admin/forms_app/form/import.html", {
            "form": library, "title": "Add a ready-made form from the library"},
            status=400 if library.errors else 200)

    def _imported(self, request, imported):
        left_out = len(imported.report)
        self.message_user(
            request,
            f"Imported as a new draft. {left_out} note(s) on what could not be represented: "
            "see the import report below." if left_out else
            "Imported as a new draft; everything in the file was kept.",
            messages.WARNING if left_out else messages.SUCCESS)
        return redirect("admin:forms_app_form_change", imported.form.pk)


@admin.register(Item)
class ItemAdmin(FormChangeAuditMixin, FormPartAdminMixin, admin.ModelAdmin):
    list_display = ["link_id", "text", "type", "form"]
    form = ItemForm
    search_fields = ["link_id", "text"]
    inlines = [AnswerOptionInline, ItemConditionInline, ScoreBandInline]
    change_form_template = "admin/forms_app/item/change_form.html"

    class Media:
        css = {"all": ["css/designer.css"]}
        js = ["js/designer.js"]

    def get_readonly_fields(self, request, obj=None):
        # Moving an item to another form would strand its conditions and children.
        return ["form", "answer_options_from"] if obj is not None else []

    def get_fieldsets(self, request, obj=None):
        # Only what the item's type needs: a yes/no question has no unit, score or bands.
        fieldsets = item_fieldsets(obj.type if obj is not None else None)
        if obj is not None and kept_expression(obj.fhir_extensions) is not None:
            # Imported as written and evaluated as written: shown, never edited here.
            fieldsets = [*fieldsets, ("Answer options worked out from earlier answers",
                                      {"fields": ["answer_options_from"]})]
        return fieldsets

    @admin.display(description="SDC answerExpression (FHIRPath)")
    def answer_options_from(self, obj):
        expression = kept_expression(obj.fhir_extensions) if obj is not None else None
        if expression is None:
            return "-"
        return format_html("<code>{}</code><p class=\"help\">The patient chooses from "
                           "what this gives for their answers on earlier pages; with "
                           "nothing to choose from, the question is skipped.</p>",
                           expression)

    def get_inlines(self, request, obj):
        if obj is None:
            return self.inlines
        inlines = [ItemConditionInline]
        listed = obj.has_options and kept_expression(obj.fhir_extensions) is None
        if listed or obj.options.exists():
            inlines.insert(0, AnswerOptionInline)
        if obj.type in (Item.Type.INTEGER, Item.Type.DECIMAL) or obj.bands.exists():
            inlines.append(ScoreBandInline)
        return inlines

    def change_view(self, request, object_id, form_url="", extra_context=None):
        item = self.get_object(request, object_id)
        context = dict(extra_context or {})
        if item is not None:
            draft = load_draft(item.form)
            context["item_problems"] = [
                p for p in located_problems(draft_problems_now(item.form, draft))
                if p["item_id"] == item.pk]
            context["form_url_of_item"] = reverse("admin:forms_app_form_change",
                                                  args=[item.form_id])
        return super().change_view(request, object_id, form_url, context)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "score_items":
            kwargs["queryset"] = item_score_items_queryset(request)
            # Ticks with a label each: the admin's filter widget names its icons with
            # ARIA a plain span may not carry (axe: aria-prohibited-attr).
            kwargs["widget"] = forms.CheckboxSelectMultiple
        return super().formfield_for_manytomany(db_field, request, **kwargs)


    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "form":
            kwargs["queryset"] = Form.objects.visible_to(request.user)
        if db_field.name == "parent":
            item_id = request.resolver_match.kwargs.get("object_id")
            form_ids = Item.objects.filter(pk=item_id).values("form_id")
            kwargs["queryset"] = Item.objects.filter(form_id__in=form_ids, type=Item.Type.GROUP)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(FormVersion)
class FormVersionAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ["__str__", "form", "number", "published_at", "published_by", "is_live",
                    "issue_link", "version_links"]
    fields = ["form", "number", "title", "change_note", "published_at", "published_by",
              "retired_at", "definition"]
    readonly_fields = fields
    actions = ["retire"]

    @admin.display(description="")
    def version_links(self, obj):
        return format_html(
            '<a href="{}">Preview</a> · <a href="{}">Export as FHIR</a>',
            reverse("admin:forms_app_formversion_preview", args=[obj.pk]),
            reverse("admin:forms_app_formversion_export", args=[obj.pk]))

    @admin.action(description="Retire selected versions (no new links; open links still work)")
    def retire(self, request, queryset):
        retired = sum(design_services.retire_version(version=version, by=request.user)
                      for version in queryset)
        self.message_user(request, f"Retired {retired} version(s).")

    def preview_view(self, request, version_id):
        version = get_object_or_404(self.get_queryset(request), pk=version_id)
        return design_preview.preview(
            request, key=f"version:{version.pk}", compiled=compiled_version(version),
            heading=f"{version.title}, version {version.number}")

    def export_view(self, request, version_id):
        version = get_object_or_404(self.get_queryset(request), pk=version_id)
        return questionnaire_download(version)

    def scope(self, request, queryset):
        return queryset.filter(
            form__in=Form.objects.visible_to(request.user)).select_related("form",
                                                                           "published_by")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # A published version is immutable (its save() refuses): its page is view-only,
        # so a POST to it is refused instead of failing in save(). The list's actions
        # (retire) are not edits of the version's content and stay.
        return obj is None and super().has_change_permission(request, obj)

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
            path("<uuid:version_id>/issue-link/<uuid:link_id>/",
                 self.admin_site.admin_view(self.issued_link_view),
                 name="forms_app_formversion_issued_link"),
            path("<uuid:version_id>/preview/", self.admin_site.admin_view(self.preview_view),
                 name="forms_app_formversion_preview"),
            path("<uuid:version_id>/questionnaire.json",
                 self.admin_site.admin_view(self.export_view),
                 name="forms_app_formversion_export"),
            *super().get_urls(),
        ]

    def issue_link_view(self, request, version_id):
        version = get_object_or_404(self.get_queryset(request), pk=version_id)
        form = IssueLinkForm(request.POST if request.method == "POST" else None,
                             user=request.user, version=version)
        if request.method == "POST" and form.is_valid():
            try:
                issued = services.issue_link(
                    version=version, patient=form.cleaned_data["patient"],
                    care_team=form.cleaned_data["care_team"], by=request.user,
                    channel=form.cleaned_data["channel"], expires_at=form.expires_at())
            except services.ServiceError as exc:
                form.add_error(None, str(exc))
            else:
                # POST-redirect-GET: refreshing the page that shows the link never
                # issues another (views/shown_once.py, as the clinic pages do).
                shown_once.remember(request, issued)
                return redirect("admin:forms_app_formversion_issued_link",
                                version_id=version.pk, link_id=issued.link.pk)
        return self._issue_link_page(request, version, form=form,
                                     status=400 if form.errors else 200)

    def issued_link_view(self, request, version_id, link_id):
        """The link this session has just issued, shown once; 410 after that."""
        version = get_object_or_404(self.get_queryset(request), pk=version_id)
        link = get_object_or_404(Link.objects.visible_to(request.user)
                                 .select_related("patient"), pk=link_id, version=version)
        issued = shown_once.take(request, link)
        return self._issue_link_page(request, version, issued=issued, shown_link=link,
                                     status=200 if issued else 410)

    def _issue_link_page(self, request, version, *, status, form=None, issued=None,
                         shown_link=None):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts, "original": version, "form": form, "issued": issued,
            "shown_link": shown_link, "title": f"Issue a link to {version}",
        }
        response = TemplateResponse(request, "admin/forms_app/formversion/issue_link.html",
                                    context, status=status)
        # The link is shown once: never cache the page that holds it.
        response["Cache-Control"] = "no-store"
        return response


@admin.register(Link)
class LinkAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ["__str__", "patient", "care_team", "channel", "issued_at", "expires_at",
                    "revoked_at"]
    list_filter = ["channel"]
    fields = ["version", "patient", "care_team", "channel", "issued_by", "issued_at",
              "expires_at", "revoked_at", "first_opened_at", "failed_checks", "locked_until"]
    readonly_fields = fields
    actions = ["revoke"]

    def scope(self, request, queryset):
        return queryset.filter(
            pk__in=Link.objects.visible_to(request.user).values("pk")
        ).select_related("version", "patient", "care_team__organisation")

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
class SubmissionAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ["reference", "form_title", "patient", "state", "submitted_at", "filed_at",
                    "filing_attempts", "last_error"]
    list_filter = ["state"]
    search_fields = ["reference"]
    fields = ["reference", "link", "state", "started_at", "submitted_at", "filed_at",
              "filing_attempts", "last_error", "scores_and_flags", "staff_record"]
    readonly_fields = fields
    actions = ["file_again"]
    change_form_template = "admin/forms_app/submission/change_form.html"

    def scope(self, request, queryset):
        return queryset.filter(
            pk__in=Submission.objects.visible_to(request.user).values("pk")
        ).select_related("link__version", "link__patient")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="form")
    def form_title(self, obj):
        return obj.link.version.title

    @admin.display(description="scores and flags")
    def scores_and_flags(self, obj):
        return readable_summary(obj.evaluation)

    @admin.display(description="staff record page")
    def staff_record(self, obj):
        return format_html('<a href="{}">Read the answers and download the PDF</a>',
                           reverse("records:submission", kwargs={"submission_id": obj.pk}))

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
                             ip_address=client_ip(request))
        return super().change_view(request, object_id, form_url, extra_context)
