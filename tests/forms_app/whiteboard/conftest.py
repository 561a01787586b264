import pytest
from django.core.cache import cache

from forms_app.management.demo_data import ensure_demo


@pytest.fixture(autouse=True)
def _fresh_cache():
    # The board is cached for a few seconds; each test starts without another's board.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def demo(db):
    user, patient, team, version = ensure_demo()
    return user, patient, team, version
