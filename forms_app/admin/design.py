"""The admin as a form designer: inlines for options, conditions, bands and flag rules,
and the pages behind "Import a Questionnaire", "Add from library", "Preview" and
"Export". Registered on the ModelAdmins in admin/core.py; rules live in
forms_app.design (services, checks), never here."""

import json
import re

from django import forms
from django.contrib import admin
from django.core.exceptions import NON_FIELD_ERRORS
from django.db import models
from django.db.models import Max
from django.http import HttpResponse
from django.urls import reverse
from django.utils.text import capfirst, slugify

from forms_app.admin_forms import question_types
from forms_app.design import item_extensions as ix
from forms_app.design.checks import publish_problems
from forms_app.design.export import draft_to_questionnaire, load_draft
from forms_app.design.importer import MAX_UPLOAD_BYTES
from forms_app.design.outline import (
    condition_words,
    earlier_questions,
    groups,
    outline,
    short,
)
from forms_app.design.services import LIBRARY
from forms_app.models import (
    AnswerOption,
    FlagCondition,
    FlagRule,
    Form,
    Item,
    ItemCondition,
    Operator,
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


class LabelledInlineFormSet(forms.BaseInlineFormSet):
    """A tabular inline's fields named for assistive technology.

    The admin's tabular inlines put a field's label in the column heading only, which
    no screen reader ties to the input in each row (axe: "Form elements must have
    labels"); each field gets its column name and row number as its accessible name.
    """

    def add_fields(self, form, index):
        super().add_fields(form, index)
        row = f"row {index + 1}" if index is not None else "new row"
        for name, field in form.fields.items():
            if field.widget.is_hidden:
                continue
            label = "Delete" if name == "DELETE" else capfirst(str(field.label or name))
            # A foreign key's select sits inside the admin's related-object wrapper.
            widget = getattr(field.widget, "widget", field.widget)
            widget.attrs.setdefault("aria-label", f"{label}, {row}")


class LabelledTabularInline(admin.TabularInline):
    formset = LabelledInlineFormSet


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


class AnswerOptionInline(LabelledTabularInline):
    model = AnswerOption
    form = DraftModelForm
    fields = ["position", "value_type", "code", "display", "score", "exclusive", "system"]
    extra = 2


OPERATOR_CHOICES = [
    (Operator.EQUALS, "is"),
    (Operator.NOT_EQUALS, "is not"),
    (Operator.GREATER, "is more than"),
    (Operator.LESS, "is less than"),
    (Operator.GREATER_OR_EQUAL, "is at least"),
    (Operator.LESS_OR_EQUAL, "is at most"),
    (Operator.EXISTS, "is answered (answer true) or not (false)"),
]


def question_label(question) -> str:
    return short(question.text, 70) or question.link_id


def coded_answers(question) -> list[tuple[str, str]]:
    """The answers a condition can pick from a list: Yes/No, or the question's options."""
    if question.type == Item.Type.BOOLEAN:
        return [("true", "Yes"), ("false", "No")]
    if question.has_options:
        return [(option.code, option.display) for option in question.options.all()]
    return []


class ConditionForm(DraftModelForm):
    """A condition in plain words: "Show this when <question> is <one of its answers>".

    ``questions`` (set by condition_form) are the questions it may refer to; a question
    with coded answers (yes/no, options) offers them as a list, grouped by question, so
    that staff pick an answer rather than type a code. ``answer`` stays for numbers,
    dates, text and scores.
    """

    questions: list = []
    answer_choice = forms.ChoiceField(label="Answer", required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        by_pk = {q.pk: q for q in self.questions}
        question = self.fields["question"]
        question.queryset = Item.objects.filter(pk__in=list(by_pk))
        question.label_from_instance = lambda item: question_label(by_pk.get(item.pk, item))
        question.label = "When the answer to"
        self.fields["operator"].choices = OPERATOR_CHOICES
        self.fields["operator"].label = "is"
        self.fields["answer"].label = "Or a number, date or text"
        self.fields["answer"].help_text = ""
        groups = [(question_label(q), [(f"{q.pk}:{code}", display)
                                       for code, display in coded_answers(q)])
                  for q in self.questions if coded_answers(q)]
        self.fields["answer_choice"].choices = [("", "Choose an answer"), *groups]
        if self.instance.pk and self.instance.question_id in by_pk:
            codes = dict(coded_answers(by_pk[self.instance.question_id]))
            if self.instance.answer in codes:
                self.initial["answer_choice"] = (f"{self.instance.question_id}:"
                                                 f"{self.instance.answer}")

    def clean(self):
        data = super().clean()
        choice = data.get("answer_choice") or ""
        question = data.get("question")
        if choice and question is not None:
            question_pk, _, code = choice.partition(":")
            if question_pk != str(question.pk):
                self.add_error("answer_choice", "Choose an answer of the question chosen.")
            else:
                data["answer"] = code
                self.instance.answer = code
        return data


def condition_form(questions):
    return type("BoundConditionForm", (ConditionForm,), {"questions": list(questions)})


class ItemConditionInline(LabelledTabularInline):
    model = ItemCondition
    form = ConditionForm
    fk_name = "item"
    fields = ["question", "operator", "answer_choice", "answer", "in_words"]
    readonly_fields = ["in_words"]
    extra = 1
    verbose_name = "condition"
    verbose_name_plural = "show this only when (no conditions: always shown)"

    def get_formset(self, request, obj=None, **kwargs):
        questions = earlier_questions(load_draft(obj.form), obj) if obj is not None else []
        kwargs["form"] = condition_form(questions)
        return super().get_formset(request, obj, **kwargs)

    @admin.display(description="in words")
    def in_words(self, obj):
        return f"Shown when {condition_words(obj)}" if obj.pk else ""


class ScoreBandInline(LabelledTabularInline):
    model = ScoreBand
    form = DraftModelForm
    fields = ["position", "min_score", "max_score", "label"]
    extra = 1
    verbose_name_plural = "score bands (e.g. 0 to 4: Minimal)"


class FlagRuleInline(LabelledTabularInline):
    model = FlagRule
    fk_name = "form"
    formfield_overrides = {models.TextField: {"widget": forms.Textarea(attrs={"rows": 2,
                                                                            "cols": 30})}}
    fields = ["position", "code", "severity", "message", "enable_behavior", "item"]
    extra = 0
    show_change_link = True  # its conditions are edited on the rule's own page
    verbose_name_plural = "flag rules (save, then open a rule to add its conditions)"

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "item":
            kwargs["queryset"] = Item.objects.filter(form_id=_object_form_id(request, Form))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class FlagConditionInline(LabelledTabularInline):
    model = FlagCondition
    form = ConditionForm
    fields = ["question", "operator", "answer_choice", "answer", "in_words"]
    readonly_fields = ["in_words"]
    extra = 1
    verbose_name = "condition"
    verbose_name_plural = "raise the flag when"

    def get_formset(self, request, obj=None, **kwargs):
        questions = []
        if obj is not None:
            questions = [item for item in load_draft(obj.form).items if item.is_answerable]
        kwargs["form"] = condition_form(questions)
        return super().get_formset(request, obj, **kwargs)

    @admin.display(description="in words")
    def in_words(self, obj):
        return f"Raised when {condition_words(obj)}" if obj.pk else ""


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

    class Media:
        css = {"all": ["css/designer.css"]}

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
                       "type", "required", "control", "choice_orientation", "initial"]}),
    ("File (a photo or a document)", {"fields": ["max_size_kb", "mime_types"]}),
    ("Validation", {"fields": ["min_value", "max_value", "min_length", "max_length", "regex",
                               "regex_message", "max_decimal_places", "not_in_future"]}),
    ("Unit (numbers with a unit)", {"fields": ["unit_code", "unit_display", "unit_system"]}),
    ("Repeats ('Add another')", {"fields": ["repeats", "min_occurs", "max_occurs"]}),
    ("Wording of messages", {"classes": ["collapse"],
                             "fields": ["short_label", "required_message", "other_label"]}),
    ("Score or computed value (hidden from patients)",
     {"fields": ["calculation", "score_items", "formula"]}),
    ("Show when (with the conditions below)", {"fields": ["enable_behavior"]}),
    ("Code (e.g. LOINC)", {"classes": ["collapse"],
                           "fields": ["code_system", "code", "code_display",
                                      "observation_extract"]}),
]
# Settings kept in the item's FHIR extensions, not in columns (design.item_extensions).
EXTENSION_FIELDS = ("choice_orientation", "max_size_kb", "mime_types")
# Every setting that only some types have; the rest (words, type, page, id, code,
# conditions) every item has.
TYPED_FIELDS = ["required", "control", "initial", "min_value", "max_value", "min_length",
                "max_length", "regex", "regex_message", "max_decimal_places",
                "not_in_future", "unit_code", "unit_display", "unit_system", "short_label",
                "required_message", "other_label", "calculation", "formula", "repeats",
                "min_occurs", "max_occurs", *EXTENSION_FIELDS]
_ANSWERED = {"required", "initial", "short_label", "required_message"}
_REPEATS = {"repeats", "min_occurs", "max_occurs"}
_TYPE_FIELDS = {
    # A required group needs one of its questions answered.
    "group": _REPEATS | {"required"},
    "display": set(),
    "boolean": _ANSWERED | {"choice_orientation"},
    "date": _ANSWERED | _REPEATS | {"min_value", "max_value", "not_in_future"},
    "dateTime": _ANSWERED | _REPEATS | {"min_value", "max_value", "not_in_future"},
    "time": _ANSWERED | _REPEATS | {"min_value", "max_value"},
    "integer": _ANSWERED | _REPEATS | {"min_value", "max_value", "calculation", "formula"},
    "decimal": _ANSWERED | _REPEATS | {"min_value", "max_value", "max_decimal_places",
                                       "calculation", "formula"},
    "quantity": _ANSWERED | _REPEATS | {"min_value", "max_value", "max_decimal_places",
                                        "unit_code", "unit_display", "unit_system"},
    "choice": _ANSWERED | {"control", "choice_orientation"},
    "multiple-choice": _ANSWERED | {"control", "choice_orientation"},
    "open-choice": _ANSWERED | {"control", "max_length", "other_label", "choice_orientation"},
    "attachment": {"required", "short_label", "required_message", "max_size_kb",
                   "mime_types"},
}
_TEXT_FIELDS = _ANSWERED | _REPEATS | {"min_length", "max_length", "regex", "regex_message"}


def fields_for_type(item_type: str) -> set[str]:
    """The typed settings an item of this type uses (see TYPED_FIELDS)."""
    return _TYPE_FIELDS.get(item_type, _TEXT_FIELDS)


def item_fieldsets(item_type: str | None):
    """The item page's panels for a type: only what that type needs (a new item, whose
    type is not known yet, shows everything)."""
    if item_type is None:
        return ITEM_FIELDSETS
    used = fields_for_type(item_type)
    fieldsets = []
    for name, options in ITEM_FIELDSETS:
        fields = [f for f in options["fields"]
                  if f not in ("form", "position") and (f not in TYPED_FIELDS or f in used)]
        if "score_items" in fields and "calculation" not in used:
            fields.remove("score_items")
        if name is not None and not fields:
            continue
        fieldsets.append((name, {**options, "fields": fields}))
    return fieldsets


class ItemForm(DraftModelForm):
    """The item page's form: a change of type drops the settings the new type does not
    have (they are no longer shown, so staff could not correct them).

    Three settings live in the item's FHIR extensions (design.item_extensions): how
    choices are laid out, and an attachment's largest size and accepted file types."""

    choice_orientation = forms.ChoiceField(
        label="Answers shown", required=False, choices=ix.ORIENTATION_CHOICES,
        help_text="Side by side suits a few short answers; an answer that reveals another "
                  "question is always shown one under another.")
    max_size_kb = forms.IntegerField(
        label="Largest file (KB)", required=False, min_value=1, max_value=ix.MAX_SIZE_KB,
        help_text=f"Empty for the platform's limit, {ix.MAX_SIZE_KB} KB (10 MB).")
    mime_types = forms.MultipleChoiceField(
        label="File types accepted", required=False, choices=ix.MIME_TYPE_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: JPEG, PNG or PDF.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        extensions = self.instance.fhir_extensions
        if self.instance.type == Item.Type.GROUP and "required" in self.fields:
            self.fields["required"].help_text = (
                "The patient must answer at least one of its questions (never when the "
                "page or group is not shown).")
        self.initial.setdefault("choice_orientation", ix.orientation_of(extensions))
        self.initial.setdefault("max_size_kb", ix.max_size_kb_of(extensions))
        types = ix.mime_types_of(extensions)
        self.initial.setdefault("mime_types", types)
        # An imported type the platform cannot check is shown, ticked, so that staff see
        # it and untick it (clean_mime_types), rather than it going unseen or unsaid.
        unknown = [t for t in types if t not in ix.KNOWN_MIME_TYPES]
        self.fields["mime_types"].choices = [
            *ix.MIME_TYPE_CHOICES, *((t, f"{t} (not a type the platform can check)")
                                     for t in unknown)]

    def clean_mime_types(self):
        types = self.cleaned_data.get("mime_types") or []
        unknown = [t for t in types if t not in ix.KNOWN_MIME_TYPES]
        if unknown:
            raise forms.ValidationError(
                f"{', '.join(unknown)}: the platform cannot tell a file of this type from "
                "its content, so it would refuse every one. Untick it.")
        return types

    def clean(self):
        data = super().clean()
        item_type = data.get("type") or self.instance.type
        used = fields_for_type(item_type)
        self._set_extensions(data, item_type)
        for name in TYPED_FIELDS:
            if name in EXTENSION_FIELDS:
                continue  # _set_extensions
            if name not in used:
                default = self.instance._meta.get_field(name).get_default()
                setattr(self.instance, name, default)
                if name in self.fields:  # shown for the old type, posted back as it was
                    data[name] = default
        return data


    def _set_extensions(self, data, item_type: str) -> None:
        """The extension settings written back to the item, only those changed: an
        imported maxSize in bytes is kept as it came unless staff change it."""
        extensions = list(self.instance.fhir_extensions or [])
        if "choice_orientation" in self.changed_data:
            extensions = ix.with_orientation(extensions, data.get("choice_orientation", ""))
        if "max_size_kb" in self.changed_data:
            extensions = ix.with_max_size(extensions, data.get("max_size_kb"))
        if "mime_types" in self.changed_data:
            extensions = ix.with_mime_types(extensions, data.get("mime_types") or [])
        self.instance.fhir_extensions = ix.for_type(extensions, item_type)


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


def located_problems(problems) -> list[dict]:
    """Each problem in words with the address of the page where it is fixed."""
    located = []
    for problem in problems:
        url = None
        if getattr(problem, "item_id", None):
            url = reverse("admin:forms_app_item_change", args=[problem.item_id])
        elif getattr(problem, "rule_id", None):
            url = reverse("admin:forms_app_flagrule_change", args=[problem.rule_id])
        located.append({"message": str(problem), "url": url,
                        "item_id": getattr(problem, "item_id", None)})
    return located


def draft_problems_now(form, draft=None) -> list:
    """What would stop the draft being published, as the designer edits it."""
    draft = draft or load_draft(form)
    definition = draft_to_questionnaire(form, version_number=next_version_number(form),
                                        draft=draft)
    return publish_problems(form, definition, draft)


def designer_context(form) -> dict:
    """What the form's change page shows beside its fields: the outline, the problems
    and where to move or add things."""
    draft = load_draft(form)
    problems = located_problems(draft_problems_now(form, draft))
    problem_items = {p["item_id"] for p in problems if p["item_id"]}
    return {
        "outline": outline(draft),
        "outline_items": draft.items,
        "outline_groups": groups(draft),
        "question_types": question_types(),
        "problems": problems,
        "problem_items": problem_items,
        "preview_url": reverse("admin:forms_app_form_preview", args=[form.pk]),
        "outline_url": reverse("admin:forms_app_form_outline", args=[form.pk]),
    }


def frameable(response):
    """Let the designer's own page show this response in its preview frame (same origin
    only; everything else still may not frame it)."""
    response["X-Frame-Options"] = "SAMEORIGIN"
    response._csp_replace = {"frame-ancestors": ["'self'"]}
    return response
