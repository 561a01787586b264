"""The admin as a form designer: inlines for options, conditions, bands and flag rules,
and the pages behind "Import a Questionnaire", "Add from library", "Preview" and
"Export". Registered on the ModelAdmins in admin/core.py; rules live in
forms_app.design (services, checks), never here."""

import json
import re

from django import forms
from django.contrib import admin
from django.core.exceptions import NON_FIELD_ERRORS
from django.db.models import Max
from django.http import HttpResponse
from django.utils.text import capfirst, slugify

from forms_app.design.importer import MAX_UPLOAD_BYTES
from forms_app.design.services import LIBRARY
from forms_app.models import (
    AnswerOption,
    FlagCondition,
    FlagRule,
    Form,
    Item,
    ItemCondition,
    ScoreBand,
)
from patients.admin_site import ScopedAdminMixin
from patients.models import Organisation


class DraftModelForm(forms.ModelForm):
    """A model form that shows model-level errors for fields it does not display.

    The draft models check field combinations in Model.clean (e.g. a quantity needs a
    unit); an inline row that does not show the unit field would otherwise fail with
    "has no field named" instead of telling staff what to fix.
    """

    def _update_errors(self, errors):
        if hasattr(errors, "error_dict"):
            regrouped: dict[str, list] = {}
            for name, field_errors in errors.error_dict.items():
                if name in self.fields or name == NON_FIELD_ERRORS:
                    regrouped.setdefault(name, []).extend(field_errors)
                    continue
                label = capfirst(self._meta.model._meta.get_field(name).verbose_name)
                regrouped.setdefault(NON_FIELD_ERRORS, []).extend(
                    forms.ValidationError(f"{label}: {message}")
                    for error in field_errors for message in error.messages)
            errors = forms.ValidationError(regrouped)
        super()._update_errors(errors)


def user_organisations(user):
    return Organisation.objects.of_user(user)


def _object_form_id(request, model):
    """The form whose page (of ``model``: Form, Item or FlagRule) is being edited."""
    match = request.resolver_match
    object_id = match.kwargs.get("object_id") if match else None
    if not object_id:
        return None
    if model is Form:
        return object_id
    return model.objects.filter(pk=object_id).values_list("form_id", flat=True).first()


class AnswerOptionInline(admin.TabularInline):
    model = AnswerOption
    form = DraftModelForm
    fields = ["position", "value_type", "code", "display", "score", "exclusive", "system"]
    extra = 2


class ItemConditionInline(admin.TabularInline):
    model = ItemCondition
    form = DraftModelForm
    fk_name = "item"
    fields = ["position", "question", "operator", "answer"]
    extra = 1
    verbose_name = "condition: show this only when"
    verbose_name_plural = "conditions: show this only when (empty: always shown)"

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "question":
            form_id = _object_form_id(request, Item)
            kwargs["queryset"] = Item.objects.filter(form_id=form_id).exclude(
                type__in=[Item.Type.GROUP, Item.Type.DISPLAY]).filter(calculation="")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class ScoreBandInline(admin.TabularInline):
    model = ScoreBand
    form = DraftModelForm
    fields = ["position", "min_score", "max_score", "label"]
    extra = 1
    verbose_name_plural = "score bands (e.g. 0 to 4: Minimal)"


class FlagRuleInline(admin.TabularInline):
    model = FlagRule
    fk_name = "form"
    fields = ["position", "code", "severity", "message", "enable_behavior", "item"]
    extra = 0
    show_change_link = True  # its conditions are edited on the rule's own page
    verbose_name_plural = "flag rules (save, then open a rule to add its conditions)"

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "item":
            kwargs["queryset"] = Item.objects.filter(form_id=_object_form_id(request, Form))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class FlagConditionInline(admin.TabularInline):
    model = FlagCondition
    form = DraftModelForm
    fields = ["position", "question", "operator", "answer"]
    extra = 1
    verbose_name_plural = "conditions: raise the flag when"

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "question":
            kwargs["queryset"] = Item.objects.filter(
                form_id=_object_form_id(request, FlagRule)).exclude(
                type__in=[Item.Type.GROUP, Item.Type.DISPLAY])
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class FormPartAdminMixin(ScopedAdminMixin):
    """An admin for a part of a form (an item, a flag rule): reached from the form's own
    page, and scoped through the form it belongs to."""

    def scope(self, request, queryset):
        return queryset.filter(form__in=Form.objects.visible_to(request.user))

    def has_module_permission(self, request):
        return False  # reached from a form's page, not the index


@admin.register(FlagRule)
class FlagRuleAdmin(FormPartAdminMixin, admin.ModelAdmin):
    list_display = ["code", "form", "severity"]
    fields = ["form", "item", "code", "severity", "message", "enable_behavior", "position"]
    inlines = [FlagConditionInline]

    def get_readonly_fields(self, request, obj=None):
        # Its conditions name questions of this form: it cannot move to another.
        return ["form"] if obj is not None else []


    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "form":
            kwargs["queryset"] = Form.objects.visible_to(request.user)
        if db_field.name == "item":
            kwargs["queryset"] = Item.objects.filter(form_id=_object_form_id(request, FlagRule))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


ITEM_FIELDSETS = [
    (None, {"fields": ["form", "parent", "position", "link_id", "prefix", "text", "help_text",
                       "type", "required", "control", "initial"]}),
    ("Validation", {"fields": ["min_value", "max_value", "min_length", "max_length", "regex",
                               "regex_message", "max_decimal_places", "not_in_future"]}),
    ("Unit (numbers with a unit)", {"fields": ["unit_code", "unit_display", "unit_system"]}),
    ("Wording of messages", {"classes": ["collapse"],
                             "fields": ["short_label", "required_message", "other_label"]}),
    ("Score or computed value (hidden from patients)",
     {"fields": ["calculation", "score_items", "formula"]}),
    ("Show when (with the conditions below)", {"fields": ["enable_behavior"]}),
    ("Code (e.g. LOINC)", {"classes": ["collapse"],
                           "fields": ["code_system", "code", "code_display"]}),
]


def item_score_items_queryset(request):
    return Item.objects.filter(
        form_id=_object_form_id(request, Item),
        type__in=[Item.Type.CHOICE, Item.Type.MULTIPLE_CHOICE, Item.Type.OPEN_CHOICE])


class UploadQuestionnaireForm(forms.Form):
    organisation = forms.ModelChoiceField(queryset=Organisation.objects.none())
    file = forms.FileField(help_text="A FHIR R4 Questionnaire as a .json file, at most "
                                     f"{MAX_UPLOAD_BYTES // 1024 // 1024} MB.")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = user_organisations(user)

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                f"The file is {upload.size / 1024 / 1024:.1f} MB; the largest a Questionnaire "
                f"can be is {MAX_UPLOAD_BYTES // 1024 // 1024} MB.")
        return upload


class LibraryForm(forms.Form):
    organisation = forms.ModelChoiceField(queryset=Organisation.objects.none())
    name = forms.ChoiceField(label="Form", choices=list(LIBRARY.items()),
                             widget=forms.RadioSelect)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = user_organisations(user)


def questionnaire_download(version) -> HttpResponse:
    """A version's Questionnaire as a JSON file to save."""
    name = slugify(version.title)[:60] or "questionnaire"
    document = dict(version.definition)
    if version.retired_at is not None:
        document["status"] = "retired"  # other systems should not start using it
    response = HttpResponse(json.dumps(document, indent=2, ensure_ascii=False),
                            content_type="application/fhir+json; charset=utf-8")
    filename = re.sub(r"[^A-Za-z0-9._-]", "", f"{name}-v{version.number}.json")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def next_version_number(form) -> int:
    return (form.versions.aggregate(n=Max("number"))["n"] or 0) + 1
