"""A proxy's X-Forwarded-For is used only when it holds a plain IP address.

Behind QA_TRUSTED_PROXY_HOPS, the address the outermost proxy saw is stored in `inet` columns
(the lockout's attempts, the audit trail). A value PostgreSQL cannot store there (a port, brackets,
a zone, garbage, an over-long string) is ignored for REMOTE_ADDR, never an error that fails the
sign-in or the key change with it.
"""

import pytest
from axes.models import AccessAttempt, AccessLog
from django.test import RequestFactory
from django.urls import reverse

from integrations.models import ApiKey, AuditEvent
from qaportal.accounts.mixins import client_ip_address
from tests.conftest import ADMIN_PASSWORD

pytestmark = pytest.mark.django_db

LOGIN_URL = reverse("accounts:login")
GENERATE_URL = reverse("integrations:api_key_generate", kwargs={"provider": "entra-id"})
PROXY = "10.0.0.2"

BAD_FORWARDED_VALUES = [
    "nonsense",
    "1.2.3.4:5678",
    "[::1]",
    "[2001:db8::1]:443",
    "fe80::1%eth0",
    "1.2.3.4" * 100,
    "1.2.3.400",
    "unknown",
    "",
]


@pytest.fixture
def behind_one_proxy(settings):
    settings.QA_TRUSTED_PROXY_HOPS = 1


@pytest.mark.parametrize("forwarded", BAD_FORWARDED_VALUES)
def test_a_bad_forwarded_value_falls_back_to_the_connection_address(behind_one_proxy, forwarded):
    request = RequestFactory().get(
        "/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=f"192.0.2.1, {forwarded}"
    )
    assert client_ip_address(request) == PROXY


@pytest.mark.parametrize(
    ("forwarded", "expected"),
    [
        ("203.0.113.9", "203.0.113.9"),
        (" 203.0.113.9 ", "203.0.113.9"),
        ("192.0.2.66, 2001:DB8:0:0::1", "2001:db8::1"),
    ],
)
def test_a_valid_forwarded_address_is_used_in_its_canonical_form(
    behind_one_proxy, forwarded, expected
):
    request = RequestFactory().get("/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip_address(request) == expected


def test_a_connection_address_that_is_not_an_ip_address_is_none():
    """A unix-socket worker has no REMOTE_ADDR, or an odd one: nothing is stored then."""
    assert client_ip_address(RequestFactory().get("/", REMOTE_ADDR="unix:/run/gunicorn")) is None
    assert client_ip_address(RequestFactory().get("/", REMOTE_ADDR="")) is None


@pytest.mark.parametrize("forwarded", ["nonsense", "1.2.3.4:5678", "[::1]", "9" * 300])
def test_sign_in_and_key_generation_work_with_a_bad_forwarded_value(
    behind_one_proxy, client, admin_user, forwarded
):
    headers = {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": forwarded}
    wrong = client.post(
        LOGIN_URL, {"username": admin_user.email, "password": "wrong password"}, **headers
    )
    assert wrong.status_code == 200
    assert AccessAttempt.objects.get().ip_address == PROXY

    signed_in = client.post(
        LOGIN_URL, {"username": admin_user.email, "password": ADMIN_PASSWORD}, **headers
    )
    assert signed_in.status_code == 302
    assert AccessLog.objects.get().ip_address == PROXY

    generated = client.post(GENERATE_URL, **headers)
    assert generated.status_code == 200
    assert ApiKey.objects.count() == 1
    assert AuditEvent.objects.get(action=AuditEvent.Action.KEY_GENERATED).ip_address == PROXY
