"""Staff preview: the draft or any version, page by page, exactly as a patient sees it.

The same templates and engine forms as the patient journey (forms_app.views.patient),
but no link, no submission and nothing written to the database: the answers given in a
preview live in the staff user's own session, under one key per previewed form, and
"Send" is replaced by the scores, bands and flags staff would see.
"""

from django import forms
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.utils.http import urlencode

from forms_app.engine import CompiledForm, repeats
from forms_app.views.patient import page_blocks, progress_text

SESSION_KEY = "form_preview"


class PreviewStepForm(forms.Form):
    """Which page a POST answers (the wizard's management form, for the preview)."""

    preview_step = forms.CharField(widget=forms.HiddenInput, max_length=255)


def _answers(request, key: str) -> dict:
    state = request.session.get(SESSION_KEY) or {}
    return dict(state.get("answers") or {}) if state.get("key") == key else {}


def _save_answers(request, key: str, answers: dict) -> None:
    # Only the form being previewed is kept, so the session never grows with previews.
    request.session[SESSION_KEY] = {"key": key, "answers": answers}


def _page_url(step: str | None = None, **params) -> str:
    if step:
        params["step"] = step
    return "?" + urlencode(params) if params else "?"


def preview(request, *, key: str, compiled: CompiledForm, heading: str):
    """One preview request. ``key`` names what is previewed (draft or version)."""
    if request.GET.get("restart"):
        request.session.pop(SESSION_KEY, None)
        return HttpResponseRedirect(request.path + _page_url())
    answers = compiled.prune(_answers(request, key))
    enabled = compiled.enabled_page_keys(answers)
    if request.method == "POST":
        return _post_page(request, key=key, compiled=compiled, heading=heading,
                          answers=answers, enabled=enabled)
    if request.GET.get("check"):
        return render(request, "forms_app/preview/check.html", {
            "summary": compiled.summary(answers),
            "evaluation": compiled.evaluate(answers),
            "form_title": compiled.title,
            "preview_heading": heading,
            "items": compiled.items,
        })
    step = request.GET.get("step")
    if step not in enabled:
        step = enabled[0] if enabled else None
    if step is None:
        return render(request, "forms_app/preview/check.html", {
            "summary": [], "evaluation": compiled.evaluate(answers),
            "form_title": compiled.title, "preview_heading": heading, "no_pages": True})
    form = compiled.form_class(step, answers=answers)(
        initial=compiled.initial_for_page(step, answers), prefix=step)
    return _render_page(request, compiled, step, form, enabled, heading, answers=answers)


def _post_page(request, *, key, compiled, heading, answers, enabled):
    """A previewed page sent: errors, "add another"/"remove", or the next page."""
    step_form = PreviewStepForm(request.POST)
    step = step_form.cleaned_data["preview_step"] if step_form.is_valid() else None
    if step not in enabled:
        first = enabled[0] if enabled else None
        return HttpResponseRedirect(request.path + _page_url(first))
    form_class = compiled.form_class(step, answers=answers)
    action = next((a for a in (repeats.ADD, repeats.REMOVE) if a in request.POST), None)
    if action is not None:
        # "Add another" / "Remove": the page again, as the patient's journey does.
        data = repeats.changed_data(request.POST, step, action, request.POST[action])
        if data is None:
            return HttpResponseRedirect(request.path + _page_url(step))
        form = form_class(data=data, prefix=step)
        form.is_valid()
        form._errors.clear()
        return _render_page(request, compiled, step, form, enabled, heading,
                            answers=answers)
    form = form_class(data=request.POST, prefix=step)
    if not form.is_valid():
        return _render_page(request, compiled, step, form, enabled, heading, status=400,
                            answers=answers)
    answers = compiled.prune({**answers, **form.cleaned_data})
    _save_answers(request, key, answers)
    enabled = compiled.enabled_page_keys(answers)
    later = enabled[enabled.index(step) + 1:] if step in enabled else []
    following = _page_url(later[0]) if later else _page_url(check="1")
    return HttpResponseRedirect(request.path + following)


def _render_page(request, compiled, step, form, enabled, heading, status=200, answers=None):
    index = enabled.index(step)
    page = compiled.page(step)
    wizard = {"form": form, "management_form": PreviewStepForm(initial={"preview_step": step})}
    return render(request, "forms_app/preview/page.html", {
        "wizard": wizard,
        "blocks": page_blocks(compiled, page, form, answers or {}),
        "page": page,
        "progress": progress_text(compiled, enabled, step),
        "previous_step": enabled[index - 1] if index else None,
        "single_question": len([f for f in form if not f.is_hidden]) == 1,
        "form_title": compiled.title,
        "preview_heading": heading,
    }, status=status)
