"""One proxy-aware client address for the audit trail, rate limits and staff lockouts."""

import pytest
from django.test import RequestFactory
from django.urls import reverse

from forms_app import services
from patients.client_ip import client_ip, ratelimit_ip
from patients.models import AuditEvent
from tests.factories.patients import UserFactory
from tests.factories.world import build_world

PROXY = "10.0.0.5"
XFF = "HTTP_X_FORWARDED_FOR"


def _request(**meta):
    return RequestFactory().get("/", **meta)


@pytest.fixture
def behind_proxy(settings):
    settings.CLIENT_IP_META_KEY = XFF
    settings.CLIENT_IP_TRUSTED_PROXIES = 1
    return settings


def test_direct_is_the_connection_address(settings):
    settings.CLIENT_IP_META_KEY = "REMOTE_ADDR"
    # A forwarded header from a client that talks to us directly is not believed.
    assert client_ip(_request(REMOTE_ADDR="203.0.113.9", **{XFF: "198.51.100.1"})) == (
        "203.0.113.9")


def test_behind_a_proxy_the_entry_our_proxy_appended(behind_proxy):
    assert client_ip(_request(REMOTE_ADDR=PROXY, **{XFF: "198.51.100.7"})) == "198.51.100.7"
    # The client can start the list itself; only the last entry is our proxy's.
    assert client_ip(_request(REMOTE_ADDR=PROXY, **{XFF: "1.2.3.4, 198.51.100.7"})) == (
        "198.51.100.7")


def test_two_proxies_count_from_the_right(behind_proxy):
    behind_proxy.CLIENT_IP_TRUSTED_PROXIES = 2
    request = _request(REMOTE_ADDR=PROXY, **{XFF: "6.6.6.6, 198.51.100.7, 10.0.0.9"})
    assert client_ip(request) == "198.51.100.7"
    # Fewer entries than proxies: not from our proxies, so the connection's address.
    assert client_ip(_request(REMOTE_ADDR=PROXY, **{XFF: "198.51.100.7"})) == PROXY


@pytest.mark.parametrize("header", ["", "not-an-ip", "198.51.100.7, <script>", " , "])
def test_a_missing_or_malformed_header_falls_back_to_the_connection(behind_proxy, header):
    assert client_ip(_request(REMOTE_ADDR=PROXY, **{XFF: header})) == PROXY


def test_ipv6_is_normalised_and_no_address_is_none(behind_proxy):
    assert client_ip(_request(REMOTE_ADDR=PROXY, **{XFF: "2001:DB8::0001"})) == "2001:db8::1"
    assert client_ip(_request(REMOTE_ADDR="")) is None
    assert client_ip(None) is None
    assert ratelimit_ip(_request(REMOTE_ADDR="")) == "0.0.0.0"  # noqa: S104


@pytest.mark.django_db
def test_the_audit_trail_records_the_client_behind_the_proxy(client, behind_proxy):
    world = build_world()
    issued = services.issue_link(version=world.link.version, patient=world.patient,
                                 care_team=world.team, by=world.users["right_team"])
    meta = {"REMOTE_ADDR": PROXY, XFF: "198.51.100.7"}
    client.get(reverse("patient:start", kwargs={"token": issued.token}), **meta)
    client.post(reverse("patient:verify"), {"day": "1", "month": "1", "year": "1999"}, **meta)
    event = AuditEvent.objects.get(action=AuditEvent.Action.IDENTITY_FAILED)
    assert event.ip_address == "198.51.100.7"


@pytest.mark.django_db
def test_rate_limits_count_each_client_behind_the_proxy(client, behind_proxy):
    behind_proxy.RATELIMIT_LINK_OPEN = "2/m"
    first = {"REMOTE_ADDR": PROXY, XFF: "198.51.100.7"}
    for _ in range(2):
        assert client.get("/l/not-a-token/", **first).status_code == 404
    assert client.get("/l/not-a-token/", **first).status_code == 429
    # Another patient behind the same proxy is not turned away.
    other = {"REMOTE_ADDR": PROXY, XFF: "198.51.100.8"}
    assert client.get("/l/not-a-token/", **other).status_code == 404


@pytest.mark.django_db
def test_staff_lockout_and_its_audit_use_the_client_behind_the_proxy(client, behind_proxy):
    user = UserFactory()
    attacker = {"REMOTE_ADDR": PROXY, XFF: "198.51.100.66"}
    for _ in range(behind_proxy.AXES_FAILURE_LIMIT):
        client.post(reverse("account:login"), {"username": user.username, "password": "no"},
                    **attacker)
    assert AuditEvent.objects.filter(action=AuditEvent.Action.LOGIN_FAILED,
                                     ip_address="198.51.100.66").count() == (
        behind_proxy.AXES_FAILURE_LIMIT)
    login = {"username": user.username, "password": "correct-horse-battery"}
    assert client.post(reverse("account:login"), login, **attacker).status_code == 429
    # The same user from another address behind the same proxy is not locked out.
    colleague = {"REMOTE_ADDR": PROXY, XFF: "198.51.100.20"}
    response = client.post(reverse("account:login"), login, **colleague)
    assert response.status_code == 302
