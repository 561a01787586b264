"""Drive admin change forms the way a browser does: GET the page, keep every value the
page shows (main form and inline formsets), change some, POST it all back."""

from django.urls import reverse


def _field_value(bound):
    value = bound.value()
    if value is None:
        return ""
    if isinstance(value, bool):
        return "on" if value else ""
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return str(value)


def _form_data(form, data):
    for name in form.fields:
        value = _field_value(form[name])
        key = form.add_prefix(name)
        if value == "" or value == []:
            continue
        data[key] = value


def page_data(response) -> dict:
    """Everything the admin change (or add) page would submit as it stands."""
    context = response.context
    data: dict = {}
    _form_data(context["adminform"].form, data)
    for inline in context["inline_admin_formsets"]:
        formset = inline.formset
        management = formset.management_form
        for name in management.fields:
            data[management.add_prefix(name)] = str(management[name].value())
        # The blank extra rows the page offers are left empty, as a browser would leave
        # them; add_inline_rows fills new ones.
        data[management.add_prefix("TOTAL_FORMS")] = str(len(formset.initial_forms))
        for form in formset.initial_forms:
            _form_data(form, data)
    return data


def add_inline_rows(data: dict, prefix: str, rows: list[dict]) -> dict:
    """Append new rows to inline ``prefix`` (e.g. "options")."""
    start = int(data.get(f"{prefix}-TOTAL_FORMS", 0))
    for index, row in enumerate(rows):
        for key, value in row.items():
            data[f"{prefix}-{start + index}-{key}"] = value
    data[f"{prefix}-TOTAL_FORMS"] = str(start + len(rows))
    return data


def post_change(client, url, changes=None, inlines=None):
    """GET ``url``, apply ``changes`` and new ``inlines`` rows, POST, return the response."""
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    data = page_data(response)
    data.update(changes or {})
    for prefix, rows in (inlines or {}).items():
        add_inline_rows(data, prefix, rows)
    data.setdefault("_save", "Save")
    return client.post(url, data)


def change_url(obj) -> str:
    meta = obj._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])


def errors_of(response) -> str:
    if response.context is None:
        return ""
    parts = [str(response.context.get("errors") or "")]
    for inline in response.context.get("inline_admin_formsets") or []:
        parts.append(str(inline.formset.errors) + str(inline.formset.non_form_errors()))
    return " ".join(parts)


def outline_post(client, form, **data):
    """One change on the form's outline (a button of the form's page), as a browser
    sends it; returns the response (a redirect back to the form's page)."""
    return client.post(reverse("admin:forms_app_form_outline", args=[form.pk]), data)


def add_form(client, organisation, title, description=""):
    """The add page: only the form's own fields; saving leads to its pages."""
    from forms_app.models import Form

    response = client.post(reverse("admin:forms_app_form_add"), {
        "organisation": organisation.pk, "title": title, "description": description,
        "_continue": "Save and add pages and questions"})
    assert response.status_code == 302, errors_of(response)
    form = Form.objects.get(title=title)
    assert response.url == change_url(form)
    return form
