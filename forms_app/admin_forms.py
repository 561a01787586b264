"""Forms behind the admin's custom pages."""

import datetime

from django import forms
from django.utils import timezone

from forms_app.models import Link
from patients.models import CareTeam, Patient


class IssueLinkForm(forms.Form):
    patient = forms.ModelChoiceField(queryset=Patient.objects.none())
    care_team = forms.ModelChoiceField(queryset=CareTeam.objects.none())
    channel = forms.ChoiceField(choices=Link.Channel.choices, initial=Link.Channel.SCREEN)
    expires_in_days = forms.IntegerField(min_value=1, max_value=90, initial=14)

    def __init__(self, *args, user, version, **kwargs):
        super().__init__(*args, **kwargs)
        organisation = version.form.organisation
        self.fields["patient"].queryset = Patient.objects.visible_to(user).filter(
            organisation=organisation)
        self.fields["care_team"].queryset = CareTeam.objects.of_user(user).filter(
            organisation=organisation)

    def expires_at(self):
        return timezone.now() + datetime.timedelta(days=self.cleaned_data["expires_in_days"])


class PublishForm(forms.Form):
    change_note = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False,
                                  max_length=2000, help_text="What changed in this version.")


# --- The designer's outline (forms_app.admin.core.FormAdmin.outline_view) --------------

def question_types():
    from forms_app.models import Item

    # Text to read goes last, so that a new question starts as a question.
    types = [(v, label) for v, label in Item.Type.choices if v != Item.Type.GROUP]
    return sorted(types, key=lambda choice: choice[0] == Item.Type.DISPLAY)


class OutlineForm(forms.Form):
    """One action on a form's outline: move an item, or add a question or a page.

    Every field but ``action`` is optional here and required by the action that uses it
    (clean), so that one small form serves each button on the outline.
    """

    ACTIONS = ["up", "down", "move", "add-question", "add-page"]

    action = forms.ChoiceField(choices=[(a, a) for a in ACTIONS])
    item = forms.IntegerField(required=False, min_value=1, max_value=2**31 - 1)
    # Empty: a page of its own (a question at the top level of the form).
    page = forms.IntegerField(required=False, min_value=1, max_value=2**31 - 1)
    title = forms.CharField(required=False, max_length=1000, label="Page title")
    text = forms.CharField(required=False, max_length=5000, label="Question")
    type = forms.ChoiceField(required=False, choices=question_types, label="Type of answer")

    def __init__(self, *args, form, **kwargs):
        super().__init__(*args, **kwargs)
        self.design_form = form

    def _item(self, pk, *, groups_only=False):
        from forms_app.models import Item

        items = Item.objects.filter(form=self.design_form)
        if groups_only:
            items = items.filter(type=Item.Type.GROUP)
        return items.filter(pk=pk).first() if pk else None

    def clean(self):
        data = super().clean()
        action = data.get("action")
        if action in ("up", "down", "move"):
            data["item"] = self._item(data.get("item"))
            if data["item"] is None:
                raise forms.ValidationError("That item is no longer in this form.")
        if action in ("move", "add-question"):
            page = data.get("page")
            data["page"] = self._item(page, groups_only=True)
            if page and data["page"] is None:
                raise forms.ValidationError("That page is no longer in this form.")
        if action in ("add-question", "add-page"):
            if not (data.get("text") or "").strip():
                self.add_error("text", "Write the question (or text) patients will see.")
            if not data.get("type"):
                self.add_error("type", "Choose the type of answer.")
        if action == "add-page" and not (data.get("title") or "").strip():
            self.add_error("title", "Write the page's title.")
        return data


class TranslationsForm(forms.Form):
    """One text box per patient-facing text of a form (forms_app.design.translations)."""

    def __init__(self, *args, texts, language_name, **kwargs):
        super().__init__(*args, **kwargs)
        self.texts = {}
        for number, text in enumerate(texts):
            name = f"t{number}"
            self.texts[name] = text
            self.fields[name] = forms.CharField(
                required=False, max_length=text.max_length or 5000,
                label=f"{language_name}: {text.where}", initial=text.translated,
                widget=forms.Textarea(attrs={"rows": 2 if len(text.source) < 120 else 4}))

    def rows(self):
        return [(text, self[name]) for name, text in self.texts.items()]

    def changes(self):
        return [(text, self.cleaned_data[name]) for name, text in self.texts.items()]
