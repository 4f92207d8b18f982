"""django-axes locks an (IP, email) pair after repeated wrong passwords."""

import pytest
import time_machine
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.conftest import ADMIN_PASSWORD

pytestmark = pytest.mark.django_db

LOGIN_URL = reverse("accounts:login")
ATTACKER_IP = "198.51.100.9"
OFFICE_IP = "203.0.113.20"


def sign_in(client: Client, email: str, password: str, ip: str = ATTACKER_IP):
    return client.post(LOGIN_URL, {"username": email, "password": password}, REMOTE_ADDR=ip)


def fail_until_locked(client: Client, email: str, ip: str = ATTACKER_IP):
    responses = [
        sign_in(client, email, "wrong password", ip) for _ in range(settings.AXES_FAILURE_LIMIT)
    ]
    return responses[-1]


def test_lockout_is_configured_on_ip_and_email_pairs():
    assert settings.AXES_LOCKOUT_PARAMETERS == [["ip_address", "username"]]
    assert 3 <= settings.AXES_FAILURE_LIMIT <= 10
    assert settings.AXES_COOLOFF_TIME.total_seconds() >= 5 * 60
    assert settings.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"
    assert settings.MIDDLEWARE[-1] == "axes.middleware.AxesMiddleware"


def test_wrong_passwords_below_the_limit_show_the_usual_error(client, admin_user):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = sign_in(client, admin_user.email, "wrong password")
        assert response.status_code == 200
        assert "do not match an active account" in response.content.decode()


def test_the_pair_is_locked_out_with_a_portal_page_not_a_500(client, admin_user):
    response = fail_until_locked(client, admin_user.email)
    html = response.content.decode()

    assert response.status_code == 429
    assert response["Retry-After"] == str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    assert "<h1>Too many sign-in attempts</h1>" in html
    assert f"Try again in {settings.AXES_COOLOFF_TIME.seconds // 60} minutes" in html
    assert 'href="/static/css/portal.css"' in html


def test_the_right_password_is_refused_during_the_lockout(client, admin_user):
    fail_until_locked(client, admin_user.email)
    response = sign_in(client, admin_user.email, ADMIN_PASSWORD)
    assert response.status_code == 429
    assert SESSION_KEY not in client.session


def test_the_email_counts_in_any_case(client, admin_user):
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        email = admin_user.email.upper() if attempt % 2 else admin_user.email
        response = sign_in(client, email, "wrong password")
    assert response.status_code == 429
    assert AccessAttempt.objects.get().username == admin_user.email


def test_an_unknown_email_is_locked_out_the_same_way(client):
    response = fail_until_locked(client, "nobody@contoso.com")
    assert response.status_code == 429
    assert "Too many sign-in attempts" in response.content.decode()


def test_the_same_email_from_another_ip_can_still_sign_in(client, admin_user):
    """An attacker cannot lock a real admin out from elsewhere."""
    fail_until_locked(client, admin_user.email, ip=ATTACKER_IP)
    office = Client()
    response = sign_in(office, admin_user.email, ADMIN_PASSWORD, ip=OFFICE_IP)
    assert response.status_code == 302
    assert office.session[SESSION_KEY] == str(admin_user.pk)


def test_another_email_from_the_same_ip_can_still_sign_in(client, admin_user, company):
    fail_until_locked(client, "someone.else@contoso.com", ip=ATTACKER_IP)
    response = sign_in(client, admin_user.email, ADMIN_PASSWORD, ip=ATTACKER_IP)
    assert response.status_code == 302


def test_a_forwarded_for_header_does_not_escape_the_lockout(client, admin_user):
    fail_until_locked(client, admin_user.email)
    response = client.post(
        LOGIN_URL,
        {"username": admin_user.email, "password": ADMIN_PASSWORD},
        REMOTE_ADDR=ATTACKER_IP,
        HTTP_X_FORWARDED_FOR="192.0.2.77",
    )
    assert response.status_code == 429


def test_the_lockout_ends_after_the_cool_off(client, admin_user):
    fail_until_locked(client, admin_user.email)
    later = timezone.now() + settings.AXES_COOLOFF_TIME + timezone.timedelta(seconds=1)
    with time_machine.travel(later, tick=False):
        response = sign_in(client, admin_user.email, ADMIN_PASSWORD)
    assert response.status_code == 302
    assert client.session[SESSION_KEY] == str(admin_user.pk)


def test_a_successful_sign_in_resets_the_count(client, admin_user):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, admin_user.email, "wrong password")
    assert sign_in(client, admin_user.email, ADMIN_PASSWORD).status_code == 302
    client.post(reverse("accounts:logout"))
    response = sign_in(client, admin_user.email, "wrong password")
    assert response.status_code == 200


def test_the_django_admin_signs_in_through_the_portal_sign_in_and_its_lockout(
    client, django_user_model
):
    """Django admin has no sign-in form of its own: staff use the portal's, with its lockout,
    its per-account slow-down and its second-factor step."""
    django_user_model.objects.create_superuser(email="ops@qa.example", password="right")
    response = client.get(reverse("admin:login"))
    assert response.status_code == 302
    assert response["Location"] == f"{LOGIN_URL}?next=%2Fadmin%2F"
    response = client.post(
        reverse("admin:login"), {"username": "ops@qa.example", "password": "right"}
    )
    assert response.status_code == 302
    assert SESSION_KEY not in client.session
    response = fail_until_locked(client, "ops@qa.example")
    assert response.status_code == 429
    assert "Too many sign-in attempts" in response.content.decode()


def test_behind_a_trusted_proxy_the_address_it_saw_is_locked_out(client, admin_user, settings):
    """With QA_TRUSTED_PROXY_HOPS=1 the proxy's appended address counts, not REMOTE_ADDR (the
    proxy itself) and not what the client wrote further left."""
    settings.QA_TRUSTED_PROXY_HOPS = 1
    proxy = "10.0.0.2"
    for spoofed in range(settings.AXES_FAILURE_LIMIT):
        response = client.post(
            LOGIN_URL,
            {"username": admin_user.email, "password": "wrong password"},
            REMOTE_ADDR=proxy,
            HTTP_X_FORWARDED_FOR=f"192.0.2.{spoofed}, {ATTACKER_IP}",
        )
    assert response.status_code == 429
    assert AccessAttempt.objects.get().ip_address == ATTACKER_IP
    # Another client behind the same proxy still signs in.
    office = Client()
    response = office.post(
        LOGIN_URL,
        {"username": admin_user.email, "password": ADMIN_PASSWORD},
        REMOTE_ADDR=proxy,
        HTTP_X_FORWARDED_FOR=OFFICE_IP,
    )
    assert response.status_code == 302
