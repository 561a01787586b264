import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

# A wrong FIELD_ENCRYPTION_KEYS stops the web process here, loudly.
from patients.encryption import assert_keys_decrypt  # noqa: E402

assert_keys_decrypt()
