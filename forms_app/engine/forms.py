"""Building a django.forms.Form class for one page.

Field names are linkIds. A question whose enableWhen depends only on answers from
earlier pages is left out of the form when hidden. A question whose enableWhen
depends on another question on the same page cannot be decided until the page is
submitted (the pages work without JavaScript), so its field is optional and the
form's clean() applies "required" only if the submitted answers show it.
"""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .answers import to_initial
from .attachments import AttachmentAnswerField
from .fields import (
    DateAnswerField,
    DateTimeAnswerField,
    MultipleChoiceAnswerField,
    NumberAnswerField,
    OpenChoiceField,
    SingleChoiceField,
    TextAnswerField,
    TimeAnswerField,
    YesNoField,
)
from .groups import message as group_message
from .items import Item
from .repeats import SEP, RepeatCleaner, build_repeat
from .values import is_empty
from .widgets import OTHER

LONG_LIST = 20  # more options than this become a drop-down list


class EngineForm(forms.Form):
    """Base class of every page form.

    ``engine_visibility(answers)`` is set on each generated class: it returns the
    set of enabled linkIds for a complete answers dict.
    """

    use_required_attribute = False  # NHS.UK pages validate on the server, not in the browser
    engine_page_key: str = ""
    engine_context: dict = {}
    engine_dynamic: tuple[Item, ...] = ()
    # ``engine_constraints(answers)`` -> {linkId: message}: the page's failed SDC
    # targetConstraints, or None when the page has none.
    engine_constraints = None
    # Repeating groups and questions on the page (see ``repeats``): their items, per
    # group the items its instances hold, and CompiledForm.walk_instance.
    engine_repeats: tuple[Item, ...] = ()
    # ``engine_groups(answers)`` -> [(group, its shown questions)]: the page's required
    # groups left with no answer (see ``groups``), or None when the page has none.
    engine_groups = None

    @classmethod
    def uses_context(cls) -> bool:
        """Whether its checks read the answers of other pages (``engine_context``)."""
        return bool(cls.engine_dynamic or cls.engine_constraints or cls.engine_repeats
                    or cls.engine_groups)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        cls = type(self)
        self.engine_layout = [
            build_repeat(self, item, "", self.initial.get(item.link_id), build_field,
                         cls.engine_members)
            for item in self.engine_repeats
        ]
        self.engine_enabled_names: set[str] | None = None
        # {group linkId: message} for each required group left unanswered on this post.
        self.engine_group_errors: dict[str, str] = {}
        self.engine_group_shown: dict[str, list[Item]] = {}

    def clean(self):
        cleaned = super().clean()
        if self.engine_layout:
            cleaned = self._clean_repeats(cleaned)
        if self.engine_dynamic:
            cleaned = self._clean_dynamic(cleaned)
        if type(self).engine_constraints is not None:
            answers = {**self.engine_context, **cleaned}
            for name in self.errors:
                answers.pop(name, None)
            for name, message in type(self).engine_constraints(answers).items():
                if name in self.fields and name not in self._errors:
                    self.add_error(name, message)
        if type(self).engine_groups is not None:
            self._clean_groups(cleaned)
        return cleaned

    def _clean_groups(self, cleaned) -> None:
        answers = {**self.engine_context, **cleaned}
        for group, shown in type(self).engine_groups(answers):
            if any(question.link_id in self._errors for question in shown):
                continue  # answered, but not well: that question's own error says so
            text = group_message(group)
            self.engine_group_errors[group.link_id] = text
            self.engine_group_shown[group.link_id] = shown
            self.add_error(None, ValidationError(text, code="group_required"))

    def group_error_target(self, message) -> str | None:
        """The id a required group's error (in the error summary) links to: the first
        of its questions shown, else the message beside the group."""
        for link_id, text in self.engine_group_errors.items():
            if str(text) != str(message):
                continue
            first = next((q.link_id for q in self.engine_group_shown[link_id]
                          if q.link_id in self.fields), None)
            if first is None:
                return f"group-{link_id}-error"
            return self[first].field.nhsuk_error_target(self[first])
        return None

    def _clean_repeats(self, cleaned):
        outer = {**self.engine_context,
                 **{k: v for k, v in cleaned.items() if SEP not in k}}
        cleaner = RepeatCleaner(self, type(self).engine_walk_instance,
                                type(self).engine_instance_errors)
        for node in self.engine_layout:
            cleaned[node.item.link_id] = cleaner.collect(node, outer)
            outer[node.item.link_id] = cleaned[node.item.link_id]
        self.engine_enabled_names = cleaner.enabled_names
        # The answers are the lists now; the per-instance fields were their parts.
        return {k: v for k, v in cleaned.items() if SEP not in k}

    def _clean_dynamic(self, cleaned):
        answers = {**self.engine_context, **cleaned}
        for item in self.engine_dynamic:
            if item.link_id in self.errors:
                answers.pop(item.link_id, None)
        enabled = type(self).engine_visibility(answers)
        for item in self.engine_dynamic:
            name = item.link_id
            if name not in enabled:
                # A hidden question's answer is neither required nor kept, even if invalid.
                self._errors.pop(name, None)
                cleaned[name] = None
            elif item.required and name not in self._errors and is_empty(cleaned.get(name)):
                self.add_error(name, self.fields[name].error_messages["required"])
        return cleaned


def _widget_text(item: Item) -> forms.Widget:
    if item.type == "text":
        return forms.Textarea(attrs={"rows": 5})
    if item.input_format == "email":
        return forms.EmailInput(attrs={"autocomplete": "email", "spellcheck": "false"})
    if item.input_format == "uk-phone":
        return forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"})
    if item.input_format == "nhs-number":
        return forms.TextInput(
            attrs={"inputmode": "numeric", "spellcheck": "false", "autocomplete": "off"}
        )
    if item.type == "url":
        return forms.TextInput(attrs={"spellcheck": "false", "autocomplete": "url"})
    return forms.TextInput()


def _number_widget(item: Item) -> forms.Widget:
    attrs = {"inputmode": "numeric" if item.type == "integer" else "decimal", "spellcheck": "false"}
    if item.unit:
        attrs["data-unit"] = item.unit.get("display") or item.unit["code"]
    return forms.TextInput(attrs=attrs)


def _initial_of(item: Item, initial):
    # A repeating question's own initial values go one per instance (repeats).
    if initial is None and not item.is_repeating_question:
        return item.initial
    return initial


def build_field(item: Item, *, required: bool, initial=None) -> forms.Field:
    """``initial``: a stored answer to pre-fill instead of the item's own initial
    value (one instance of a repeating question, or of a repeating group's question)."""
    common = {"label": item.text, "help_text": item.help_text, "required": required}
    initial = _initial_of(item, initial)
    if initial is not None:
        common["initial"] = to_initial(item, initial)
    choices = [(option.code, option.display) for option in item.options]
    kind = item.type
    if kind in ("string", "text", "url"):
        return TextAnswerField(item, widget=_widget_text(item), **common)
    if kind in ("integer", "decimal", "quantity"):
        return NumberAnswerField(item, widget=_number_widget(item), **common)
    if kind == "boolean":
        return YesNoField(item, **common)
    if kind == "attachment":
        return AttachmentAnswerField(item, **common)
    if kind == "date":
        return DateAnswerField(item, **common)
    if kind == "dateTime":
        return DateTimeAnswerField(item, **common)
    if kind == "time":
        return TimeAnswerField(
            item, widget=forms.TextInput(attrs={"autocomplete": "off"}), **common
        )
    return _choice_field(item, choices, common)


def _choice_field(item: Item, choices: list, common: dict) -> forms.Field:
    if item.type == "open-choice":
        other = [(OTHER, item.other_label or _("Other"))]
        return OpenChoiceField(item, choices + other, **common)
    if item.is_multiple:
        return MultipleChoiceAnswerField(
            item, choices=choices, widget=forms.CheckboxSelectMultiple, **common
        )
    if item.control == "autocomplete":
        # A list to type into: a drop-down that works without JavaScript, turned into a
        # box with suggestions (<input list>) by static/js/app.js where it runs.
        return SingleChoiceField(
            item, choices=[("", _("Select an option")), *choices],
            widget=forms.Select(attrs={"data-module": "app-autocomplete",
                                       "data-hint": _("Start typing, then choose from the list")}),
            **common)
    long_list = item.control == "drop-down" or (
        len(choices) > LONG_LIST and item.control not in ("radio-button",)
    )
    if long_list:
        return SingleChoiceField(
            item, choices=[("", _("Select an option")), *choices], widget=forms.Select, **common
        )
    return SingleChoiceField(item, choices=choices, widget=forms.RadioSelect, **common)


def build_form_class(
    page_key: str,
    static: list[Item],
    dynamic: list[Item],
    visibility,
    repeats=(),
) -> type[EngineForm]:
    """A form with ``static`` questions (required as defined) and ``dynamic`` ones.

    Both lists are in page order; dynamic questions are required only when clean()
    finds them enabled.
    """
    dynamic_ids = {item.link_id for item in dynamic}
    fields = {}
    for item in sorted([*static, *dynamic], key=lambda i: i.order):
        required = item.required and item.link_id not in dynamic_ids
        fields[item.link_id] = build_field(item, required=required)
    attrs = {
        **fields,
        "engine_page_key": page_key,
        "engine_dynamic": tuple(dynamic),
        "engine_visibility": staticmethod(visibility),
        "__module__": __name__,
    }
    if repeats:
        roots, members_of, walk_instance, instance_errors = repeats
        attrs.update(engine_repeats=tuple(roots), engine_members=staticmethod(members_of),
                     engine_walk_instance=staticmethod(walk_instance),
                     engine_instance_errors=staticmethod(instance_errors))
    safe_name = "".join(ch if ch.isalnum() else "_" for ch in page_key)[:60]
    return type(f"PageForm_{safe_name}", (EngineForm,), attrs)
