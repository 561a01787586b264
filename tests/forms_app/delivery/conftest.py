import uuid

import pytest

from tests.forms_app.clinic_fixtures import demo, staff_client  # noqa: F401
from tests.forms_app.delivery.fake_notify import FakeNotify


@pytest.fixture
def notify(settings):
    """GOV.UK Notify as the backend for both channels, pointed at a fake on 127.0.0.1."""
    with FakeNotify() as server:
        settings.DELIVERY_SMS_BACKEND = "notify"
        settings.DELIVERY_EMAIL_BACKEND = "notify"
        settings.NOTIFY_API_KEY = f"test_key-{uuid.uuid4()}-{uuid.uuid4()}"
        settings.NOTIFY_BASE_URL = server.url
        settings.NOTIFY_SMS_TEMPLATE_ID = str(uuid.uuid4())
        settings.NOTIFY_EMAIL_TEMPLATE_ID = str(uuid.uuid4())
        settings.NOTIFY_TIMEOUT_SECONDS = 0.5
        yield server
