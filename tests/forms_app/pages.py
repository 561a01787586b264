"""Posting a patient page as a browser without JavaScript would (needs Django set up)."""

import re

from django.urls import reverse

from forms_app.views.patient import SHOWN_FIELD
from tests.forms_app.journey import WIZARD_PREFIX, page_data


def post_page(client, step, data):
    """Post a page as a browser without JavaScript would: when the answers reveal
    questions the page had not shown, it comes back with them (and says which it
    showed); the patient answers them and sends it again. A saved page redirects to the
    next (Post/Redirect/Get), which the browser then opens: that page is returned."""
    response = client.post(reverse("patient:answer"), page_data(step, data))
    shown = re.findall(rf'name="{SHOWN_FIELD}" value="([^"]+)"', response.content.decode())
    current = re.search(rf'name="{WIZARD_PREFIX}-current_step" value="([^"]+)"',
                        response.content.decode())
    if response.status_code == 200 and shown and current and current[1] == step:
        response = client.post(reverse("patient:answer"),
                               {**page_data(step, data), SHOWN_FIELD: shown})
    if response.status_code == 302 and response.url == reverse("patient:answer"):
        response = client.get(response.url)
    return response
