import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_asgi_application()

# A wrong FIELD_ENCRYPTION_KEYS stops the web process here, loudly.
from patients.encryption import assert_keys_decrypt  # noqa: E402

assert_keys_decrypt()
