"""Guessing one account's password is slowed down whatever the addresses it comes from, and
never stops the owner from a browser they signed in from before."""

from datetime import datetime, timedelta

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from qaportal.accounts.throttles import account_delay_for
from tests.conftest import ADMIN_PASSWORD

pytestmark = pytest.mark.django_db

LOGIN_URL = reverse("accounts:login")


def attempt(client: Client, email: str, password: str, ip: str):
    return client.post(LOGIN_URL, {"username": email, "password": password}, REMOTE_ADDR=ip)


def guess_from_many_addresses(email: str, count: int) -> datetime:
    """`count` wrong passwords, each from a new address (below django-axes' per-IP lockout).

    Past the limit each guess waits out the delay first (the clock jumps). Returns the time of
    the last guess: what follows in the test happens then.
    """
    clock = timezone.now()
    for number in range(count):
        clock += timedelta(seconds=account_delay_for(number) + 1)
        with time_machine.travel(clock, tick=False):
            response = attempt(Client(), email, "wrong guess", ip=f"198.51.100.{number + 1}")
        assert response.status_code == 200
    return clock


def test_the_delay_doubles_from_two_seconds_up_to_fifteen_minutes():
    limit = settings.QA_ACCOUNT_GUESS_LIMIT
    assert account_delay_for(limit - 1) == 0
    assert [account_delay_for(limit + n) for n in range(4)] == [2, 4, 8, 16]
    assert account_delay_for(limit + 50) == 15 * 60


def test_after_the_limit_further_attempts_wait_and_are_refused_quickly(admin_user):
    clock = guess_from_many_addresses(admin_user.email, settings.QA_ACCOUNT_GUESS_LIMIT)
    with time_machine.travel(clock, tick=False):
        # The first attempt past the limit is checked (and fails); the next one must wait,
        # and is refused without its password being checked.
        assert attempt(Client(), admin_user.email, "guess", "203.0.113.1").status_code == 200
        response = attempt(Client(), admin_user.email, ADMIN_PASSWORD, "203.0.113.2")
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 4
    assert "each attempt has to wait" in response.content.decode()


def test_the_wait_grows_with_each_failure(admin_user):
    now = guess_from_many_addresses(admin_user.email, settings.QA_ACCOUNT_GUESS_LIMIT)
    waits = []
    for number in range(4):
        with time_machine.travel(now, tick=False):
            attempt(Client(), admin_user.email, "guess", f"203.0.113.{number + 10}")
            refused = attempt(Client(), admin_user.email, "guess", f"203.0.113.{number + 50}")
            assert refused.status_code == 429
            waits.append(int(refused["Retry-After"]))
        now += timedelta(seconds=waits[-1] + 1)
    assert waits == [2, 4, 8, 16]


def test_a_right_password_after_the_wait_still_signs_in(admin_user):
    clock = guess_from_many_addresses(admin_user.email, settings.QA_ACCOUNT_GUESS_LIMIT + 1)
    with time_machine.travel(clock + timedelta(seconds=5), tick=False):
        client = Client()
        response = attempt(client, admin_user.email, ADMIN_PASSWORD, "203.0.113.30")
    assert response.status_code == 302
    assert client.session[SESSION_KEY] == str(admin_user.pk)


def test_a_browser_that_signed_in_before_is_never_delayed(admin_user):
    owner = Client()
    assert attempt(owner, admin_user.email, ADMIN_PASSWORD, "192.0.2.10").status_code == 302
    assert settings.QA_KNOWN_DEVICE_COOKIE in owner.cookies
    owner.post(reverse("accounts:logout"))

    clock = guess_from_many_addresses(admin_user.email, settings.QA_ACCOUNT_GUESS_LIMIT + 3)
    with time_machine.travel(clock, tick=False):
        assert attempt(Client(), admin_user.email, ADMIN_PASSWORD, "203.0.113.3").status_code == 429
        # The owner's browser signs in at once.
        response = attempt(owner, admin_user.email, ADMIN_PASSWORD, "192.0.2.10")
    assert response.status_code == 302
    assert owner.session[SESSION_KEY] == str(admin_user.pk)


def test_a_forged_known_device_cookie_does_not_help(admin_user):
    clock = guess_from_many_addresses(admin_user.email, settings.QA_ACCOUNT_GUESS_LIMIT + 1)
    forger = Client()
    forger.cookies[settings.QA_KNOWN_DEVICE_COOKIE] = '["0123456789abcdef0123456789abcdef"]'
    with time_machine.travel(clock, tick=False):
        assert attempt(forger, admin_user.email, ADMIN_PASSWORD, "203.0.113.4").status_code == 429


def test_the_known_device_cookie_names_no_address(admin_user):
    owner = Client()
    attempt(owner, admin_user.email, ADMIN_PASSWORD, "192.0.2.10")
    cookie = owner.cookies[settings.QA_KNOWN_DEVICE_COOKIE]
    assert admin_user.email not in cookie.value
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"


def test_unknown_emails_are_slowed_down_the_same_way(db):
    clock = guess_from_many_addresses("nobody@contoso.com", settings.QA_ACCOUNT_GUESS_LIMIT)
    with time_machine.travel(clock, tick=False):
        attempt(Client(), "nobody@contoso.com", "guess", "203.0.113.5")
        response = attempt(Client(), "nobody@contoso.com", "guess", "203.0.113.6")
    assert response.status_code == 429


def test_other_accounts_are_not_slowed(admin_user, company):
    from tests.factories import CompanyAdminFactory

    colleague = CompanyAdminFactory(company=company, email="colleague@contoso.com")
    clock = guess_from_many_addresses(admin_user.email, settings.QA_ACCOUNT_GUESS_LIMIT + 2)
    with time_machine.travel(clock, tick=False):
        response = attempt(Client(), colleague.email, ADMIN_PASSWORD, "203.0.113.7")
    assert response.status_code == 302


def test_the_slow_down_ends_when_guessing_stops_for_the_window(admin_user):
    clock = guess_from_many_addresses(admin_user.email, settings.QA_ACCOUNT_GUESS_LIMIT + 5)
    later = clock + settings.QA_ACCOUNT_GUESS_WINDOW + timedelta(seconds=1)
    with time_machine.travel(later, tick=False):
        for number in range(3):
            response = attempt(Client(), admin_user.email, "guess", f"203.0.113.{number + 70}")
            assert response.status_code == 200
