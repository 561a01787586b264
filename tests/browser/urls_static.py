"""A small URLconf for test_static_pages: the two static pages under their real URL names.

It lets the layout and the static pages be tested on their own, whatever state the
project's config/urls.py is in.
"""

from django.urls import path
from django.views.generic import TemplateView

urlpatterns = [
    path(
        "accessibility/",
        TemplateView.as_view(template_name="pages/accessibility.html"),
        name="accessibility",
    ),
    path("privacy/", TemplateView.as_view(template_name="pages/privacy.html"), name="privacy"),
]
